"""Random event sequences never break the ACD's invariants.

Each agent is in exactly one state; reserved/on call/on hold => a live caller who is
ringing that agent or connected to it; no caller is both waiting and connected; queue
counters match the members' states. An event the core refuses (AcdError) changes nothing.
"""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.acd import messages as m
from firmware.acd.core import AcdCore, AcdError
from firmware.acd.strategies import STRATEGIES
from tests.acd.helpers import core_with

AGENTS = ["a1", "a2", "a3"]
CALLERS = [f"c{i}" for i in range(6)]
QUEUES = ["q1", "q2"]

agent = st.sampled_from(AGENTS)
caller = st.sampled_from(CALLERS)
queue = st.sampled_from(QUEUES)

events = st.one_of(
    st.builds(m.CallerArrived, caller, queue, st.just("+1"), st.integers(0, 2),
              st.one_of(st.none(), st.integers(0, 5))),
    st.builds(m.CallerHungUp, caller),
    st.builds(m.CallbackKeyPressed, caller),
    st.builds(m.CallbackKeyPressed, caller, st.none(), st.sampled_from(["j1", "j2"])),
    st.builds(m.CallbackQueued, caller, queue, st.just("+2"), st.integers(0, 2),
              st.one_of(st.none(), st.integers(0, 5)), st.sampled_from(["", "j1", "j2", "j3"])),
    st.builds(m.CallbackReleased, caller, st.sampled_from(["retry", "failed", "connected"])),
    st.builds(m.AgentAnswered, caller, agent),
    st.builds(m.AgentRejected, caller, agent),
    st.builds(m.AgentNoAnswer, caller, agent),
    st.builds(m.AgentUnreachable, agent),
    st.builds(m.AgentReachable, agent),
    st.builds(m.CallEnded, caller, st.booleans()),
    st.builds(m.CallHeld, caller),
    st.builds(m.CallResumed, caller),
    st.builds(m.AnnouncementFinished, caller),
    st.builds(m.CallbackConnected, caller),
    st.builds(m.CallbackFailed, caller),
    st.builds(m.AgentLogin, agent, st.one_of(st.none(), st.just(("q2",)))),
    st.builds(m.AgentLogout, agent),
    st.builds(m.AgentPause, agent),
    st.builds(m.AgentUnpause, agent),
    st.builds(m.WrapUpDone, agent),
    st.builds(m.ForceAgentState, agent, st.sampled_from(["available", "paused", "logged_out"])),
    st.builds(m.MoveCaller, caller, queue, st.booleans()),
    st.tuples(st.just("time"), st.floats(0.0, 40.0)),
)


def build(strategy: str, seed: int) -> AcdCore:
    return core_with(
        {
            "q1": {"strategy": strategy, "members": [("a1", 0, 3), ("a2", 1, 5)],
                   "wrap_up_s": 7, "ring_timeout_s": 10, "retry_s": 3, "max_wait_s": 60,
                   "max_len": 4, "overflow": {"type": "queue", "target": "q2"},
                   "callback": True, "announce_every_s": 15, "auto_pause_after": 2,
                   "skill_min": 4, "skill_relax": ((20.0, 0),)},
            "q2": {"strategy": strategy, "members": ["a2", "a3"], "callback": True,
                   "leave_empty": "ready", "sticky_days": 1},
        },
        agents=AGENTS, seed=seed,
    )


def observable(core: AcdCore, now: float) -> tuple:
    return (
        copy.deepcopy(core.snapshot(now)),
        {c.id: (c.state, c.queue.id) for c in core.callers.values()},
        len(core.events),
    )


@settings(max_examples=250, deadline=None)  # blind sequences (mostly refused events)
@given(st.sampled_from(sorted(STRATEGIES)), st.integers(0, 3), st.lists(events, max_size=60))
def test_random_event_sequences_keep_the_invariants(strategy: str, seed: int,
                                                    sequence: list) -> None:
    core = build(strategy, seed)
    now = 0.0
    for event in sequence:
        if isinstance(event, tuple) and event and event[0] == "time":
            now += event[1]
            deadline = core.next_deadline()
            while deadline is not None and deadline <= now:
                core.on_timer(deadline)
                core.check_invariants()
                deadline = core.next_deadline()
            continue
        before = observable(core, now)
        try:
            core.handle(event, now)
        except AcdError:
            assert observable(core, now) == before, event
        core.check_invariants()
    # Drain: everyone hangs up; every agent ends free of callers.
    for cid in list(core.callers):
        c = core.callers.get(cid)
        if c is None:
            continue
        if c.state == "callback_dialing":
            core.handle(m.CallbackFailed(cid), now)
        elif c.state != "callback_waiting":
            core.handle(m.CallerHungUp(cid), now)
    core.check_invariants()
    for a in core.agents.values():
        assert a.state not in ("reserved", "on_call", "on_hold") or a.caller is not None
        if a.state in ("on_call", "on_hold"):
            raise AssertionError(f"{a.id} still {a.state} with every caller gone")


def make_event(kind: str, cid: str, aid: str, data: st.DataObject) -> object:
    simple = {
        "hangup": m.CallerHungUp, "callback": m.CallbackKeyPressed, "hold": m.CallHeld,
        "resume": m.CallResumed, "cb_ok": m.CallbackConnected, "cb_fail": m.CallbackFailed,
    }
    if kind in simple:
        return simple[kind](cid)
    by_agent = {
        "unreachable": m.AgentUnreachable, "reachable": m.AgentReachable,
        "login": m.AgentLogin, "logout": m.AgentLogout, "pause": m.AgentPause,
        "unpause": m.AgentUnpause, "wrap_done": m.WrapUpDone,
    }
    if kind in by_agent:
        return by_agent[kind](aid)
    if kind == "arrive":
        return m.CallerArrived(cid, data.draw(queue), "+7", data.draw(st.integers(0, 2)))
    if kind in ("answer", "reject", "no_answer"):
        return {"answer": m.AgentAnswered, "reject": m.AgentRejected,
                "no_answer": m.AgentNoAnswer}[kind](cid, aid)
    if kind == "end":
        return m.CallEnded(cid, data.draw(st.booleans()))
    if kind == "force":
        return m.ForceAgentState(
            aid, data.draw(st.sampled_from(["available", "paused", "logged_out"]))
        )
    if kind == "move":
        return m.MoveCaller(cid, data.draw(queue))
    return None  # "time"


KINDS = ["arrive", "hangup", "callback", "answer", "reject", "no_answer", "unreachable",
         "reachable", "end", "hold", "resume", "cb_ok", "cb_fail", "login", "logout",
         "pause", "unpause", "wrap_done", "force", "move", "time", "time"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(STRATEGIES)), st.integers(0, 3), st.data())
def test_state_driven_event_sequences_keep_the_invariants(strategy: str, seed: int,
                                                          data: st.DataObject) -> None:
    """The same, with events aimed at live callers and the agents ringing for them, so
    most of them are accepted and the deep states (callbacks, hold, wrap-up) are hit."""
    core = build(strategy, seed)
    now = 0.0
    for _ in range(data.draw(st.integers(0, 80))):
        kind = data.draw(st.sampled_from(KINDS))
        live = sorted(core.callers)
        cid = data.draw(st.sampled_from(live)) if live and data.draw(st.booleans()) \
            else data.draw(caller)
        c = core.callers.get(cid)
        ringing = [a.id for a in c.ringing] if c else []
        if c is not None and c.agent is not None:
            ringing.append(c.agent.id)
        aid = data.draw(st.sampled_from(ringing)) if ringing else data.draw(agent)
        event = make_event(kind, cid, aid, data)
        if event is None:
            now += data.draw(st.floats(0.0, 30.0))
            deadline = core.next_deadline()
            while deadline is not None and deadline <= now:
                core.on_timer(deadline)
                core.check_invariants()
                deadline = core.next_deadline()
            continue
        before = observable(core, now)
        try:
            core.handle(event, now)
        except AcdError:
            assert observable(core, now) == before, event
        core.check_invariants()


def test_seeded_random_walks_keep_the_invariants() -> None:
    """A plain seeded walk (it found the callback-agent-logs-out race before hypothesis)."""
    import random

    for seed in range(150):
        r = random.Random(seed)
        core = build(r.choice(sorted(STRATEGIES)), seed)
        now = 0.0
        for _ in range(60):
            a, c, q = r.choice(AGENTS), r.choice(CALLERS), r.choice(QUEUES)
            event = r.choice([
                m.CallerArrived(c, q, "+1", r.randint(0, 2)), m.CallerHungUp(c),
                m.CallbackKeyPressed(c), m.AgentAnswered(c, a), m.AgentRejected(c, a),
                m.CallEnded(c), m.CallHeld(c), m.CallResumed(c), m.CallbackConnected(c),
                m.AgentLogout(a), m.AgentPause(a), m.AgentUnpause(a), m.AgentLogin(a),
                m.MoveCaller(c, q), None,
            ])
            if event is None:
                now += r.uniform(0, 40)
                deadline = core.next_deadline()
                while deadline is not None and deadline <= now:
                    core.on_timer(deadline)
                    deadline = core.next_deadline()
            else:
                try:
                    core.handle(event, now)
                except AcdError:
                    pass
            core.check_invariants()
