"""Office-PBX behaviour on the simulated board, driven through the people on the lines.

Every scenario acts as people would — callers on trunks, phones going off-hook, flashing
and pressing keys (DTMF audio) — and checks what they hear and what the box records; at
the end of each, every channel is idle again and no call is left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import wait_for


async def configure(box: Any, change: Callable[[dict[str, Any]], None]) -> None:
    doc = box.config_current()
    change(doc)
    await box.config_commit(doc, author="test")


def phone(box: Any, port: str) -> dict[str, Any]:
    return box.sim.state()["phones"][port]


def trunk(box: Any, port: str) -> dict[str, Any]:
    return box.sim.state()["trunks"][port]


async def rings(box: Any, port: str, timeout: float = 5) -> None:
    await wait_for(lambda: phone(box, port)["ring_bursts"] >= 1 and phone(box, port)["ringing"]
                   or box.channels[port].state.value == "alerting", timeout,
                   what=f"{port} to ring")


async def active(box: Any, timeout: float = 5) -> dict[str, Any]:
    calls = await wait_for(lambda: [c for c in box.calls() if c["state"] == "active"],
                           timeout, what="an active call")
    return calls[0]


async def hears(box: Any, port: str, digits: str, timeout: float = 5) -> None:
    await wait_for(lambda: phone(box, port)["heard_digits"].endswith(digits), timeout,
                   what=f"{port} to hear {digits}")


async def far_hears(box: Any, port: str, digits: str, timeout: float = 5) -> None:
    await wait_for(lambda: trunk(box, port)["heard_digits"].endswith(digits), timeout,
                   what=f"the far end on {port} to hear {digits}")


async def hang_up(box: Any, port: str) -> None:
    """On-hook, and wait until the port has seen a hang-up (not a flash: > 0.7 s)."""
    await box.sim.phone_onhook(port)
    await wait_for(lambda: box.channels[port].state.value == "idle", 3,
                   what=f"{port} back on-hook")


async def all_idle(box: Any) -> None:
    await wait_for(lambda: box.calls() == [] and not box.engine.busy_channels() and all(
        ch.state.value == "idle" for ch in box.channels.values()), timeout=8,
        what="every channel idle and no call left")


async def cdr(box: Any, n: int = 1) -> dict[str, Any]:
    rows = await wait_for(lambda: len(box.cdrs()) >= n and box.cdrs(), 8, what=f"{n} CDR(s)")
    return rows[0]


def route_to(doc: dict[str, Any], trunk_id: str, dest: dict[str, Any]) -> None:
    for r in doc["routes"]:
        if r["match"]["trunk"] == trunk_id:
            r["destination"] = dest


def mobile_route(doc: dict[str, Any], trunks: list[str]) -> None:
    doc["outbound"] = [{"name": "mobile", "pattern": "^(8|\\+7)9\\d{9}$", "trunks": trunks}]


# -- ring groups ----------------------------------------------------------------------------
async def test_ring_group_ring_all_first_answer_wins(box):
    await configure(box, lambda d: (d["ring_groups"].append(
        {"id": "sales", "name": "Sales", "strategy": "ringall", "members": ["202", "203"]}),
        route_to(d, "gsm1", {"type": "ring_group", "target": "sales"})))
    await box.sim.trunk_call("gsm1", "+79161230001")
    await rings(box, "fxs2")
    await rings(box, "fxs3")
    await box.sim.phone_offhook("fxs3")
    await active(box)
    await wait_for(lambda: not phone(box, "fxs2")["ringing"] and
                   box.channels["fxs2"].state.value == "idle", 3, what="202 to stop ringing")
    await box.sim.far_press("gsm1", "5")
    await hears(box, "fxs3", "5")
    await box.sim.phone_onhook("fxs3")
    rec = await cdr(box)
    assert (rec["disposition"], rec["extension"]) == ("answered", "203")
    await all_idle(box)


async def test_ring_group_sequential_then_cascading(box):
    await configure(box, lambda d: (d["ring_groups"].extend([
        {"id": "seq", "name": "In turn", "strategy": "sequential", "members": ["202", "203"],
         "member_s": 3},
        {"id": "cas", "name": "Growing", "strategy": "cascading",
         "members": [{"target": "202"}, {"target": "203", "delay_s": 3}]}]),
        route_to(d, "gsm1", {"type": "ring_group", "target": "seq"}),
        route_to(d, "gsm2", {"type": "ring_group", "target": "cas"})))
    await box.sim.trunk_call("gsm1", "+79161230002")
    await rings(box, "fxs2")
    assert box.channels["fxs3"].state.value == "idle"          # only the first, in turn
    await rings(box, "fxs3", timeout=6)
    assert box.channels["fxs2"].state.value == "idle"          # the first stopped
    await box.sim.far_hangup("gsm1")
    await all_idle(box)

    await box.sim.trunk_call("gsm2", "+79161230003")
    await rings(box, "fxs2")
    assert box.channels["fxs3"].state.value == "idle"
    await rings(box, "fxs3", timeout=6)
    assert box.channels["fxs2"].state.value == "alerting"      # still ringing: cascading
    await box.sim.phone_offhook("fxs2")
    await active(box)
    await box.sim.far_hangup("gsm2")
    await box.sim.phone_onhook("fxs2")
    await all_idle(box)


async def test_ring_group_reaches_a_mobile_over_gsm_and_fails_over(box):
    def change(d: dict[str, Any]) -> None:
        mobile_route(d, ["gsm2"])
        d["ring_groups"].append({"id": "boss", "name": "Boss", "strategy": "sequential",
                                 "members": ["202", {"target": "+79165550000"}],
                                 "member_s": 3, "timeout_s": 30,
                                 "failover": {"type": "extension", "target": "204"}})
        route_to(d, "gsm1", {"type": "ring_group", "target": "boss"})
    await configure(box, change)
    await box.sim.trunk_call("gsm1", "+79161230004")
    await rings(box, "fxs2")
    await wait_for(lambda: trunk(box, "gsm2")["call_state"] == "alerting", 8,
                   what="the mobile to be dialed over gsm2")
    assert trunk(box, "gsm2")["dialed"] == "+79165550000"
    await box.sim.far_answer("gsm2")
    await active(box)
    await box.sim.far_press("gsm1", "8")
    await far_hears(box, "gsm2", "8")                  # caller and mobile hear each other
    await box.sim.far_hangup("gsm1")
    await all_idle(box)

    # Nobody answers: after the members, the failover destination (204) rings.
    await box.sim.trunk_call("gsm1", "+79161230005")
    await rings(box, "fxs2")
    await wait_for(lambda: trunk(box, "gsm2")["call_state"] == "alerting", 8, what="mobile")
    await box.sim.far_hangup("gsm2")                   # the mobile rejects
    await rings(box, "fxs4", timeout=8)
    await box.sim.phone_offhook("fxs4")
    await active(box)
    await box.sim.phone_onhook("fxs4")
    rec = await cdr(box, 2)
    assert (rec["disposition"], rec["extension"]) == ("answered", "204")
    await all_idle(box)


# -- IVR ------------------------------------------------------------------------------------
async def test_ivr_choice_direct_dial_and_timeout(box):
    def change(d: dict[str, Any]) -> None:
        d["ivrs"] = [{"id": "main", "name": "Main menu", "prompt": None, "timeout_s": 2,
                      "retries": 2, "options": {"1": {"type": "extension", "target": "202"}},
                      "timeout_destination": {"type": "extension", "target": "204"},
                      "invalid_destination": {"type": "hangup"}}]
        route_to(d, "gsm1", {"type": "ivr", "target": "main"})
    await configure(box, change)
    # 1 → 202
    await box.sim.trunk_call("gsm1", "+79161230006")
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "active", 5,
                   what="the IVR to answer")
    await box.sim.far_press("gsm1", "1")
    await rings(box, "fxs2")
    await box.sim.phone_offhook("fxs2")
    await active(box)
    await box.sim.phone_onhook("fxs2")
    await all_idle(box)
    # direct dial of an extension
    await box.sim.trunk_call("gsm1", "+79161230007")
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "active", 5, what="IVR")
    await box.sim.far_press("gsm1", "203")
    await rings(box, "fxs3")
    await box.sim.far_hangup("gsm1")
    await all_idle(box)
    # no choice: the timeout destination
    await box.sim.trunk_call("gsm1", "+79161230008")
    await rings(box, "fxs4", timeout=8)
    await box.sim.far_hangup("gsm1")
    await all_idle(box)
    # invalid choices, twice: the invalid-input destination (hang up)
    await box.sim.trunk_call("gsm1", "+79161230009")
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "active", 5, what="IVR")
    await box.sim.far_press("gsm1", "9")
    await wait_for(lambda: trunk(box, "gsm1")["heard_level_dbm0"] > -20, 5,
                   what="the menu's complaint tone")
    await box.sim.far_press("gsm1", "8")
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "idle", 10,
                   what="the call to be hung up after invalid input")
    assert box.channels["fxs4"].state.value == "idle"
    await all_idle(box)


# -- forwarding and do-not-disturb by feature code ------------------------------------------
async def test_forward_always_and_dnd_by_feature_code(box):
    # Without a mailbox, DND means busy (with one, the caller leaves a message: test_voicemail).
    await configure(box, lambda d: d["extensions"][0].update(voicemail=False))
    await box.sim.phone_offhook("fxs1")
    await box.sim.phone_press("fxs1", "*72203#")
    await wait_for(lambda: box.engine.settings.get("201").forward_always == "203", 5,
                   what="forwarding set")
    await box.sim.phone_onhook("fxs1")
    await all_idle(box)
    await box.sim.trunk_call("gsm1", "+79161230010")
    await rings(box, "fxs3")
    assert box.channels["fxs1"].state.value == "idle"
    await box.sim.phone_offhook("fxs3")
    await active(box)
    await box.sim.phone_onhook("fxs3")
    await all_idle(box)

    await box.sim.phone_offhook("fxs1")
    await box.sim.phone_press("fxs1", "*73")
    await wait_for(lambda: box.engine.settings.get("201").forward_always is None, 5,
                   what="forwarding cleared")
    await hang_up(box, "fxs1")
    await box.sim.phone_offhook("fxs1")
    await box.sim.phone_press("fxs1", "*78")
    await wait_for(lambda: box.engine.settings.get("201").dnd, 5, what="DND on")
    await box.sim.phone_onhook("fxs1")
    await all_idle(box)
    await box.sim.trunk_call("gsm1", "+79161230011")
    rec = await wait_for(lambda: [c for c in box.cdrs() if c["caller"] == "+79161230011"], 5,
                         what="the call refused busy")
    assert rec[0]["disposition"] == "busy"
    await all_idle(box)


# -- transfer, conference, park, pickup -----------------------------------------------------
async def answered_call_on_201(box: Any, caller: str = "+79161230020") -> None:
    await box.sim.trunk_call("gsm1", caller)
    await rings(box, "fxs1")
    await box.sim.phone_offhook("fxs1")
    await active(box)


async def test_blind_transfer_on_ringing(box):
    await answered_call_on_201(box)
    await box.sim.phone_flash("fxs1")
    await box.sim.phone_press("fxs1", "202")
    await rings(box, "fxs2")
    await box.sim.phone_onhook("fxs1")          # hang up while 202 rings: transfer
    await box.sim.phone_offhook("fxs2")
    await wait_for(lambda: any(c["transfers"] == 1 and c["state"] == "active"
                               for c in box.calls()), 5, what="transferred call active")
    await box.sim.far_press("gsm1", "4")
    await hears(box, "fxs2", "4")
    await box.sim.phone_onhook("fxs2")
    rec = await cdr(box)
    assert rec["disposition"] == "answered"
    assert [leg["channel"] for leg in rec["legs"]] == ["gsm1", "fxs1", "fxs2"]
    await all_idle(box)


async def test_attended_transfer_and_return_to_held(box):
    await answered_call_on_201(box)
    # flash, dial nothing, flash: back to the caller
    await box.sim.phone_flash("fxs1")
    await wait_for(lambda: any(c["state"] == "held" for c in box.calls()), 3, what="held")
    await box.sim.phone_flash("fxs1")
    await active(box)
    await box.sim.far_press("gsm1", "1")
    await hears(box, "fxs1", "1")
    # consult 203, talk to them, then hang up: attended transfer
    await box.sim.phone_flash("fxs1")
    await box.sim.phone_press("fxs1", "203")
    await rings(box, "fxs3")
    await box.sim.phone_offhook("fxs3")
    await box.sim.phone_press("fxs3", "6")
    await hears(box, "fxs1", "6")               # the consultation is private...
    assert not trunk(box, "gsm1")["heard_digits"].endswith("6")   # ...the caller is held
    await hang_up(box, "fxs1")                  # hang up: attended transfer
    await box.sim.far_press("gsm1", "2")
    await hears(box, "fxs3", "2")
    await box.sim.phone_onhook("fxs3")
    await all_idle(box)


async def test_three_way_conference(box):
    await answered_call_on_201(box)
    await box.sim.phone_flash("fxs1")
    await box.sim.phone_press("fxs1", "202")
    await rings(box, "fxs2")
    await box.sim.phone_offhook("fxs2")
    await wait_for(lambda: box.channels["fxs2"].state.value == "active", 3, what="answer")
    await box.sim.phone_flash("fxs1")           # flash while consulting: conference
    await wait_for(lambda: any(c["state"] == "conference" for c in box.calls()), 3,
                   what="conference")
    await box.sim.far_press("gsm1", "7")
    await hears(box, "fxs1", "7")
    await hears(box, "fxs2", "7")
    await box.sim.phone_onhook("fxs2")
    await box.sim.phone_onhook("fxs1")
    await all_idle(box)


async def test_park_and_retrieve_from_another_phone(box):
    await answered_call_on_201(box)
    await box.sim.phone_flash("fxs1")
    await box.sim.phone_press("fxs1", "701")
    await wait_for(lambda: 1 in box.engine.parked, 3, what="the call parked in 701")
    await hang_up(box, "fxs1")
    await box.sim.phone_offhook("fxs3")
    await box.sim.phone_press("fxs3", "701")
    await wait_for(lambda: not box.engine.parked, 5, what="retrieval")
    await box.sim.far_press("gsm1", "3")
    await hears(box, "fxs3", "3")
    await box.sim.phone_onhook("fxs3")
    rec = await cdr(box)
    assert rec["disposition"] == "answered" and rec["caller"] == "+79161230020"
    assert len(box.cdrs()) == 1                 # retrieving is not a call of its own
    await all_idle(box)


async def test_unclaimed_parked_call_rings_the_parker(box):
    box.engine.dialplan.park_timeout_s = 2
    await answered_call_on_201(box)
    await box.sim.phone_flash("fxs1")
    await box.sim.phone_press("fxs1", "702")
    await wait_for(lambda: 2 in box.engine.parked, 3, what="parked")
    await box.sim.phone_onhook("fxs1")
    await wait_for(lambda: box.channels["fxs1"].state.value == "alerting", 8,
                   what="the parker's phone to ring")
    await box.sim.phone_offhook("fxs1")
    await box.sim.far_press("gsm1", "9")
    await hears(box, "fxs1", "9")
    await box.sim.phone_onhook("fxs1")
    await all_idle(box)


async def test_group_pickup(box):
    await box.sim.trunk_call("gsm1", "+79161230030")
    await rings(box, "fxs1")
    await box.sim.phone_offhook("fxs2")
    await box.sim.phone_press("fxs2", "*8")
    await wait_for(lambda: box.channels["fxs1"].state.value == "idle", 5,
                   what="201 to stop ringing")
    await active(box)
    await box.sim.far_press("gsm1", "0")
    await hears(box, "fxs2", "0")
    await box.sim.phone_onhook("fxs2")
    rec = await cdr(box)
    assert (rec["extension"], rec["disposition"]) == ("202", "answered")
    assert len(box.cdrs()) == 1
    await all_idle(box)


# -- outbound: class of service, toll-fraud guard, failover, emergency -----------------------
async def dial(box: Any, port: str, number: str) -> None:
    await box.sim.phone_offhook(port)
    await wait_for(lambda: phone(box, port)["heard_level_dbm0"] > -25, 3, what="dial tone")
    await box.sim.phone_press(port, number)


async def test_toll_fraud_guard_blocks_international_and_premium(box):
    await configure(box, lambda d: d["outbound"].append(
        {"name": "any", "pattern": "^8\\d{6,15}$", "trunks": ["gsm1"]}))
    for number in ("81044207946000", "88091234567"):
        await dial(box, "fxs2", number)
        await wait_for(lambda n=number: any(a.get("number") == n for a in box.engine.alerts), 8,
                       what=f"an alert for {number}")
        assert trunk(box, "gsm1")["call_state"] == "idle"
        await box.sim.phone_onhook("fxs2")
        await all_idle(box)
    reasons = [a["reason"] for a in box.engine.alerts]
    assert any("international" in r for r in reasons) and any("premium" in r for r in reasons)


async def test_class_of_service_and_concurrency_limit(box):
    def change(d: dict[str, Any]) -> None:
        mobile_route(d, ["gsm1", "gsm2"])
        d["extensions"][2]["cos"] = "local"
        d["security"] = {"toll_fraud": {"max_outbound_concurrent": 1}}
    await configure(box, change)
    await dial(box, "fxs3", "89161234567")               # 203 may only dial local numbers
    await wait_for(lambda: any("class of service" in a["reason"] for a in box.engine.alerts),
                   8, what="class-of-service refusal")
    await box.sim.phone_onhook("fxs3")
    await dial(box, "fxs1", "89161234567")
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "alerting", 8, what="dialing")
    await dial(box, "fxs2", "89161234568")               # second one: over the limit
    await wait_for(lambda: any("at once" in a["reason"] for a in box.engine.alerts), 8,
                   what="concurrency refusal")
    assert trunk(box, "gsm2")["call_state"] == "idle"
    for p in ("fxs1", "fxs2"):
        await box.sim.phone_onhook(p)
    await all_idle(box)


async def test_failover_to_the_next_trunk_and_emergency_without_route(box):
    await configure(box, lambda d: mobile_route(d, ["gsm1", "gsm2"]))
    await box.sim.trunk_call("gsm1", "+79161230040")     # gsm1 busy with a ringing call
    await rings(box, "fxs1")
    await dial(box, "fxs2", "89161234567")
    await wait_for(lambda: trunk(box, "gsm2")["call_state"] == "alerting", 8,
                   what="the call to go out over gsm2")
    await box.sim.far_hangup("gsm1")
    await box.sim.phone_onhook("fxs2")
    await all_idle(box)

    await configure(box, lambda d: d.update(outbound=[]))
    await dial(box, "fxs3", "112")                       # no route at all: still goes out
    await wait_for(lambda: [c for c in box.calls() if c["called"] == "112" and c["trunk"]],
                   8, what="the emergency call to go out on a trunk")
    await box.sim.phone_onhook("fxs3")
    recs = await wait_for(lambda: [c for c in box.cdrs() if c["called"] == "112"], 5,
                          what="the emergency call's record")
    assert recs[0]["direction"] == "outbound" and recs[0]["trunk"]
    await all_idle(box)


async def test_max_call_length_is_the_last_safety_net(box):
    await configure(box, lambda d: d.update(security={"toll_fraud": {"max_call_s": 60}}))
    box.engine.dialplan.toll = type(box.engine.dialplan.toll)(max_call_s=1)
    await answered_call_on_201(box)
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "idle", 6,
                   what="the call to be cut at the maximum length")
    await box.sim.phone_onhook("fxs1")
    await all_idle(box)


# -- bad configuration is refused, whole ---------------------------------------------------
@pytest.mark.parametrize("change, path, words", [
    (lambda d: d.update(ivrs=[{"id": "m", "name": "M", "options": {}}]),
     "ivrs[0].options", "at least one option"),
    (lambda d: d.update(ring_groups=[
        {"id": "a", "name": "A", "strategy": "ringall", "members": ["201"],
         "failover": {"type": "ring_group", "target": "b"}},
        {"id": "b", "name": "B", "strategy": "ringall", "members": ["202"],
         "failover": {"type": "ring_group", "target": "a"}}]),
     "ring_groups[0].failover", "routing loop"),
    (lambda d: d["routes"][0].update(destination={"type": "external", "target": "+4420"}),
     "routes[0].destination.target", "no outbound route"),
    (lambda d: d["routes"][0].update(destination={"type": "ivr", "target": "nope"}),
     "routes[0].destination", "unknown IVR menu"),
])
async def test_bad_routing_is_refused_with_its_path(box, change, path, words):
    from firmware.config import ConfigValidationError

    rev = box.config_revision()
    doc = box.config_current()
    change(doc)
    with pytest.raises(ConfigValidationError) as err:
        await box.config_commit(doc, author="test")
    assert any(i.path == path and words in i.message for i in err.value.issues), \
        err.value.issues
    assert box.config_revision() == rev
