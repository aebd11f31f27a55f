"""Callback places in the ACD core: virtual callers (a queue place with no leg) of callback
jobs, the key press that hands its place to a job, release and retry, and their KPIs."""

from __future__ import annotations

import pytest

from firmware.acd import messages as m
from firmware.acd.kpi import kpis
from firmware.acd.machine import AcdError
from tests.acd.helpers import core_with, of, states


def dials(out: list[object]) -> list[m.DialCallback]:
    return of(m.DialCallback, out)


def test_virtual_callers_are_ordered_by_priority_then_kept_place() -> None:
    core = core_with({"q": {"callback": True}}, agents=["a1"], static=False)
    core.handle(m.CallerArrived("live-20", "q", "+120"), 20.0)
    # a web request made at 30, a VIP request at 40, a retried key press of time 10
    assert core.handle(m.CallbackQueued("cb-web", "q", "+130", 0, 30.0, "cb-web"), 50.0) == []
    core.handle(m.CallbackQueued("cb-vip", "q", "+140", 5, 40.0, "cb-vip"), 50.0)
    core.handle(m.CallbackQueued("call-10", "q", "+110", 0, 10.0, "cb-key"), 50.0)
    core.handle(m.CallerArrived("live-60", "q", "+160"), 60.0)
    order = [e[3].id for e in core.queues["q"].order]
    assert order == ["cb-vip", "call-10", "live-20", "cb-web", "live-60"]
    core.check_invariants()
    served = []
    core.handle(m.AgentLogin("a1", ("q",)), 70.0)
    for t in range(5):
        now = 100.0 + 100 * t
        caller = core.agents["a1"].caller
        assert caller is not None
        served.append(caller.id)
        if caller.state == "callback_dialing":
            core.handle(m.CallbackConnected(caller.id), now)
        else:
            core.handle(m.AgentAnswered(caller.id, "a1"), now)
        core.handle(m.CallEnded(caller.id), now + 50)
        core.check_invariants()
    assert served == order


def test_a_virtual_caller_hears_nothing_never_abandons_and_is_dialled_with_its_job() -> None:
    core = core_with({"q": {"callback": True, "max_wait_s": 30, "announce_every_s": 20,
                            "callback_agent_first": True}}, agents=["a1"])
    core.handle(m.AgentPause("a1"), 0.0)
    out = core.handle(m.CallbackQueued("cb-1", "q", "+111", 0, None, "cb-1"), 1.0)
    assert out == []                                  # no music, no leg to play to
    assert core.next_deadline() is None               # no max wait, no announcement
    assert core.snapshot(5.0)["queues"]["q"]["callbacks"] == 1
    out = core.handle(m.AgentUnpause("a1"), 500.0)
    assert dials(out) == [m.DialCallback("cb-1", "a1", "+111", True, "cb-1")]
    assert states(core)["a1"] == "reserved"
    # a repeated EnqueueCallback for the held job changes nothing
    assert core.handle(m.CallbackQueued("cb-1", "q", "+111", 0, 1.0, "cb-1"), 501.0) == []
    core.handle(m.CallbackConnected("cb-1", answered_ts=520.0), 530.0)
    assert states(core)["a1"] == "on_call"
    core.handle(m.CallEnded("cb-1"), 600.0)
    assert states(core)["a1"] == "available" and not core.callers
    [connect] = [e for e in core.events if e.kind == "callback_connect"]
    assert connect.value == 519.0 and connect.detail == "cb-1"   # request (1) to answer (520)
    core.check_invariants()


def test_release_while_waiting_or_dialling_frees_the_agent_and_the_place() -> None:
    core = core_with({"q": {"callback": True}}, agents=["a1"])
    core.handle(m.AgentPause("a1"), 0.0)
    core.handle(m.CallbackQueued("cb-1", "q", "+111", 0, 1.0, "cb-1"), 1.0)
    core.handle(m.CallbackQueued("cb-2", "q", "+222", 0, 2.0, "cb-2"), 2.0)
    core.handle(m.CallbackReleased("cb-2", "cancelled"), 3.0)      # waiting: leaves
    assert core.callback_place("cb-2") is None and len(core.queues["q"].order) == 1
    out = core.handle(m.AgentUnpause("a1"), 10.0)
    assert dials(out)[0].caller == "cb-1"
    out = core.handle(m.CallbackReleased("cb-1", "retry"), 20.0)   # dialling: fails
    assert m.CancelRing("cb-1", "a1") in out and states(core)["a1"] == "available"
    assert not core.callers and core.callback_place("cb-1") is None
    # the job comes back after its retry interval at its kept place
    core.handle(m.CallerArrived("live", "q", "+333"), 30.0)
    core.handle(m.AgentPause("a1"), 31.0)
    core.handle(m.CallbackQueued("cb-1", "q", "+111", 0, 1.0, "cb-1"), 40.0)
    assert [e[3].id for e in core.queues["q"].order] == ["cb-1", "live"]
    assert [e.detail for e in core.events if e.kind in ("callback_release", "callback_fail")] \
        == ["cancelled", "retry"]
    # a release of a connected callback is left alone: its call ends with CallEnded
    out = core.handle(m.AgentUnpause("a1"), 50.0)
    core.handle(m.CallbackConnected("cb-1"), 55.0)
    assert core.handle(m.CallbackReleased("cb-1", "connected"), 56.0) == []
    assert states(core)["a1"] == "on_call"
    core.check_invariants()


def test_key_press_hands_the_place_to_its_job_and_a_retry_comes_back_as_the_same_caller() -> None:
    core = core_with({"q": {"callback": True}}, agents=["a1"])
    core.handle(m.AgentPause("a1"), 0.0)
    core.handle(m.CallerArrived("c1", "q", "+111"), 10.0)
    core.handle(m.CallerArrived("c2", "q", "+222"), 20.0)
    out = core.handle(m.CallbackKeyPressed("c1", "+111", job="cb-1"), 30.0)
    assert out == [m.AcceptCallback("c1", "+111")]
    assert core.callback_place("cb-1") == ("c1", "callback_waiting")
    # the engine's EnqueueCallback for the job it just created: already held
    assert core.handle(m.CallbackQueued("c1", "q", "+111", 0, 10.0, "cb-1"), 31.0) == []
    out = core.handle(m.AgentUnpause("a1"), 40.0)
    assert dials(out) == [m.DialCallback("c1", "a1", "+111", False, "cb-1")]   # before c2
    core.handle(m.CallbackReleased("c1", "retry"), 60.0)           # busy: retried later
    assert core.agents["a1"].caller is not None and core.agents["a1"].caller.id == "c2"
    core.handle(m.AgentAnswered("c2", "a1"), 61.0)
    core.handle(m.CallEnded("c2"), 100.0)
    core.handle(m.CallerArrived("c3", "q", "+333"), 150.0)
    core.handle(m.AgentPause("a1"), 150.0)
    core.handle(m.CallbackQueued("c1", "q", "+111", 0, 10.0, "cb-1", requested=30.0), 180.0)
    assert [e[3].id for e in core.queues["q"].order] == ["c1", "c3"]   # its place, not 180
    out = core.handle(m.AgentUnpause("a1"), 200.0)
    core.handle(m.CallbackConnected("c1", answered_ts=210.0), 215.0)
    core.handle(m.CallEnded("c1"), 300.0)
    core.check_invariants()
    report = kpis(core.events, now=300.0)["queues"]["q"]
    # c1 is one call taken as a callback (excluded from SL), not offered twice
    assert report["offered"] == 3 and report["callbacks_requested"] == 1
    assert report["callbacks_scheduled"] == 1 and report["callbacks_connected"] == 1
    assert report["callback_success"] == 100.0
    assert report["time_to_callback_s"] == 180.0                  # key press 30 -> answer 210
    # SL(20): nobody live answered within 20 s (c2 waited 41 s) over 3 offered - 1 taken
    assert report["answered"] == 1 and report["sl"]["20"] == 0.0


def test_kpis_of_a_scripted_mix_of_key_presses_and_virtual_callers() -> None:
    core = core_with({"q": {"callback": True}}, agents=["a1"])
    core.handle(m.AgentPause("a1"), 0.0)
    core.handle(m.CallerArrived("c1", "q", "+111"), 0.0)           # answered after 10 s
    core.handle(m.CallerArrived("c2", "q", "+222"), 0.0)           # takes a callback
    core.handle(m.CallerArrived("c3", "q", "+333"), 0.0)           # abandons after 100 s
    core.handle(m.CallbackKeyPressed("c2", job="cb-2"), 5.0)
    core.handle(m.CallbackQueued("cb-w", "q", "+444", 0, 6.0, "cb-w"), 6.0)   # web request
    core.handle(m.AgentUnpause("a1"), 10.0)
    core.handle(m.AgentAnswered("c1", "a1"), 10.0)
    core.handle(m.CallEnded("c1"), 50.0)                           # then c2's callback
    core.handle(m.CallbackConnected("c2", answered_ts=65.0), 70.0)
    core.handle(m.CallerHungUp("c3"), 100.0)
    core.handle(m.CallEnded("c2"), 120.0)                          # then the web request
    core.handle(m.CallbackReleased("cb-w", "failed"), 150.0)       # no answer: final
    core.check_invariants()
    q = kpis(core.events, now=200.0)["queues"]["q"]
    # offered: the three live calls; the web request is a scheduled callback, not a call
    assert q["offered"] == 3 and q["answered"] == 1 and q["abandoned"] == 1
    assert q["callbacks_requested"] == 1 and q["callbacks_scheduled"] == 2
    assert q["callbacks_connected"] == 1 and q["callback_success"] == 50.0
    assert q["time_to_callback_s"] == 60.0                         # 5 -> 65
    # SL(20) = answered within 20 s / (offered - short abandons - callbacks taken) = 1/2
    assert q["sl"]["20"] == 50.0
    assert q["max_queue_len"] == 3                                 # live callers only


def test_callback_max_caps_key_presses_not_returning_jobs() -> None:
    core = core_with({"q": {"callback": True, "callback_max": 1}}, agents=["a1"])
    core.handle(m.AgentPause("a1"), 0.0)
    for c in ("c1", "c2"):
        core.handle(m.CallerArrived(c, "q", "+1" + c), 1.0)
    core.handle(m.CallbackKeyPressed("c1", job="cb-1"), 2.0)
    assert core.callback_places("q") == 1
    with pytest.raises(AcdError, match="maximum of 1 callbacks"):
        core.handle(m.CallbackKeyPressed("c2", job="cb-2"), 3.0)
    assert core.callers["c2"].state == "waiting"                   # nothing applied
    core.handle(m.CallbackQueued("cb-9", "q", "+999", 0, 0.5, "cb-9"), 4.0)
    assert core.callback_places("q") == 2
    core.check_invariants()


def test_a_key_press_merged_into_a_waiting_request_takes_over_its_place() -> None:
    core = core_with({"q": {"callback": True}}, agents=["a1"])
    core.handle(m.AgentPause("a1"), 0.0)
    core.handle(m.CallbackQueued("cb-1", "q", "+111", 0, 50.0, "cb-1"), 50.0)
    core.handle(m.CallerArrived("c1", "q", "+111"), 60.0)
    core.handle(m.CallbackKeyPressed("c1", job="cb-1"), 70.0)
    assert core.callback_place("cb-1") == ("c1", "callback_waiting")
    assert [e[3].id for e in core.queues["q"].order] == ["c1"]
    assert [e.detail for e in core.events if e.kind == "callback_release"] == ["merged"]
    core.check_invariants()


def test_callback_offer_is_announced_after_its_delay_and_with_each_position() -> None:
    core = core_with({"q": {"callback": True, "callback_offer_s": 30,
                            "callback_offer_with_announce": True, "announce_every_s": 60}},
                     agents=["a1"])
    core.handle(m.AgentPause("a1"), 0.0)
    core.handle(m.CallerArrived("c1", "q", "+111"), 0.0)
    assert core.next_deadline() == 30.0
    out = core.on_timer(30.0)
    assert [(a.prompt, a.position) for a in of(m.PlayAnnouncement, out)] == \
        [("callback_offer", 1)]
    out = core.on_timer(60.0)
    assert [a.prompt for a in of(m.PlayAnnouncement, out)] == ["position", "callback_offer"]
    core.handle(m.CallbackKeyPressed("c1", job="cb-1"), 61.0)
    assert core.next_deadline() is None                           # no more offers
    # no room for another callback: not offered
    full = core_with({"q": {"callback": True, "callback_max": 1, "callback_offer_s": 5}},
                     agents=["a1"])
    full.handle(m.AgentPause("a1"), 0.0)
    full.handle(m.CallbackQueued("cb-1", "q", "+111", 0, 0.0, "cb-1"), 0.0)
    full.handle(m.CallerArrived("c2", "q", "+222"), 0.0)
    assert of(m.PlayAnnouncement, full.on_timer(5.0)) == []


def test_bad_virtual_callers_are_refused_whole() -> None:
    core = core_with({"q": {"callback": True}}, agents=["a1"])
    core.handle(m.CallerArrived("c1", "q", "+111"), 0.0)
    with pytest.raises(AcdError, match="unknown queue"):
        core.handle(m.CallbackQueued("cb-1", "nope", "+111", 0, 0.0, "cb-1"), 1.0)
    with pytest.raises(AcdError, match="already in the ACD"):
        core.handle(m.CallbackQueued("c1", "q", "+111", 0, 0.0, "cb-1"), 1.0)
    with pytest.raises(AcdError, match="no number"):
        core.handle(m.CallbackQueued("cb-1", "q", "", 0, 0.0, "cb-1"), 1.0)
    assert core.callback_place("cb-1") is None and list(core.callers) == ["c1"]
    with pytest.raises(AcdError):
        core.handle(m.CallbackReleased("c1", "failed"), 2.0)       # a live caller
    core.check_invariants()


def test_callback_options_from_the_configuration_and_their_errors() -> None:
    from firmware.acd.core import AcdConfigError, settings_from_config

    doc = {"agents": [{"id": "a1", "name": "A", "number": "+79160000001"}],
           "queues": [{"id": "q", "name": "Q", "members": [{"agent": "a1"}],
                       "callback_key": "1", "callback_dial": "agent_first",
                       "callback_number": "ask", "callback_max": 3,
                       "callback_offer_s": 45, "callback_offer_with_announce": True}]}
    [q], _ = settings_from_config(doc)
    assert (q.callback, q.callback_agent_first, q.callback_max) == (True, True, 3)
    assert (q.callback_offer_s, q.callback_offer_with_announce) == (45, True)
    bad = {**doc, "queues": [{**doc["queues"][0], "callback_key": "12", "callback_max": 0,
                              "callback_number": "cli", "callback_offer_s": -1}]}
    with pytest.raises(AcdConfigError) as err:
        settings_from_config(bad)
    paths = {issue.split(":")[0] for issue in err.value.issues}
    assert {"queues[0].callback_key", "queues[0].callback_max", "queues[0].callback_number",
            "queues[0].callback_offer_s"} <= paths, err.value.issues
    off = {**doc, "queues": [{**doc["queues"][0], "callback_key": None}]}
    with pytest.raises(AcdConfigError, match="needs a callback_key"):
        settings_from_config(off)


def test_removing_the_queue_drops_its_places() -> None:
    from firmware.acd.core import AgentSettings, MemberSettings, QueueSettings

    core = core_with({"q": {"callback": True}, "r": {"callback": True}}, agents=["a1"])
    core.handle(m.AgentPause("a1"), 0.0)
    core.handle(m.CallbackQueued("cb-1", "q", "+111", 0, 0.0, "cb-1"), 0.0)
    core.handle(m.CallbackQueued("cb-2", "r", "+222", 0, 0.0, "cb-2"), 0.0)
    assert core.callback_jobs() == {"cb-1", "cb-2"}
    core.reconfigure([QueueSettings("r", members=(MemberSettings("a1"),), callback=True)],
                     [AgentSettings("a1")], 5.0)
    assert core.callback_jobs() == {"cb-2"} and core.callback_place("cb-1") is None
    assert [e.detail for e in core.events if e.kind == "callback_fail"] == ["queue_removed"]
    core.check_invariants()
