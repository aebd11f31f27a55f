"""Call flows on the simulated board, driven only through the simulated people and lines.

Each test acts as a person would (a caller on a trunk, a phone going off-hook, keys
pressed as DTMF audio) and checks what the people hear and what the box records. After
every scenario every channel is idle again.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import wait_for


def port_state(box: Any, port: str) -> str:
    return box.channels[port].state.value


async def all_idle(box: Any) -> None:
    await wait_for(lambda: box.calls() == [] and all(
        ch.state.value == "idle" for ch in box.channels.values()), timeout=5,
        what="every channel idle and no call left")


async def last_cdr(box: Any, n: int = 1) -> dict[str, Any]:
    rows = await wait_for(lambda: len(box.cdrs()) >= n and box.cdrs(), timeout=5,
                          what=f"{n} CDR(s)")
    return rows[0]


async def test_fxo_line_call_answered_and_far_end_clears_by_loop_break(box):
    sim, state = box.sim, box.sim.state
    await sim.trunk_call("fxo1", None)               # the exchange rings the line
    await wait_for(lambda: state()["phones"]["fxs1"]["ring_bursts"] >= 1, 5, what="fxs1 ring")
    await sim.phone_offhook("fxs1")
    await wait_for(lambda: state()["trunks"]["fxo1"]["call_state"] == "active", 5,
                   what="the line seized (answered)")
    await wait_for(lambda: box.calls() and box.calls()[0]["state"] == "active", 5,
                   what="call active")
    await sim.far_press("fxo1", "47")
    await wait_for(lambda: state()["phones"]["fxs1"]["heard_digits"] == "47", 5,
                   what="the phone to hear the caller's keys")
    await sim.far_hangup("fxo1")                     # CPC: loop current interrupted
    await wait_for(lambda: port_state(box, "fxo1") == "idle", 5, what="line released")
    # The phone, still off-hook, hears busy tone until it hangs up.
    await wait_for(lambda: state()["phones"]["fxs1"]["heard_level_dbm0"] > -30, 5,
                   what="busy tone on the phone")
    await sim.phone_onhook("fxs1")
    cdr = await last_cdr(box)
    assert (cdr["trunk"], cdr["extension"], cdr["disposition"]) == ("fxo1", "201", "answered")
    assert cdr["called"] == "201"       # an analog line carries no called number
    await all_idle(box)


async def test_e1_call_carries_called_number(box):
    await box.sim.trunk_call("e1.7", "+74950000001", "4951234567")
    await wait_for(lambda: box.sim.state()["phones"]["fxs1"]["ring_bursts"] >= 1, 5,
                   what="ringing")
    await box.sim.phone_offhook("fxs1")
    await wait_for(lambda: box.sim.state()["trunks"].get("e1.7", {}).get("call_state")
                   == "active", 5, what="connect sent to the switch")
    await box.sim.phone_onhook("fxs1")
    cdr = await last_cdr(box)
    assert (cdr["caller"], cdr["called"], cdr["trunk"]) == ("+74950000001", "4951234567", "e1")
    await all_idle(box)


async def test_caller_gives_up_before_answer_is_a_missed_call(box):
    await box.sim.trunk_call("gsm1", "+79990001122")
    await wait_for(lambda: box.sim.state()["phones"]["fxs1"]["ring_bursts"] >= 1, 5,
                   what="ringing")
    await box.sim.far_hangup("gsm1")
    cdr = await last_cdr(box)
    assert cdr["disposition"] == "no_answer" and cdr["answer_ts"] is None
    await wait_for(lambda: not box.sim.state()["phones"]["fxs1"]["ringing"], 3,
                   what="ringing to stop")
    await all_idle(box)


async def no_mailbox(box: Any, number: str) -> None:
    """Voicemail off for an extension: unanswered and busy calls then end as such."""
    doc = box.config_current()
    next(e for e in doc["extensions"] if e["number"] == number)["voicemail"] = False
    await box.config_commit(doc, author="test")


async def test_busy_extension_gives_busy_to_the_second_caller(box):
    await no_mailbox(box, "201")
    await box.sim.phone_offhook("fxs1")            # 201 is dialing: busy for inbound
    await box.sim.trunk_call("gsm2", "+79990003344")
    cdr = await last_cdr(box)
    assert cdr["disposition"] == "busy" and cdr["trunk"] == "gsm2"
    await wait_for(lambda: box.sim.state()["trunks"]["gsm2"]["call_state"] == "idle", 5,
                   what="the GSM call rejected")
    await box.sim.phone_onhook("fxs1")
    await all_idle(box)


async def test_internal_call_between_phones_by_dtmf(box):
    sim = box.sim
    await sim.phone_offhook("fxs2")
    await wait_for(lambda: sim.state()["phones"]["fxs2"]["heard_level_dbm0"] > -20, 3,
                   what="dial tone")
    await sim.phone_press("fxs2", "203")
    await wait_for(lambda: sim.state()["phones"]["fxs3"]["ring_bursts"] >= 1, 5,
                   what="203 to ring")
    await sim.phone_offhook("fxs3")
    await wait_for(lambda: box.calls() and box.calls()[0]["state"] == "active", 5,
                   what="answered")
    await sim.phone_press("fxs3", "5")
    await wait_for(lambda: sim.state()["phones"]["fxs2"]["heard_digits"].endswith("5"), 5,
                   what="202 to hear 203's key")
    await sim.phone_onhook("fxs2")
    cdr = await last_cdr(box)
    assert (cdr["direction"], cdr["caller"], cdr["called"]) == ("internal", "202", "203")
    assert cdr["disposition"] == "answered"
    await sim.phone_onhook("fxs3")
    await all_idle(box)


async def test_outbound_blocked_until_a_route_is_configured_then_live(box):
    sim = box.sim
    await sim.phone_offhook("fxs1")
    await sim.phone_press("fxs1", "89161234567")
    await wait_for(lambda: box.calls() == [] or box.calls()[0]["state"] == "ended", 8,
                   what="dialing to fail (no outbound route: toll-fraud safe default)")
    await sim.phone_onhook("fxs1")
    cdr = await last_cdr(box)
    assert cdr["disposition"] == "failed" and cdr["trunk"] is None
    await all_idle(box)

    doc = box.config_current()
    doc["outbound"] = [{"name": "mobile", "pattern": "^8\\d{10}$", "trunks": ["gsm1"],
                        "strip": 1, "prepend": "+7"}]
    await box.config_commit(doc, author="test", comment="allow mobile")   # live, no restart
    await sim.phone_offhook("fxs1")
    await sim.phone_press("fxs1", "89161234567")
    await wait_for(lambda: sim.state()["trunks"]["gsm1"]["call_state"] == "alerting", 8,
                   what="the module to dial out")
    assert sim.state()["trunks"]["gsm1"]["dialed"] == "+79161234567"
    await sim.far_answer("gsm1")
    await wait_for(lambda: box.calls() and box.calls()[0]["state"] == "active", 5,
                   what="answered")
    await sim.far_hangup("gsm1")
    await wait_for(lambda: len(box.cdrs()) == 2, 5, what="second CDR")
    cdr = box.cdrs()[0]
    assert (cdr["direction"], cdr["trunk"], cdr["called"], cdr["disposition"]) == (
        "outbound", "gsm1", "+79161234567", "answered")
    await sim.phone_onhook("fxs1")
    await all_idle(box)


async def test_unanswered_extension_times_out(box):
    await no_mailbox(box, "201")
    box.engine.ring_timeout_s = 1.0
    await box.sim.trunk_call("gsm1", "+79990005566")
    cdr = await last_cdr(box)
    assert cdr["disposition"] == "no_answer" and cdr["cause"] == 19
    await all_idle(box)


async def test_received_sms_is_stored_with_an_outbox_row(box: Any) -> None:
    module = box.board.gsm["gsm1"]
    module.modem.deliver_text("+79161234567", "Привет from the box 😀")
    module.modem.deliver_sms("00DEADBEEF")  # undecodable: kept raw

    def stored() -> list[Any]:
        return box.store.sms()

    rows = await wait_for(lambda: len(stored()) == 2 and stored(), 5, what="two SMS stored")
    by_error = {r.error is None: r for r in rows}
    assert by_error[True].text == "Привет from the box 😀" and by_error[True].modem == "gsm1"
    assert by_error[True].iccid == module.modem.identity.iccid
    assert by_error[False].text is None and by_error[False].raw_pdus == ["00DEADBEEF"]
    topics = [m.topic for m in box.store.outbox_pending(limit=1000)]
    assert topics.count("sms") == 2


async def test_fxo_line_released_when_the_exchange_only_sends_busy_tone(box):
    """No loop-current break, no polarity reversal: only the tone says the far end is gone.
    The box hears it through its call-progress detector and frees the line."""
    sim = box.sim
    box.board.lines["fxo2"].clear_down = "tone"
    await sim.trunk_call("fxo2", None)
    await wait_for(lambda: sim.state()["phones"]["fxs1"]["ring_bursts"] >= 1, 8,
                   what="fxs1 ring")
    await sim.phone_offhook("fxs1")
    await wait_for(lambda: box.calls() and box.calls()[0]["state"] == "active", 5,
                   what="call active")
    await sim.far_hangup("fxo2")                     # the exchange now sends busy tone
    await wait_for(lambda: port_state(box, "fxo2") == "idle", 8,
                   what="the line released on busy tone")
    assert sim.state()["trunks"]["fxo2"]["line_off_hook"] is False
    await sim.phone_onhook("fxs1")
    cdr = await last_cdr(box)
    assert (cdr["trunk"], cdr["disposition"]) == ("fxo2", "answered")
    await all_idle(box)


async def test_larger_simulated_board_from_settings(tmp_path):
    """`Settings(board=BoardSize(...))` sizes the simulated board (benchmarks, test rigs):
    its ports, the first-boot extensions and trunks follow; a call on the last B-channel
    reaches the last phone, and keys cross in both directions."""
    from firmware.app import BoardSize, Box, Settings

    box = Box(Settings(data_dir=tmp_path / "data", board=BoardSize(
        fxs=12, fxo=0, gsm=0, e1_channels=60)))
    await box.start()
    try:
        assert len(box.channels) == 72 and {"fxs12", "e1.60"} <= set(box.channels)
        doc = box.config_current()
        assert doc["extensions"][-1] == {"number": "212", "name": "Extension 212",
                                         "port": "fxs12", "enabled": True}
        assert [t["id"] for t in doc["trunks"]] == ["e1"]
        for r in doc["routes"]:
            r["destination"] = {"type": "extension", "target": "212"}
        await box.config_commit(doc, author="test")
        sim, state = box.sim, box.sim.state
        await sim.trunk_call("e1.60", "+74951234567", "100")
        await wait_for(lambda: state()["phones"]["fxs12"]["ringing"], 5, what="fxs12 to ring")
        await sim.phone_offhook("fxs12")
        await wait_for(lambda: box.calls() and box.calls()[0]["state"] == "active", 5,
                       what="call active")
        await sim.far_press("e1.60", "19")
        await sim.phone_press("fxs12", "#")
        await wait_for(lambda: state()["phones"]["fxs12"]["heard_digits"] == "19", 5,
                       what="the phone to hear the caller's keys")
        await wait_for(lambda: state()["trunks"]["e1.60"]["heard_digits"] == "#", 5,
                       what="the caller to hear the phone's key")
        await sim.far_hangup("e1.60")
        await sim.phone_onhook("fxs12")
        await wait_for(lambda: box.calls() == [] and all(
            ch.state.value == "idle" for ch in box.channels.values()), timeout=5,
            what="every channel idle and no call left")
    finally:
        await box.stop()
