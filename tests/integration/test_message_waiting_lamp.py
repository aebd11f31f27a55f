"""Message waiting lamps and RP-AS caller ID, end to end on the simulated board.

The phone's lamp is what the simulated phone decodes from its line on-hook (the real FSK
receiver), never what the firmware thinks; voicemail is left by a caller on a GSM trunk
and listened to with ``*97`` from the phone, as people do. Extension numbers come from the
configuration (the phone on fxs2), never hard-coded.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.integration.test_caller_id_sim import GSM_CALLER, answer_and_hang_up, shown
from tests.integration.test_caller_id_sim import configure as configure_country
from tests.integration.test_pbx_features import (
    all_idle,
    cdr,
    configure,
    hang_up,
    hears,
    phone,
    rings,
    route_to,
)
from tests.integration.test_voicemail import leave_message, stutter

PORT = "fxs2"            # the phone whose mailbox the tests fill (leave_message rings it)
# reversal, DT-AS and FSK take about 1 s, after 1.5 s of quiet line
LAMP_S = 8.0


def ext_on(doc: dict[str, Any], port: str) -> dict[str, Any]:
    return next(e for e in doc["extensions"] if e["port"] == port)


def lamp(box: Any, port: str = PORT) -> dict[str, Any]:
    state: dict[str, Any] = phone(box, port)["message_waiting_lamp"]
    return state


async def lamp_is(box: Any, on: bool, what: str, port: str = PORT) -> dict[str, Any]:
    state: dict[str, Any] = await wait_for(
        lambda: (s := lamp(box, port))["updates"] and s["on"] is on and s, LAMP_S, what=what)
    return state


async def to_voicemail_on_no_answer(box: Any, **settings: Any) -> str:
    number = ""

    def change(doc: dict[str, Any]) -> None:
        nonlocal number
        e = ext_on(doc, PORT)
        e.update(ring_s=5, **settings)
        number = e["number"]
        route_to(doc, "gsm1", {"type": "extension", "target": number})

    await configure(box, change)
    return number


async def test_lamp_on_after_a_message_and_off_once_listened(box: Any) -> None:
    mailbox = await to_voicemail_on_no_answer(box)
    # At start every lamp phone is told its (empty) mailbox.
    await lamp_is(box, False, "the lamp state sent at box start")
    await leave_message(box, "+79161230100", "4567")
    state = await lamp_is(box, True, "the lamp on after the message")
    assert state["messages"] == 1                       # ETSI number of messages
    await all_idle(box)

    # "both": the stutter dial tone too; the owner listens to every new message.
    await box.sim.phone_offhook(PORT)
    await wait_for(lambda: phone(box, PORT)["heard_level_dbm0"] > -25, 3, what="dial tone")
    assert await stutter(box, PORT)
    await box.sim.phone_press(PORT, "*97")
    await hears(box, PORT, "4567", timeout=8)
    await box.sim.phone_press(PORT, "#")               # next: the message is now read
    await wait_for(lambda: box.engine.messages_waiting(mailbox) == 0, 8, what="no new message")
    # decided, but not sent while the phone is off-hook
    fxs = box.channels[PORT]
    assert fxs.describe()["message_waiting"] == 0
    assert fxs.describe()["message_waiting_pending"] and lamp(box)["on"] is True
    await hang_up(box, PORT)
    await lamp_is(box, False, "the lamp off after hanging up")
    assert not fxs.describe()["message_waiting_pending"]
    await all_idle(box)


@pytest.mark.parametrize(("country", "mode", "count"), [("US", "auto", None),
                                                      ("GB", "v23-rpas", 1)])
async def test_lamp_in_other_signalling_modes(box: Any, country: str, mode: str,
                                              count: int | None) -> None:
    await configure_country(box, country, mode)
    await to_voicemail_on_no_answer(box)
    await leave_message(box, "+79161230105", "66")
    await all_idle(box)
    rings, pulses = phone(box, PORT)["ring_bursts"], phone(box, PORT)["alert_pulses"]
    state = await lamp_is(box, True, "the lamp on")
    assert state["messages"] == count               # Bell 202 VMWI carries no count
    assert phone(box, PORT)["ring_bursts"] == rings   # a lamp never rings the phone
    # RP-AS before the data where the mode alerts so, nothing in Bell 202
    assert phone(box, PORT)["alert_pulses"] == pulses + (mode == "v23-rpas")
    await all_idle(box)


async def test_a_message_while_off_hook_lights_the_lamp_after_hang_up(box: Any) -> None:
    mailbox = ""

    def change(doc: dict[str, Any]) -> None:
        nonlocal mailbox
        mailbox = ext_on(doc, PORT)["number"]
        route_to(doc, "gsm1", {"type": "voicemail", "target": mailbox})

    await configure(box, change)
    await lamp_is(box, False, "the lamp state sent at box start")
    sent = lamp(box)["updates"]
    await box.sim.phone_offhook(PORT)                  # busy on something else
    await box.sim.trunk_call("gsm1", "+79161230102")
    await wait_for(lambda: [c for c in box.calls() if c["state"] == "voicemail"], 8,
                   what="the caller in voicemail")
    await asyncio.sleep(1.8)
    await box.sim.far_press("gsm1", "123")
    await asyncio.sleep(1.2)
    await box.sim.far_hangup("gsm1")
    await wait_for(lambda: box.engine.messages_waiting(mailbox) == 1, 8, what="the message")
    await asyncio.sleep(3.0)                           # time enough to send, were it allowed
    assert lamp(box)["updates"] == sent and lamp(box)["on"] is False
    assert box.channels[PORT].describe()["message_waiting_pending"]
    await hang_up(box, PORT)
    await lamp_is(box, True, "the lamp on once the phone hung up")
    await all_idle(box)


async def test_stutter_only_and_lamp_only_settings(box: Any) -> None:
    await to_voicemail_on_no_answer(box, message_waiting="stutter")
    await lamp_is(box, False, "the box start")
    await leave_message(box, "+79161230103", "89")
    await all_idle(box)
    await asyncio.sleep(3.0)
    assert lamp(box)["on"] is False                    # "stutter": the lamp is left alone
    await box.sim.phone_offhook(PORT)
    await wait_for(lambda: phone(box, PORT)["heard_level_dbm0"] > -25, 3, what="dial tone")
    assert await stutter(box, PORT)
    await hang_up(box, PORT)

    await configure(box, lambda d: ext_on(d, PORT).update(message_waiting="lamp"))
    await lamp_is(box, True, "the lamp as soon as the extension wants one")
    await box.sim.phone_offhook(PORT)
    await wait_for(lambda: phone(box, PORT)["heard_level_dbm0"] > -25, 3, what="dial tone")
    assert not await stutter(box, PORT)               # "lamp": a steady dial tone
    await hang_up(box, PORT)
    await all_idle(box)


async def test_box_restart_sends_the_lamps_again(tmp_path: Path) -> None:
    from firmware.app import Box, Settings

    data = tmp_path / "data"
    box = Box(Settings(data_dir=data, simulated=True))
    await box.start()
    try:
        await to_voicemail_on_no_answer(box)
        await leave_message(box, "+79161230104", "55")
        await lamp_is(box, True, "the lamp on")
        await all_idle(box)
    finally:
        await box.stop()
    box = Box(Settings(data_dir=data, simulated=True))   # new phones: lamps dark
    await box.start()
    try:
        assert lamp(box)["updates"] == 0 and lamp(box)["on"] is False
        state = await lamp_is(box, True, "the lamp sent again at start")
        assert state["messages"] == 1
        others = [p for p in box.sim.state()["phones"] if p != PORT]
        for port in others:                            # every lamp phone hears its state
            await lamp_is(box, False, f"{port} told it has nothing", port)
        await all_idle(box)
    finally:
        await box.stop()


# -- RP-AS ---------------------------------------------------------------------------------

async def test_rpas_phone_sees_the_pulse_then_caller_id_then_rings(box: Any) -> None:
    await configure_country(box, "GB", "v23-rpas")
    await lamp_is(box, False, "the box start's lamp message", "fxs1")
    pulses = phone(box, "fxs1")["alert_pulses"]
    await box.sim.trunk_call("gsm1", GSM_CALLER)
    cid = await shown(box)
    assert (cid["standard"], cid["number"]) == ("v23", GSM_CALLER)
    assert (cid["rp_as"], cid["after_rings"]) == (True, 0)   # pulse, data, then rings
    await wait_for(lambda: phone(box, "fxs1")["ring_bursts"] >= 1, 5, what="ringing")
    assert phone(box, "fxs1")["alert_pulses"] == pulses + 1   # the pulse was not a ring
    await answer_and_hang_up(box)
    assert phone(box, "fxs1")["caller_id"]["number"] == GSM_CALLER   # the display keeps it
    await all_idle(box)


async def test_fxo_line_with_rpas_caller_id(box: Any) -> None:
    await configure_country(box, "GB", "v23-rpas")
    line = box.board.lines["fxo1"]
    line.country, line.caller_id = "GB", "v23-rpas"    # an exchange that alerts by RP-AS
    await box.sim.trunk_call("fxo1", "+441632960000", caller_name="ACME Ltd")
    call = await wait_for(lambda: box.calls() and box.calls()[0], 12, what="the call offered")
    assert call["caller"] == "+441632960000"
    fxo = box.channels["fxo1"]
    assert (fxo.rings, fxo.alert_pulses) == (1, 1)      # the pulse was no ring
    await rings(box, "fxs1")                           # picked up once it rings
    await box.sim.phone_offhook("fxs1")
    await wait_for(lambda: box.sim.state()["trunks"]["fxo1"]["call_state"] == "active", 5,
                   what="the line answered")
    await box.sim.far_hangup("fxo1")
    await wait_for(lambda: fxo.state.value == "idle", 5, what="line released")
    await box.sim.phone_onhook("fxs1")
    rec = await cdr(box)
    assert (rec["trunk"], rec["caller"], rec["disposition"]) == (
        "fxo1", "+441632960000", "answered")
    await all_idle(box)
