"""Caller ID on the analog ports, end to end on the simulated board.

The phones show only what they decode from the audio they hear on their line (the real
FSK and DTMF receivers), and the box learns an analog line's caller only from the audio
the simulated exchange sends. The country and the caller ID mode are set as an installer
would, by committing the configuration.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.integration.test_calls_sim import all_idle, last_cdr

GSM_CALLER = "+79161234567"


async def configure(box: Any, country: str, caller_id: str = "auto",
                    **sections: Any) -> None:
    doc = copy.deepcopy(box.config_current())
    doc["system"]["country"] = country
    doc["system"]["caller_id"] = caller_id
    doc.update(sections)
    await box.config_commit(doc, author="test", comment=f"caller ID {country}/{caller_id}")


def phone(box: Any, port: str = "fxs1") -> dict[str, Any]:
    return box.sim.state()["phones"][port]


async def shown(box: Any, port: str = "fxs1", timeout: float = 12.0) -> dict[str, Any]:
    cid: dict[str, Any] = await wait_for(lambda: phone(box, port)["caller_id"], timeout,
                                         what=f"{port} to display a caller ID")
    return cid


async def answer_and_hang_up(box: Any, port: str = "fxs1") -> None:
    await box.sim.phone_offhook(port)
    await wait_for(lambda: box.calls() and box.calls()[0]["state"] == "active", 5,
                   what="call answered")
    await box.sim.phone_onhook(port)


# country, setting, standard decoded by the phone, number shown, rings before the data
STANDARDS = [
    ("US", "auto", "bell202", GSM_CALLER, 1),
    ("DE", "auto", "v23", GSM_CALLER, 1),
    ("RU", "auto", "v23", GSM_CALLER, 1),
    ("GB", "auto", "v23", GSM_CALLER, 0),          # v23-dtas: before the first ring
    ("SE", "auto", "dtmf", "0079161234567", 0),     # DTMF: digits only, Swedish form
    ("RU", "dtmf", "dtmf", "89161234567", 0),       # DTMF: the Russian national form
]


@pytest.mark.parametrize(("country", "setting", "standard", "number", "rings"), STANDARDS,
                         ids=[f"{c}-{s}" for c, s, *_ in STANDARDS])
async def test_gsm_caller_shown_on_the_phone(box: Any, country: str, setting: str,
                                             standard: str, number: str, rings: int) -> None:
    await configure(box, country, setting)
    await box.sim.trunk_call("gsm1", GSM_CALLER)
    cid = await shown(box)
    assert (cid["standard"], cid["number"], cid["absence"]) == (standard, number, None)
    assert cid["after_rings"] == rings
    if standard == "dtmf":
        assert cid["datetime"] is None                 # DTMF carries the number only
    else:
        assert cid["datetime"] is not None and len(cid["datetime"]) == 8
    await wait_for(lambda: phone(box)["ring_bursts"] >= 1, 5, what="ringing")
    await answer_and_hang_up(box)
    await all_idle(box)


async def test_internal_call_shows_the_extension_number_and_name(box: Any) -> None:
    doc = copy.deepcopy(box.config_current())
    doc["extensions"][1]["name"] = "Reception"
    await box.config_commit(doc, author="test")
    sim = box.sim
    await sim.phone_offhook("fxs2")
    await wait_for(lambda: phone(box, "fxs2")["heard_level_dbm0"] > -20, 3, what="dial tone")
    await sim.phone_press("fxs2", "203")
    cid = await shown(box, "fxs3")
    assert (cid["number"], cid["name"], cid["standard"]) == ("202", "Reception", "v23")
    await sim.phone_offhook("fxs3")
    await wait_for(lambda: box.calls() and box.calls()[0]["state"] == "active", 5,
                   what="answered")
    await sim.phone_onhook("fxs2")
    await sim.phone_onhook("fxs3")
    await all_idle(box)


@pytest.mark.parametrize("setting", ["auto", "dtmf"])
async def test_withheld_caller_shows_private(box: Any, setting: str) -> None:
    await configure(box, "RU", setting)
    await box.sim.trunk_call("gsm1", None)
    cid = await shown(box)
    assert (cid["number"], cid["name"], cid["absence"]) == (None, None, "P")
    await answer_and_hang_up(box)
    await all_idle(box)


async def test_name_from_the_directory(box: Any) -> None:
    await configure(box, "RU", directory=[{"number": "89161234567", "name": "Ivan Petrov"}])
    await box.sim.trunk_call("gsm1", GSM_CALLER)      # the same number, another spelling
    cid = await shown(box)
    assert (cid["number"], cid["name"]) == (GSM_CALLER, "Ivan Petrov")
    await answer_and_hang_up(box)
    await all_idle(box)


async def test_off_sends_nothing_and_still_rings(box: Any) -> None:
    await configure(box, "US", "off")
    await box.sim.trunk_call("gsm1", GSM_CALLER)
    await wait_for(lambda: phone(box)["ring_bursts"] >= 1, 5, what="ringing")
    await wait_for(lambda: not phone(box)["ringing"], 5, what="the first ring's pause")
    await wait_for(lambda: phone(box)["ringing"], 6, what="the second ring")
    assert phone(box)["caller_id"] is None
    await answer_and_hang_up(box)
    await all_idle(box)


async def test_off_hook_during_the_transmission_stops_it_and_answers(box: Any) -> None:
    await configure(box, "SE")                     # DTMF before the first ring: ~2 s
    await box.sim.trunk_call("gsm1", GSM_CALLER)
    fxs1 = box.channels["fxs1"]
    await wait_for(lambda: fxs1.caller_id_sending, 8, what="caller ID on the line")
    await box.sim.phone_offhook("fxs1")
    await wait_for(lambda: box.calls() and box.calls()[0]["state"] == "active", 5,
                   what="answered by going off-hook")
    assert not fxs1.caller_id_sending
    await wait_for(lambda: box.sim.state()["trunks"]["gsm1"]["call_state"] == "active", 5,
                   what="the GSM call connected")
    # the handset hears the call, not the rest of the caller ID digits
    await box.sim.far_press("gsm1", "5")
    await wait_for(lambda: phone(box)["heard_digits"] == "5", 5,
                   what="the caller's key, and no caller ID digits")
    assert phone(box)["caller_id"] is None
    assert phone(box)["ring_bursts"] == 0
    await box.sim.phone_onhook("fxs1")
    await all_idle(box)


# -- FXO: caller ID from the exchange --------------------------------------------------

LINES = [("RU", "+74951234567"), ("US", "+74951234567"), ("GB", "+74951234567"),
         ("SE", "0074951234567")]


@pytest.mark.parametrize(("country", "number"), LINES, ids=[c for c, _ in LINES])
async def test_fxo_caller_id_reaches_the_call_and_the_cdr(box: Any, country: str,
                                                          number: str) -> None:
    await configure(box, country)
    line = box.board.lines["fxo1"]
    line.country = country                          # an exchange of that country
    await box.sim.trunk_call("fxo1", "+74951234567", caller_name="ACME Ltd")
    call = await wait_for(lambda: box.calls() and box.calls()[0], 12, what="the call offered")
    assert call["caller"] == number
    fxo = box.channels["fxo1"]
    # offered on the caller ID, before the second ring
    assert fxo.rings == 1
    cid = await shown(box)                          # passed on to the phone
    assert cid["number"] == number
    if country != "SE":
        assert cid["name"] == "ACME Ltd"            # FSK carries the name through
    await box.sim.phone_offhook("fxs1")
    await wait_for(lambda: box.sim.state()["trunks"]["fxo1"]["call_state"] == "active", 5,
                   what="the line answered")
    await box.sim.far_hangup("fxo1")
    await wait_for(lambda: box.channels["fxo1"].state.value == "idle", 5, what="line released")
    await box.sim.phone_onhook("fxs1")
    cdr = await last_cdr(box)
    assert (cdr["trunk"], cdr["caller"], cdr["disposition"]) == ("fxo1", number, "answered")
    await all_idle(box)


async def test_fxo_withheld_caller(box: Any) -> None:
    await box.sim.trunk_call("fxo1", None)
    cid = await shown(box)
    assert cid["absence"] == "P"
    await answer_and_hang_up(box)
    cdr = await last_cdr(box)
    assert cdr["caller"] in ("", None)
    await all_idle(box)


async def test_fxo_line_without_caller_id_rings_through_after_the_second_ring(box: Any) -> None:
    box.board.lines["fxo1"].clip = False            # no caller ID service on this line
    await box.sim.trunk_call("fxo1", "+74951234567")
    fxo = box.channels["fxo1"]
    await wait_for(lambda: fxo.rings >= 1, 5, what="the first ring")
    await wait_for(lambda: box.calls(), 12, what="the call offered")
    assert fxo.rings == 2                            # not before the second ring
    assert box.calls()[0]["caller"] == ""
    cid = await shown(box)
    assert (cid["number"], cid["absence"]) == (None, "O")   # the phone shows "unavailable"
    await answer_and_hang_up(box)
    cdr = await last_cdr(box)
    assert cdr["trunk"] == "fxo1" and cdr["disposition"] == "answered"
    await all_idle(box)


async def test_fxo_caller_id_off_offers_on_the_first_ring(box: Any) -> None:
    doc = copy.deepcopy(box.config_current())
    doc["ports"]["fxo1"] = {"caller_id": "off"}
    await box.config_commit(doc, author="test")
    await box.sim.trunk_call("fxo1", "+74951234567")
    await wait_for(lambda: box.calls(), 3, what="the call offered at once")
    assert box.channels["fxo1"].rings == 1 and box.calls()[0]["caller"] == ""
    await answer_and_hang_up(box)
    await all_idle(box)
