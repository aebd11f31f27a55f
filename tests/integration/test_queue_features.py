"""ACD queue features on the simulated board, live, driven through the people on the lines.

Callers ring in on trunks and hang up, agents' phones ring and go off-hook, agents press
feature codes, a supervisor acts through the web API; what the callers hear, whose phone
rings and what the stored queue log says (through the CSV exports) are checked. Every
scenario ends with every channel idle. Extension numbers come from the box's configuration
(never hard-coded). Unit-level proofs of the same rules live in tests/acd.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.integration.queue_rig import answers
from tests.integration.test_pbx_features import (
    active,
    all_idle,
    configure,
    hang_up,
    phone,
    route_to,
    trunk,
)
from tests.integration.test_skeleton import signed_in


def ext_of(box: Any, port: str) -> str:
    """The extension number of a phone port, from the box's configuration."""
    for e in box.config_current()["extensions"]:
        if e.get("port") == port:
            return str(e["number"])
    raise AssertionError(f"no extension on {port}")


def agents_on(box: Any, doc: dict[str, Any], ports: dict[str, str]) -> None:
    doc["agents"] = [{"id": a, "name": a.title(), "extension": ext_of(box, p)}
                     for a, p in ports.items()]


def alerting(box: Any, port: str) -> bool:
    return bool(box.channels[port].state.value == "alerting")


async def rings_now(box: Any, port: str, timeout: float = 6) -> float:
    await wait_for(lambda: alerting(box, port), timeout, what=f"{port} to ring")
    return time.monotonic()


async def queued(box: Any, trunk_port: str, timeout: float = 5) -> float:
    """The queue answered the caller on ``trunk_port``: the moment they entered it."""
    await wait_for(lambda: trunk(box, trunk_port)["call_state"] == "active", timeout,
                   what=f"the queue to answer the caller on {trunk_port}")
    return time.monotonic()


async def ann_joins_bob_then_both_hang_up(box: Any) -> None:
    """Ann (fxs2) answers while Bob (fxs3) is on a call; then both hang up."""
    await box.sim.phone_offhook("fxs2")
    await wait_for(lambda: len([c for c in box.calls() if c["state"] == "active"]) == 2, 5,
                   what="two calls in progress")
    await hang_up(box, "fxs2")
    await hang_up(box, "fxs3")
    await all_idle(box)


async def csv_rows(client: Any, path: str) -> list[dict[str, str]]:
    resp = await client.get(path)
    assert resp.status == 200, f"GET {path}: {resp.status} {await resp.text()}"
    text = await resp.text()
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


# -- statistics: the CSV export of a scripted live scenario -----------------------------------


async def test_csv_kpis_of_a_live_scenario_match_hand_computed_values(aiohttp_client, box,
                                                                      tmp_path):
    """One agent, three callers: answered after ~1 s, abandoned after ~1 s (short),
    abandoned after ~6 s. The exported KPIs are DOMAIN.md's, computed by hand here."""
    client, _ = await signed_in(aiohttp_client, box, tmp_path)

    def setup(doc: dict[str, Any]) -> None:
        agents_on(box, doc, {"ann": "fxs2"})
        doc["queues"] = [{"id": "sales", "name": "Sales", "members": [{"agent": "ann"}],
                          "strategy": "ring_all", "wrap_up_s": 1, "ring_timeout_s": 30}]
        route_to(doc, "gsm1", {"type": "queue", "target": "sales"})
        route_to(doc, "gsm2", {"type": "queue", "target": "sales"})

    await configure(box, setup)
    t0 = time.time()
    await box.sim.trunk_call("gsm1", "+79161230301")                  # caller A
    entered_a = await queued(box, "gsm1")
    await rings_now(box, "fxs2")
    await asyncio.sleep(1.0)
    await box.sim.phone_offhook("fxs2")                              # Ann answers A
    await active(box)
    wait_a, talk_start = time.monotonic() - entered_a, time.monotonic()
    await asyncio.sleep(1.5)
    await hang_up(box, "fxs2")
    talk_a = time.monotonic() - talk_start
    await all_idle(box)
    await wait_for(lambda: box.queues()["agents"]["ann"]["state"] == "available", 5,
                   what="ann's 1 s wrap-up to end")

    await box.sim.trunk_call("gsm2", "+79161230302")                  # caller B
    entered_b = await queued(box, "gsm2")
    await rings_now(box, "fxs2")
    await asyncio.sleep(0.5)
    await box.sim.far_hangup("gsm2")                                 # gives up at once
    wait_b = time.monotonic() - entered_b
    await all_idle(box)

    await box.sim.trunk_call("gsm1", "+79161230303")                  # caller C
    entered_c = await queued(box, "gsm1")
    await rings_now(box, "fxs2")
    await asyncio.sleep(max(0.0, 6.5 - (time.monotonic() - entered_c)))
    await box.sim.far_hangup("gsm1")                                 # after ~6.5 s
    wait_c = time.monotonic() - entered_c
    await all_idle(box)
    assert wait_b < 5 < wait_c      # the scenario is what it says (short-abandon S = 5 s)

    period = f"from={t0 - 1:.3f}&to={time.time() + 1:.3f}"
    await wait_for(lambda: len(box.store.queue_events(kind="abandon")) == 2, 5,
                   what="the queue log to be stored")
    (sales,) = await csv_rows(client, f"/api/v1/export/queue-kpis.csv?{period}")
    assert sales["queue"] == "sales"
    assert (sales["offered"], sales["answered"], sales["abandoned"],
            sales["short_abandoned"], sales["refused"]) == ("3", "1", "2", "1", "0")
    assert float(sales["sl_20"]) == 100 * 1 / (3 - 1)          # SL: 1 ÷ (3 − 1 short)
    assert float(sales["abandon_rate"]) == 100 * (2 - 1) / (3 - 1)
    tol = 0.5
    assert float(sales["asa_s"]) == pytest.approx(wait_a, abs=tol)
    assert float(sales["ata_s"]) == pytest.approx((wait_b + wait_c) / 2, abs=tol)
    assert float(sales["awt_s"]) == pytest.approx((wait_a + wait_b + wait_c) / 3, abs=tol)
    assert float(sales["max_wait_s"]) == pytest.approx(wait_c, abs=tol)
    assert sales["max_queue_len"] == "1"
    assert float(sales["aht_s"]) == pytest.approx(talk_a + 1.0, abs=tol)   # talk + wrap-up

    (ann,) = await csv_rows(client, f"/api/v1/export/agent-kpis.csv?{period}&queue=sales")
    assert (ann["agent"], ann["answered"], ann["handled"]) == ("ann", "1", "1")
    assert float(ann["att_s"]) == pytest.approx(talk_a, abs=tol)
    assert float(ann["avg_wrap_s"]) == pytest.approx(1.0, abs=tol)

    log_rows = await csv_rows(client, f"/api/v1/export/queue-log.csv?{period}&queue=sales")
    enters = [r["detail"] for r in log_rows if r["kind"] == "enter"]
    assert enters == ["'+79161230301", "'+79161230302", "'+79161230303"]   # CSV-safe
    cdrs = await csv_rows(client, f"/api/v1/export/cdr.csv?{period}")
    assert [r["caller"] for r in cdrs] == ["'+79161230301", "'+79161230302",
                                           "'+79161230303"]
    assert phone(box, "fxs2")["ringing"] is False


# -- queues: length, joining and leaving, schedule --------------------------------------------


def one_queue(box: Any, doc: dict[str, Any], agents: dict[str, str], **extra: Any) -> None:
    """Queue "sales" of ``agents`` (id -> phone port), reached from gsm1 and gsm2; its
    overflow destination is the extension on fxs4."""
    agents_on(box, doc, agents)
    doc["queues"] = [{"id": "sales", "name": "Sales",
                      "members": [{"agent": a} for a in agents],
                      "strategy": "linear", "wrap_up_s": 0, "ring_timeout_s": 30,
                      "overflow": {"type": "extension", "target": ext_of(box, "fxs4")},
                      **extra}]
    route_to(doc, "gsm1", {"type": "queue", "target": "sales"})
    route_to(doc, "gsm2", {"type": "queue", "target": "sales"})


def agent_state(box: Any, agent: str) -> tuple[str, str]:
    a = box.queues()["agents"][agent]
    return a["state"], a["reason"]


def logged(box: Any, kind: str) -> list[Any]:
    return list(box.store.queue_events(kind=kind))


async def feature_code(box: Any, port: str, code: str, agent: str, state: str) -> None:
    """The agent on ``port`` dials ``code`` (DTMF audio); their state becomes ``state``."""
    await box.sim.phone_offhook(port)
    await box.sim.phone_press(port, code)
    await wait_for(lambda: agent_state(box, agent)[0] == state, 5,
                   what=f"{code} on {port} to make {agent} {state}")
    await hang_up(box, port)


async def overflow_answered(box: Any) -> None:
    """The overflow extension (fxs4) rings; its user answers and hangs up."""
    await answers(box, "fxs4", timeout=8)
    await hang_up(box, "fxs4")


async def test_maximum_length_sends_the_next_caller_to_the_overflow(box):
    await configure(box, lambda d: one_queue(box, d, {"ann": "fxs2"}, max_len=1))
    await box.sim.trunk_call("gsm1", "+79161230401")         # waits, Ann's phone rings
    await queued(box, "gsm1")
    await rings_now(box, "fxs2")
    await box.sim.trunk_call("gsm2", "+79161230402")         # the queue is full
    await overflow_answered(box)
    assert alerting(box, "fxs2")                             # the first one still waits
    await box.sim.far_hangup("gsm1")
    await all_idle(box)
    await wait_for(lambda: logged(box, "refused"), 3, what="the refusal in the queue log")
    assert [(e.detail, e.caller != "") for e in logged(box, "refused")] == [("full", True)]


async def test_maximum_wait_overflows_a_waiting_caller(box):
    await configure(box, lambda d: one_queue(box, d, {"ann": "fxs2"}, max_wait_s=3))
    await box.sim.trunk_call("gsm1", "+79161230403")
    entered = await queued(box, "gsm1")
    await rings_now(box, "fxs2")                             # Ann does not answer
    await rings_now(box, "fxs4", timeout=8)
    assert 2.5 < time.monotonic() - entered < 5.0
    assert not alerting(box, "fxs2")                         # her ring was called off
    await box.sim.phone_offhook("fxs4")
    await active(box)
    await hang_up(box, "fxs4")
    await all_idle(box)
    assert [e.detail for e in logged(box, "overflow")] == ["max_wait"]


async def test_joining_and_leaving_with_no_agent_logged_in(box):
    await configure(box, lambda d: one_queue(box, d, {"ann": "fxs2"}, join_empty="staffed",
                                             leave_empty="staffed"))
    await feature_code(box, "fxs2", "*46", "ann", "logged_out")      # Ann logs out
    await box.sim.trunk_call("gsm1", "+79161230404")         # nobody staffed: not admitted
    await overflow_answered(box)
    await all_idle(box)
    await feature_code(box, "fxs2", "*45", "ann", "available")       # back in
    await box.sim.trunk_call("gsm1", "+79161230405")
    await queued(box, "gsm1")
    await rings_now(box, "fxs2")
    box.agent_action("ann", "logout")                        # the last agent leaves (web)
    await wait_for(lambda: not alerting(box, "fxs2"), 3, what="Ann's ring to stop")
    await overflow_answered(box)                             # the waiting caller leaves too
    await all_idle(box)
    assert [e.detail for e in logged(box, "refused")] == ["no_agents"]
    assert [e.detail for e in logged(box, "overflow")] == ["no_agents"]


PRIORITY_OF = {"vip": 5.0, "route": 4.0, "tag": 6.0}


@pytest.mark.parametrize("source", list(PRIORITY_OF))
async def test_priority_from_vip_route_or_tag_serves_a_later_caller_first(box, source):
    """The second caller's number is on the queue's VIP list (priority 5), or gsm2's route
    gives its callers priority 4, or the directory tags them "gold", which the queue ranks
    6: whichever it is, they are served before the caller who came first."""
    def setup(doc: dict[str, Any]) -> None:
        one_queue(box, doc, {"ann": "fxs2"})
        if source == "vip":
            doc["queues"][0]["vip"] = [{"prefix": "+7916555", "priority": 5}]
        elif source == "route":
            route_to(doc, "gsm2", {"type": "queue", "target": "sales", "priority": 4})
        else:
            doc["queues"][0]["tag_priority"] = {"gold": 6}
            doc["directory"] = [{"number": "+79165550002", "name": "Gold Ltd",
                                 "tags": ["gold"]}]
    await configure(box, setup)
    box.agent_action("ann", "pause", "break")
    await box.sim.trunk_call("gsm1", "+79161230424")         # first in, ordinary
    await queued(box, "gsm1")
    await box.sim.trunk_call("gsm2", "+79165550002")         # second in, with priority
    await queued(box, "gsm2")
    box.agent_action("ann", "unpause")
    await answers(box, "fxs2")
    await box.sim.far_press("gsm2", "5")
    await wait_for(lambda: phone(box, "fxs2")["heard_digits"].endswith("5"), 5,
                   what="Ann to be talking to the second caller")
    await box.sim.phone_onhook("fxs2")
    await answers(box, "fxs2")
    await box.sim.far_press("gsm1", "1")
    await wait_for(lambda: phone(box, "fxs2")["heard_digits"].endswith("1"), 5,
                   what="Ann to be talking to the first caller")
    await hang_up(box, "fxs2")
    await all_idle(box)
    assert [(e.detail, e.value) for e in logged(box, "enter")] == [
        ("+79161230424", 0.0), ("+79165550002", PRIORITY_OF[source])]


async def test_queue_diverts_by_schedule_outside_working_hours(box):
    def setup(doc: dict[str, Any]) -> None:
        one_queue(box, doc, {"ann": "fxs2"})
        doc["time_conditions"] = [{"id": "office", "name": "Office hours", "weekly": []}]
        for r in doc["routes"]:
            if r["match"]["trunk"] == "gsm1":
                r["time_condition"] = "office"
                r["night_destination"] = {"type": "extension", "target": ext_of(box, "fxs4")}

    await configure(box, setup)
    await box.sim.trunk_call("gsm1", "+79161230406")         # closed: diverted
    await rings_now(box, "fxs4", timeout=8)
    assert not alerting(box, "fxs2") and box.queues()["queues"]["sales"]["waiting"] == 0
    await box.sim.far_hangup("gsm1")
    await all_idle(box)
    await box.day_night("day", author="test")                # open (manual override)
    await box.sim.trunk_call("gsm1", "+79161230407")
    await queued(box, "gsm1")
    await rings_now(box, "fxs2")
    await box.sim.far_hangup("gsm1")
    await all_idle(box)
    assert [e.detail for e in logged(box, "enter")] == ["+79161230407"]


# -- agents -----------------------------------------------------------------------------------


async def test_pause_with_a_reason_from_the_web_and_from_a_feature_code(aiohttp_client, box,
                                                                        tmp_path):
    client, h = await signed_in(aiohttp_client, box, tmp_path)
    await configure(box, lambda d: one_queue(box, d, {"ann": "fxs2", "bob": "fxs3"}))
    resp = await client.post("/api/v1/agents/ann/pause", json={"reason": "lunch"},
                             headers=h)
    assert resp.status == 200, await resp.text()
    assert agent_state(box, "ann") == ("paused", "lunch")
    await box.sim.trunk_call("gsm1", "+79161230408")         # linear: Ann first, but paused
    await rings_now(box, "fxs3")
    assert not alerting(box, "fxs2")
    await box.sim.far_hangup("gsm1")
    await all_idle(box)
    await feature_code(box, "fxs3", "*47", "bob", "paused")  # Bob pauses from his phone
    assert agent_state(box, "bob") == ("paused", "break")
    await box.sim.trunk_call("gsm1", "+79161230409")         # nobody ready: the caller waits
    await queued(box, "gsm1")
    await asyncio.sleep(1.0)
    assert not alerting(box, "fxs2") and not alerting(box, "fxs3")
    await feature_code(box, "fxs3", "*48", "bob", "available")      # Bob is back...
    await answers(box, "fxs3")
    await hang_up(box, "fxs3")
    await all_idle(box)
    reasons = [e.detail for e in logged(box, "agent") if e.detail.startswith("paused")]
    assert reasons == ["paused:lunch", "paused:break"]


async def test_pause_with_a_reason_code_from_the_phone(box):
    await configure(box, lambda d: one_queue(box, d, {"ann": "fxs2"}))
    await box.sim.phone_offhook("fxs2")
    await box.sim.phone_press("fxs2", "*499#")              # no reason 9: refused
    await asyncio.sleep(1.0)
    await hang_up(box, "fxs2")
    assert agent_state(box, "ann") == ("available", "")
    await feature_code(box, "fxs2", "*492#", "ann", "paused")    # 2: lunch
    assert agent_state(box, "ann") == ("paused", "lunch")
    await box.sim.trunk_call("gsm1", "+79161230427")         # a paused agent is not rung
    await queued(box, "gsm1")
    await asyncio.sleep(1.0)
    assert not alerting(box, "fxs2")
    await feature_code(box, "fxs2", "*48", "ann", "available")
    await rings_now(box, "fxs2")
    await box.sim.far_hangup("gsm1")
    await all_idle(box)
    assert [e.detail for e in logged(box, "agent") if e.agent == "ann"
            and e.detail.startswith("paused")] == ["paused:lunch"]


async def test_ring_timeout_moves_on_and_auto_pauses_after_missed_calls(box):
    await configure(box, lambda d: one_queue(box, d, {"ann": "fxs2", "bob": "fxs3"},
                                             ring_timeout_s=3, auto_pause_after=1))
    await box.sim.trunk_call("gsm1", "+79161230410")
    started = await rings_now(box, "fxs2")                   # Ann first; she does not answer
    await rings_now(box, "fxs3", timeout=6)                  # after the ring timeout: Bob
    assert 2.5 < time.monotonic() - started < 4.5
    assert not alerting(box, "fxs2")
    assert agent_state(box, "ann") == ("paused", "missed_calls")
    await box.sim.phone_offhook("fxs3")
    await active(box)
    await hang_up(box, "fxs3")
    await all_idle(box)
    assert [(e.agent, e.detail) for e in logged(box, "ring_end")] == [("ann", "no_answer")]


async def test_wrap_up_time_is_per_queue(box):
    def setup(doc: dict[str, Any]) -> None:
        one_queue(box, doc, {"ann": "fxs2"}, wrap_up_s=3)
        doc["queues"].append({"id": "support", "name": "Support", "strategy": "linear",
                              "members": [{"agent": "ann"}], "wrap_up_s": 0,
                              "ring_timeout_s": 30})
        route_to(doc, "gsm2", {"type": "queue", "target": "support"})

    await configure(box, setup)
    for trunk_port, wrap in (("gsm1", 3.0), ("gsm2", 0.0)):   # sales, then support
        await box.sim.trunk_call(trunk_port, "+79161230411")
        await answers(box, "fxs2")
        await hang_up(box, "fxs2")
        ended = time.monotonic()
        await all_idle(box)
        await box.sim.trunk_call("gsm2", "+79161230412")      # the next caller (support)
        await rings_now(box, "fxs2", timeout=8)
        waited = time.monotonic() - ended
        assert (wrap - 0.5 < waited < wrap + 1.5) if wrap else waited < 1.5, (wrap, waited)
        await box.sim.far_hangup("gsm2")
        await all_idle(box)
        await wait_for(lambda: agent_state(box, "ann")[0] == "available", 5, what="ann free")


async def test_an_agent_holding_the_caller_is_on_hold_and_hold_time_is_counted(
        aiohttp_client, box, tmp_path):
    client, _ = await signed_in(aiohttp_client, box, tmp_path)
    await configure(box, lambda d: one_queue(box, d, {"ann": "fxs2"}))
    t0 = time.time()
    await box.sim.trunk_call("gsm1", "+79161230426")
    await answers(box, "fxs2")
    await box.sim.phone_flash("fxs2")                        # Ann puts the caller on hold
    await wait_for(lambda: agent_state(box, "ann")[0] == "on_hold", 5, what="ann on hold")
    held = time.monotonic()
    await wait_for(lambda: trunk(box, "gsm1")["heard_level_dbm0"] > -40, 5,
                   what="the caller to hear music on hold")
    await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - held)))
    await box.sim.phone_flash("fxs2")                        # and takes the call back
    await wait_for(lambda: agent_state(box, "ann")[0] == "on_call", 5, what="ann back")
    hold_s = time.monotonic() - held
    await box.sim.far_press("gsm1", "2")
    await wait_for(lambda: phone(box, "fxs2")["heard_digits"].endswith("2"), 5,
                   what="Ann to hear the caller again")
    await hang_up(box, "fxs2")
    await all_idle(box)
    await wait_for(lambda: logged(box, "end"), 3, what="the end of the call in the log")
    (ann,) = await csv_rows(client, f"/api/v1/export/agent-kpis.csv?from={t0 - 1:.3f}"
                                    f"&to={time.time() + 1:.3f}")
    assert float(ann["avg_hold_s"]) == pytest.approx(hold_s, abs=0.5)
    assert [e.kind for e in box.store.queue_events() if e.kind in ("hold", "unhold")] == [
        "hold", "unhold"]


async def test_remote_agent_on_a_mobile_over_a_gsm_trunk(box):
    def setup(doc: dict[str, Any]) -> None:
        one_queue(box, doc, {})
        doc["agents"] = [{"id": "rita", "name": "Rita", "number": "+79165550000"}]
        doc["queues"][0]["members"] = [{"agent": "rita"}]
        doc["outbound"] = [{"name": "mobile", "pattern": "^(8|\\+7)9\\d{9}$",
                            "trunks": ["gsm2"]}]

    await configure(box, setup)
    await box.sim.trunk_call("gsm1", "+79161230413")
    await wait_for(lambda: trunk(box, "gsm2")["call_state"] == "alerting", 8,
                   what="Rita's mobile to be dialled over gsm2")
    assert trunk(box, "gsm2")["dialed"] == "+79165550000"
    assert agent_state(box, "rita")[0] == "reserved"
    await box.sim.far_answer("gsm2")
    await active(box)
    await box.sim.far_press("gsm1", "4")
    await wait_for(lambda: trunk(box, "gsm2")["heard_digits"].endswith("4"), 5,
                   what="Rita to hear the caller")
    await box.sim.far_press("gsm2", "6")
    await wait_for(lambda: trunk(box, "gsm1")["heard_digits"].endswith("6"), 5,
                   what="the caller to hear Rita")
    assert agent_state(box, "rita")[0] == "on_call"
    await box.sim.far_hangup("gsm1")
    await all_idle(box)
    assert [(e.agent, e.kind) for e in logged(box, "connect")] == [("rita", "connect")]


async def test_one_agent_in_two_queues_with_penalties(box):
    def setup(doc: dict[str, Any]) -> None:
        one_queue(box, doc, {"ann": "fxs2", "bob": "fxs3"}, strategy="ring_all")
        doc["queues"][0]["members"] = [{"agent": "ann"}]
        doc["queues"].append({"id": "support", "name": "Support", "strategy": "ring_all",
                              "members": [{"agent": "ann", "penalty": 5},
                                          {"agent": "bob", "penalty": 0}],
                              "wrap_up_s": 0, "ring_timeout_s": 30})
        route_to(doc, "gsm2", {"type": "queue", "target": "support"})
        route_to(doc, "fxo1", {"type": "queue", "target": "support"})

    await configure(box, setup)
    await box.sim.trunk_call("gsm2", "+79161230414")         # support: Bob (penalty 0) only
    await rings_now(box, "fxs3")
    await asyncio.sleep(0.5)
    assert not alerting(box, "fxs2")
    await box.sim.phone_offhook("fxs3")                      # Bob busy...
    await active(box)
    await box.sim.trunk_call("gsm1", "+79161230415")         # sales: Ann
    await rings_now(box, "fxs2")
    await box.sim.far_hangup("gsm1")
    await wait_for(lambda: not alerting(box, "fxs2"), 3, what="Ann's ring to stop")
    # ...so the next support caller goes to the next penalty tier: Ann
    await box.sim.trunk_call("fxo1", "+79161230416")
    await rings_now(box, "fxs2", timeout=8)
    await ann_joins_bob_then_both_hang_up(box)
    connects = [(e.queue, e.agent) for e in logged(box, "connect")]
    assert connects == [("support", "bob"), ("support", "ann")]


# -- announcements ----------------------------------------------------------------------------

_DTMF = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
         "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
         "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
         "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633)}


def dtmf_wav(symbol: str) -> bytes:
    """A prompt that "says" one DTMF symbol: 120 ms of its tone pair, then 80 ms silence."""
    import math
    import wave
    from array import array

    low, high = _DTMF[symbol]
    pcm = array("h", (int(6000 * (math.sin(2 * math.pi * low * n / 8000)
                                  + math.sin(2 * math.pi * high * n / 8000)))
                      for n in range(960)))
    pcm.extend([0] * 640)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm.tobytes())
    return buffer.getvalue()


async def test_callers_hear_their_position_and_expected_wait_periodically(box):
    """The prompts "say" DTMF symbols (A = "you are caller number", B = "expected wait",
    C = "minutes", digit-N = N), so what each caller hears is read by their DTMF
    detector. Expected wait: position × 180 s initial handle time ÷ 1 agent."""
    for name, symbol in (("queue-position.wav", "A"), ("queue-wait.wav", "B"),
                         ("queue-minutes.wav", "C"),
                         *((f"digit-{d}.wav", str(d)) for d in range(10))):
        box.prompt_put(name, dtmf_wav(symbol))
    await configure(box, lambda d: one_queue(box, d, {"ann": "fxs2"},
                                             announce={"first_s": 1, "every_s": 10}))
    box.agent_action("ann", "pause", "training")
    await box.sim.trunk_call("gsm1", "+79161230417")
    await queued(box, "gsm1")
    await wait_for(lambda: trunk(box, "gsm1")["heard_digits"] == "A1B3C", 5,
                   what="caller 1 to hear: position 1, about 3 minutes")
    await box.sim.trunk_call("gsm2", "+79161230418")
    entered = await queued(box, "gsm2")
    await wait_for(lambda: trunk(box, "gsm2")["heard_digits"] == "A2B6C", 5,
                   what="caller 2 to hear: position 2, about 6 minutes")
    await wait_for(lambda: trunk(box, "gsm2")["heard_digits"] == "A2B6CA2B6C", 14,
                   what="caller 2's announcement to repeat")
    assert 9.5 < time.monotonic() - entered < 13
    assert trunk(box, "gsm1")["heard_digits"] == "A1B3CA1B3C"
    await box.sim.far_hangup("gsm1")                         # caller 2 moves up
    box.agent_action("ann", "unpause")
    await answers(box, "fxs2")
    await box.sim.phone_press("fxs2", "#")
    await wait_for(lambda: trunk(box, "gsm2")["heard_digits"].endswith("#"), 5,
                   what="caller 2 to hear Ann")
    await hang_up(box, "fxs2")
    await all_idle(box)


# -- strategies: sticky agent, skills relaxing ------------------------------------------------


async def test_sticky_agent_takes_a_returning_caller(box):
    await configure(box, lambda d: one_queue(box, d, {"bob": "fxs3", "ann": "fxs2"},
                                             sticky_days=1))
    box.agent_action("bob", "pause", "break")                # the first time Ann answers
    await box.sim.trunk_call("gsm1", "+79161230419")
    await answers(box, "fxs2")
    await hang_up(box, "fxs2")
    await all_idle(box)
    box.agent_action("bob", "unpause")
    await box.sim.trunk_call("gsm1", "+79161230419")         # the same caller again:
    await rings_now(box, "fxs2")                             # Ann, though linear says Bob
    await asyncio.sleep(0.5)
    assert not alerting(box, "fxs3")
    await box.sim.far_hangup("gsm1")
    await all_idle(box)
    await box.sim.trunk_call("gsm1", "+79161230420")         # someone new: Bob (linear)
    await rings_now(box, "fxs3")
    assert not alerting(box, "fxs2")
    await box.sim.far_hangup("gsm1")
    await all_idle(box)


async def test_sticky_memory_survives_a_restart(tmp_path):
    from firmware.app import Box, Settings

    data = tmp_path / "data"
    for restart in (False, True):
        box = Box(Settings(data_dir=data, simulated=True))
        await box.start()
        try:
            if not restart:                                  # Ann answers; the box restarts
                await configure(box, lambda d, b=box: one_queue(
                    b, d, {"bob": "fxs3", "ann": "fxs2"}, sticky_days=1))
                box.agent_action("bob", "pause", "break")
            await box.sim.trunk_call("gsm1", "+79161230425")
            await rings_now(box, "fxs2")                     # after it too: Ann, not Bob
            assert not alerting(box, "fxs3")
            await box.sim.phone_offhook("fxs2")
            await active(box)
            await hang_up(box, "fxs2")
            await all_idle(box)
            if restart:
                assert agent_state(box, "bob")[0] == "available"
        finally:
            await box.stop()


async def test_skill_requirement_relaxes_as_the_wait_grows(box):
    def setup(doc: dict[str, Any]) -> None:
        one_queue(box, doc, {"ann": "fxs2", "bob": "fxs3"}, strategy="skills_most",
                  skill_min=5, skill_relax=[{"after_s": 3, "min": 2}])
        doc["queues"][0]["members"] = [{"agent": "ann", "skill": 3},
                                       {"agent": "bob", "skill": 8}]

    await configure(box, setup)
    await box.sim.trunk_call("gsm1", "+79161230421")         # Bob is qualified: he rings
    await rings_now(box, "fxs3")
    assert not alerting(box, "fxs2")
    await box.sim.phone_offhook("fxs3")
    await active(box)
    await box.sim.trunk_call("gsm2", "+79161230422")         # Bob busy; Ann (3) is below 5
    entered = await queued(box, "gsm2")
    await rings_now(box, "fxs2", timeout=6)                  # ...until the wait passes 3 s
    assert 2.5 < time.monotonic() - entered < 4.5
    await ann_joins_bob_then_both_hang_up(box)


# -- supervisor: force an agent's state, move a caller (web API) ------------------------------


async def test_supervisor_forces_a_state_and_moves_a_caller(aiohttp_client, box, tmp_path):
    client, h = await signed_in(aiohttp_client, box, tmp_path)

    def setup(doc: dict[str, Any]) -> None:
        one_queue(box, doc, {"ann": "fxs2", "bob": "fxs3"})
        doc["queues"][0]["members"] = [{"agent": "ann"}]
        doc["queues"].append({"id": "support", "name": "Support", "strategy": "linear",
                              "members": [{"agent": "bob"}], "wrap_up_s": 0,
                              "ring_timeout_s": 30})

    await configure(box, setup)
    resp = await client.post("/api/v1/agents/ann/force", json={"state": "logged_out"},
                             headers=h)
    assert resp.status == 200, await resp.text()
    assert agent_state(box, "ann")[0] == "logged_out"
    await box.sim.trunk_call("gsm1", "+79161230423")         # sales: nobody logged in
    await queued(box, "gsm1")
    await asyncio.sleep(0.5)
    assert not alerting(box, "fxs2") and not alerting(box, "fxs3")
    (waiting,) = [c for c in box.calls() if c["state"] == "queued"]
    resp = await client.post("/api/v1/queues/move", headers=h,
                             json={"call": waiting["id"], "queue": "support"})
    assert resp.status == 200, await resp.text()
    await answers(box, "fxs3")                             # Bob, in support, takes it
    await box.sim.far_press("gsm1", "7")
    await wait_for(lambda: phone(box, "fxs3")["heard_digits"].endswith("7"), 5,
                   what="Bob to hear the moved caller")
    resp = await client.post("/api/v1/agents/ann/force", json={"state": "available"},
                             headers=h)
    assert resp.status == 200 and agent_state(box, "ann")[0] == "available"
    resp = await client.post("/api/v1/queues/move", headers=h,
                             json={"call": "no-such-call", "queue": "support"})
    assert resp.status in (400, 404)
    await hang_up(box, "fxs3")
    await all_idle(box)
    moves = [(e.queue, e.detail) for e in logged(box, "overflow")]
    assert moves == [("sales", "moved")]
    assert [e.queue for e in logged(box, "connect")] == ["support"]
