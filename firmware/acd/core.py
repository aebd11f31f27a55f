"""The ACD core: queues, agents and callers on an injected clock, events in, commands out.

Owns the run-time state of the ACD (who waits where, which agent is in which state) and
every decision about it: admission, order, distribution, timeouts, wrap-up, overflow,
callbacks, announcements. It owns no I/O: it never touches a channel, a file or asyncio.
The call engine (firmware/calls), people (web UI, console, feature codes) and the traffic
simulator feed it events with ``handle(event, now)``; the caller of the core asks
``next_deadline()`` and calls ``on_timer(now)`` when it is due (libpri's
``pri_schedule_next`` / ``pri_schedule_run``). Both return the commands to carry out
(``firmware.acd.messages`` documents the contract). Every transition is written to the
queue event log (``firmware.acd.log``) through the ``log`` callable.

Every state change goes through the transition tables of ``firmware.acd.machine``; the
rows of *all* machines an event touches are looked up before anything changes, so an
event the tables do not allow raises ``InvalidTransition`` (an ``AcdError``) and leaves
every state as it was. Events about a caller that has just left (a hang-up racing an
answer, a late no-answer) are expected in a concurrent system: they are recognised
(``recent`` memory of finished callers) and ignored, and an answer that arrives for a
caller who is gone returns ``CancelRing`` so the engine drops that agent's leg.

Decisions worth knowing:

- Order: priority (higher first), then the time the caller entered (their kept place),
  then arrival sequence.
- A caller whose agents ring stays in the queue (position kept, music and announcements
  go on) until an agent answers; announcements are interrupted by the answer
  (``StopAnnouncement`` then ``Bridge``): no dead air.
- An agent who lets a caller ring out (or rejects) is not offered that caller again for
  the queue's ``retry_s``; ``auto_pause_after`` consecutive misses pause the agent with
  reason ``missed_calls``.
- An agent serving several queues gets the best waiting caller across them (priority,
  then place), then the queue's strategy chooses among that queue's free members; the
  agent is reserved for one caller only (two queues never hold the same agent).
- Penalty tiers: only the lowest penalty tier among the free members is offered (the
  skills-based strategies rank by skill instead). A skill requirement (the caller's, or
  the queue's ``skill_min``) relaxes as the wait grows (``skill_relax``).
- Sticky agent: with ``sticky_days`` > 0 a caller is offered first to the agent who last
  answered their number within that many days, if that agent is free for them.
- Logout or pause during a call is deferred to the end of its wrap-up.
- Overflow to another queue is done here (the caller re-enters that queue, logged as
  ``overflow`` then ``enter``); other destinations are an ``Overflow`` command.
- Callback places. A caller who takes a callback (``CallbackKeyPressed``) and a callback
  job's *virtual caller* (``CallbackQueued``: no leg, never abandons or times out, hears
  nothing) keep their place in the order; when an agent is free for them the agent is
  reserved (the longest idle among the strategy's choice) and ``DialCallback`` goes out.
  The core does not retry: the callback engine (firmware/callback) owns the retry policy
  and the persisted job; a failed or released place leaves the queue and the job comes
  back at its kept place (``entered``) with ``CallbackQueued``. A queue's
  ``callback_max`` caps the places taken by the key at once (virtual callers re-entering
  are never refused: their job was already accepted). Callback offers are announced
  after ``callback_offer_s`` of waiting and/or after each position announcement.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from firmware.acd import messages as m
from firmware.acd.log import QueueEvent
from firmware.acd.machine import (
    AGENT_TRANSITIONS,
    CALLER_TRANSITIONS,
    AcdError,
    AgentInput,
    AgentState,
    CallerInput,
    CallerState,
    InvalidTransition,
    agent_next,
    caller_next,
)
from firmware.acd.strategies import SKILLS_STRATEGIES, STRATEGIES, Strategy

_AVAILABLE: Final = AgentState.AVAILABLE
_STAFFED: Final = AgentState.STAFFED
_READY: Final = AgentState.READY
_WAITING: Final = CallerState.WAITING
_RINGING: Final = CallerState.RINGING
_CB_WAITING: Final = CallerState.CALLBACK_WAITING
_OFFERABLE: Final = CallerState.OFFERABLE
_OFFERED: Final = frozenset({CallerState.RINGING, CallerState.CALLBACK_DIALING})
_WITH_REASON: Final = frozenset({AgentState.PAUSED, AgentState.RESERVED_OUTBOUND})
# Named tuples built without their Python-level __new__ (hot path; same objects).
_new: Final = tuple.__new__
# (old state, new state) -> changes of a queue's (staffed, ready, available) counts.
_COUNT_DELTAS: Final = {
    (o, n): (
        (n in AgentState.STAFFED) - (o in AgentState.STAFFED),
        (n in AgentState.READY) - (o in AgentState.READY),
        (n == AgentState.AVAILABLE) - (o == AgentState.AVAILABLE),
    )
    for o in AgentState.ALL
    for n in AgentState.ALL
}

JOIN_EMPTY: Final = ("always", "staffed", "ready")
LEAVE_EMPTY: Final = ("never", "staffed", "ready")
RECENT_CALLERS: Final = 4096  # finished callers remembered to recognise stale events
CALLBACK_GUARD_S: Final = 180.0  # an unanswered DialCallback releases the agent after this
# A dialer that never reports its dial (crashed, lost the call) must not keep an agent
# reserved for outbound forever: the reservation ends after this (the longest ring time of
# a contact plus machine detection is well under it).
OUTBOUND_GUARD_S: Final = 900.0
SCAN_LIMIT: Final = 64  # callers looked at per queue when the head cannot be served


def _member_order(member: Member) -> int:
    return member.index


_MEMBER_ORDER: Final = _member_order


class UnknownQueue(AcdError):
    pass


class UnknownAgent(AcdError):
    pass


class UnknownCaller(AcdError):
    pass


class DuplicateCaller(AcdError):
    pass


class AcdConfigError(AcdError):
    def __init__(self, issues: list[str]) -> None:
        super().__init__("; ".join(issues))
        self.issues = issues


# --- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberSettings:
    agent: str
    penalty: int = 0
    skill: int = 0
    weight: float = 1.0


@dataclass(frozen=True)
class QueueSettings:
    id: str
    name: str = ""
    strategy: str = "longest_idle"
    members: tuple[MemberSettings, ...] = ()
    wrap_up_s: float = 0.0
    ring_timeout_s: float = 20.0
    retry_s: float = 5.0
    max_wait_s: float | None = None
    max_len: int | None = None
    overflow: Mapping[str, Any] = field(default_factory=lambda: {"type": "hangup"})
    join_empty: str = "always"  # always | staffed (someone logged in) | ready (unpaused)
    leave_empty: str = "never"  # never | staffed | ready
    music_class: str = "default"
    announce_every_s: float | None = None  # position / expected wait, periodically
    announce_first_s: float | None = None  # first one after this (default: every)
    callback: bool = False  # callers may take a callback (the engine detects the key)
    callback_agent_first: bool = False
    callback_max: int | None = None  # callback places taken by the key at once
    callback_offer_s: float | None = None  # announce the offer once after this wait
    callback_offer_with_announce: bool = False  # and after each position announcement
    sticky_days: float = 0.0
    skill_min: int = 0
    skill_relax: tuple[tuple[float, int], ...] = ()  # (after wait s, required level)
    auto_pause_after: int = 0  # consecutive missed calls; 0: never
    aht_s: float = 180.0  # initial handle-time estimate for the expected wait

    def check(self) -> None:
        if self.strategy not in STRATEGIES:
            raise AcdConfigError([f"queue {self.id!r}: unknown strategy {self.strategy!r}"])
        if self.join_empty not in JOIN_EMPTY or self.leave_empty not in LEAVE_EMPTY:
            raise AcdConfigError([f"queue {self.id!r}: bad join_empty/leave_empty"])
        seen: set[str] = set()
        for member in self.members:
            if member.agent in seen:
                raise AcdConfigError(
                    [f"queue {self.id!r}: agent {member.agent!r} is a member twice"]
                )
            seen.add(member.agent)


@dataclass(frozen=True)
class AgentSettings:
    id: str
    name: str = ""
    extension: str | None = None
    number: str | None = None  # external (a remote agent's mobile over a trunk)
    static: bool = True  # logged in from the start (dynamic agents log in themselves)


# --- run-time objects -------------------------------------------------------------------------


class Agent:
    __slots__ = (
        "id", "settings", "state", "reason", "since", "caller", "queues", "idle_since",
        "calls", "talk_s", "busy_s", "login_ts", "misses", "deferred", "deferred_reason",
        "t_ring", "t_wrap", "wrap_queue", "call_start", "hold_start", "hold_s",
        "wrap_start", "retiring", "t_outbound", "outbound_for", "outbound_dial",
    )

    def __init__(self, settings: AgentSettings, now: float) -> None:
        self.id = settings.id
        self.settings = settings
        self.state: str = AgentState.LOGGED_OUT
        self.reason = ""
        self.since = now
        self.caller: Caller | None = None
        self.queues: dict[str, Member] = {}
        self.idle_since = now
        self.calls = 0
        self.talk_s = 0.0
        self.busy_s = 0.0
        self.login_ts = now
        self.misses = 0
        self.deferred: str | None = None  # "logout" or "pause" after the current call
        self.deferred_reason = ""
        self.t_ring: list[Any] | None = None
        self.t_wrap: list[Any] | None = None
        self.wrap_queue: Queue | None = None
        self.call_start = 0.0
        self.hold_start = 0.0
        self.hold_s = 0.0
        self.wrap_start = 0.0
        self.retiring = False
        self.t_outbound: list[Any] | None = None  # the outbound reservation's guard
        self.outbound_for: str | None = None  # the contact's call the agent is held for
        self.outbound_dial = ""  # the dial the agent is reserved for (OutboundReserve.dial)


class Member:
    __slots__ = ("agent", "queue", "penalty", "skill", "weight", "index", "calls", "dynamic")

    def __init__(self, agent: Agent, queue: Queue, settings: MemberSettings, index: int,
                 dynamic: bool) -> None:
        self.agent = agent
        self.queue = queue
        self.penalty = settings.penalty
        self.skill = settings.skill
        self.weight = settings.weight
        self.index = index
        self.calls = 0
        self.dynamic = dynamic


class Caller:
    __slots__ = (
        "id", "number", "queue", "state", "priority", "skill", "entered", "seq", "key",
        "ringing", "agent", "announcing", "t_maxwait", "t_announce", "skip",
        "callback_number", "callback_ts", "job", "t_offer", "answered_ts", "outbound",
    )

    def __init__(self, ev: m.CallerArrived, queue: Queue, entered: float, seq: int) -> None:
        self.id = ev.caller
        self.number = ev.number
        self.queue = queue
        self.state: str = _WAITING
        self.priority = ev.priority
        self.skill = ev.skill
        self.entered = entered
        self.seq = seq
        self.key: tuple[Any, ...] = (-ev.priority, entered, seq, self)
        self.ringing: list[Agent] = []
        self.agent: Agent | None = None
        self.announcing = False
        self.t_maxwait: list[Any] | None = None
        self.t_announce: list[Any] | None = None
        self.skip: dict[str, float] | None = None
        self.callback_number = ""
        self.callback_ts = 0.0
        self.job = ""
        self.t_offer: list[Any] | None = None
        self.answered_ts: float | None = None  # a callback's customer answered
        self.outbound = ev.outbound

    @property
    def enter_kind(self) -> str:
        """How the log names this caller's entry: a campaign's contact is no offered call."""
        return "outbound_enter" if self.outbound else "enter"


class Queue:
    __slots__ = (
        "id", "settings", "strategy", "skills_based", "members", "order", "staffed",
        "ready", "available", "free", "rr_last", "aht_estimate",
    )

    def __init__(self, settings: QueueSettings) -> None:
        self.id = settings.id
        self.settings = settings
        self.strategy: Strategy = STRATEGIES[settings.strategy]
        self.skills_based = settings.strategy in SKILLS_STRATEGIES
        self.members: list[Member] = []
        # (-priority, entered, seq, caller) sorted: the queue's order.
        self.order: list[tuple[Any, ...]] = []
        self.staffed = 0
        self.ready = 0
        self.available = 0
        self.free: dict[Member, None] = {}  # available members, in order of availability
        self.rr_last = -1
        self.aht_estimate = settings.aht_s

    def position(self, caller: Caller) -> int:
        return bisect.bisect_left(self.order, caller.key) + 1

    def empty_by(self, rule: str) -> bool:
        if rule == "staffed":
            return self.staffed == 0
        if rule == "ready":
            return self.ready == 0
        return False


_TIMER_RING: Final = "ring"
_TIMER_WRAP: Final = "wrap"
_TIMER_MAXWAIT: Final = "maxwait"
_TIMER_ANNOUNCE: Final = "announce"
_TIMER_REDISPATCH: Final = "redispatch"
_TIMER_CALLBACK: Final = "callback"
_TIMER_OFFER: Final = "offer"
_TIMER_OUTBOUND: Final = "outbound"


class AcdCore:
    """The deterministic ACD. See the module docstring."""

    def __init__(
        self,
        queues: Iterable[QueueSettings] = (),
        agents: Iterable[AgentSettings] = (),
        *,
        now: float = 0.0,
        log: Callable[[QueueEvent], object] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.events: list[QueueEvent] = []
        self._log_sink: Callable[[QueueEvent], object] = (
            self.events.append if log is None else log
        )
        self._rng = rng if rng is not None else random.Random(0)
        self.queues: dict[str, Queue] = {}
        self.agents: dict[str, Agent] = {}
        self.callers: dict[str, Caller] = {}
        self._jobs: dict[str, Caller] = {}  # callback job -> the place it holds
        self._recent: deque[str] = deque()
        self._recent_set: set[str] = set()
        self._timers: list[list[Any]] = []
        self._timer_seq = 0
        self._seq = 0
        self._out: list[Any] = []
        self._dirty: set[Queue] = set()
        self._empty_check: set[Queue] = set()
        self._last_agent: dict[str, tuple[str, float]] = {}  # number -> (agent, when)
        self._reentry: list[tuple[Caller, Queue]] = []
        self._keep_place = True
        self._outbound: dict[str, Agent] = {}  # contact's caller id -> agent held for it
        self._handlers: dict[type, Callable[[Any, float], None]] = {
            m.CallerArrived: self._on_caller_arrived,
            m.CallerHungUp: self._on_caller_hung_up,
            m.CallbackKeyPressed: self._on_callback_key,
            m.CallbackQueued: self._on_callback_queued,
            m.CallbackReleased: self._on_callback_released,
            m.AgentAnswered: self._on_agent_answered,
            m.AgentRejected: self._on_agent_rejected,
            m.AgentNoAnswer: self._on_agent_no_answer,
            m.AgentUnreachable: self._on_agent_unreachable,
            m.AgentReachable: self._on_agent_reachable,
            m.CallEnded: self._on_call_ended,
            m.CallHeld: self._on_call_held,
            m.CallResumed: self._on_call_resumed,
            m.AnnouncementFinished: self._on_announcement_finished,
            m.CallbackConnected: self._on_callback_connected,
            m.CallbackFailed: self._on_callback_failed,
            m.AgentLogin: self._on_agent_login,
            m.AgentLogout: self._on_agent_logout,
            m.AgentPause: self._on_agent_pause,
            m.AgentUnpause: self._on_agent_unpause,
            m.WrapUpDone: self._on_wrap_up_done,
            m.ForceAgentState: self._on_force_agent_state,
            m.MoveCaller: self._on_move_caller,
            m.OutboundReserve: self._on_outbound_reserve,
            m.OutboundConnected: self._on_outbound_connected,
            m.OutboundReleased: self._on_outbound_released,
        }
        self._build(list(queues), list(agents), now)

    # --- construction and configuration ------------------------------------------------------

    def _build(self, queues: list[QueueSettings], agents: list[AgentSettings],
               now: float) -> None:
        _check_settings(queues, agents)
        for a in agents:
            self.agents[a.id] = Agent(a, now)
        for q in queues:
            self._add_queue(q, now)
        for a in agents:
            if a.static:
                agent = self.agents[a.id]
                self._agent_input(agent, AgentInput.LOGIN, now)
                agent.login_ts = now
        self._out.clear()

    def _add_queue(self, settings: QueueSettings, now: float) -> Queue:
        queue = Queue(settings)
        self.queues[settings.id] = queue
        for ms in settings.members:
            self._add_member(queue, self.agents[ms.agent], ms, now, dynamic=False)
        return queue

    def _add_member(self, queue: Queue, agent: Agent, ms: MemberSettings, now: float,
                    dynamic: bool) -> Member:
        member = Member(agent, queue, ms, len(queue.members), dynamic)
        queue.members.append(member)
        agent.queues[queue.id] = member
        state = agent.state
        if state in _STAFFED:
            queue.staffed += 1
        if state in _READY:
            queue.ready += 1
        if state == _AVAILABLE:
            queue.available += 1
            queue.free[member] = None
            self._dirty.add(queue)
        self._log(now, "member_add", queue.id, "", agent.id, ms.penalty, "")
        return member

    def _remove_member(self, member: Member, now: float) -> None:
        queue, agent = member.queue, member.agent
        queue.members.remove(member)
        for i, other in enumerate(queue.members):
            other.index = i
        del agent.queues[queue.id]
        state = agent.state
        if state in _STAFFED:
            queue.staffed -= 1
        if state in _READY:
            queue.ready -= 1
        if state == _AVAILABLE:
            queue.available -= 1
            del queue.free[member]
        self._empty_check.add(queue)
        self._log(now, "member_remove", queue.id, "", agent.id, 0, "")

    @classmethod
    def from_config(
        cls,
        doc: Mapping[str, Any],
        *,
        now: float = 0.0,
        log: Callable[[QueueEvent], object] | None = None,
        rng: random.Random | None = None,
    ) -> AcdCore:
        """The core for the ``queues`` and ``agents`` of a configuration document."""
        queues, agents = settings_from_config(doc)
        return cls(queues, agents, now=now, log=log, rng=rng)

    def apply_config(self, doc: Mapping[str, Any], now: float) -> list[Any]:
        """Apply a new configuration live, keeping waiting callers and agent states.

        Queues that remain keep their callers (settings and strategy change at once);
        callers of a removed queue overflow with reason ``queue_removed``. Agents that
        remain keep their state; removed agents are logged out at once if idle, or after
        their current call. Checked whole before anything changes.
        """
        queues, agents = settings_from_config(doc)
        return self.reconfigure(queues, agents, now)

    def reconfigure(self, queues: list[QueueSettings], agents: list[AgentSettings],
                    now: float) -> list[Any]:
        _check_settings(queues, agents)
        new_q = {q.id: q for q in queues}
        new_a = {a.id: a for a in agents}
        # Agents first (queues reference them).
        created = []
        for a in agents:
            if a.id in self.agents:
                self.agents[a.id].settings = a
                self.agents[a.id].retiring = False
            else:
                self.agents[a.id] = Agent(a, now)
                created.append(a)
        for qid in list(self.queues):
            if qid not in new_q:
                gone = self.queues.pop(qid)
                for member in list(gone.members):
                    self._remove_member(member, now)
                for entry in list(gone.order):
                    caller: Caller = entry[3]
                    self._caller_leaves_removed_queue(caller, gone, now)
                self._dirty.discard(gone)
                self._empty_check.discard(gone)
        for q in queues:
            queue = self.queues.get(q.id)
            if queue is None:
                self._add_queue(q, now)
                continue
            queue.settings = q
            queue.strategy = STRATEGIES[q.strategy]
            queue.skills_based = q.strategy in SKILLS_STRATEGIES
            wanted = {ms.agent: ms for ms in q.members}
            for member in list(queue.members):
                if member.agent.id not in wanted and not member.dynamic:
                    self._remove_member(member, now)
                elif member.agent.id in wanted:
                    ms = wanted[member.agent.id]
                    member.penalty, member.skill, member.weight = ms.penalty, ms.skill, ms.weight
                    member.dynamic = False
            for ms in q.members:
                if q.id not in self.agents[ms.agent].queues:
                    self._add_member(queue, self.agents[ms.agent], ms, now, dynamic=False)
            # Keep the configured order.
            rank = {ms.agent: i for i, ms in enumerate(q.members)}
            queue.members.sort(key=lambda mb: rank.get(mb.agent.id, len(rank)))
            for i, member in enumerate(queue.members):
                member.index = i
            self._dirty.add(queue)
            self._empty_check.add(queue)
        for aid in list(self.agents):
            if aid not in new_a:
                self._retire_agent(self.agents[aid], now)
        for a in created:
            if a.static:
                self._agent_input(self.agents[a.id], AgentInput.LOGIN, now)
        return self._finish(now)

    def _caller_leaves_removed_queue(self, caller: Caller, queue: Queue, now: float) -> None:
        for agent in list(caller.ringing):
            self._agent_input(agent, AgentInput.CANCEL, now)
        self._leave_queue(caller, now)
        if caller.state in (_WAITING, _RINGING):
            self._log(now, "overflow", queue.id, caller.id, "", now - caller.entered,
                      "queue_removed")
            self._out.append(m.Overflow(caller.id, {"type": "hangup"}, "queue_removed"))
        else:
            self._log(now, "callback_fail", queue.id, caller.id, "", 0, "queue_removed")
        caller.state = CallerState.DONE
        self._forget(caller)

    def _retire_agent(self, agent: Agent, now: float) -> None:
        for member in list(agent.queues.values()):
            self._remove_member(member, now)
        if agent.state in (AgentState.ON_CALL, AgentState.ON_HOLD, AgentState.WRAP_UP):
            agent.retiring = True
            agent.deferred = "logout"
            return
        self._agent_input(agent, AgentInput.LOGOUT, now)
        del self.agents[agent.id]

    # --- the public surface ---------------------------------------------------------------------

    def handle(self, event: Any, now: float) -> list[Any]:
        """Apply one event at time ``now``; returns the commands to carry out."""
        handler = self._handlers.get(type(event))
        if handler is None:
            raise AcdError(f"not an ACD event: {event!r}")
        try:
            handler(event, now)
        except BaseException:
            # Nothing was applied (checks precede changes): drop partial output.
            self._out.clear()
            raise
        return self._finish(now)

    def next_deadline(self) -> float | None:
        """When ``on_timer`` must next be called, or None if no timer is running."""
        timers = self._timers
        while timers and timers[0][2] is None:
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def on_timer(self, now: float) -> list[Any]:
        """Run every timer due at ``now``; returns the commands to carry out."""
        timers = self._timers
        while timers and timers[0][0] <= now:
            entry = heapq.heappop(timers)
            kind = entry[2]
            if kind is None:
                continue
            entry[2] = None
            deadline = entry[0]
            if kind is _TIMER_RING:
                agent: Agent = entry[3]
                agent.t_ring = None
                caller = agent.caller
                if caller is not None:
                    self._ring_outcome(agent, caller, AgentInput.NO_ANSWER, "no_answer",
                                       deadline)
            elif kind is _TIMER_WRAP:
                agent = entry[3]
                agent.t_wrap = None
                self._agent_input(agent, AgentInput.WRAPUP_DONE, deadline)
            elif kind is _TIMER_MAXWAIT:
                caller = entry[3]
                caller.t_maxwait = None
                if caller.state in (_WAITING, _RINGING):
                    self._caller_input(caller, CallerInput.TIMEOUT, deadline, "max_wait")
            elif kind is _TIMER_ANNOUNCE:
                caller = entry[3]
                caller.t_announce = None
                self._announce(caller, deadline)
            elif kind is _TIMER_OFFER:
                caller = entry[3]
                caller.t_offer = None
                self._offer_callback(caller)
            elif kind is _TIMER_REDISPATCH:
                caller = entry[3]
                if caller.state in _OFFERABLE:
                    self._dirty.add(caller.queue)
            elif kind is _TIMER_CALLBACK:
                agent = entry[3]
                agent.t_ring = None
                caller = agent.caller
                if caller is not None and caller.state == CallerState.CALLBACK_DIALING:
                    self._caller_input(caller, CallerInput.CALLBACK_FAILED, deadline,
                                       "timeout")
            elif kind is _TIMER_OUTBOUND:
                agent = entry[3]
                agent.t_outbound = None
                if agent.state == AgentState.RESERVED_OUTBOUND:
                    self._agent_input(agent, AgentInput.OUTBOUND_RELEASE, deadline,
                                      reason="outbound_timeout")
            self._dispatch(deadline)
        return self._finish(now)

    def snapshot(self, now: float) -> dict[str, Any]:
        """Live state for the wallboard: queues (waiting, longest wait) and agents."""
        queues = {}
        for q in self.queues.values():
            live = [e[3] for e in q.order if e[3].state in (_WAITING, _RINGING)]
            queues[q.id] = {
                "waiting": len(live),
                "callbacks": len(q.order) - len(live),
                "longest_wait_s": max((now - c.entered for c in live), default=0.0),
                "staffed": q.staffed,
                "ready": q.ready,
                "available": q.available,
            }
        agents = {
            a.id: {
                "state": a.state,
                "reason": a.reason,
                "since": a.since,
                "caller": a.caller.id if a.caller else None,
                "queues": sorted(a.queues),
                "calls": a.calls,
            }
            for a in self.agents.values()
        }
        return {"queues": queues, "agents": agents}

    def remember_agent(self, number: str, agent: str, when: float) -> None:
        """Seed the sticky-agent memory (e.g. from the stored event log at start-up)."""
        self._last_agent[number] = (agent, when)

    def check_invariants(self) -> None:
        """Raise AssertionError if the state is inconsistent (tests, debugging)."""
        for agent in self.agents.values():
            assert agent.state in AgentState.ALL, agent.state
            if agent.state in AgentState.WITH_CALLER:
                caller = agent.caller
                assert caller is not None, f"{agent.id} {agent.state} without a caller"
                assert self.callers.get(caller.id) is caller, f"{agent.id}: caller gone"
                if agent.state == AgentState.RESERVED:
                    assert agent in caller.ringing, f"{agent.id} reserved, caller not ringing"
                else:
                    assert caller.agent is agent and caller.state == CallerState.CONNECTED
            else:
                assert agent.caller is None, f"{agent.id} {agent.state} holds a caller"
        for queue in self.queues.values():
            states = [mb.agent.state for mb in queue.members]
            assert queue.available == sum(s == _AVAILABLE for s in states), queue.id
            assert set(queue.free) == {mb for mb in queue.members if mb.agent.state == _AVAILABLE}
            assert queue.staffed == sum(s in _STAFFED for s in states), queue.id
            assert queue.ready == sum(s in _READY for s in states), queue.id
            assert queue.order == sorted(queue.order, key=lambda e: e[:3])
            for entry in queue.order:
                caller = entry[3]
                assert caller.queue is queue and caller.state in CallerState.IN_QUEUE
        for job, held in self._jobs.items():
            assert self.callers.get(held.id) is held and held.job == job, f"job {job}"
        in_queues = {e[3].id for q in self.queues.values() for e in q.order}
        for caller in self.callers.values():
            if caller.state == CallerState.CONNECTED:
                assert caller.id not in in_queues, f"{caller.id} connected and waiting"
                assert caller.agent is not None and caller.agent.caller is caller
                assert not caller.ringing
            else:
                assert caller.id in in_queues, f"{caller.id} {caller.state} not in a queue"
                assert caller.agent is None
                for agent in caller.ringing:
                    assert agent.state == AgentState.RESERVED and agent.caller is caller
                if caller.state in _OFFERABLE:
                    assert not caller.ringing

    # --- plumbing ---------------------------------------------------------------------------------

    def _finish(self, now: float) -> list[Any]:
        if self._empty_check:
            self._apply_leave_empty(now)
        if self._dirty:
            self._dispatch(now)
        out = self._out
        self._out = []
        return out

    def _log(self, ts: float, kind: str, queue: str, caller: str, agent: str, value: float,
             detail: str) -> None:
        self._log_sink(_new(QueueEvent, (ts, kind, queue, caller, agent, value, detail)))

    def _timer(self, deadline: float, kind: str, obj: Any) -> list[Any]:
        self._timer_seq += 1
        entry = [deadline, self._timer_seq, kind, obj]
        heapq.heappush(self._timers, entry)
        return entry

    def _agent(self, agent_id: str) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise UnknownAgent(f"unknown agent {agent_id!r}")
        return agent

    def _queue(self, queue_id: str) -> Queue:
        queue = self.queues.get(queue_id)
        if queue is None:
            raise UnknownQueue(f"unknown queue {queue_id!r}")
        return queue

    def _caller(self, caller_id: str) -> Caller | None:
        """The live caller, None if it left recently (a stale event), else raise."""
        caller = self.callers.get(caller_id)
        if caller is None and caller_id not in self._recent_set:
            raise UnknownCaller(f"unknown caller {caller_id!r}")
        return caller

    def _forget(self, caller: Caller) -> None:
        if caller.job and self._jobs.get(caller.job) is caller:
            del self._jobs[caller.job]
        del self.callers[caller.id]
        self._recent.append(caller.id)
        self._recent_set.add(caller.id)
        if len(self._recent) > RECENT_CALLERS:
            self._recent_set.discard(self._recent.popleft())

    # --- the agent machine ----------------------------------------------------------------------

    def _agent_input(self, agent: Agent, event: str, now: float, caller: Caller | None = None,
                     reason: str = "") -> None:
        row = AGENT_TRANSITIONS.get((agent.state, event))
        if row is None:
            raise InvalidTransition("agent", agent.id, agent.state, event)
        actions, new = row
        for action in actions:
            self._AGENT_ACTIONS[action](self, agent, now, caller, reason)
        self._set_agent_state(agent, new, now, reason if new in _WITH_REASON else "")
        if new == _AVAILABLE and agent.deferred is not None and "after_work" in actions:
            self._after_work(agent, now)

    def _set_agent_state(self, agent: Agent, new: str, now: float, reason: str) -> None:
        old = agent.state
        if old == new and agent.reason == reason:
            return
        if old != new:
            d_staffed, d_ready, d_avail = _COUNT_DELTAS[old, new]
            if d_staffed or d_ready or d_avail:
                for member in agent.queues.values():
                    queue = member.queue
                    if d_staffed:
                        queue.staffed += d_staffed
                    if d_ready:
                        queue.ready += d_ready
                    if d_staffed < 0 or d_ready < 0:
                        self._empty_check.add(queue)
                    if d_avail > 0:
                        queue.available += 1
                        queue.free[member] = None
                        if queue.order:
                            self._dirty.add(queue)
                    elif d_avail < 0:
                        queue.available -= 1
                        del queue.free[member]
            if new is _AVAILABLE:
                agent.idle_since = now
            if old == AgentState.LOGGED_OUT:
                agent.login_ts = now
                agent.talk_s = agent.busy_s = 0.0
                agent.misses = 0
            agent.since = now
        agent.state = new
        agent.reason = reason
        caller = agent.caller
        self._log_sink(_new(QueueEvent, (
            now, "agent", "", caller.id if caller else "", agent.id, 0,
            f"{new}:{reason}" if reason else new,
        )))
        self._out.append(_new(m.SetAgentState, (agent.id, new, reason)))

    def _a_ring(self, agent: Agent, now: float, caller: Caller | None, reason: str) -> None:
        assert caller is not None
        queue = caller.queue
        timeout = queue.settings.ring_timeout_s
        agent.caller = caller
        caller.ringing.append(agent)
        agent.t_ring = self._timer(now + timeout, _TIMER_RING, agent)
        self._out.append(_new(m.RingAgent, (caller.id, agent.id, queue.id, timeout)))
        self._log(now, "ring", queue.id, caller.id, agent.id, 0, "")

    def _a_stop_ring_timer(self, agent: Agent, now: float, caller: Caller | None,
                           reason: str) -> None:
        if agent.t_ring is not None:
            agent.t_ring[2] = None
            agent.t_ring = None

    def _a_cancel_ring(self, agent: Agent, now: float, caller: Caller | None,
                       reason: str) -> None:
        self._a_stop_ring_timer(agent, now, caller, reason)
        held = agent.caller
        if held is not None:
            self._out.append(m.CancelRing(held.id, agent.id))

    def _a_release(self, agent: Agent, now: float, caller: Caller | None, reason: str) -> None:
        held = agent.caller
        if held is None:
            return
        agent.caller = None
        held.ringing.remove(agent)
        self._log(now, "ring_end", held.queue.id, held.id, agent.id, 0, reason or "cancelled")
        if not held.ringing and held.state in _OFFERED:
            self._caller_input(held, CallerInput.ALL_DECLINED, now)

    def _a_count_answer(self, agent: Agent, now: float, caller: Caller | None,
                        reason: str) -> None:
        agent.misses = 0
        agent.calls += 1
        agent.call_start = now
        agent.hold_s = 0.0
        if caller is not None:
            member = agent.queues.get(caller.queue.id)
            if member is not None:
                member.calls += 1

    def _a_count_miss(self, agent: Agent, now: float, caller: Caller | None,
                      reason: str) -> None:
        agent.misses += 1

    def _a_start_wrapup(self, agent: Agent, now: float, caller: Caller | None,
                        reason: str) -> None:
        talk = now - agent.call_start - agent.hold_s
        agent.talk_s += talk
        agent.busy_s += now - agent.call_start
        agent.wrap_start = now
        queue = caller.queue if caller is not None else None
        agent.wrap_queue = queue
        wrap = queue.settings.wrap_up_s if queue is not None else 0.0
        if queue is not None:
            queue.aht_estimate += 0.05 * (now - agent.call_start + wrap - queue.aht_estimate)
        if wrap > 0:
            agent.t_wrap = self._timer(now + wrap, _TIMER_WRAP, agent)

    def _a_stop_wrapup(self, agent: Agent, now: float, caller: Caller | None,
                       reason: str) -> None:
        if agent.t_wrap is not None:
            agent.t_wrap[2] = None
            agent.t_wrap = None
        agent.busy_s += now - agent.wrap_start

    def _a_defer_logout(self, agent: Agent, now: float, caller: Caller | None,
                        reason: str) -> None:
        agent.deferred = "logout"

    def _a_defer_pause(self, agent: Agent, now: float, caller: Caller | None,
                       reason: str) -> None:
        if agent.deferred != "logout":
            agent.deferred = "pause"
            agent.deferred_reason = reason

    def _a_clear_deferred(self, agent: Agent, now: float, caller: Caller | None,
                          reason: str) -> None:
        if agent.deferred == "pause":
            agent.deferred = None

    def _a_after_work(self, agent: Agent, now: float, caller: Caller | None,
                      reason: str) -> None:
        pass  # applied once the agent is available (see _agent_input)

    def _after_work(self, agent: Agent, now: float) -> None:
        deferred, agent.deferred = agent.deferred, None
        if deferred == "logout":
            self._logout(agent, now)
            if agent.retiring:
                del self.agents[agent.id]
        elif deferred == "pause":
            self._agent_input(agent, AgentInput.PAUSE, now, reason=agent.deferred_reason)

    def _a_start_outbound_guard(self, agent: Agent, now: float, caller: Caller | None,
                                reason: str) -> None:
        agent.t_outbound = self._timer(now + OUTBOUND_GUARD_S, _TIMER_OUTBOUND, agent)

    def _a_stop_outbound_guard(self, agent: Agent, now: float, caller: Caller | None,
                               reason: str) -> None:
        if agent.t_outbound is not None:
            agent.t_outbound[2] = None
            agent.t_outbound = None
        if agent.outbound_for is not None:
            self._outbound.pop(agent.outbound_for, None)
            agent.outbound_for = None

    _AGENT_ACTIONS: Final[dict[str, Callable[..., None]]] = {
        "ring": _a_ring,
        "stop_ring_timer": _a_stop_ring_timer,
        "cancel_ring": _a_cancel_ring,
        "release": _a_release,
        "count_answer": _a_count_answer,
        "count_miss": _a_count_miss,
        "start_wrapup": _a_start_wrapup,
        "stop_wrapup": _a_stop_wrapup,
        "defer_logout": _a_defer_logout,
        "defer_pause": _a_defer_pause,
        "clear_deferred": _a_clear_deferred,
        "after_work": _a_after_work,
        "start_outbound_guard": _a_start_outbound_guard,
        "stop_outbound_guard": _a_stop_outbound_guard,
    }

    # --- the caller machine -----------------------------------------------------------------------

    def _caller_input(self, caller: Caller, event: str, now: float, reason: str = "",
                      agent: Agent | None = None) -> None:
        row = CALLER_TRANSITIONS.get((caller.state, event))
        if row is None:
            raise InvalidTransition("caller", caller.id, caller.state, event)
        actions, new = row
        old = caller.state
        caller.state = new
        for action in actions:
            self._CALLER_ACTIONS[action](self, caller, now, old, reason, agent)
        if new == CallerState.DONE:
            self._forget(caller)
            while self._reentry:
                gone, target = self._reentry.pop()
                self._recent_set.discard(gone.id)
                again = Caller(
                    m.CallerArrived(gone.id, target.id, gone.number, gone.priority, gone.skill),
                    target, now, self._next_seq(),
                )
                self._admit(again, now, overflowed=True)
        elif new in _OFFERABLE and caller.queue.available:
            self._dirty.add(caller.queue)

    def _c_leave_queue(self, caller: Caller, now: float, old: str, reason: str,
                       agent: Agent | None) -> None:
        self._leave_queue(caller, now)

    def _leave_queue(self, caller: Caller, now: float) -> None:
        order = caller.queue.order
        i = bisect.bisect_left(order, caller.key)
        if i < len(order) and order[i][3] is caller:
            del order[i]
        self._stop_caller_timers(caller)

    @staticmethod
    def _stop_caller_timers(caller: Caller) -> None:
        for t in (caller.t_maxwait, caller.t_announce, caller.t_offer):
            if t is not None:
                t[2] = None
        caller.t_maxwait = caller.t_announce = caller.t_offer = None

    def _c_cancel_rings(self, caller: Caller, now: float, old: str, reason: str,
                        agent: Agent | None) -> None:
        for other in list(caller.ringing):
            self._agent_input(other, AgentInput.CANCEL, now, reason="caller_left")

    def _c_cancel_other_rings(self, caller: Caller, now: float, old: str, reason: str,
                              agent: Agent | None) -> None:
        for other in list(caller.ringing):
            if other is not agent:
                self._agent_input(other, AgentInput.CANCEL, now, reason="answered_elsewhere")

    def _c_stop_announcement(self, caller: Caller, now: float, old: str, reason: str,
                             agent: Agent | None) -> None:
        if caller.announcing:
            caller.announcing = False
            self._out.append(m.StopAnnouncement(caller.id))

    def _c_bridge(self, caller: Caller, now: float, old: str, reason: str,
                  agent: Agent | None) -> None:
        assert agent is not None
        caller.ringing.clear()
        caller.agent = agent
        self._out.append(_new(m.Bridge, (caller.id, agent.id)))
        self._log(now, "connect", caller.queue.id, caller.id, agent.id, now - caller.entered,
                  "")
        if caller.number and caller.queue.settings.sticky_days > 0:
            self._last_agent[caller.number] = (agent.id, now)

    def _c_log_abandon(self, caller: Caller, now: float, old: str, reason: str,
                       agent: Agent | None) -> None:
        self._log(now, "abandon", caller.queue.id, caller.id, "", now - caller.entered, "")

    def _c_log_timeout(self, caller: Caller, now: float, old: str, reason: str,
                       agent: Agent | None) -> None:
        self._log(now, "overflow", caller.queue.id, caller.id, "", now - caller.entered,
                  reason)

    def _c_overflow(self, caller: Caller, now: float, old: str, reason: str,
                    agent: Agent | None) -> None:
        destination = dict(caller.queue.settings.overflow)
        target = self.queues.get(destination.get("target", "")) \
            if destination.get("type") == "queue" else None
        if target is not None and target is not caller.queue:
            self._reentry.append((caller, target))
            return
        self._out.append(m.Overflow(caller.id, destination, reason))

    def _c_accept_callback(self, caller: Caller, now: float, old: str, reason: str,
                           agent: Agent | None) -> None:
        self._stop_caller_timers(caller)
        caller.callback_ts = now
        self._out.append(m.AcceptCallback(caller.id, caller.callback_number))
        self._log(now, "callback_request", caller.queue.id, caller.id, "",
                  now - caller.entered, caller.callback_number)

    def _c_dial_callback(self, caller: Caller, now: float, old: str, reason: str,
                         agent: Agent | None) -> None:
        assert agent is not None
        agent.caller = caller
        caller.ringing.append(agent)
        agent.t_ring = self._timer(now + CALLBACK_GUARD_S, _TIMER_CALLBACK, agent)
        self._out.append(m.DialCallback(caller.id, agent.id, caller.callback_number,
                                        caller.queue.settings.callback_agent_first,
                                        caller.job))
        self._log(now, "callback_dial", caller.queue.id, caller.id, agent.id, 0, "")

    def _c_connect_callback(self, caller: Caller, now: float, old: str, reason: str,
                            agent: Agent | None) -> None:
        assert agent is not None
        caller.ringing.clear()
        caller.agent = agent
        answered = now if caller.answered_ts is None else caller.answered_ts
        self._log(now, "callback_connect", caller.queue.id, caller.id, agent.id,
                  max(0.0, answered - caller.callback_ts), caller.job)
        if caller.number and caller.queue.settings.sticky_days > 0:
            self._last_agent[caller.number] = (agent.id, now)

    def _c_fail_callback(self, caller: Caller, now: float, old: str, reason: str,
                         agent: Agent | None) -> None:
        for other in list(caller.ringing):
            self._agent_input(other, AgentInput.CANCEL, now, reason="callback_failed")
        self._log(now, "callback_fail", caller.queue.id, caller.id, "", 0, reason)

    def _c_log_release(self, caller: Caller, now: float, old: str, reason: str,
                       agent: Agent | None) -> None:
        self._log(now, "callback_release", caller.queue.id, caller.id, "", 0, reason)

    def _c_log_end(self, caller: Caller, now: float, old: str, reason: str,
                   agent: Agent | None) -> None:
        held = caller.agent
        self._log(now, "end", caller.queue.id, caller.id, held.id if held else "", 0, reason)

    def _c_end_call(self, caller: Caller, now: float, old: str, reason: str,
                    agent: Agent | None) -> None:
        held = caller.agent
        assert held is not None
        caller.agent = None
        if held.state == AgentState.ON_HOLD:
            held.hold_s += now - held.hold_start
        self._agent_input(held, AgentInput.CALL_ENDED, now, caller)
        held.caller = None
        if held.state == AgentState.WRAP_UP and held.t_wrap is None:
            self._agent_input(held, AgentInput.WRAPUP_DONE, now)

    def _c_hold(self, caller: Caller, now: float, old: str, reason: str,
                agent: Agent | None) -> None:
        held = caller.agent
        assert held is not None
        held.hold_start = now
        self._agent_input(held, AgentInput.HOLD, now)
        self._log(now, "hold", caller.queue.id, caller.id, held.id, 0, "")

    def _c_unhold(self, caller: Caller, now: float, old: str, reason: str,
                  agent: Agent | None) -> None:
        held = caller.agent
        assert held is not None
        held.hold_s += now - held.hold_start
        self._agent_input(held, AgentInput.UNHOLD, now)
        self._log(now, "unhold", caller.queue.id, caller.id, held.id, 0, "")

    def _c_move(self, caller: Caller, now: float, old: str, reason: str,
                agent: Agent | None) -> None:
        target = self.queues[reason]
        source = caller.queue
        self._leave_queue(caller, now)
        waited = now - caller.entered
        self._log(now, "overflow", source.id, caller.id, "", waited, "moved")
        entered = caller.entered if self._keep_place else now
        caller.queue = target
        caller.entered = entered
        caller.key = (-caller.priority, entered, caller.seq, caller)
        bisect.insort(target.order, caller.key)
        self._log(entered, caller.enter_kind, target.id, caller.id, "", caller.priority,
                  caller.number)
        if caller.state in (_WAITING, _RINGING):
            self._start_caller_timers(caller, now)
        self._dirty.add(target)
        self._empty_check.add(target)

    _CALLER_ACTIONS: Final[dict[str, Callable[..., None]]] = {
        "leave_queue": _c_leave_queue,
        "cancel_rings": _c_cancel_rings,
        "cancel_other_rings": _c_cancel_other_rings,
        "stop_announcement": _c_stop_announcement,
        "bridge": _c_bridge,
        "log_abandon": _c_log_abandon,
        "log_timeout": _c_log_timeout,
        "overflow": _c_overflow,
        "accept_callback": _c_accept_callback,
        "dial_callback": _c_dial_callback,
        "connect_callback": _c_connect_callback,
        "fail_callback": _c_fail_callback,
        "log_release": _c_log_release,
        "log_end": _c_log_end,
        "end_call": _c_end_call,
        "hold": _c_hold,
        "unhold": _c_unhold,
        "move": _c_move,
    }

    # --- admission, timers, announcements -------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _admit(self, caller: Caller, now: float, overflowed: bool = False) -> None:
        queue = caller.queue
        s = queue.settings
        refused = None
        if s.max_len is not None and len(queue.order) >= s.max_len:
            refused = "full"
        elif queue.empty_by(s.join_empty):
            refused = "no_agents"
        if refused is not None:
            self._log(now, "refused", queue.id, caller.id, "", caller.priority, refused)
            destination = dict(s.overflow)
            if destination.get("type") == "queue" and not overflowed:
                target = self.queues.get(destination.get("target", ""))
                if target is not None and target is not queue:
                    again = Caller(
                        m.CallerArrived(caller.id, target.id, caller.number, caller.priority,
                                        caller.skill),
                        target, now, self._next_seq(),
                    )
                    self._admit(again, now, overflowed=True)
                    return
                destination = {"type": "hangup"}
            elif destination.get("type") == "queue":
                destination = {"type": "hangup"}
            self._out.append(m.Overflow(caller.id, destination, refused))
            self.callers.pop(caller.id, None)
            self._recent.append(caller.id)
            self._recent_set.add(caller.id)
            return
        self.callers[caller.id] = caller
        bisect.insort(queue.order, caller.key)
        self._log(caller.entered, caller.enter_kind, queue.id, caller.id, "", caller.priority,
                  caller.number)
        self._out.append(m.PlayMusicOnHold(caller.id, s.music_class))
        self._start_caller_timers(caller, now)
        if queue.available:
            self._dirty.add(queue)

    def _start_caller_timers(self, caller: Caller, now: float) -> None:
        s = caller.queue.settings
        self._stop_caller_timers(caller)
        if s.callback and s.callback_offer_s is not None:
            caller.t_offer = self._timer(max(now, caller.entered + s.callback_offer_s),
                                         _TIMER_OFFER, caller)
        if s.max_wait_s is not None:
            caller.t_maxwait = self._timer(max(now, caller.entered + s.max_wait_s),
                                           _TIMER_MAXWAIT, caller)
        if s.announce_every_s:
            first = s.announce_first_s if s.announce_first_s is not None else s.announce_every_s
            caller.t_announce = self._timer(now + first, _TIMER_ANNOUNCE, caller)
        if s.skill_relax and self._requirement(caller, caller.entered) > 0:
            for after, _level in s.skill_relax:
                if caller.entered + after > now:
                    self._timer(caller.entered + after, _TIMER_REDISPATCH, caller)

    def _announce(self, caller: Caller, now: float) -> None:
        if caller.state not in (_WAITING, _RINGING):
            return
        queue = caller.queue
        s = queue.settings
        position = queue.position(caller)
        servers = max(queue.ready, 1)
        expected = position * queue.aht_estimate / servers
        caller.announcing = True
        self._out.append(m.PlayAnnouncement(caller.id, "position", position, round(expected)))
        if s.callback and s.callback_offer_with_announce:
            self._offer_callback(caller)
        if s.announce_every_s:
            caller.t_announce = self._timer(now + s.announce_every_s, _TIMER_ANNOUNCE, caller)

    def _offer_callback(self, caller: Caller) -> None:
        """Announce "press the key to be called back" (if the queue has room for one)."""
        queue = caller.queue
        s = queue.settings
        if caller.state not in (_WAITING, _RINGING) or not s.callback:
            return
        if s.callback_max is not None and self.callback_places(queue.id) >= s.callback_max:
            return
        caller.announcing = True
        self._out.append(m.PlayAnnouncement(caller.id, "callback_offer", queue.position(caller),
                                            None))

    def callback_places(self, queue_id: str) -> int:
        """Callback places (taken by the key, or callback jobs) held in the queue now."""
        queue = self._queue(queue_id)
        return sum(1 for e in queue.order if e[3].state not in (_WAITING, _RINGING))

    def callback_jobs(self) -> set[str]:
        """The callback jobs holding a place (waiting, being dialled or connected)."""
        return set(self._jobs)

    def callback_place(self, job: str) -> tuple[str, str] | None:
        """The ACD's place of a callback job: (caller id, caller state), or None."""
        caller = self._jobs.get(job)
        return None if caller is None else (caller.id, caller.state)

    def _apply_leave_empty(self, now: float) -> None:
        queues, self._empty_check = self._empty_check, set()
        for queue in queues:
            rule = queue.settings.leave_empty
            if rule == "never" or not queue.order or not queue.empty_by(rule):
                continue
            for entry in list(queue.order):
                caller = entry[3]
                if caller.state in (_WAITING, _RINGING):
                    self._caller_input(caller, CallerInput.TIMEOUT, now, "no_agents")

    # --- distribution --------------------------------------------------------------------------

    def _requirement(self, caller: Caller, now: float) -> int:
        s = caller.queue.settings
        required = caller.skill if caller.skill is not None else s.skill_min
        if required and s.skill_relax:
            waited = now - caller.entered
            for after, level in s.skill_relax:
                if waited >= after and level < required:
                    required = level
        return required

    def _candidates(self, queue: Queue, caller: Caller, now: float) -> list[Member]:
        skip = caller.skip
        required = self._requirement(caller, now) if (
            caller.skill is not None or queue.settings.skill_min
        ) else 0
        cands = []
        for member in queue.free:
            if skip is not None and skip.get(member.agent.id, -1.0) > now:
                continue
            if required and member.skill < required:
                continue
            cands.append(member)
        if len(cands) > 1:
            cands.sort(key=_MEMBER_ORDER)
        if len(cands) > 1 and not queue.skills_based:
            low = min(mb.penalty for mb in cands)
            if any(mb.penalty != low for mb in cands):
                cands = [mb for mb in cands if mb.penalty == low]
        return cands

    def _choose(self, queue: Queue, caller: Caller, now: float) -> list[Member]:
        cands = self._candidates(queue, caller, now)
        if not cands:
            return cands
        s = queue.settings
        if s.sticky_days > 0 and caller.number:
            last = self._last_agent.get(caller.number)
            if last is not None and now - last[1] <= s.sticky_days * 86400.0:
                for member in cands:
                    if member.agent.id == last[0]:
                        return [member]
        chosen = list(queue.strategy(queue, caller, cands, now, self._rng))
        if caller.state == _CB_WAITING and len(chosen) > 1:
            chosen = list(STRATEGIES["longest_idle"](queue, caller, chosen, now, self._rng))
        return chosen

    def _dispatch(self, now: float) -> None:
        dirty = self._dirty
        while dirty:
            best_queue: Queue | None = None
            best_key: tuple[Any, ...] | None = None
            for queue in list(dirty):
                if not queue.available or not queue.order:
                    dirty.discard(queue)
                    continue
                head = None
                for entry in queue.order:
                    if entry[3].state in _OFFERABLE:
                        head = entry
                        break
                if head is None:
                    dirty.discard(queue)
                    continue
                if best_key is None or head < best_key:
                    best_queue, best_key = queue, head
            if best_queue is None:
                return
            queue = best_queue
            offered = False
            scanned = 0
            for entry in queue.order:
                caller = entry[3]
                if caller.state not in _OFFERABLE:
                    continue
                chosen = self._choose(queue, caller, now)
                if chosen:
                    self._offer(caller, chosen, now)
                    offered = True
                    break
                scanned += 1
                if scanned >= SCAN_LIMIT:
                    break
            if not offered:
                dirty.discard(queue)

    def _offer(self, caller: Caller, chosen: list[Member], now: float) -> None:
        queue = caller.queue
        if caller.state == _CB_WAITING:
            agent = chosen[0].agent
            agent.caller = caller
            self._agent_input(agent, AgentInput.RESERVE, now, caller)
            self._caller_input(caller, CallerInput.OFFER, now, agent=agent)
        else:
            self._caller_input(caller, CallerInput.OFFER, now)
            for member in chosen:
                self._agent_input(member.agent, AgentInput.OFFER, now, caller)
        queue.rr_last = chosen[-1].index

    def _ring_outcome(self, agent: Agent, caller: Caller, event: str, reason: str,
                      now: float) -> None:
        retry = caller.queue.settings.retry_s
        self._agent_input(agent, event, now, caller, reason)
        if retry > 0 and caller.id in self.callers:
            if caller.skip is None:
                caller.skip = {}
            caller.skip[agent.id] = now + retry
            self._timer(now + retry, _TIMER_REDISPATCH, caller)
        if event == AgentInput.NO_ANSWER:
            limit = caller.queue.settings.auto_pause_after
            if limit and agent.misses >= limit and agent.state == _AVAILABLE:
                self._agent_input(agent, AgentInput.PAUSE, now, reason="missed_calls")

    # --- event handlers ---------------------------------------------------------------------------

    def _on_caller_arrived(self, ev: m.CallerArrived, now: float) -> None:
        queue = self._queue(ev.queue)
        if ev.caller in self.callers:
            raise DuplicateCaller(f"caller {ev.caller!r} is already in the ACD")
        if ev.entered is not None and not math.isfinite(ev.entered):
            raise AcdError(f"caller {ev.caller!r}: arrival time {ev.entered!r} is not a time")
        self._recent_set.discard(ev.caller)
        entered = now if ev.entered is None else min(ev.entered, now)
        self._admit(Caller(ev, queue, entered, self._next_seq()), now)
        held = self._outbound.get(ev.caller)
        if held is not None:
            self._offer_outbound(held, now)

    def _offer_outbound(self, agent: Agent, now: float) -> None:
        """A campaign contact's call is in the queue: ring the agent held for it, only."""
        caller = self.callers.get(agent.outbound_for or "")
        if caller is None:   # refused at the door (queue full…): the agent is free again
            self._agent_input(agent, AgentInput.OUTBOUND_RELEASE, now, reason="refused")
            return
        if caller.state != _WAITING:
            return
        self._caller_input(caller, CallerInput.OFFER, now)
        self._agent_input(agent, AgentInput.OFFER, now, caller)

    def _on_outbound_reserve(self, ev: m.OutboundReserve, now: float) -> None:
        agent = self._agent(ev.agent)
        agent_next(agent.id, agent.state, AgentInput.OUTBOUND_RESERVE)
        self._agent_input(agent, AgentInput.OUTBOUND_RESERVE, now,
                          reason=ev.campaign or "campaign")
        agent.outbound_dial = ev.dial

    def _on_outbound_connected(self, ev: m.OutboundConnected, now: float) -> None:
        agent = self._agent(ev.agent)
        if agent.state != AgentState.RESERVED_OUTBOUND:
            return  # the agent went away meanwhile: the call queues like any other
        if ev.caller in self._outbound and self._outbound[ev.caller] is not agent:
            raise AcdError(f"caller {ev.caller!r} is already held for agent "
                           f"{self._outbound[ev.caller].id!r}")
        if agent.outbound_for is not None:
            self._outbound.pop(agent.outbound_for, None)
        agent.outbound_for = ev.caller
        self._outbound[ev.caller] = agent
        self._log(now, "outbound_connect", "", ev.caller, agent.id, 0, "")
        if ev.caller in self.callers:
            self._offer_outbound(agent, now)

    def _on_outbound_released(self, ev: m.OutboundReleased, now: float) -> None:
        agent = self._agent(ev.agent)
        if agent.state != AgentState.RESERVED_OUTBOUND:
            return  # a late report: the agent is ringing for the contact, or went away
        if ev.dial and agent.outbound_dial and ev.dial != agent.outbound_dial:
            return  # the report of an older dial: the agent is held for a newer one
        self._agent_input(agent, AgentInput.OUTBOUND_RELEASE, now, reason=ev.reason)

    def _on_caller_hung_up(self, ev: m.CallerHungUp, now: float) -> None:
        caller = self._caller(ev.caller)
        if caller is None:
            return
        caller_next(caller.id, caller.state, CallerInput.HANGUP)
        self._caller_input(caller, CallerInput.HANGUP, now, "")

    def _on_callback_key(self, ev: m.CallbackKeyPressed, now: float) -> None:
        caller = self._caller(ev.caller)
        if caller is None:
            return
        if not caller.queue.settings.callback:
            raise AcdError(f"queue {caller.queue.id!r} does not offer callbacks")
        number = ev.number or caller.number
        if not number:
            raise AcdError(f"caller {caller.id!r}: no number to call back")
        s = caller.queue.settings
        if s.callback_max is not None \
                and self.callback_places(caller.queue.id) >= s.callback_max:
            raise AcdError(f"queue {caller.queue.id!r} holds its maximum of "
                           f"{s.callback_max} callbacks")
        held = self._jobs.get(ev.job) if ev.job else None
        if held is not None and held.state != _CB_WAITING:
            raise AcdError(f"callback job {ev.job!r} is being dialled")
        caller_next(caller.id, caller.state, CallerInput.CALLBACK_KEY)
        if held is not None:
            # The customer's earlier request (merged into this job) gives its place up:
            # the caller on the line holds the job's place from now.
            self._caller_input(held, CallerInput.RELEASE, now, "merged")
        caller.callback_number = number
        if ev.job:
            caller.job = ev.job
            self._jobs[ev.job] = caller
        self._caller_input(caller, CallerInput.CALLBACK_KEY, now)

    def _on_callback_queued(self, ev: m.CallbackQueued, now: float) -> None:
        if ev.job and ev.job in self._jobs:
            return  # the job's place is held already (e.g. by the key press)
        queue = self._queue(ev.queue)
        if ev.caller in self.callers:
            raise DuplicateCaller(f"caller {ev.caller!r} is already in the ACD")
        if not ev.number:
            raise AcdError(f"callback place {ev.caller!r}: no number to call")
        if ev.entered is not None and not math.isfinite(ev.entered):
            raise AcdError(f"callback place {ev.caller!r}: {ev.entered!r} is not a time")
        self._recent_set.discard(ev.caller)
        entered = now if ev.entered is None else min(ev.entered, now)
        caller = Caller(m.CallerArrived(ev.caller, queue.id, ev.number, ev.priority),
                        queue, entered, self._next_seq())
        caller.state = _CB_WAITING
        caller.callback_number = ev.number
        caller.callback_ts = entered if ev.requested is None else float(ev.requested)
        caller.job = ev.job
        if ev.job:
            self._jobs[ev.job] = caller
        self.callers[caller.id] = caller
        bisect.insort(queue.order, caller.key)
        self._log(entered, "callback_enter", queue.id, caller.id, "", ev.priority, ev.job)
        if queue.available:
            self._dirty.add(queue)

    def _on_callback_released(self, ev: m.CallbackReleased, now: float) -> None:
        caller = self._caller(ev.caller)
        if caller is None or caller.state == CallerState.CONNECTED:
            return  # gone already, or its call is on (it ends with CallEnded)
        if caller.state == CallerState.CALLBACK_DIALING:
            caller_next(caller.id, caller.state, CallerInput.CALLBACK_FAILED)
            self._caller_input(caller, CallerInput.CALLBACK_FAILED, now, ev.reason)
            return
        caller_next(caller.id, caller.state, CallerInput.RELEASE)
        self._caller_input(caller, CallerInput.RELEASE, now, ev.reason)

    def _on_agent_answered(self, ev: m.AgentAnswered, now: float) -> None:
        agent = self._agent(ev.agent)
        caller = self._caller(ev.caller)
        if caller is not None and agent.caller is caller \
                and caller.state == CallerState.CALLBACK_DIALING:
            return  # a callback's legs are the engine's: it reports CallbackConnected
        if caller is None or agent.caller is not caller or caller.state != _RINGING:
            # The caller left, or another agent took the call: drop this leg.
            self._out.append(m.CancelRing(ev.caller, ev.agent))
            return
        agent_next(agent.id, agent.state, AgentInput.ANSWER)
        caller_next(caller.id, caller.state, CallerInput.ANSWER)
        self._agent_input(agent, AgentInput.ANSWER, now, caller)
        self._caller_input(caller, CallerInput.ANSWER, now, agent=agent)

    def _on_agent_rejected(self, ev: m.AgentRejected, now: float) -> None:
        self._on_ring_failed(ev.agent, ev.caller, AgentInput.REJECT, "rejected", now)

    def _on_agent_no_answer(self, ev: m.AgentNoAnswer, now: float) -> None:
        self._on_ring_failed(ev.agent, ev.caller, AgentInput.NO_ANSWER, "no_answer", now)

    def _on_ring_failed(self, agent_id: str, caller_id: str, event: str, reason: str,
                        now: float) -> None:
        agent = self._agent(agent_id)
        caller = self._caller(caller_id)
        if caller is None or agent.caller is not caller or agent.state != AgentState.RESERVED:
            return  # already cancelled or timed out here
        if caller.state == CallerState.CALLBACK_DIALING:
            return  # the callback's outcome arrives as CallbackConnected/Failed
        self._ring_outcome(agent, caller, event, reason, now)

    def _on_agent_unreachable(self, ev: m.AgentUnreachable, now: float) -> None:
        agent = self._agent(ev.agent)
        agent_next(agent.id, agent.state, AgentInput.UNREACHABLE)
        caller = agent.caller
        self._agent_input(agent, AgentInput.UNREACHABLE, now, caller, "unreachable")

    def _on_agent_reachable(self, ev: m.AgentReachable, now: float) -> None:
        agent = self._agent(ev.agent)
        self._agent_input(agent, AgentInput.REACHABLE, now)

    def _on_call_ended(self, ev: m.CallEnded, now: float) -> None:
        caller = self._caller(ev.caller)
        if caller is None:
            return
        caller_next(caller.id, caller.state, CallerInput.CALL_ENDED)
        self._caller_input(caller, CallerInput.CALL_ENDED, now,
                           "transfer" if ev.transferred else "")

    def _on_call_held(self, ev: m.CallHeld, now: float) -> None:
        caller = self._caller(ev.caller)
        if caller is None:
            return
        caller_next(caller.id, caller.state, CallerInput.HOLD)
        assert caller.agent is not None
        agent_next(caller.agent.id, caller.agent.state, AgentInput.HOLD)
        self._caller_input(caller, CallerInput.HOLD, now)

    def _on_call_resumed(self, ev: m.CallResumed, now: float) -> None:
        caller = self._caller(ev.caller)
        if caller is None:
            return
        caller_next(caller.id, caller.state, CallerInput.UNHOLD)
        assert caller.agent is not None
        agent_next(caller.agent.id, caller.agent.state, AgentInput.UNHOLD)
        self._caller_input(caller, CallerInput.UNHOLD, now)

    def _on_announcement_finished(self, ev: m.AnnouncementFinished, now: float) -> None:
        caller = self._caller(ev.caller)
        if caller is not None:
            caller.announcing = False

    def _on_callback_connected(self, ev: m.CallbackConnected, now: float) -> None:
        caller = self._caller(ev.caller)
        if caller is None:
            return
        caller_next(caller.id, caller.state, CallerInput.CALLBACK_CONNECTED)
        agent = caller.ringing[0]
        agent_next(agent.id, agent.state, AgentInput.ANSWER)
        if ev.answered_ts is not None and math.isfinite(ev.answered_ts):
            caller.answered_ts = min(float(ev.answered_ts), now)
        self._agent_input(agent, AgentInput.ANSWER, now, caller)
        self._caller_input(caller, CallerInput.CALLBACK_CONNECTED, now, agent=agent)

    def _on_callback_failed(self, ev: m.CallbackFailed, now: float) -> None:
        caller = self._caller(ev.caller)
        if caller is None:
            return
        caller_next(caller.id, caller.state, CallerInput.CALLBACK_FAILED)
        self._caller_input(caller, CallerInput.CALLBACK_FAILED, now, ev.reason)

    def _on_agent_login(self, ev: m.AgentLogin, now: float) -> None:
        agent = self._agent(ev.agent)
        queues = [self._queue(q) for q in ev.queues] if ev.queues is not None else []
        if len({q.id for q in queues}) != len(queues):
            raise AcdError(f"agent {agent.id!r}: a queue is named twice")
        agent_next(agent.id, agent.state, AgentInput.LOGIN)
        for queue in queues:
            if queue.id not in agent.queues:
                self._add_member(queue, agent, MemberSettings(agent.id, ev.penalty), now,
                                 dynamic=True)
        self._agent_input(agent, AgentInput.LOGIN, now)

    def _on_agent_logout(self, ev: m.AgentLogout, now: float) -> None:
        agent = self._agent(ev.agent)
        agent_next(agent.id, agent.state, AgentInput.LOGOUT)
        self._logout(agent, now)

    def _logout(self, agent: Agent, now: float) -> None:
        self._agent_input(agent, AgentInput.LOGOUT, now, agent.caller, "logout")
        if agent.state == AgentState.LOGGED_OUT:
            for member in list(agent.queues.values()):
                if member.dynamic:
                    self._remove_member(member, now)

    def _on_agent_pause(self, ev: m.AgentPause, now: float) -> None:
        agent = self._agent(ev.agent)
        self._agent_input(agent, AgentInput.PAUSE, now, agent.caller, ev.reason)

    def _on_agent_unpause(self, ev: m.AgentUnpause, now: float) -> None:
        agent = self._agent(ev.agent)
        if agent.state == AgentState.PAUSED:
            agent.misses = 0
        self._agent_input(agent, AgentInput.UNPAUSE, now)

    def _on_wrap_up_done(self, ev: m.WrapUpDone, now: float) -> None:
        agent = self._agent(ev.agent)
        self._agent_input(agent, AgentInput.WRAPUP_DONE, now)

    _FORCE: Final[dict[tuple[str, str], str]] = {
        ("available", AgentState.LOGGED_OUT): AgentInput.LOGIN,
        ("available", AgentState.PAUSED): AgentInput.UNPAUSE,
        ("available", AgentState.WRAP_UP): AgentInput.WRAPUP_DONE,
        ("available", AgentState.UNREACHABLE): AgentInput.REACHABLE,
        ("available", AgentState.AVAILABLE): AgentInput.LOGIN,
        ("available", AgentState.RESERVED_OUTBOUND): AgentInput.OUTBOUND_RELEASE,
    }

    def _on_force_agent_state(self, ev: m.ForceAgentState, now: float) -> None:
        agent = self._agent(ev.agent)
        if ev.state == "paused":
            self._agent_input(agent, AgentInput.PAUSE, now, agent.caller, ev.reason)
        elif ev.state == "logged_out":
            agent_next(agent.id, agent.state, AgentInput.LOGOUT)
            self._logout(agent, now)
        elif ev.state == "available":
            event = self._FORCE.get(("available", agent.state))
            if event is None:
                raise InvalidTransition("agent", agent.id, agent.state, "force available")
            self._agent_input(agent, event, now)
        else:
            raise AcdError(f"cannot force agent {agent.id!r} to state {ev.state!r}")

    def _on_move_caller(self, ev: m.MoveCaller, now: float) -> None:
        caller = self._caller(ev.caller)
        target = self._queue(ev.queue)
        if caller is None:
            raise UnknownCaller(f"caller {ev.caller!r} has left")
        if target is caller.queue:
            raise AcdError(f"caller {caller.id!r} is already in queue {target.id!r}")
        caller_next(caller.id, caller.state, CallerInput.MOVE)
        self._keep_place = ev.keep_place
        try:
            self._caller_input(caller, CallerInput.MOVE, now, target.id)
        finally:
            self._keep_place = True


# --- configuration ------------------------------------------------------------------------------


def _check_settings(queues: list[QueueSettings], agents: list[AgentSettings]) -> None:
    issues = []
    agent_ids: set[str] = set()
    for a in agents:
        if a.id in agent_ids:
            issues.append(f"agent {a.id!r} is defined twice")
        agent_ids.add(a.id)
    queue_ids: set[str] = set()
    for q in queues:
        if q.id in queue_ids:
            issues.append(f"queue {q.id!r} is defined twice")
        queue_ids.add(q.id)
        try:
            q.check()
        except AcdConfigError as exc:
            issues += exc.issues
        for ms in q.members:
            if ms.agent not in agent_ids:
                issues.append(f"queue {q.id!r}: unknown agent {ms.agent!r}")
    if issues:
        raise AcdConfigError(issues)


def settings_from_config(doc: Mapping[str, Any]) -> tuple[list[QueueSettings],
                                                          list[AgentSettings]]:
    """Queue and agent settings of a configuration document (``queues``, ``agents``).

    Raises ``AcdConfigError`` with the path-named issues of the ACD part of the document.
    A member written as a bare extension number stands for an agent at that extension
    (the agent's id is the number), so ``"members": ["201"]`` needs no ``agents`` entry.
    """
    from firmware.config.schema import acd_issues

    issues = acd_issues(doc)
    if issues:
        raise AcdConfigError([str(i) for i in issues])
    agents: dict[str, AgentSettings] = {}
    for a in doc.get("agents", []) or []:
        agents[a["id"]] = AgentSettings(
            id=a["id"], name=a.get("name", ""), extension=a.get("extension"),
            number=a.get("number"), static=a.get("login", "static") == "static",
        )
    queues = []
    for q in doc.get("queues", []) or []:
        members = []
        for item in q.get("members", []) or []:
            if isinstance(item, str):
                if item not in agents:
                    agents[item] = AgentSettings(id=item, name=item, extension=item)
                members.append(MemberSettings(item))
            else:
                members.append(MemberSettings(
                    item["agent"], item.get("penalty", 0), item.get("skill", 0),
                    float(item.get("weight", 1)),
                ))
        announce = q.get("announce") or {}
        queues.append(QueueSettings(
            id=q["id"],
            name=q.get("name", ""),
            strategy=q.get("strategy", "longest_idle"),
            members=tuple(members),
            wrap_up_s=float(q.get("wrap_up_s", 0)),
            ring_timeout_s=float(q.get("ring_timeout_s", 20)),
            retry_s=float(q.get("retry_s", 5)),
            max_wait_s=q.get("max_wait_s"),
            max_len=q.get("max_len"),
            overflow=q.get("overflow") or {"type": "hangup"},
            join_empty=q.get("join_empty", "always"),
            leave_empty=q.get("leave_empty", "never"),
            music_class=q.get("music", "default"),
            announce_every_s=announce.get("every_s"),
            announce_first_s=announce.get("first_s"),
            callback=q.get("callback_key") is not None,
            callback_agent_first=q.get("callback_dial", "customer_first") == "agent_first",
            callback_max=q.get("callback_max"),
            callback_offer_s=q.get("callback_offer_s"),
            callback_offer_with_announce=bool(q.get("callback_offer_with_announce", False)),
            sticky_days=float(q.get("sticky_days", 0)),
            skill_min=int(q.get("skill_min", 0)),
            skill_relax=tuple((float(r["after_s"]), int(r["min"]))
                              for r in q.get("skill_relax", []) or []),
            auto_pause_after=int(q.get("auto_pause_after", 0)),
        ))
    return queues, list(agents.values())
