"""Callbacks on the live box: the callback engine run on the event loop, its dials as calls.

``firmware.callback.CallbackEngine`` decides (which job, when, which trunks) and never
dials; :class:`CallbackRunner` is its adapter to the call engine, like
``firmware.calls.queues.QueueService`` is the ACD's:

- *time*: the engine is recovered at start (``recover(now)``: attempts a restart
  interrupted are settled, never dialled again at once) and driven by one asyncio timer
  rescheduled from ``next_deadline()`` after every input;
- *DialCallback* becomes an outbound call of the call engine (``CallEngine.originate``),
  route ``"callback"``, with its own CDR. Customer first: the customer is dialled over the
  first candidate trunk with a free port (``CallEngine.dial_trunk``: the toll-fraud guard,
  the trunk rate limit and the SIM policy apply; a busy or refused trunk → the next; a
  congested one → the next); once they answer (``answered``) the call goes to the target
  like an inbound call (extension, queue, ring group; an agent: the agent's extension).
  Agent first: the extension (or the reserved agent's) rings first, then the customer is
  dialled and both are bridged (a remote agent, on a mobile, has no phone of the box to
  ring first: their callbacks go customer first, then to their number over a trunk).
  Outcomes: ``connected`` when the call becomes active (bridged), else one of ``busy``,
  ``no_answer``, ``failed`` (the Q.850 cause in the detail), ``customer_hangup``,
  ``agent_unavailable``; ``CancelDial`` ends the call;
- *sources*: missed calls and inbound answers from the call records and live call events,
  abandons from ``QueueService.on_abandon``, reject-and-call-back from the ``callback``
  destination (``CallEngine.callbacks``), web/cloud requests through :attr:`service`.

- *queue places*: every job connected to a queue keeps a place in it, held by the ACD
  core as a virtual caller (``EnqueueCallback`` → ``QueueService.hold_place``); when the
  core reserves an agent for it, ``QueueService`` calls :meth:`turn_reached` and the engine
  answers with the ``DialCallback`` carrying that agent: customer first (the customer
  over the best trunk, then the reserved agent's phone) or agent first (the agent, who
  hears ringback while the customer is dialled). ``ReleasePlace`` goes back to the core
  (``connected``: the agent is on the call; anything else: the place leaves the queue, and
  comes back at its original place when the job is retried), and the end of a connected
  call is ``CallEnded``. The callback key's place (:meth:`offer_place`) is a persisted job
  before the caller's leg is released, so a restart loses none; after a restart the job
  re-enters the queue at its original place (the caller's arrival time) and is dialled
  once (an attempt the restart interrupted waits for its retry interval first).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from drivers.channel import Cause, ChannelKind
from firmware.callback import (
    CallbackEngine,
    CallbackRequestError,
    CallbackService,
    CallbackSettings,
    CancelDial,
    ConfigTrunkAdvisor,
    DialCallback,
    DialOutcome,
    EnqueueCallback,
    FieldIssue,
    ReleasePlace,
)
from firmware.callback.commands import OutcomeKind, TrunkCandidate
from firmware.calls.dialplan import Destination
from firmware.calls.engine import Call, CallEngine
from firmware.calls.legs import Leg, LegGone
from firmware.store import CallbackJob, EventStore
from firmware.store.callbacks import TargetType

log = logging.getLogger(__name__)

ROUTE: Final = "callback"
MIN_TIMER_S: Final = 0.05        # never spin on a deadline that is already past
REMEMBERED_ABANDONS: Final = 256
# Releases of a dialled leg that mean "this trunk cannot now": try the next candidate.
TRY_NEXT: Final = frozenset({
    Cause.NO_CIRCUIT_AVAILABLE, Cause.SWITCHING_EQUIPMENT_CONGESTION,
    Cause.TEMPORARY_FAILURE, Cause.NETWORK_OUT_OF_ORDER, Cause.REQUESTED_CHANNEL_UNAVAILABLE,
})


@dataclass(eq=False)
class _Dial:
    cmd: DialCallback
    call: Call | None = None
    tried: set[str] = field(default_factory=set)
    trunk: str | None = None
    agent: str | None = None          # the extension that answered
    done: bool = False                # a final outcome was reported (or it was cancelled)


def _outcome_of(cause: Cause) -> Literal["busy", "no_answer", "failed"]:
    if cause in (Cause.USER_BUSY, Cause.CALL_REJECTED):
        return "busy"
    if cause in (Cause.NO_ANSWER, Cause.NO_USER_RESPONSE, Cause.NORMAL_CLEARING):
        return "no_answer"
    return "failed"


def _cause_text(cause: Cause) -> str:
    return f"Q.850 cause {int(cause)} ({cause.name.lower()})"


# -- shared with firmware/calls/campaigns.py: the customer's dial over candidate trunks ----
def dial_next_trunk(calls: CallEngine, call: Call, trunks: Iterable[TrunkCandidate],
                    tried: set[str], number: str, national: str, caller_id: str | None
                    ) -> tuple[Leg, str] | None:
    """Dial the customer over the next candidate trunk (best first, skipping ``tried``)
    that takes the call (``CallEngine.dial_trunk``: toll guard, rate limit, SIM policy);
    GSM gets the international form, the others the national one. (leg, trunk) or None."""
    for cand in trunks:
        if cand.trunk in tried:
            continue
        tried.add(cand.trunk)
        leg = calls.dial_trunk(call, cand.trunk, number if cand.kind == "gsm" else national,
                               caller_id, "customer")
        if leg is not None:
            return leg, cand.trunk
        log.info("trunk not available", extra={"call": call.id, "trunk": cand.trunk})
    return None


async def ring_over_trunks(calls: CallEngine, call: Call, leg: Leg, ring_timeout_s: float,
                           next_trunk: Callable[[], Leg | None]) -> tuple[Leg | None, Cause]:
    """Ring the customer on ``leg``, failing over to ``next_trunk()`` when a trunk cannot
    take the call now (``TRY_NEXT``). ``(answered leg, NORMAL_CLEARING)``, or ``(None,
    cause)``: ``NO_ANSWER`` when the ring timeout passed (the leg is hung up), else the
    release cause; ``call.cause`` is set then. A replaced origin leg stays the origin."""
    while True:
        ev = await calls.wait(call, ("answered", "released"), (leg,), ring_timeout_s)
        if ev is None:
            calls.hangup(leg, Cause.NO_ANSWER)
            call.cause = Cause.NO_ANSWER
            return None, Cause.NO_ANSWER
        if ev.kind == "answered":
            return leg, Cause.NORMAL_CLEARING
        cause = ev.cause or Cause.NORMAL_UNSPECIFIED
        if cause in TRY_NEXT:
            nxt = next_trunk()
            if nxt is not None:
                if leg is call.origin:
                    call.origin = nxt
                leg = nxt
                continue
        call.cause = cause
        return None, cause


def live_trunk_advisor(calls: CallEngine, doc: Mapping[str, Any]) -> ConfigTrunkAdvisor:
    """The configured ranking, leaving out a trunk none of whose ports the call engine's
    trunk policy would try for the number now (a SIM disabled for a spent quota): a SIM
    with no minutes left is no candidate, and SIMs of the number's operator rank by the minutes
    the trunk accounting says they have left. Callbacks and campaigns both pick with it."""

    def usable(trunk: str, number: str) -> bool:
        policy = calls.trunk_policy
        ports = calls.dialplan.trunk_ports.get(trunk, ())
        return policy is None or not ports or bool(policy.order(list(ports), number))

    def minutes_left(trunk: str) -> float | None:
        """A SIM trunk's minutes left (the most of its ports'), from the live accounting."""
        reader = getattr(calls.trunk_policy, "minutes_left", None)
        if reader is None:
            return None
        known = [v for port in calls.dialplan.trunk_ports.get(trunk, ())
                 if (v := reader(port)) is not None]
        return max(known) if known else None

    return ConfigTrunkAdvisor(doc, minutes_left=minutes_left, usable=usable)


def carry_out(commands: Iterable[Any], execute: Callable[[Any], None], what: str) -> None:
    """Carry out an engine's commands in order; one that fails is logged with the command
    and the others still run (a bad dial never stalls the rest)."""
    for cmd in commands:
        try:
            execute(cmd)
        except Exception:
            log.exception(f"{what} command failed", extra={"command": repr(cmd)})


class CallbackRunner:
    def __init__(self, calls: CallEngine, store: EventStore, doc: Mapping[str, Any],
                 clock: Callable[[], float] = time.time) -> None:
        self.calls = calls
        self.clock = clock
        self.store = store
        self.engine = CallbackEngine(store, CallbackSettings.from_document(doc),
                                     self._advisor(doc))
        self.service = CallbackService(self.engine, store, clock)
        self._dials: dict[str, _Dial] = {}           # job id -> the dial in progress
        self._by_call: dict[str, _Dial] = {}         # call id -> the dial it carries
        self._abandoned: deque[str] = deque(maxlen=REMEMBERED_ABANDONS)
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    # -- life -------------------------------------------------------------------------------
    def start(self) -> None:
        """Settle what a restart interrupted, then dial what is due."""
        self.calls.callbacks = self
        self.calls.add_listener(self._on_event)
        if self.calls.queues is not None:
            self.calls.queues.on_abandon = self._abandon
            self.calls.queues.callbacks = self
        self.engine.recover(self.clock())
        self.pump()

    def apply_config(self, doc: Mapping[str, Any]) -> None:
        self.engine.reconfigure(CallbackSettings.from_document(doc), self._advisor(doc))
        self.pump()

    def _advisor(self, doc: Mapping[str, Any]) -> ConfigTrunkAdvisor:
        return live_trunk_advisor(self.calls, doc)

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @property
    def enabled(self) -> bool:
        return self.engine.settings.enabled

    # -- the engine's time and commands ------------------------------------------------------
    def pump(self) -> None:
        """Carry out the engine's commands and set the timer again (after every input)."""
        if self._closed:
            return
        carry_out(self.engine.drain(), self._command, "callback")
        self._reschedule()

    def _reschedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.engine.next_deadline()
        if deadline is not None and not self._closed:
            delay = max(MIN_TIMER_S, deadline - self.clock())
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if not self.enabled:
            return
        try:
            self.engine.on_timer(self.clock())
        except Exception:
            log.exception("callback timer failed")
        self.pump()

    def _command(self, cmd: Any) -> None:
        match cmd:
            case DialCallback():
                self._dial(cmd)
            case CancelDial(job_id, attempt, reason):
                dial = self._dials.get(job_id)
                if dial is None or dial.cmd.attempt != attempt:
                    return
                dial.done = True
                self._dials.pop(job_id, None)
                call = dial.call
                if call is not None and call.state != "active":
                    log.info("callback dial cancelled", extra={"job": job_id,
                                                               "reason": reason})
                    self.calls.end_call(call)
            case EnqueueCallback():
                queues = self.calls.queues
                if queues is None or not queues.hold_place(
                        cmd.caller, cmd.job_id, cmd.queue, cmd.number, cmd.priority,
                        cmd.place_ts, cmd.requested_ts):
                    self.engine.cancel(cmd.job_id, self.clock(),
                                       f"queue {cmd.queue!r} cannot hold the place")
            case ReleasePlace(job_id, _queue, reason):
                if self.calls.queues is not None:
                    self.calls.queues.release_place(job_id, reason, self._answered(job_id))

    # -- queue places (called by QueueService) ------------------------------------------------
    def offer_place(self, number: str, queue: str, place_ts: float, priority: int,
                    call_id: str) -> tuple[CallbackJob, bool]:
        """The callback key in ``queue``: the persisted job keeping the caller's place, and
        whether it is new. Raises ``CallbackRequestError`` (a malformed or blacklisted
        number; the number is being called back right now)."""
        if not self.enabled:
            raise CallbackRequestError([FieldIssue("queue", "callbacks are switched off")])
        submitted = self.engine.offer_in_queue(number, queue, place_ts, self.clock(),
                                               priority=priority, call_id=call_id)
        job = submitted.job
        assert job is not None
        if job.state == "dialing":
            raise CallbackRequestError([FieldIssue(
                "number", f"{job.number} is being called back right now")])
        self.pump()
        return job, submitted.result == "created"

    def give_up(self, job_id: str, reason: str) -> None:
        self.engine.cancel(job_id, self.clock(), reason)
        self.pump()

    def turn_reached(self, job_id: str, agent: str) -> None:
        """The ACD reserved ``agent`` for the job's place: dial now (or give it back)."""
        self.engine.turn_reached(job_id, agent, self.clock())
        self.pump()

    def call_off(self, job_id: str, reason: str) -> None:
        """The reserved agent went away: abandon a dial not yet connected (it is retried)."""
        dial = self._dials.get(job_id)
        call = dial.call if dial is not None else None
        if dial is None or call is None or call.state == "active":
            return
        self._report(dial, "agent_unavailable", reason)
        self.calls.end_call(call)

    def _answered(self, job_id: str) -> float | None:
        job = self.store.callback_job(job_id)
        attempt = self.store.callback_attempt(job_id, job.attempts) if job else None
        return attempt.answered_ts if attempt is not None else None

    def _report(self, dial: _Dial, kind: OutcomeKind, detail: str = "") -> None:
        if dial.done:
            return
        if kind != "answered":
            dial.done = True
            if self._dials.get(dial.cmd.job_id) is dial:
                del self._dials[dial.cmd.job_id]
        log.info("callback outcome", extra={"job": dial.cmd.job_id,
                                            "attempt": dial.cmd.attempt, "outcome": kind,
                                            "detail": detail})
        self.engine.on_outcome(DialOutcome(dial.cmd.job_id, dial.cmd.attempt, kind,
                                           self.clock(), trunk=dial.trunk, agent=dial.agent,
                                           detail=detail))
        asyncio.get_running_loop().call_soon(self.pump)

    # -- dialling ---------------------------------------------------------------------------
    def _dial(self, cmd: DialCallback) -> None:
        dial = _Dial(cmd)
        self._dials[cmd.job_id] = dial
        phone = self._agent_phone(cmd) if cmd.order == "agent_first" else None
        if cmd.order == "agent_first" and phone is not None:
            ch, ext = phone

            def ring_agent(call: Call) -> Leg | None:
                dial.call = call          # a cancel arriving while the dial starts finds it
                if not self.calls.channel_free(ch):
                    return None
                return self.calls.place(call, ch, ext, "agent", cmd.number)

            call = self.calls.originate(ring_agent, lambda c: self._script(c, dial),
                                        caller=cmd.number, called=cmd.number, route=ROUTE)
            if call is None:
                dial.call = None
                self._report(dial, "agent_unavailable", f"extension {ext} is busy")
                return
        else:
            call = self.calls.originate(lambda c: self._next_trunk(c, dial),
                                        lambda c: self._script(c, dial),
                                        caller=cmd.number, called=cmd.number, route=ROUTE)
            if call is None:
                dial.call = None
                self._report(dial, "failed", "no free trunk may take the call: "
                             + _cause_text(Cause.NO_CIRCUIT_AVAILABLE))
                return
        dial.call = call
        self._by_call[call.id] = dial

    def _agent_phone(self, cmd: DialCallback) -> tuple[Any, str] | None:
        """The phone to ring first (agent first): the extension, or the agent's."""
        ext_number: str | None = None
        if cmd.target_type == "extension":
            ext_number = cmd.target
        else:
            agent_id = cmd.agent or (cmd.target if cmd.target_type == "agent" else None)
            ext_number = self._agent_extension(agent_id)
        ext = self.calls.dialplan.extensions.get(ext_number or "")
        ch = self.calls.channels.get(ext.port) if ext is not None and ext.port else None
        return (ch, ext.number) if ch is not None and ext is not None else None

    def _agent_extension(self, agent_id: str | None) -> str | None:
        queues = self.calls.queues
        if agent_id is None or queues is None or agent_id not in queues.core.agents:
            return None
        ext = queues.core.agents[agent_id].settings.extension
        return str(ext) if ext else None

    def _next_trunk(self, call: Call, dial: _Dial) -> Leg | None:
        """Dial the customer over the next candidate trunk that takes the call."""
        cmd = dial.cmd
        dial.call = call              # a cancel arriving while the dial starts finds it
        found = dial_next_trunk(self.calls, call, cmd.trunks, dial.tried, cmd.number,
                                cmd.national, cmd.caller_id)
        if found is None:
            return None
        leg, dial.trunk = found
        return leg

    async def _await_customer(self, call: Call, dial: _Dial, leg: Leg) -> Leg | None:
        """Ring the customer (failing over to the next trunk on congestion); their answered
        leg, or None with the outcome reported."""
        eng = self.calls
        answered, cause = await ring_over_trunks(eng, call, leg, dial.cmd.ring_timeout_s,
                                                 lambda: self._next_trunk(call, dial))
        if answered is None:
            self._report(dial, _outcome_of(cause), _cause_text(cause))
            return None
        call.answer = eng.clock()
        self._report(dial, "answered")
        return answered

    async def _script(self, call: Call, dial: _Dial) -> None:
        call.state = "ringing"
        try:
            if call.origin.channel.kind is ChannelKind.FXS:
                await self._agent_first(call, dial)
            else:
                await self._customer_first(call, dial)
        except asyncio.CancelledError:
            raise                      # cancelled, or the box stops: recover() settles it
        except LegGone:
            if call.origin.channel.kind is ChannelKind.FXS and call.answer is None:
                self._report(dial, "agent_unavailable", "the agent hung up before the "
                             "customer answered")
            else:
                self._report(dial, "customer_hangup", "the customer hung up before an "
                             "agent answered")
            raise
        except Exception as exc:
            self._report(dial, "failed", f"callback call failed: {exc!r}")
            raise
        finally:
            self._by_call.pop(call.id, None)
            if dial.cmd.agent is not None and self.calls.queues is not None:
                self.pump()                    # the outcome reaches the ACD first
                self.calls.queues.callback_call_ended(dial.cmd.job_id, call.transfers > 0)

    async def _customer_first(self, call: Call, dial: _Dial) -> None:
        eng = self.calls
        customer = await self._await_customer(call, dial, call.origin)
        if customer is None:
            return
        call.critical.add(customer)
        cmd = dial.cmd
        if cmd.announcement:
            pcm = eng.prompts.load(cmd.announcement)
            if pcm is not None and len(pcm):
                eng.play_prompt(customer, cmd.announcement)
                await eng.wait(call, ("never",), timeout=len(pcm) / 8000)
        dest = self._destination(cmd)
        if dest is None:
            call.cause = Cause.UNALLOCATED_NUMBER
            self._report(dial, "agent_unavailable", f"no {cmd.target_type} {cmd.target!r}")
            return
        await eng.goto(call, dest)
        if not dial.done:
            if customer.gone:
                self._report(dial, "customer_hangup", "the customer hung up before an "
                             "agent answered")
            else:
                cause = call.cause or Cause.NO_ANSWER
                self._report(dial, "agent_unavailable",
                             f"{cmd.target_type} {cmd.target} did not answer: "
                             + _cause_text(cause))

    def _destination(self, cmd: DialCallback) -> Destination | None:
        if cmd.agent is not None or cmd.target_type == "agent":
            agent_id = cmd.agent or cmd.target
            ext = self._agent_extension(agent_id)
            if ext:
                return Destination("extension", ext)
            remote = self._agent_number(agent_id)   # a remote agent's mobile, over a trunk
            return Destination("external", remote) if remote else None
        return Destination(cmd.target_type, cmd.target)

    def _agent_number(self, agent_id: str) -> str | None:
        queues = self.calls.queues
        if queues is None or agent_id not in queues.core.agents:
            return None
        number = queues.core.agents[agent_id].settings.number
        return str(number) if number else None

    async def _agent_first(self, call: Call, dial: _Dial) -> None:
        eng = self.calls
        agent = call.origin
        ev = await eng.wait(call, ("answered", "released"), (agent,), dial.cmd.ring_timeout_s)
        if ev is None or ev.kind == "released":
            eng.hangup(agent, Cause.NO_ANSWER)
            call.cause = Cause.NO_ANSWER
            self._report(dial, "agent_unavailable", f"extension {agent.number} did not "
                         "answer")
            return
        call.critical.add(agent)
        call.extension = agent.number
        dial.agent = agent.number
        eng.play_prompt_loop(agent, "ringback")
        customer = self._next_trunk(call, dial)
        if customer is None:
            call.cause = Cause.NO_CIRCUIT_AVAILABLE
            self._report(dial, "failed", "no free trunk may take the call: "
                         + _cause_text(Cause.NO_CIRCUIT_AVAILABLE))
            return
        answered = await self._await_customer(call, dial, customer)
        if answered is not None:
            await eng.talk(call, answered)

    # -- what the call engine tells ---------------------------------------------------------
    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") != "call":
            return
        info = event["call"]
        if info.get("state") != "active":
            return
        dial = self._by_call.get(info["id"])
        if dial is not None:
            if not dial.done:
                call = dial.call
                dial.agent = dial.agent or (call.extension if call is not None else None)
                self._report(dial, "connected")
            return
        if info.get("direction") == "inbound" and info.get("caller") and self.enabled:
            if self.engine.inbound_answered(info["caller"], self.clock()):
                self.pump()

    def on_cdr(self, record: Mapping[str, Any]) -> None:
        """Every call record: an inbound call that nobody answered is a missed call."""
        if not self.enabled or record.get("direction") != "inbound":
            return
        if record.get("answer_ts") is not None or record.get("disposition") == "rejected":
            return
        if record.get("call_id") in self._abandoned or not record.get("caller"):
            return
        result = self.engine.missed_call(record["caller"], self.clock(),
                                         call_id=record.get("call_id"))
        log.info("missed call", extra={"caller": record["caller"], "callback": result.result,
                                       "reason": result.reason})
        self.pump()

    def _abandon(self, call: Call, queue: str, entered: float) -> None:
        self._abandoned.append(call.id)
        if not self.enabled or not call.caller:
            return
        self.engine.abandoned_in_queue(call.caller, queue, entered, self.clock(),
                                       call_id=call.id)
        self.pump()

    def rejected(self, call: Call, target: str) -> None:
        """A reject-and-call-back route rejected ``call``: call the caller back at once."""
        if not self.enabled:
            return
        plan = self.calls.dialplan
        queues = self.calls.queues
        kind: TargetType
        if queues is not None and target in queues.core.queues:
            kind = "queue"
        elif target in plan.ring_groups:
            kind = "ring_group"
        elif target in plan.extensions:
            kind = "extension"
        else:
            log.warning("reject and call back: unknown target", extra={"target": target})
            return
        result = self.engine.reject_and_call_back(call.caller or None, kind, target,
                                                  self.clock(), call_id=call.id)
        log.info("rejected to call back", extra={"call": call.id, "callback": result.result,
                                                 "reason": result.reason})
        self.pump()
