"""Agents held by a campaign's dialer: reserved for outbound, never paused.

While the dialer dials an agent's contact (progressive, preview) the agent is
``reserved_outbound``: inbound queues offer them nothing, the time is working time in the
KPIs (staffed, not paused), the contact's answered call rings that agent only, and a guard
frees an agent whose dial is never reported.
"""

from __future__ import annotations

import pytest

from firmware.acd import messages as m
from firmware.acd.core import OUTBOUND_GUARD_S, AcdError, UnknownAgent
from firmware.acd.kpi import kpis
from firmware.acd.machine import AgentState, InvalidTransition
from tests.acd.helpers import core_with, of, states

OUT = AgentState.RESERVED_OUTBOUND


def two_queues():
    # "sales" is inbound, "calls" the campaign's queue; a1 and a2 serve both.
    return core_with({"sales": {"strategy": "linear"}, "calls": {"strategy": "linear"}},
                     agents=["a1", "a2"])


def test_reserved_agent_is_offered_no_inbound_caller() -> None:
    core = two_queues()
    out = core.handle(m.OutboundReserve("a1", "spring"), 0.0)
    assert m.SetAgentState("a1", OUT, "spring") in out
    out = core.handle(m.CallerArrived("in1", "sales"), 1.0)
    assert [c.agent for c in of(m.RingAgent, out)] == ["a2"]    # linear, but a1 is held
    out = core.handle(m.CallerArrived("in2", "sales"), 2.0)
    assert of(m.RingAgent, out) == []                           # nobody else free
    snap = core.snapshot(2.0)
    assert snap["agents"]["a1"]["state"] == OUT and snap["agents"]["a1"]["reason"] == "spring"
    assert snap["queues"]["sales"]["available"] == 0
    assert snap["queues"]["sales"]["ready"] == 2                 # working, not paused
    core.check_invariants()


def test_contact_answers_and_rings_the_held_agent_only() -> None:
    core = two_queues()
    core.handle(m.OutboundReserve("a1", "spring"), 0.0)
    core.handle(m.CallerArrived("in1", "calls"), 1.0)            # an earlier caller: a2
    core.handle(m.OutboundConnected("a1", "contact1"), 5.0)
    assert states(core)["a1"] == OUT                             # until the call arrives
    out = core.handle(m.CallerArrived("contact1", "calls"), 5.1)
    assert of(m.RingAgent, out) == [m.RingAgent("contact1", "a1", "calls", 20.0)]
    out = core.handle(m.AgentAnswered("contact1", "a1"), 6.0)
    assert m.Bridge("contact1", "a1") in out
    assert states(core) == {"a1": "on_call", "a2": "reserved"}
    core.handle(m.CallEnded("contact1"), 66.0)
    assert states(core)["a1"] == "available"
    assert core.next_deadline() == pytest.approx(1.0 + 20.0)    # a2's ring timer only
    core.check_invariants()


def test_call_arriving_before_the_connected_report_is_offered_on_it() -> None:
    core = two_queues()
    core.handle(m.OutboundReserve("a1"), 0.0)
    core.handle(m.AgentPause("a2"), 0.0)
    core.handle(m.CallerArrived("contact1", "calls"), 4.0)
    assert core.snapshot(4.0)["queues"]["calls"]["waiting"] == 1     # a1 is held: waits
    out = core.handle(m.OutboundConnected("a1", "contact1"), 4.1)
    assert of(m.RingAgent, out) == [m.RingAgent("contact1", "a1", "calls", 20.0)]
    core.check_invariants()


def test_released_dial_frees_the_agent_for_inbound_callers() -> None:
    core = two_queues()
    core.handle(m.OutboundReserve("a1"), 0.0)
    core.handle(m.AgentPause("a2"), 0.0)
    core.handle(m.CallerArrived("in1", "sales"), 1.0)
    out = core.handle(m.OutboundReleased("a1", "busy"), 9.0)
    assert m.SetAgentState("a1", "available", "") in out
    assert of(m.RingAgent, out) == [m.RingAgent("in1", "a1", "sales", 20.0)]
    # a late report of the same dial changes nothing
    assert core.handle(m.OutboundReleased("a1", "busy"), 9.5) == []
    assert states(core)["a1"] == "reserved"
    core.check_invariants()


def test_guard_returns_an_agent_whose_dial_is_never_reported() -> None:
    core = two_queues()
    core.handle(m.OutboundReserve("a1"), 100.0)
    assert core.next_deadline() == pytest.approx(100.0 + OUTBOUND_GUARD_S)
    assert core.on_timer(100.0 + OUTBOUND_GUARD_S - 1) == []
    out = core.on_timer(100.0 + OUTBOUND_GUARD_S)
    assert m.SetAgentState("a1", "available", "") in out
    assert core.next_deadline() is None
    logged = [e.detail for e in core.events if e.kind == "agent" and e.agent == "a1"]
    assert logged[-2:] == [f"{OUT}:campaign", "available"]
    core.check_invariants()


def test_guard_is_stopped_by_the_ring_and_by_a_release() -> None:
    core = two_queues()
    core.handle(m.OutboundReserve("a1"), 0.0)
    core.handle(m.OutboundReleased("a1", "no_answer"), 30.0)
    assert core.next_deadline() is None
    core.handle(m.AgentPause("a2"), 30.0)
    core.handle(m.OutboundReserve("a1"), 40.0)
    core.handle(m.OutboundConnected("a1", "contact2"), 50.0)
    core.handle(m.CallerArrived("contact2", "calls"), 50.0)
    assert core.next_deadline() == pytest.approx(70.0)          # the ring timeout only
    core.handle(m.AgentAnswered("contact2", "a1"), 52.0)
    assert core.next_deadline() is None
    assert core.on_timer(40.0 + OUTBOUND_GUARD_S) == []
    assert states(core)["a1"] == "on_call"
    core.check_invariants()


def test_logout_pause_and_unreachable_end_the_reservation() -> None:
    for event, state in ((m.AgentLogout("a1"), "logged_out"), (m.AgentPause("a1"), "paused"),
                         (m.AgentUnreachable("a1"), "unreachable")):
        core = two_queues()
        core.handle(m.OutboundReserve("a1"), 0.0)
        core.handle(m.OutboundConnected("a1", "contact1"), 1.0)
        core.handle(event, 2.0)
        assert states(core)["a1"] == state and core.next_deadline() is None
        # the contact's call then queues like any other: a2 takes it
        out = core.handle(m.CallerArrived("contact1", "calls"), 3.0)
        assert [c.agent for c in of(m.RingAgent, out)] == ["a2"]
        core.check_invariants()


def test_agent_that_does_not_answer_the_contact_lets_the_queue_serve_it() -> None:
    core = two_queues()
    core.handle(m.OutboundReserve("a1"), 0.0)
    core.handle(m.OutboundConnected("a1", "contact1"), 1.0)
    core.handle(m.CallerArrived("contact1", "calls"), 1.0)
    out = core.handle(m.AgentNoAnswer("contact1", "a1"), 5.0)
    assert [c.agent for c in of(m.RingAgent, out)] == ["a2"]
    core.check_invariants()


def test_supervisor_forces_a_held_agent_available() -> None:
    core = two_queues()
    core.handle(m.OutboundReserve("a1"), 0.0)
    core.handle(m.ForceAgentState("a1", "available"), 1.0)
    assert states(core)["a1"] == "available" and core.next_deadline() is None


def test_bad_outbound_input_changes_nothing() -> None:
    core = two_queues()
    with pytest.raises(UnknownAgent):
        core.handle(m.OutboundReserve("nobody"), 0.0)
    core.handle(m.AgentPause("a1"), 0.0)
    with pytest.raises(InvalidTransition, match="paused"):
        core.handle(m.OutboundReserve("a1"), 1.0)                # a paused agent is not free
    assert states(core)["a1"] == "paused"
    core.handle(m.OutboundReserve("a2"), 1.0)
    core.handle(m.AgentUnpause("a1"), 1.0)
    core.handle(m.OutboundReserve("a1"), 1.0)
    core.handle(m.OutboundConnected("a1", "contact1"), 2.0)
    with pytest.raises(AcdError, match="already held"):
        core.handle(m.OutboundConnected("a2", "contact1"), 2.0)
    assert states(core) == {"a1": OUT, "a2": OUT}
    core.check_invariants()


def test_kpis_count_outbound_reservation_as_working_time_not_pause() -> None:
    """a1 over [0, 100): reserved 0–10 (dialling), ringing 10–12, talking 12–42, available
    after. Staffed 100 s, paused 0, talk 30 s: occupancy 30 %, utilization 30 %."""
    core = core_with({"calls": {"strategy": "linear"}}, agents=["a1"])
    core.handle(m.OutboundReserve("a1", "spring"), 0.0)
    core.handle(m.OutboundConnected("a1", "contact1"), 10.0)
    core.handle(m.CallerArrived("contact1", "calls"), 10.0)
    core.handle(m.AgentAnswered("contact1", "a1"), 12.0)
    core.handle(m.CallEnded("contact1"), 42.0)
    report = kpis(core.events, 0.0, 100.0, now=100.0)["agents"]["a1"]
    assert report["paused_s"] == 0.0
    assert report["outbound_reserved_s"] == pytest.approx(10.0)
    assert report["logged_in_s"] == pytest.approx(100.0)
    assert report["occupancy"] == pytest.approx(30.0)
    assert report["utilization"] == pytest.approx(30.0)
    assert report["handled"] == 1 and report["att_s"] == pytest.approx(30.0)


def test_a_late_release_of_an_older_dial_leaves_the_newer_reservation() -> None:
    core = two_queues()
    core.handle(m.OutboundReserve("a1", "spring", "spring/1/1"), 0.0)
    core.handle(m.OutboundReleased("a1", "no_answer", "spring/1/1"), 30.0)
    assert states(core)["a1"] == "available"
    core.handle(m.OutboundReserve("a1", "spring", "spring/2/1"), 31.0)
    core.handle(m.OutboundReleased("a1", "stopped", "spring/1/1"), 32.0)   # duplicate, late
    assert states(core)["a1"] == OUT                                       # still held
    out = core.handle(m.CallerArrived("in1", "sales"), 33.0)
    assert [c.agent for c in of(m.RingAgent, out)] == ["a2"]
    core.handle(m.OutboundReleased("a1", "busy", "spring/2/1"), 40.0)
    assert states(core)["a1"] == "available"
    core.check_invariants()


def test_campaign_contacts_are_not_offered_calls_of_a_shared_queue() -> None:
    """A campaign sharing an inbound queue: its contacts reach their held agents through
    the queue, yet SL, ASA, abandonment and the queue length stay the inbound callers'."""
    core = two_queues()
    h = core.handle
    h(m.OutboundReserve("a1", "spring"), 0.0)
    h(m.CallerArrived("in1", "calls"), 1.0)                  # inbound: a2 rings
    h(m.OutboundConnected("a1", "contact1"), 5.0)
    h(m.CallerArrived("contact1", "calls", "+447700900001", outbound=True), 5.1)
    h(m.AgentAnswered("contact1", "a1"), 6.0)                 # outbound: no wait to count
    h(m.AgentAnswered("in1", "a2"), 31.0)                     # inbound: waited 30 s
    h(m.CallEnded("contact1"), 66.0)
    h(m.CallEnded("in1"), 91.0)
    h(m.OutboundReserve("a1", "spring"), 100.0)
    h(m.OutboundConnected("a1", "contact2"), 110.0)
    h(m.CallerArrived("contact2", "calls", outbound=True), 110.1)
    h(m.CallerHungUp("contact2"), 112.0)                      # gone before the agent took it
    core.check_invariants()
    kinds = [e.kind for e in core.events if e.caller.startswith("contact")]
    assert kinds.count("outbound_enter") == 2 and "enter" not in kinds
    k = kpis(core.events, now=200.0)
    q = k["queues"]["calls"]
    assert (q["offered"], q["answered"], q["abandoned"]) == (1, 1, 0)
    assert q["sl"]["20"] == 0.0 and q["asa_s"] == pytest.approx(30.0)   # in1 alone
    assert (q["outbound_connected"], q["outbound_lost"]) == (1, 1)
    assert q["max_queue_len"] == 1 and q["max_wait_s"] == pytest.approx(30.0)
    assert q["handled"] == 2 and q["att_s"] == pytest.approx((60.0 + 60.0) / 2)
    a1 = k["agents"]["a1"]
    assert (a1["answered"], a1["outbound_connected"], a1["handled"]) == (0, 1, 1)
    assert k["total"]["offered"] == 1
