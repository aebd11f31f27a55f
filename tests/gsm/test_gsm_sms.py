"""SMS and USSD through the driver against the simulated module over a real pty."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from gsm_scenarios import sms_to_self, ussd_balance

from drivers.gsm import pdu
from drivers.gsm.atengine import AtEngine
from drivers.gsm.modem import GsmModem
from drivers.gsm.simulator import E173, EC25, SimModem
from drivers.gsm.sms import ReceivedSms, SmsSendError
from drivers.gsm.ussd import UssdError
from tests.gsm.rig import Rig, wait_until


def collect(rig: Rig) -> list[ReceivedSms]:
    got: list[ReceivedSms] = []
    rig.modem.sms.on_received(got.append)
    return got


async def test_setup_uses_pdu_mode_storage_and_indications(rig: Rig) -> None:
    assert rig.sim.cmgf == 0 and rig.sim.mem == ["SM", "SM", "SM"]
    assert rig.sim.cnmi == (2, 1, 0, 1, 0)  # SIM800: +CMTI, status reports direct
    assert rig.modem.sms.ready and rig.modem.info()["sms"]["ready"] is True  # type: ignore[index]


async def test_single_sms_via_cmti_is_read_and_deleted(rig: Rig) -> None:
    got = collect(rig)
    when = dt.datetime(2024, 5, 17, 12, 30, tzinfo=dt.UTC)
    rig.sim.deliver_text("+447700900999", "Hello from the network €", timestamp=when)
    await wait_until(lambda: got)
    sms = got[0]
    assert (sms.sender, sms.text, sms.encoding, sms.complete) == (
        "+447700900999", "Hello from the network €", "gsm7", True)
    assert sms.imei == rig.sim.identity.imei and sms.iccid == rig.sim.identity.iccid
    assert sms.timestamp == when  # the SMSC's stamp
    await wait_until(lambda: rig.sim.stored_messages("SM") == {})


async def test_multipart_ucs2_sms_is_reassembled(rig: Rig) -> None:
    got = collect(rig)
    text = "Привет! 😀 " * 20  # UCS2, 4 parts of 67 units (emoji are surrogate pairs)
    pdus = rig.sim.deliver_text("+79161234567", text, part_chars=60)
    assert len(pdus) > 2
    await wait_until(lambda: got)
    assert got[0].text == text and got[0].encoding == "ucs2" and got[0].parts == len(pdus)
    await wait_until(lambda: rig.sim.stored_messages("SM") == {})


async def test_direct_cmt_delivery(rig: Rig) -> None:
    got = collect(rig)
    rig.sim.deliver_text("+447700900999", "direct " * 40, direct=True)
    await wait_until(lambda: got)
    assert got[0].text == "direct " * 40 and got[0].parts == 2
    assert rig.sim.stored_messages("SM") == {}


async def test_storage_never_fills(rig: Rig) -> None:
    got = collect(rig)
    for i in range(25):  # capacity 10: the network queues until the driver deletes
        rig.sim.deliver_text("+447700900999", f"message {i}")
    await wait_until(lambda: len(got) == 25, timeout=10)
    assert sorted(s.text or "" for s in got) == sorted(f"message {i}" for i in range(25))
    await wait_until(lambda: rig.sim.stored_messages("SM") == {})


async def test_messages_stored_before_start_are_swept(leak_check: None) -> None:
    sim = SimModem()
    await sim.start()
    sim.cnmi = (2, 1, 0, 0, 0)
    sim.deliver_text("+447700900999", "waiting on the SIM")
    sim.deliver_sms("00DEADBEEF")  # corrupt: must come through raw
    engine = await AtEngine.open_serial(sim.device_path)
    modem = GsmModem(engine, "gsm1")
    got: list[ReceivedSms] = []
    modem.sms.on_received(got.append)
    try:
        await modem.initialise()
        await wait_until(lambda: len(got) == 2)
        texts = {s.text for s in got}
        assert "waiting on the SIM" in texts
        raw = next(s for s in got if s.error is not None)
        assert raw.raw_pdus == ["00DEADBEEF"] and raw.text is None  # kept raw, not dropped
        await wait_until(lambda: sim.stored_messages("SM") == {})
    finally:
        await modem.close()
        await sim.stop()


async def test_long_message_swept_at_start_leaves_no_stale_part(leak_check: None) -> None:
    # As the box starts: the module sweeps at set-up, and again when the listener is
    # attached. The sweep that completes a stored long message deletes its siblings before
    # the other sweep can list them again (they would begin a stale partial message that
    # swallows the parts of the next message with the same reference).
    sim = SimModem()
    await sim.start()
    sim.cnmi = (2, 1, 0, 0, 0)
    when = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
    old = sim.deliver_text("+447700900999", "y" * 400, reference=77, timestamp=when)
    engine = await AtEngine.open_serial(sim.device_path)
    modem = GsmModem(engine, "gsm1")
    got: list[ReceivedSms] = []
    try:
        await modem.initialise()
        modem.sms.on_received(got.append)
        await wait_until(lambda: len(got) == 1 and sim.stored_messages("SM") == {})
        await wait_until(lambda: modem.sms.sweeps >= 2)
        assert got[0].raw_pdus == old and len(modem.sms.reassembler) == 0
        new = sim.deliver_text("+447700900999", "z" * 400, reference=77,
                               timestamp=when + dt.timedelta(minutes=1))
        await wait_until(lambda: len(got) == 2 and sim.stored_messages("SM") == {})
        assert got[1].raw_pdus == new and got[1].text == "z" * 400
    finally:
        await modem.close()
        await sim.stop()


async def test_missing_part_times_out_and_is_delivered_incomplete(leak_check: None) -> None:
    r = await Rig.open()
    try:
        r.modem.sms.reassembler.timeout = 0.3
        got = collect(r)
        r.sim.deliver_text("+447700900999", "x" * 400, skip=[2])
        await asyncio.sleep(0.15)
        assert got == [] and len(r.sim.stored_messages("SM")) == 2  # parts held on the SIM
        await wait_until(lambda: got, timeout=2)
        assert got[0].missing == [2] and got[0].parts == 3 and not got[0].complete
        await wait_until(lambda: r.sim.stored_messages("SM") == {})
    finally:
        await r.close()


async def test_listener_failure_leaves_the_message_on_the_module(rig: Rig) -> None:
    def refuse(sms: ReceivedSms) -> None:
        raise RuntimeError("store is down")

    rig.modem.sms.on_received(refuse)
    rig.sim.deliver_text("+447700900999", "keep me")
    await asyncio.sleep(0.3)
    assert list(rig.sim.stored_messages("SM").values())  # still there for the next sweep


async def test_send_long_message_in_parts_with_status_reports(rig: Rig) -> None:
    reports: list[str] = []
    rig.modem.sms.on_status(lambda s, r: reports.append(f"{r.reference}:{r.status_text}"))
    text = "A long message. " * 20
    sent = await rig.modem.sms.send("+447700900999", text)
    assert len(sent.references) == 3 and len(rig.sim.sent_sms) == 3
    parts = [pdu.decode(p, mobile_originated=True) for p in rig.sim.sent_sms]
    assert "".join(p.text or "" for p in parts) == text  # type: ignore[union-attr]
    await wait_until(lambda: sent.state == "delivered")
    assert sorted(reports) == sorted(f"{r}:delivered" for r in sent.references)


async def test_failed_status_report(rig: Rig) -> None:
    rig.sim.report_status = 0x41
    sent = await rig.modem.sms.send("+447700900999", "hi")
    await wait_until(lambda: sent.state == "failed")


async def test_send_refused_raises_with_the_cms_code(rig: Rig) -> None:
    rig.sim.set_registration(0)
    with pytest.raises(SmsSendError) as caught:
        await rig.modem.sms.send("+447700900999", "hi")
    assert caught.value.code == 331


@pytest.mark.parametrize("profile", [EC25, E173], ids=lambda p: p.name)
async def test_stored_status_reports_per_dialect(profile: object, leak_check: None) -> None:
    r = await Rig.open(profile)  # type: ignore[arg-type]
    try:
        storage = "SR" if profile is EC25 else "SM"
        assert r.sim.cnmi[3] == 2
        sent = await r.modem.sms.send("+447700900999", "report me")
        await wait_until(lambda: sent.state == "delivered")
        await wait_until(lambda: r.sim.stored_messages(storage) == {})
    finally:
        await r.close()


async def test_unmatched_stored_report_is_left_alone(leak_check: None) -> None:
    r = await Rig.open(E173)
    try:
        r.sim._status_report(200, "+447700900999")  # nothing was sent with reference 200
        r.sim.deliver_text("+447700900999", "a real message")
        got = collect(r)
        await wait_until(lambda: got)
        await asyncio.sleep(0.1)
        left = r.sim.stored_messages("SM")
        assert len(left) == 1  # the report stays; the message was deleted
        report = pdu.decode(next(iter(left.values())))
        assert isinstance(report, pdu.SmsStatusReport) and report.reference == 200
    finally:
        await r.close()


async def test_sms_to_self_scenario(rig: Rig) -> None:
    # The simulated network loops a message to the SIM's own number back.
    own = rig.sim.identity.own_number or ""
    original = rig.sim._submit

    def loop_back(pdu_hex: str) -> None:
        original(pdu_hex)
        message = pdu.decode(pdu_hex, mobile_originated=True)
        assert isinstance(message, pdu.SmsSubmit)
        if message.recipient.number == own and message.text is not None:
            rig.sim.deliver_text(own, message.text)

    rig.sim._submit = loop_back  # type: ignore[method-assign]
    await sms_to_self(rig.modem, own, "loop test", timeout=5)


# -- USSD ---------------------------------------------------------------------------------
async def test_ussd_gsm7_answer(rig: Rig) -> None:
    assert await ussd_balance(rig.modem, "*100#") == "Balance: 12.34 EUR"
    assert rig.sim.ussd_requests == ["*100#"]


async def test_ussd_ucs2_answer_and_menu_closed(rig: Rig) -> None:
    rig.sim.ussd_answers["*102#"] = ("Баланс: 100 ₽ 💰", "ucs2", 1)
    answer = await rig.modem.ussd.request("*102#")
    assert answer.text == "Баланс: 100 ₽ 💰" and answer.status_text == "action-required"
    assert rig.sim.commands[-1] == "AT+CUSD=2"


async def test_ussd_unknown_code_and_bad_input(rig: Rig) -> None:
    with pytest.raises(UssdError, match="not-supported"):
        await rig.modem.ussd.request("*999#")
    with pytest.raises(UssdError, match="not a USSD code"):
        await rig.modem.ussd.request("*100#; AT+CFUN=0")


async def test_ussd_to_a_silent_module_is_a_ussd_error(rig: Rig) -> None:
    """The caller (the balance check, the web API) handles one error kind: a module that
    does not answer the request is a UssdError saying so, not a bare driver timeout."""
    rig.modem.ussd.command_timeout = 0.3
    rig.sim.stop_answering(True)
    with pytest.raises(UssdError, match=r"\*100#: 'AT\+CUSD=1.*no answer within 0.3 s"):
        await rig.modem.ussd.request("*100#")
    rig.sim.stop_answering(False)
    assert await ussd_balance(rig.modem, "*100#") == "Balance: 12.34 EUR"


async def test_ussd_huawei_packed_hex(leak_check: None) -> None:
    r = await Rig.open(E173)
    try:
        assert await ussd_balance(r.modem, "*100#") == "Balance: 12.34 EUR"
        assert any(c.startswith('AT+CUSD=1,"AA180C3602"') for c in r.sim.commands)
        r.sim.ussd_answers["*105#"] = ("Остаток 5", "ucs2", 0)
        assert (await r.modem.ussd.request("*105#")).text == "Остаток 5"
    finally:
        await r.close()
