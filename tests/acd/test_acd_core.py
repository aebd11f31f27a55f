"""ACD core behaviour: the races users report in other ACDs, timers, callbacks, overflow,
configuration and bad input."""

from __future__ import annotations

import copy

import pytest

from firmware.acd import messages as m
from firmware.acd.core import (
    AcdConfigError,
    AcdCore,
    AcdError,
    DuplicateCaller,
    UnknownAgent,
    UnknownCaller,
    UnknownQueue,
)
from firmware.acd.machine import AGENT_TRANSITIONS, CALLER_TRANSITIONS, InvalidTransition
from tests.acd.helpers import core_with, of, states


def rung(out: list) -> list[str]:
    return [c.agent for c in of(m.RingAgent, out)]


def snapshot(core: AcdCore) -> tuple:
    return (copy.deepcopy(core.snapshot(0.0)), len(core.events), core.next_deadline())


# --- races ------------------------------------------------------------------------------------


def test_caller_hangs_up_while_the_agent_rings() -> None:
    core = core_with({"q": {}}, agents=["a1"])
    core.handle(m.CallerArrived("c1", "q"), 0.0)
    assert states(core) == {"a1": "reserved"}
    out = core.handle(m.CallerHungUp("c1"), 3.0)
    assert m.CancelRing("c1", "a1") in out
    assert states(core) == {"a1": "available"}
    assert core.agents["a1"].caller is None and core.callers == {}
    # The ring timer is gone with it; a late no-answer report is ignored.
    assert core.next_deadline() is None
    assert core.handle(m.AgentNoAnswer("c1", "a1"), 20.0) == []
    core.check_invariants()


def test_agent_answers_while_an_announcement_plays_no_dead_air() -> None:
    core = core_with({"q": {"announce_every_s": 30}}, agents=["a1"])
    core.handle(m.AgentPause("a1", "break"), 0.0)
    core.handle(m.CallerArrived("c1", "q"), 0.0)
    out = core.on_timer(30.0)
    assert of(m.PlayAnnouncement, out) == [m.PlayAnnouncement("c1", "position", 1, 180)]
    core.handle(m.AgentUnpause("a1"), 31.0)  # rings while the prompt plays
    out = core.handle(m.AgentAnswered("c1", "a1"), 32.0)
    assert out.index(m.StopAnnouncement("c1")) < out.index(m.Bridge("c1", "a1"))
    # The announcement timer died with the wait.
    assert core.next_deadline() is None


def test_announcement_finished_means_no_stop_needed() -> None:
    core = core_with({"q": {"announce_every_s": 30}}, agents=["a1"])
    core.handle(m.AgentPause("a1", "break"), 0.0)
    core.handle(m.CallerArrived("c1", "q"), 0.0)
    core.on_timer(30.0)
    core.handle(m.AnnouncementFinished("c1"), 35.0)
    core.handle(m.AgentUnpause("a1"), 36.0)
    out = core.handle(m.AgentAnswered("c1", "a1"), 37.0)
    assert of(m.StopAnnouncement, out) == [] and of(m.Bridge, out) == [m.Bridge("c1", "a1")]


def test_agent_logs_out_while_ringing_the_caller_goes_to_the_next_agent() -> None:
    core = core_with({"q": {"strategy": "linear"}}, agents=["a1", "a2"])
    core.handle(m.AgentPause("a2", "lunch"), 0.0)
    core.handle(m.CallerArrived("c1", "q"), 1.0)
    out = core.handle(m.AgentLogout("a1"), 2.0)
    assert m.CancelRing("c1", "a1") in out
    assert states(core) == {"a1": "logged_out", "a2": "paused"}
    assert core.callers["c1"].state == "waiting"
    out = core.handle(m.AgentUnpause("a2"), 3.0)
    assert rung(out) == ["a2"]
    core.check_invariants()


def test_two_queues_never_reserve_the_same_agent() -> None:
    core = core_with({"q1": {"members": ["a1"]}, "q2": {"members": ["a1"]}}, agents=["a1"])
    assert rung(core.handle(m.CallerArrived("c1", "q1"), 0.0)) == ["a1"]
    assert rung(core.handle(m.CallerArrived("c2", "q2"), 0.0)) == []
    assert core.agents["a1"].caller.id == "c1"
    # The agent is free again: the caller waiting longest across both queues gets them.
    core.handle(m.CallerArrived("c3", "q1"), 1.0)
    out = core.handle(m.CallerHungUp("c1"), 2.0)
    assert rung(out) == ["a1"] and core.agents["a1"].caller.id == "c2"
    core.check_invariants()


def test_priority_then_arrival_order() -> None:
    core = core_with({"q": {}}, agents=["a1"])
    core.handle(m.AgentPause("a1", "x"), 0.0)
    core.handle(m.CallerArrived("c1", "q"), 1.0)
    core.handle(m.CallerArrived("c2", "q", priority=5), 2.0)
    core.handle(m.CallerArrived("c3", "q"), 3.0)
    core.handle(m.CallerArrived("c4", "q", priority=5), 4.0)
    queue = core.queues["q"]
    assert [e[3].id for e in queue.order] == ["c2", "c4", "c1", "c3"]
    assert core.agents["a1"].state == "paused"
    out = core.handle(m.AgentUnpause("a1"), 5.0)
    assert of(m.RingAgent, out)[0].caller == "c2"


def test_ring_timeout_then_retry_and_auto_pause_after_misses() -> None:
    core = core_with({"q": {"ring_timeout_s": 15, "retry_s": 5, "auto_pause_after": 2}},
                     agents=["a1"])
    core.handle(m.CallerArrived("c1", "q"), 0.0)
    assert core.next_deadline() == 15.0
    out = core.on_timer(15.0)
    assert m.CancelRing("c1", "a1") in out and rung(out) == []  # not again at once
    assert core.agents["a1"].misses == 1
    assert core.next_deadline() == 20.0
    assert rung(core.on_timer(20.0)) == ["a1"]  # the retry
    out = core.on_timer(35.0)  # second miss: paused
    assert core.agents["a1"].state == "paused" and core.agents["a1"].reason == "missed_calls"
    assert m.SetAgentState("a1", "paused", "missed_calls") in out
    assert rung(core.on_timer(40.0)) == []
    out = core.handle(m.AgentUnpause("a1"), 50.0)
    assert rung(out) == ["a1"] and core.agents["a1"].misses == 0
    core.check_invariants()


def test_answer_resets_the_miss_count() -> None:
    core = core_with({"q": {"ring_timeout_s": 15, "retry_s": 0, "auto_pause_after": 2}},
                     agents=["a1"])
    core.handle(m.CallerArrived("c1", "q"), 0.0)
    core.on_timer(15.0)  # miss 1; re-rung at once (no retry delay)
    core.handle(m.AgentAnswered("c1", "a1"), 16.0)
    assert core.agents["a1"].misses == 0


def test_wrap_up_timer_and_early_wrap_up_done() -> None:
    core = core_with({"q": {"wrap_up_s": 30}}, agents=["a1"])
    core.handle(m.CallerArrived("c1", "q"), 0.0)
    core.handle(m.AgentAnswered("c1", "a1"), 1.0)
    core.handle(m.CallerArrived("c2", "q"), 2.0)
    out = core.handle(m.CallEnded("c1"), 60.0)
    assert m.SetAgentState("a1", "wrap_up", "") in out and rung(out) == []
    assert core.next_deadline() == 90.0
    out = core.on_timer(90.0)
    assert rung(out) == ["a1"]
    core.handle(m.AgentAnswered("c2", "a1"), 91.0)
    core.handle(m.CallEnded("c2"), 100.0)
    out = core.handle(m.WrapUpDone("a1"), 105.0)  # the agent finishes early
    assert states(core) == {"a1": "available"}
    assert core.next_deadline() is None


def test_hold_and_resume_set_the_agent_state() -> None:
    core = core_with({"q": {}}, agents=["a1"])
    core.handle(m.CallerArrived("c1", "q"), 0.0)
    core.handle(m.AgentAnswered("c1", "a1"), 1.0)
    core.handle(m.CallHeld("c1"), 2.0)
    assert states(core) == {"a1": "on_hold"}
    core.handle(m.CallResumed("c1"), 3.0)
    assert states(core) == {"a1": "on_call"}
    core.handle(m.CallHeld("c1"), 4.0)
    core.handle(m.CallerHungUp("c1"), 5.0)  # the caller hangs up while held: call over
    assert states(core) == {"a1": "available"}
    core.check_invariants()


def test_logout_and_pause_during_a_call_wait_for_its_end() -> None:
    core = core_with({"q": {"wrap_up_s": 10}}, agents=["a1", "a2"])
    core.handle(m.CallerArrived("c1", "q"), 0.0)
    core.handle(m.AgentAnswered("c1", "a1"), 0.0)
    core.handle(m.CallerArrived("c2", "q"), 0.0)
    core.handle(m.AgentAnswered("c2", "a2"), 0.0)
    core.handle(m.AgentLogout("a1"), 1.0)
    core.handle(m.AgentPause("a2", "lunch"), 1.0)
    assert states(core) == {"a1": "on_call", "a2": "on_call"}
    core.handle(m.CallEnded("c1"), 5.0)
    core.handle(m.CallEnded("c2"), 5.0)
    core.on_timer(15.0)
    assert states(core) == {"a1": "logged_out", "a2": "paused"}
    assert core.agents["a2"].reason == "lunch"


def test_unreachable_agent_while_ringing_and_back() -> None:
    core = core_with({"q": {"strategy": "linear"}}, agents=["a1", "a2"])
    core.handle(m.CallerArrived("c1", "q"), 0.0)
    out = core.handle(m.AgentUnreachable("a1"), 1.0)
    assert m.CancelRing("c1", "a1") in out and rung(out) == ["a2"]
    assert states(core) == {"a1": "unreachable", "a2": "reserved"}
    core.handle(m.AgentReachable("a1"), 2.0)
    assert states(core)["a1"] == "available"


def test_dynamic_login_to_queues_and_logout_leaves_them() -> None:
    core = core_with({"q1": {"members": []}, "q2": {"members": []}}, agents=["a1"],
                     static=False)
    assert states(core) == {"a1": "logged_out"}
    core.handle(m.CallerArrived("c1", "q2"), 0.0)
    out = core.handle(m.AgentLogin("a1", ("q1", "q2")), 1.0)
    assert rung(out) == ["a1"]
    assert sorted(core.agents["a1"].queues) == ["q1", "q2"]
    core.handle(m.CallerHungUp("c1"), 2.0)
    core.handle(m.AgentLogout("a1"), 3.0)
    assert core.agents["a1"].queues == {}
    core.check_invariants()


def test_supervisor_forces_states_and_moves_a_caller_keeping_the_place() -> None:
    core = core_with({"q1": {"members": ["a1"]}, "q2": {"members": ["a2"]}},
                     agents=["a1", "a2"])
    core.handle(m.ForceAgentState("a2", "paused", "coaching"), 0.0)
    assert core.agents["a2"].reason == "coaching"
    core.handle(m.CallerArrived("c0", "q2"), 5.0)
    core.handle(m.CallerArrived("c1", "q1"), 0.0)  # a1 rings for c1
    core.handle(m.CallerArrived("c2", "q1"), 1.0)
    out = core.handle(m.MoveCaller("c1", "q2"), 10.0)
    assert m.CancelRing("c1", "a1") in out
    assert rung(out) == ["a1"]  # a1 is free again: c2 is next in q1
    assert [e[3].id for e in core.queues["q2"].order] == ["c1", "c0"]  # place kept (0 < 5)
    out = core.handle(m.ForceAgentState("a2", "available"), 11.0)
    assert of(m.RingAgent, out)[0].caller == "c1"
    core.handle(m.ForceAgentState("a1", "logged_out"), 12.0)
    assert states(core)["a1"] == "logged_out"
    core.check_invariants()


# --- queue rules ------------------------------------------------------------------------------


def test_max_wait_overflows_to_the_destination() -> None:
    core = core_with({"q": {"max_wait_s": 60, "overflow": {"type": "extension", "target": "101"}}},
                     agents=["a1"])
    core.handle(m.AgentPause("a1", "x"), 0.0)
    core.handle(m.CallerArrived("c1", "q"), 0.0)
    out = core.on_timer(60.0)
    assert out == [m.Overflow("c1", {"type": "extension", "target": "101"}, "max_wait")]
    assert core.callers == {}
    assert core.events[-1].kind == "overflow" and core.events[-1].value == 60.0


def test_max_length_refuses_and_overflow_to_another_queue() -> None:
    core = core_with({
        "q": {"members": ["a1"], "max_len": 1, "overflow": {"type": "queue", "target": "r"}},
        "r": {"members": ["a2"]},
    }, agents=["a1", "a2"])
    core.handle(m.AgentPause("a1", "x"), 0.0)
    core.handle(m.AgentPause("a2", "x"), 0.0)
    core.handle(m.CallerArrived("c1", "q"), 0.0)
    out = core.handle(m.CallerArrived("c2", "q"), 1.0)
    assert of(m.Overflow, out) == []  # went into queue r instead
    assert core.callers["c2"].queue.id == "r"
    assert [(e.kind, e.queue, e.detail) for e in core.events[-2:]] == [
        ("refused", "q", "full"), ("enter", "r", ""),
    ]


def test_join_empty_and_leave_empty_rules() -> None:
    core = core_with({"q": {"join_empty": "staffed", "leave_empty": "ready",
                            "overflow": {"type": "busy"}}}, agents=["a1"], static=False)
    out = core.handle(m.CallerArrived("c1", "q"), 0.0)
    assert out == [m.Overflow("c1", {"type": "busy"}, "no_agents")]
    core.handle(m.AgentLogin("a1"), 1.0)
    core.handle(m.AgentPause("a1", "x"), 1.0)  # logged in (staffed) but not ready
    core.handle(m.CallerArrived("c2", "q"), 2.0)  # joins (someone is logged in)...
    assert "c2" in core.callers
    core.handle(m.AgentUnpause("a1"), 3.0)
    core.handle(m.AgentAnswered("c2", "a1"), 3.0)
    core.handle(m.CallerArrived("c3", "q"), 4.0)
    out = core.handle(m.AgentPause("a1", "y"), 5.0)  # pause is deferred: a1 on call
    assert "c3" in core.callers
    out = core.handle(m.CallEnded("c2"), 6.0)  # ...and now nobody is ready: c3 leaves
    assert m.Overflow("c3", {"type": "busy"}, "no_agents") in out
    assert core.callers == {}


def test_callback_keeps_the_place_and_dials_when_an_agent_frees() -> None:
    core = core_with({"q": {"callback": True}}, agents=["a1"])
    core.handle(m.CallerArrived("c0", "q", "+100"), 0.0)
    core.handle(m.AgentAnswered("c0", "a1"), 0.0)
    core.handle(m.CallerArrived("c1", "q", "+111"), 10.0)
    out = core.handle(m.CallbackKeyPressed("c1"), 40.0)
    assert out == [m.AcceptCallback("c1", "+111")]
    core.handle(m.CallerArrived("c2", "q", "+222"), 50.0)
    out = core.handle(m.CallEnded("c0"), 100.0)
    assert m.DialCallback("c1", "a1", "+111", False) in out and rung(out) == []
    assert states(core) == {"a1": "reserved"}
    core.handle(m.CallbackConnected("c1"), 120.0)
    assert states(core) == {"a1": "on_call"}
    out = core.handle(m.CallEnded("c1"), 200.0)
    assert rung(out) == ["a1"] and of(m.RingAgent, out)[0].caller == "c2"
    core.check_invariants()


def test_failed_callback_releases_the_agent() -> None:
    core = core_with({"q": {"callback": True}}, agents=["a1"])
    core.handle(m.AgentPause("a1", "x"), 0.0)
    core.handle(m.CallerArrived("c1", "q", "+111"), 0.0)
    core.handle(m.CallbackKeyPressed("c1", "+999"), 5.0)
    out = core.handle(m.AgentUnpause("a1"), 10.0)
    assert m.DialCallback("c1", "a1", "+999", False) in out
    out = core.handle(m.CallbackFailed("c1", "busy"), 30.0)
    assert states(core) == {"a1": "available"} and core.callers == {}
    assert [e.detail for e in core.events if e.kind == "callback_fail"] == ["busy"]
    core.check_invariants()


def test_callback_dial_guard_releases_an_agent_if_the_engine_never_reports() -> None:
    core = core_with({"q": {"callback": True}}, agents=["a1"])
    core.handle(m.AgentPause("a1", "x"), 0.0)
    core.handle(m.CallerArrived("c1", "q", "+111"), 0.0)
    core.handle(m.CallbackKeyPressed("c1"), 5.0)
    core.handle(m.AgentUnpause("a1"), 10.0)
    deadline = core.next_deadline()
    assert deadline is not None
    core.on_timer(deadline)
    assert states(core) == {"a1": "available"} and core.callers == {}


# --- bad input --------------------------------------------------------------------------------


def test_unknown_ids_raise_clear_errors_and_change_nothing() -> None:
    core = core_with({"q": {}}, agents=["a1"])
    core.handle(m.CallerArrived("c1", "q"), 0.0)
    before = snapshot(core)
    with pytest.raises(UnknownQueue, match="unknown queue 'nope'"):
        core.handle(m.CallerArrived("c2", "nope"), 1.0)
    with pytest.raises(UnknownAgent, match="unknown agent 'zz'"):
        core.handle(m.AgentPause("zz"), 1.0)
    with pytest.raises(UnknownCaller, match="unknown caller 'ghost'"):
        core.handle(m.CallerHungUp("ghost"), 1.0)
    with pytest.raises(DuplicateCaller):
        core.handle(m.CallerArrived("c1", "q"), 1.0)
    with pytest.raises(UnknownQueue):  # one bad queue among good ones: nothing applied
        core.handle(m.AgentLogin("a1", ("q", "nope")), 1.0)
    with pytest.raises(InvalidTransition, match="caller 'c1' in state 'ringing' cannot take"):
        core.handle(m.CallHeld("c1"), 1.0)
    with pytest.raises(AcdError, match="does not offer callbacks"):
        core.handle(m.CallbackKeyPressed("c1"), 1.0)
    with pytest.raises(AcdError, match="not an ACD event"):
        core.handle("hello", 1.0)
    assert snapshot(core) == before
    core.check_invariants()


def test_an_input_the_table_lacks_raises_and_leaves_the_state() -> None:
    core = core_with({"q": {}}, agents=["a1"])
    with pytest.raises(InvalidTransition, match="agent 'a1' in state 'available'"):
        core.handle(m.WrapUpDone("a1"), 0.0)
    assert states(core) == {"a1": "available"}


def test_bad_configuration_is_refused_whole() -> None:
    from firmware.acd.core import AgentSettings, MemberSettings, QueueSettings

    with pytest.raises(AcdConfigError, match="agent 'a1' is a member twice"):
        AcdCore([QueueSettings("q", members=(MemberSettings("a1"), MemberSettings("a1")))],
                [AgentSettings("a1")])
    with pytest.raises(AcdConfigError, match="unknown agent 'a9'"):
        AcdCore([QueueSettings("q", members=(MemberSettings("a9"),))], [AgentSettings("a1")])
    with pytest.raises(AcdConfigError, match="unknown strategy 'best'"):
        AcdCore([QueueSettings("q", strategy="best")], [])


def test_tables_cover_every_state() -> None:
    from firmware.acd.machine import AgentState, CallerState

    assert {s for s, _ in AGENT_TRANSITIONS} == set(AgentState.ALL)
    assert {s for s, _ in CALLER_TRANSITIONS} | {"done"} == set(CallerState.ALL)
    assert all(n in AgentState.ALL for _, n in AGENT_TRANSITIONS.values())
    # Every way out of a queue cancels agents' legs if they ring.
    for (state, event), (actions, new) in CALLER_TRANSITIONS.items():
        if state == "ringing" and new != "ringing" and event != "all_declined":
            assert "cancel_rings" in actions or "cancel_other_rings" in actions, event


# --- configuration ----------------------------------------------------------------------------


def doc() -> dict:
    return {
        "extensions": [{"number": "101"}, {"number": "102"}, {"number": "103"}],
        "agents": [
            {"id": "ann", "name": "Ann", "extension": "101"},
            {"id": "bob", "name": "Bob", "number": "+79161234567", "login": "dynamic"},
        ],
        "queues": [
            {"id": "sales", "name": "Sales", "strategy": "round_robin",
             "members": [{"agent": "ann", "penalty": 1}, {"agent": "bob"}, "103"],
             "wrap_up_s": 15, "max_wait_s": 300,
             "overflow": {"type": "extension", "target": "101"},
             "announce": {"every_s": 45}, "callback_key": "*", "sticky_days": 3,
             "skill_relax": [{"after_s": 30, "min": 1}]},
            {"id": "support", "name": "Support", "members": ["103"]},
        ],
    }


def test_from_config_builds_queues_and_agents() -> None:
    core = AcdCore.from_config(doc())
    assert sorted(core.queues) == ["sales", "support"]
    assert states(core) == {"ann": "available", "bob": "logged_out", "103": "available"}
    sales = core.queues["sales"].settings
    assert sales.strategy == "round_robin" and sales.wrap_up_s == 15 and sales.callback
    assert [mb.agent.id for mb in core.queues["sales"].members] == ["ann", "bob", "103"]
    assert core.queues["sales"].members[0].penalty == 1


def test_from_config_refuses_bad_documents_with_path_named_issues() -> None:
    bad = doc()
    bad["queues"][0]["members"].append({"agent": "ann"})
    bad["queues"][1]["strategy"] = "best"
    bad["queues"][1]["members"].append({"agent": "zed"})
    with pytest.raises(AcdConfigError) as err:
        AcdCore.from_config(bad)
    assert err.value.issues == [
        'queues[0].members[3]: agent "ann" is in the queue twice',
        'queues[1].members[1]: unknown agent "zed"',
        'queues[1].strategy: unknown strategy "best" (one of ring_all, round_robin, linear, '
        "longest_idle, fewest_calls, least_talk_time, uniform_load, random, weighted_random, "
        "skills_most, skills_least)",
    ]


def test_live_reapply_keeps_callers_and_agent_states() -> None:
    core = AcdCore.from_config(doc())
    core.handle(m.AgentPause("103", "lunch"), 0.0)
    core.handle(m.CallerArrived("c1", "sales", "+1"), 1.0)  # ann rings
    core.handle(m.AgentAnswered("c1", "ann"), 2.0)
    core.handle(m.CallerArrived("c2", "sales", "+2"), 3.0)  # waits
    core.handle(m.CallerArrived("c3", "support", "+3"), 3.0)
    new = doc()
    new["queues"][0]["strategy"] = "linear"
    new["queues"][0]["wrap_up_s"] = 5
    new["queues"][0]["members"] = [{"agent": "ann"}, "103"]  # bob removed from sales
    del new["queues"][1]  # support removed: its caller overflows
    new["agents"].append({"id": "cat", "name": "Cat", "extension": "102"})
    new["queues"][0]["members"].append({"agent": "cat"})
    out = core.apply_config(new, 10.0)
    assert m.Overflow("c3", {"type": "hangup"}, "queue_removed") in out
    assert core.queues["sales"].settings.strategy == "linear"
    assert states(core) == {"ann": "on_call", "bob": "logged_out", "103": "paused",
                            "cat": "reserved"}
    assert core.agents["cat"].caller.id == "c2"  # the waiting caller kept its place
    core.check_invariants()


def test_agent_removed_during_a_call_leaves_after_it() -> None:
    core = AcdCore.from_config(doc())
    core.handle(m.CallerArrived("c1", "support"), 0.0)
    core.handle(m.AgentAnswered("c1", "103"), 0.0)
    new = doc()
    new["queues"][0]["members"] = [{"agent": "ann"}]
    new["queues"][1]["members"] = []
    core.apply_config(new, 1.0)
    assert core.agents["103"].state == "on_call"
    core.handle(m.CallEnded("c1"), 2.0)
    assert "103" not in core.agents
    core.check_invariants()


def test_agent_answered_for_a_callback_leg_does_not_call_it_off() -> None:
    core = core_with({"q": {"callback": True, "callback_agent_first": True}}, agents=["a1"])
    core.handle(m.AgentPause("a1", "x"), 0.0)
    core.handle(m.CallerArrived("c1", "q", "+111"), 0.0)
    core.handle(m.CallbackKeyPressed("c1"), 1.0)
    out = core.handle(m.AgentUnpause("a1"), 2.0)
    assert m.DialCallback("c1", "a1", "+111", True) in out
    assert core.handle(m.AgentAnswered("c1", "a1"), 3.0) == []
    core.handle(m.CallbackConnected("c1"), 4.0)
    assert states(core) == {"a1": "on_call"}


def test_callback_called_off_when_the_reserved_agent_logs_out() -> None:
    core = core_with({"q": {"callback": True}}, agents=["a1", "a2"])
    core.handle(m.AgentPause("a1", "x"), 0.0)
    core.handle(m.AgentPause("a2", "x"), 0.0)
    core.handle(m.CallerArrived("c1", "q", "+111"), 0.0)
    core.handle(m.CallbackKeyPressed("c1"), 1.0)
    core.handle(m.AgentUnpause("a1"), 2.0)
    out = core.handle(m.AgentLogout("a1"), 3.0)
    assert m.CancelRing("c1", "a1") in out
    assert core.callers["c1"].state == "callback_waiting"
    out = core.handle(m.AgentUnpause("a2"), 4.0)
    assert m.DialCallback("c1", "a2", "+111", False) in out
    core.check_invariants()


def test_the_configuration_validator_names_acd_problems_by_path() -> None:
    from firmware.config import find_issues

    bad = doc()
    bad["agents"].append({"id": "ann", "name": "Twin", "extension": "109"})
    bad["queues"][0]["overflow"] = {"type": "queue", "target": "sales"}
    bad["queues"][1]["members"].append("103")
    found = [str(i) for i in find_issues(bad, [])]
    for expected in [
        'agents[2].id: duplicate agent "ann"',
        'agents[2].extension: unknown extension "109"',
        "queues[0].overflow: a queue cannot overflow to itself",
        'queues[1].members[1]: agent "103" is in the queue twice',
    ]:
        assert expected in found, found
