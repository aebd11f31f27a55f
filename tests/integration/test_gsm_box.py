"""GSM trunks on the simulated board, end to end: SIM accounting in calls (quota, least
cost, re-enabling), module recovery, SMS through the façade, and long-message parts that
survive a restart.  The modules are SimModems on real pseudo-terminals."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_for

NUMBER_DIALED = "89161234567"
NUMBER_OUT = "+79161234567"


async def configure(box: Any, change: Callable[[dict[str, Any]], None]) -> None:
    doc = box.config_current()
    change(doc)
    await box.config_commit(doc, author="test")


def trunk(box: Any, port: str) -> dict[str, Any]:
    return box.sim.state()["trunks"][port]


def sim_limits(doc: dict[str, Any], port: str, **limits: Any) -> None:
    next(t for t in doc["trunks"] if t["port"] == port)["sim"] = limits


def mobile_route(doc: dict[str, Any]) -> None:
    doc["outbound"] = [{"name": "mobile", "pattern": "^8\\d{10}$", "trunks": ["gsm1", "gsm2"],
                        "strip": 1, "prepend": "+7"}]


async def all_idle(box: Any) -> None:
    await wait_for(lambda: box.calls() == [] and not box.engine.busy_channels() and all(
        ch.state.value == "idle" for ch in box.channels.values()), timeout=8,
        what="every channel idle and no call left")


async def dial_out(box: Any, digits: str = NUMBER_DIALED) -> str:
    """fxs1 dials; returns the GSM port the call went out on."""
    await box.sim.phone_offhook("fxs1")
    await box.sim.phone_press("fxs1", digits)
    return str(await wait_for(lambda: next(
        (p for p in ("gsm1", "gsm2") if trunk(box, p)["call_state"] == "alerting"), None),
        8, what="a module to dial out"))


def iccid(box: Any, port: str) -> str:
    return str(box.channels[port].modem.iccid)


async def test_sim_over_its_daily_minutes_is_skipped_and_comes_back_next_day(box):
    await configure(box, lambda d: (mobile_route(d),
                                    sim_limits(d, "gsm1", minutes_per_day=0.025)))  # 1.5 s
    # First call: gsm1, cut when its 1.5 s of the day are spent (the permit's cap).
    assert await dial_out(box) == "gsm1"
    assert trunk(box, "gsm1")["dialed"] == NUMBER_OUT
    await box.sim.far_answer("gsm1")
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "idle", 6,
                   what="the call to be cut at the SIM's quota")
    await box.sim.phone_onhook("fxs1")
    await all_idle(box)
    alert = await wait_for(lambda: next((a for a in box.engine.alerts
                                         if a["message"] == "SIM disabled"), None), 5,
                           what="the SIM-disabled alert")
    assert alert["iccid"] == iccid(box, "gsm1") and "minutes per day" in alert["reason"]
    cdr = box.cdrs()[0]
    assert cdr["trunk"] == "gsm1" and cdr["disposition"] == "answered"
    assert 1.3 <= cdr["talk_s"] < 4
    stats = box.sim_trunks.stats(iccid(box, "gsm1"))
    assert stats["enabled"] is False and stats["today"]["calls"] == 1
    assert stats["today"]["minutes"] >= 0.025

    # Second call: gsm1 is left out, the call goes out on gsm2.
    assert await dial_out(box) == "gsm2"
    assert trunk(box, "gsm1")["call_state"] == "idle"
    await box.sim.far_hangup("gsm2")
    await box.sim.phone_onhook("fxs1")
    await all_idle(box)
    assert box.sim_trunks.stats(iccid(box, "gsm2"))["today"]["calls"] == 1

    # Next day (injected clock): the periodic tick enables gsm1 again.
    box.sim_trunks.clock = lambda: time.time() + 86400
    assert box.sim_trunks.tick() == [iccid(box, "gsm1")]
    assert box.sim_trunks.enabled(iccid(box, "gsm1"))[0]
    assert box.trunk_policy.order(["gsm1", "gsm2"], NUMBER_OUT) == ["gsm1", "gsm2"]


async def test_least_cost_choice_by_operator_prefix(box):
    await configure(box, lambda d: (
        mobile_route(d),
        sim_limits(d, "gsm1", prefixes=["+7903"], cost_on_net=0.1, cost_off_net=2),
        sim_limits(d, "gsm2", prefixes=["+7916"], cost_on_net=0.1, cost_off_net=2)))
    assert await dial_out(box, NUMBER_DIALED) == "gsm2"   # +7916…: gsm2's own network
    await box.sim.far_hangup("gsm2")
    await box.sim.phone_onhook("fxs1")
    await all_idle(box)
    assert await dial_out(box, "89031234567") == "gsm1"   # +7903…: gsm1's
    await box.sim.far_hangup("gsm1")
    await box.sim.phone_onhook("fxs1")
    await all_idle(box)


async def test_send_sms_status_report_and_receive(box):
    q = box.subscribe()
    module = box.board.gsm["gsm1"].modem
    sent = await box.send_sms("gsm1", "+79160001122", "Hello from the office")
    assert sent["direction"] == "out" and sent["refs"] == module.sms_sent_refs[-1:]
    assert any(c.startswith("AT+CMGS=") for c in module.commands)
    assert len(module.sent_sms) == 1
    row = await wait_for(lambda: next((r for r in box.sms() if r["id"] == sent["id"]
                                       and r["status"] == "delivered"), None), 5,
                         what="the status report to mark the message delivered")
    assert row["peer"] == "+79160001122" and row["text"] == "Hello from the office"
    # By ICCID as well; the SIM's SMS counter follows.
    await box.send_sms(iccid(box, "gsm2"), "+79160001133", "second")
    assert box.sim_trunks.stats(iccid(box, "gsm2"))["today"]["sms"] == 1

    box.board.gsm["gsm2"].modem.deliver_text("+79165550000", "Call me back please")
    got = await wait_for(lambda: next((r for r in box.sms(direction="in")), None), 5,
                         what="the received SMS to be stored")
    assert got["peer"] == "+79165550000" and got["text"] == "Call me back please"
    events = []
    while not q.empty():
        events.append(q.get_nowait())
    kinds = {(e["type"], e.get("direction")) for e in events}
    assert {("sms", "out"), ("sms", "in"), ("sms_status", None)} <= kinds
    box.unsubscribe(q)


async def test_send_sms_refusals(box):
    from firmware.service import BadRequest, NotFound, Refused

    with pytest.raises(BadRequest, match="^to:"):
        await box.send_sms("gsm1", "call me", "x")
    with pytest.raises(BadRequest, match="^text:"):
        await box.send_sms("gsm1", "+79160001122", "")
    with pytest.raises(NotFound):
        await box.send_sms("gsm9", "+79160001122", "x")
    await configure(box, lambda d: sim_limits(d, "gsm1", recipients_per_day=1))
    await box.send_sms("gsm1", "+79160001122", "one")
    with pytest.raises(Refused, match="recipients"):
        await box.send_sms("gsm1", "+79160009999", "two")
    await box.send_sms("gsm1", "+79160001122", "known recipient: fine")


@pytest.fixture
async def fast_box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    import drivers.board.sim as simboard
    from firmware.app import Box, Settings

    monkeypatch.setattr(simboard, "GSM_HEALTH_INTERVAL_S", 0.2)
    monkeypatch.setattr(simboard, "GSM_HEALTH_TIMEOUT_S", 0.3)
    b = Box(Settings(data_dir=tmp_path / "data", simulated=True))
    await b.start()
    try:
        yield b
    finally:
        await b.stop()


@pytest.mark.slow
async def test_hung_module_is_reset_and_back_in_service(fast_box):
    box = fast_box
    module = box.board.gsm["gsm1"].modem
    module.stop_answering(True)
    await wait_for(lambda: not box.channels["gsm1"].modem.in_service, 5,
                   what="the module to be seen as hung")
    await wait_for(lambda: box.board.recoveries["gsm1"].state == "healthy"
                   and box.channels["gsm1"].modem.in_service
                   and box.channels["gsm1"].state.value == "idle", 20,
                   what="the module to be reset and back in service")
    resets = [(e.data["step"], e.data["outcome"]) for e in box.store.events(kind="gsm_reset")]
    assert ("power-cycle", "recovered") in resets and ("cfun-reset", "no answer") in resets
    assert all(e.subject == "gsm1" for e in box.store.events(kind="gsm_reset"))
    port = next(p for p in box.ports() if p["id"] == "gsm1")
    assert port["recovery"]["state"] == "healthy"
    assert [r["step"] for r in port["recovery"]["resets"]][-1] == "power-cycle"
    assert box.board.gsm["gsm1"].power_key.presses == 2
    # The channel carries calls again.
    await configure(box, lambda d: mobile_route(d))
    assert await dial_out(box) == "gsm1"
    await box.sim.far_answer("gsm1")
    await wait_for(lambda: box.calls() and box.calls()[0]["state"] == "active", 5,
                   what="answered")
    await box.sim.far_hangup("gsm1")
    await box.sim.phone_onhook("fxs1")
    await all_idle(box)


async def test_direct_long_sms_parts_survive_a_restart(tmp_path: Path):
    from firmware.app import Box, Settings

    text = "Part one of a long message. " * 4 + "And this is where part two begins."
    settings = Settings(data_dir=tmp_path / "data", simulated=True)
    first = Box(settings)
    await first.start()
    try:
        first.board.gsm["gsm1"].modem.deliver_text("+79165550000", text, direct=True,
                                                   part_chars=100, skip=[2])
        await wait_for(lambda: len(first.store.sms_parts("gsm1")) == 1, 5,
                       what="the first part to be saved")
        assert first.sms() == []
    finally:
        await first.stop()
    second = Box(settings)
    await second.start()
    try:
        assert second.channels["gsm1"].modem.sms.info()["partial_messages"] == 1
        second.board.gsm["gsm1"].modem.deliver_text("+79165550000", text, direct=True,
                                                    part_chars=100, skip=[1])
        got = await wait_for(lambda: second.sms(direction="in"), 5,
                             what="the whole message to be stored")
        assert got[0]["text"] == text and got[0]["parts"] == 2 and got[0]["missing"] == []
        assert second.store.sms_parts("gsm1") == []
    finally:
        await second.stop()


async def test_sms_through_the_web_api(aiohttp_client, box, tmp_path):
    from tests.integration.test_skeleton import get, post, signed_in

    client, headers = await signed_in(aiohttp_client, box, tmp_path)
    module = box.board.gsm["gsm1"].modem
    sent = await post(client, headers, "/api/v1/sms",
                      {"from": "gsm1", "to": "+79160001122", "text": "Meeting at 10"})
    assert module.sent_sms and sent["refs"] == module.sms_sent_refs[-1:]
    await wait_for(lambda: box.sms(direction="out")[0]["status"] == "delivered", 5,
                   what="the status report")
    module.deliver_text("+79165550000", "Got it, thanks")

    async def received() -> list[dict[str, Any]]:
        return [m for m in (await get(client, "/api/v1/sms"))["sms"]
                if m["direction"] == "in"]

    listed = await wait_for(received, 5, what="the received message listed by GET")
    assert listed[0]["text"] == "Got it, thanks" and listed[0]["peer"] == "+79165550000"
    everything = (await get(client, "/api/v1/sms"))["sms"]
    assert {(m["direction"], m["status"]) for m in everything} == {("out", "delivered"),
                                                                   ("in", "")}
    resp = await client.post("/api/v1/sms", json={"from": "gsm1", "to": "x", "text": "y"},
                             headers=headers)
    assert resp.status == 400 and '"to"' in (await resp.json())["error"]


async def test_balance_check_by_ussd_is_stored_and_published(box):
    from firmware.service import BadRequest, NotFound

    q = box.subscribe()
    with pytest.raises(BadRequest, match="trunks"):
        await box.gsm_balance("gsm1")                 # no SIM limits/balance code yet
    await configure(box, lambda d: sim_limits(d, "gsm1", balance_code="*100#"))
    result = await box.gsm_balance("gsm1")
    assert result["balance"] == "Balance: 12.34 EUR"
    assert box.board.gsm["gsm1"].modem.ussd_requests[-1] == "*100#"
    state = box.store.sim_state(result["iccid"])
    assert state["balance"] == "Balance: 12.34 EUR"
    events = []
    while not q.empty():
        events.append(q.get_nowait())
    assert any(e.get("type") == "balance" for e in events)
    with pytest.raises(NotFound):
        await box.gsm_balance("fxs1")


async def test_status_report_after_a_restart_still_updates_the_message(tmp_path):
    from firmware.app import Box, Settings

    data = tmp_path / "data"
    first = Box(Settings(data_dir=data, simulated=True))
    await first.start()
    try:
        first.board.gsm["gsm1"].modem.report_delay = 3600.0   # the report comes late
        sent = await first.send_sms("gsm1", "+79160001144", "before the restart")
        ref = sent["refs"][0]
    finally:
        await first.stop()
    second = Box(Settings(data_dir=data, simulated=True))
    await second.start()
    try:
        assert second.sms(direction="out")[0]["status"] == "sent"
        second.board.gsm["gsm1"].modem._status_report(ref, "+79160001144")
        await wait_for(lambda: second.sms(direction="out")[0]["status"] == "delivered", 5,
                       what="the late report to mark the message delivered")
    finally:
        await second.stop()


async def test_country_chooses_the_sms_national_language_tables(box):
    """A box set to India sends Hindi in GSM 7-bit with the Hindi shift tables (TS 23.038
    annex A) instead of UCS2; elsewhere the same text goes UCS2."""
    from drivers.gsm.pdu import Encoding, SmsSubmit, decode

    hindi = "नमस्ते, कल मिलते हैं"
    module = box.board.gsm["gsm1"].modem

    def last_sent() -> SmsSubmit:
        message = decode(module.sent_sms[-1], smsc=True, mobile_originated=True)
        assert isinstance(message, SmsSubmit)
        return message

    await box.send_sms("gsm1", "+79160001122", hindi)
    assert last_sent().encoding is Encoding.UCS2 and last_sent().text == hindi

    await configure(box, lambda doc: doc["system"].update(country="IN"))
    await box.send_sms("gsm1", "+79160001122", hindi)
    sent = last_sent()
    assert sent.encoding is Encoding.GSM7 and sent.text == hindi
    assert sent.udh is not None and (sent.udh.locking_shift, sent.udh.single_shift) != (0, 0)
    assert 6 in (sent.udh.locking_shift, sent.udh.single_shift)  # Hindi


async def test_box_expires_received_sms_keys_older_than_30_days(tmp_path):
    """The exactly-once keys of received PDUs are kept 30 days, then the janitor drops them
    (at start and hourly); the messages themselves stay."""
    from firmware.app import Box, Settings
    from firmware.store import EventStore, SmsRecord

    data = tmp_path / "data"
    data.mkdir()
    now = time.time()
    with EventStore.open(data / "events.sqlite") as store:
        for age_days, pdu in ((31, "0011"), (29, "0022")):
            sms = SmsRecord(ts=now - age_days * 86400, direction="in", modem="gsm1",
                            peer="+447700900999", text=pdu, iccid="8944", raw_pdus=[pdu])
            store.add_received_sms(sms, [("8944", pdu)])
    box = Box(Settings(data_dir=data, simulated=True))
    await box.start()
    try:
        def keys() -> list[str]:
            rows = box.store._conn.execute("SELECT digest FROM sms_received").fetchall()
            return sorted(r["digest"] for r in rows)
        await wait_for(lambda: keys() == ["0022"], 10, what="the old key expired")
        assert sorted(m.text for m in box.store.sms()) == ["0011", "0022"]
    finally:
        await box.stop()
