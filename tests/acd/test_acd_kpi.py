"""KPIs recomputed from the queue event log, against numbers worked out by hand."""

from __future__ import annotations

import io

import pytest

from firmware.acd import messages as m
from firmware.acd.kpi import KpiCollector, kpis, report_csv
from firmware.acd.log import read_csv, to_csv, write_csv
from tests.acd.helpers import core_with


def scripted_day():
    """Two agents (wrap-up 10 s), five callers. Times in seconds:

    c1 enters 100, a1 answers 105 (wait 5), hold 165-185, ends 205 (talk 80, hold 20)
    c2 enters 110, a2 answers 140 (wait 30), ends transferred 240 (talk 100)
    c3 enters 150, hangs up 152 (wait 2: a short abandon, S = 5 s)
    c4 enters 160, waits; a1 free at 215 (wrap-up), answers 218 (wait 58), ends 300 (talk 82)
    c5 enters 170, hangs up 200 (wait 30)
    a2 wrap-up ends 250, paused 260-290 (lunch).
    """
    core = core_with({"q": {"strategy": "linear", "wrap_up_s": 10}}, agents=["a1", "a2"])
    h = core.handle
    h(m.CallerArrived("c1", "q"), 100)
    h(m.AgentAnswered("c1", "a1"), 105)
    h(m.CallerArrived("c2", "q"), 110)
    h(m.AgentAnswered("c2", "a2"), 140)
    h(m.CallerArrived("c3", "q"), 150)
    h(m.CallerHungUp("c3"), 152)
    h(m.CallerArrived("c4", "q"), 160)
    h(m.CallHeld("c1"), 165)
    h(m.CallerArrived("c5", "q"), 170)
    h(m.CallResumed("c1"), 185)
    h(m.CallerHungUp("c5"), 200)
    h(m.CallEnded("c1"), 205)
    core.on_timer(215)  # a1 wraps up, then rings for c4
    h(m.AgentAnswered("c4", "a1"), 218)
    h(m.CallEnded("c2", transferred=True), 240)
    core.on_timer(250)
    h(m.AgentPause("a2", "lunch"), 260)
    h(m.AgentUnpause("a2"), 290)
    h(m.CallEnded("c4"), 300)
    core.on_timer(310)
    core.check_invariants()
    return core.events


def test_the_scripted_day_by_hand() -> None:
    report = kpis(scripted_day(), 0, 400, now=400)
    t = report["total"]
    assert (t["offered"], t["answered"], t["abandoned"], t["short_abandoned"]) == (5, 3, 2, 1)
    # SL(T): answered within T / (offered 5 - short 1 - callbacks 0)
    assert t["sl"] == {"10": 25.0, "20": 25.0, "30": 50.0}
    assert t["asa_s"] == pytest.approx((5 + 30 + 58) / 3)
    assert t["awt_s"] == pytest.approx((5 + 30 + 58 + 2 + 30) / 5)
    assert t["ata_s"] == pytest.approx((2 + 30) / 2)
    assert t["abandon_rate"] == pytest.approx(100 * (2 - 1) / (5 - 1))
    assert t["max_wait_s"] == 58
    # Callers waiting: 5 + 30 + 2 + 58 + 30 caller-seconds over 400 s; two at once at most.
    assert t["avg_queue_len"] == pytest.approx(125 / 400)
    assert t["max_queue_len"] == 2
    # Handled: c1 80+20+10, c2 100+0+10, c4 82+0+10.
    assert t["handled"] == 3
    assert t["aht_s"] == pytest.approx(312 / 3)
    assert t["att_s"] == pytest.approx((80 + 100 + 82) / 3)
    assert t["avg_hold_s"] == pytest.approx(20 / 3)
    assert t["avg_wrap_s"] == pytest.approx(10)
    assert t["transfer_rate"] == pytest.approx(100 / 3)
    # Busy 312 s of 800 logged-in, 30 s of them paused.
    assert t["occupancy"] == pytest.approx(100 * 312 / 770)
    assert t["utilization"] == pytest.approx(100 * 312 / 800)
    assert t["callback_success"] is None and t["time_to_callback_s"] is None

    a1, a2 = report["agents"]["a1"], report["agents"]["a2"]
    assert a1["occupancy"] == pytest.approx(100 * 202 / 400)
    assert a2["occupancy"] == pytest.approx(100 * 110 / 370)
    assert a2["utilization"] == pytest.approx(100 * 110 / 400)
    assert (a1["answered"], a1["handled"], a2["handled"]) == (2, 2, 1)
    assert a1["aht_s"] == pytest.approx((110 + 92) / 2)
    assert a2["transfer_rate"] == 100.0
    assert report["queues"]["q"]["sl"] == t["sl"]


def test_any_period_from_the_same_log() -> None:
    events = scripted_day()
    # [0, 155): c1, c2, c3 entered. Their outcomes count, whenever they happen.
    early = kpis(events, 0, 155, now=400)["total"]
    assert (early["offered"], early["answered"], early["short_abandoned"]) == (3, 2, 1)
    assert early["sl"]["20"] == 50.0  # c1 within 20 s, of 3 - 1
    assert early["aht_s"] == pytest.approx((110 + 110) / 2)
    # Time-based figures are clipped to the period: a1 busy 105-155, a2 140-155.
    assert early["occupancy"] == pytest.approx(100 * (50 + 15) / 310)
    assert early["avg_queue_len"] == pytest.approx((5 + 30 + 2) / 155)
    # [155, 400): c4 and c5; the queue was empty at 155.
    late = kpis(events, 155, 400, now=400)["total"]
    assert (late["offered"], late["answered"], late["abandoned"]) == (2, 1, 1)
    assert late["sl"]["20"] == 0.0 and late["max_wait_s"] == 58
    assert late["max_queue_len"] == 2


def test_live_kpis_while_callers_still_wait() -> None:
    core = core_with({"q": {}}, agents=["a1"])
    core.handle(m.CallerArrived("c1", "q"), 0)
    core.handle(m.AgentAnswered("c1", "a1"), 4)
    core.handle(m.CallerArrived("c2", "q"), 10)
    live = KpiCollector(0).add_all(core.events).report(now=70)["total"]
    assert live["offered"] == 2 and live["answered"] == 1
    assert live["sl"]["20"] == 50.0  # c2 still waiting counts as offered
    assert live["max_wait_s"] == 60  # c2 has waited 60 s so far
    assert live["avg_queue_len"] == pytest.approx((4 + 60) / 70)


def test_callbacks_by_hand() -> None:
    core = core_with({"q": {"callback": True}}, agents=["a1"])
    h = core.handle
    h(m.CallerArrived("c0", "q", "+100"), 0)
    h(m.AgentAnswered("c0", "a1"), 0)
    h(m.CallerArrived("c1", "q", "+111"), 10)
    h(m.CallbackKeyPressed("c1"), 40)
    h(m.CallerArrived("c2", "q", "+222"), 50)
    h(m.CallEnded("c0"), 100)  # a1 reserved for c1's callback
    h(m.CallbackConnected("c1"), 120)
    h(m.CallEnded("c1"), 200)
    h(m.AgentAnswered("c2", "a1"), 201)
    t = kpis(core.events, 0, 300, now=300)["total"]
    assert (t["offered"], t["answered"], t["callbacks_requested"]) == (3, 2, 1)
    assert t["callbacks_connected"] == 1 and t["callback_success"] == 100.0
    assert t["time_to_callback_s"] == 80
    assert t["sl"]["20"] == pytest.approx(100 * 1 / (3 - 0 - 1))
    assert t["asa_s"] == pytest.approx((0 + 151) / 2)
    assert t["awt_s"] == pytest.approx((0 + 151) / 2)
    assert t["avg_queue_len"] == pytest.approx((30 + 151) / 300)
    assert t["handled"] == 2  # c0 and the callback (c2 still talking)


def test_short_abandon_threshold_is_configurable_and_zero_means_none() -> None:
    events = scripted_day()
    assert kpis(events, 0, 400, short_abandon_s=0)["total"]["short_abandoned"] == 0
    t = kpis(events, 0, 400, short_abandon_s=0)["total"]
    assert t["sl"]["20"] == 20.0 and t["abandon_rate"] == 40.0
    assert kpis(events, 0, 400, short_abandon_s=60)["total"]["short_abandoned"] == 2


def test_overflow_and_refusals() -> None:
    core = core_with({"q": {"max_wait_s": 30, "max_len": 1}}, agents=["a1"])
    core.handle(m.AgentPause("a1", "x"), 0)
    core.handle(m.CallerArrived("c1", "q"), 0)
    core.handle(m.CallerArrived("c2", "q"), 1)  # full: refused
    core.on_timer(30)
    t = kpis(core.events, 0, 100, now=100)["total"]
    assert (t["offered"], t["timed_out"], t["refused"], t["answered"]) == (1, 1, 1, 0)
    assert t["awt_s"] == 30 and t["sl"]["20"] == 0.0


def test_log_and_report_csv_round_trip() -> None:
    events = scripted_day()
    text = to_csv(events)
    assert text.splitlines()[0] == "ts,kind,queue,caller,agent,value,detail"
    assert read_csv(io.StringIO(text)) == [e._replace(ts=float(e.ts), value=float(e.value))
                                           for e in events]
    buffer = io.StringIO()
    assert write_csv(events, buffer) == len(events)
    csv_report = report_csv(kpis(events, 0, 400, now=400))
    lines = csv_report.splitlines()
    assert lines[0].startswith("scope,id,offered,answered,abandoned")
    assert lines[1].startswith("total,,5,3,2,1,")
    assert [ln.split(",")[0] for ln in lines[1:]] == ["total", "queue", "agent", "agent"]


def test_a_moved_caller_keeps_its_place_without_bending_the_queue_length() -> None:
    core = core_with({"q1": {"members": ["a1"]}, "q2": {"members": ["a2"]}},
                     agents=["a1", "a2"])
    core.handle(m.AgentPause("a1", "x"), 0)
    core.handle(m.AgentPause("a2", "x"), 0)
    core.handle(m.CallerArrived("c1", "q1"), 10)
    core.handle(m.MoveCaller("c1", "q2"), 40)  # logged as entering q2 at 10 (its place)
    core.handle(m.AgentUnpause("a2"), 50)
    core.handle(m.AgentAnswered("c1", "a2"), 50)
    report = kpis(core.events, 0, 100, now=100)
    # One caller on the line from 10 to 50: 40 caller-seconds, whichever queue.
    assert report["total"]["avg_queue_len"] == pytest.approx(40 / 100)
    assert report["queues"]["q1"]["avg_queue_len"] == pytest.approx(30 / 100)
    assert report["queues"]["q2"]["avg_queue_len"] == pytest.approx(10 / 100)
    assert report["queues"]["q1"]["timed_out"] == 1
    assert report["queues"]["q2"]["asa_s"] == 40  # the wait since the kept place
