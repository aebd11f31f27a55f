"""Calls in ACD queues: the adapter between the call engine and the ACD core.

The ACD core (firmware/acd) decides — who rings, who is bridged, when a caller overflows —
and knows nothing of channels. This module carries its commands out on real legs and feeds
it what happens to them, on the engine's event loop:

- a call whose destination is a queue runs :meth:`QueueService.run` as part of its script:
  the caller is answered, enters the core (``CallerArrived``) and then the script reads the
  call's inbox — agent legs answering or failing, the caller's keys, and the core's own
  decisions (bridge, overflow, accepted callback) posted there as ``acd`` events — until the
  call leaves the queue; a caller hanging up is ``CallerHungUp``;
- ``RingAgent`` places a leg on the agent's phone (an extension's port, or a remote agent's
  number over a trunk) inside the caller's call, ``CancelRing`` hangs it up;
- the core's timers (ring timeouts, wrap-up, announcements, max wait) run on one asyncio
  timer rescheduled from ``next_deadline()`` after every batch of commands;
- the queue event log goes to the event store in batches, so every KPI can be recomputed.

Reachability: an agent whose device the box cannot reach gets no calls. The ports report
it (``ChannelStatus``, seen here as the engine's ``port`` events): an office agent's FXS
line with no phone plugged in (the port's periodic line test), a remote agent's mobile
when every port of the trunks its outbound route would use is out of service (a GSM
module unregistered, an E1 in alarm). Such an agent goes ``unreachable`` (``AgentUnreachable``:
a ring in progress is cancelled) and comes back ``available`` when a port is back
(``AgentReachable``). An agent busy on a call, in wrap-up or paused goes unreachable when
they would become free again, if the device is still gone then.

Agents log in, out, pause and unpause with feature codes (``*45``, ``*46``, ``*47``,
``*48``), the web UI or the console, all through :meth:`agent_action`.

Callback in queue (the queue's ``callback_key``; no key: no callback). The caller presses
the key; the number to call is their caller ID, or — when it is withheld, or the queue's
``callback_number`` is ``ask`` — digits they key after a prompt, ended by ``#`` (``#``
alone: the caller ID). The number goes through the callback engine (its normaliser and
blacklist: ``CallbackRunner.offer_place``), which persists a job *before* the core takes
the key (``CallbackKeyPressed`` with the job): a reboot loses no place. A refused number,
a queue holding its ``callback_max`` places, or callbacks switched off: a refusal prompt
(``queue-callback-refused.wav``, else a congestion tone) and the caller keeps waiting.
Accepted: a confirmation (stutter tone) and the leg is hung up; the place is kept.
The places of callback jobs (key presses coming back after a retry or a restart,
web/cloud requests, missed calls) are held as virtual callers (:meth:`hold_place`,
:meth:`release_place`); when the core reserves an agent for one (``DialCallback``) the
runner dials it (``CallbackRunner.turn_reached``), and what became of it comes back as
``CallbackConnected`` / ``CallbackReleased`` and, when the call is over, ``CallEnded``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from drivers.channel import Cause, ChannelKind
from firmware.acd import messages as m
from firmware.acd.core import AcdCore
from firmware.acd.log import QueueEvent
from firmware.acd.machine import AcdError, AgentState, CallerState
from firmware.acd.priority import VipLists
from firmware.callback.errors import CallbackRequestError
from firmware.calls.announce import queue_announcement
from firmware.calls.dialplan import Destination
from firmware.calls.legs import Leg, LegEvent, LegGone

if TYPE_CHECKING:
    from firmware.calls.callbacks import CallbackRunner
    from firmware.calls.engine import Call, CallEngine

log = logging.getLogger(__name__)

ANNOUNCEMENT_FALLBACK_S = 0.6     # a beep stands for a position announcement without prompt
CALLBACK_FIRST_DIGIT_S = 10.0     # to start keying the number to be called back at
CALLBACK_INTERDIGIT_S = 5.0
CALLBACK_MAX_DIGITS = 20
# A reserved agent whose phone is still off-hook (the feature code just keyed, a call
# just ending) is waited for before the callback is dialled, at most this long.
CALLBACK_AGENT_WAIT_S = 30.0
CALLBACK_AGENT_POLL_S = 0.25

# States an agent leaves for "unreachable" at once (the others: when they would be free).
_CAN_GO_UNREACHABLE = frozenset({AgentState.AVAILABLE, AgentState.RESERVED,
                                 AgentState.RESERVED_OUTBOUND})

QueueLogSink = Callable[[list[QueueEvent]], object]
# (the call, its queue, when it entered): a caller hung up while waiting (the callback hook)
AbandonHook = Callable[["Call", str, float], object]


class QueueService:
    def __init__(self, engine: CallEngine, doc: dict[str, Any],
                 log_sink: QueueLogSink | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock
        self._log_sink = log_sink
        self._pending: list[QueueEvent] = []
        self._flush_scheduled = False
        self.core = AcdCore.from_config(doc, now=clock(), log=self._logged)
        self._callback_keys = self._keys(doc)
        self._callback_ask = self._ask(doc)
        self._record = self._recorded(doc)
        self._vip = VipLists(doc)
        self.callers: dict[str, Call] = {}
        self.ring_legs: dict[tuple[str, str], Leg] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._announce_timers: dict[str, asyncio.TimerHandle] = {}
        # caller -> prompts queued behind the one playing: (prompt, position, wait, fallback)
        self._prompts_next: dict[str, list[tuple[str, int, float | None, str]]] = {}
        self.agent_states: dict[str, str] = {}
        self.on_abandon: AbandonHook | None = None     # set by the composition root
        self.callbacks: CallbackRunner | None = None   # set by CallbackRunner.start
        # hold: the engine announces a connected call's state; the core tracks on_hold
        self._talking: dict[str, str] = {}
        self._reach_check: asyncio.Handle | None = None
        engine.add_listener(self._call_state)
        engine.add_listener(self._port_status)

    # -- configuration and people ---------------------------------------------------------
    def apply_config(self, doc: dict[str, Any]) -> None:
        held = self.core.callback_jobs()
        self._execute(self.core.apply_config(doc, self.clock()))
        if self.callbacks is not None:   # places of a removed queue: their jobs end too
            for job in sorted(held - self.core.callback_jobs()):
                self.callbacks.give_up(job, "its queue was removed from the configuration")
        self._callback_keys = self._keys(doc)
        self._callback_ask = self._ask(doc)
        self._record = self._recorded(doc)
        self._vip = VipLists(doc)
        self.check_reachability()

    @staticmethod
    def _ask(doc: dict[str, Any]) -> set[str]:
        return {q["id"] for q in doc.get("queues", []) if q.get("callback_number") == "ask"}

    @staticmethod
    def _keys(doc: dict[str, Any]) -> dict[str, str | None]:
        return {q["id"]: q.get("callback_key") for q in doc.get("queues", [])}

    @staticmethod
    def _recorded(doc: dict[str, Any]) -> set[str]:
        return {q["id"] for q in doc.get("queues", []) if q.get("record")}

    def agent_for_extension(self, number: str) -> str | None:
        for agent in self.core.agents.values():
            if agent.settings.extension == number:
                return str(agent.id)
        return None

    def agent_action(self, agent: str, action: str, reason: str = "break") -> None:
        """login | logout | pause | unpause | wrapup_done; raises AcdError for bad input."""
        events: dict[str, Any] = {
            "login": m.AgentLogin(agent), "logout": m.AgentLogout(agent),
            "pause": m.AgentPause(agent, reason), "unpause": m.AgentUnpause(agent),
            "wrapup_done": m.WrapUpDone(agent),
        }
        if action not in events:
            raise ValueError(f"unknown agent action {action!r}")
        self.feed(events[action])

    def snapshot(self) -> dict[str, Any]:
        return self.core.snapshot(self.clock())

    # -- reachability -----------------------------------------------------------------------
    def _agent_ports(self, agent_id: str) -> list[str]:
        """The ports that reach the agent: the extension's line, or the ports of the trunks
        the outbound route to the agent's number would use."""
        settings = self.core.agents[agent_id].settings
        plan = self.engine.dialplan
        if settings.extension:
            ext = plan.extensions.get(settings.extension)
            return [ext.port] if ext is not None and ext.port else []
        if settings.number:
            route = plan.route_outbound(settings.number)
            if route is not None:
                return [p for t in route.trunks for p in plan.trunk_ports.get(t, ())]
        return []

    def reachable(self, agent_id: str) -> bool:
        ports = self._agent_ports(agent_id)
        out = self.engine.out_of_service
        return not ports or any(p not in out for p in ports)

    def check_reachability(self) -> None:
        """Agents whose device is gone: unreachable; back: available (see the docstring)."""
        self._reach_check = None
        for agent in list(self.core.agents.values()):
            reach = self.reachable(agent.id)
            try:
                if not reach and agent.state in _CAN_GO_UNREACHABLE:
                    log.info("agent unreachable", extra={"agent": agent.id})
                    self.feed(m.AgentUnreachable(agent.id))
                elif reach and agent.state == AgentState.UNREACHABLE:
                    log.info("agent reachable again", extra={"agent": agent.id})
                    self.feed(m.AgentReachable(agent.id))
            except AcdError as exc:
                log.warning("agent reachability not applied", extra={"agent": agent.id,
                                                                      "error": str(exc)})

    def _check_reachability_soon(self) -> None:
        if self._reach_check is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._reach_check = loop.call_soon(self.check_reachability)

    def _port_status(self, event: dict[str, Any]) -> None:
        """A port's service changed (the engine has already noted it in out_of_service)."""
        if event.get("type") == "port" and "in_service" in event:
            self.check_reachability()

    # -- the core ---------------------------------------------------------------------------
    def feed(self, event: Any) -> None:
        self._execute(self.core.handle(event, self.clock()))

    def _on_timer(self) -> None:
        self._timer = None
        self._execute(self.core.on_timer(self.clock()))

    def _reschedule(self) -> None:
        deadline = self.core.next_deadline()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if deadline is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(max(0.0, deadline - self.clock()), self._on_timer)

    def _logged(self, event: QueueEvent) -> None:
        if self._log_sink is None:
            return
        self._pending.append(event)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            try:
                asyncio.get_running_loop().call_soon(self._flush)
            except RuntimeError:
                self._flush()

    def _flush(self) -> None:
        self._flush_scheduled = False
        batch, self._pending = self._pending, []
        if batch and self._log_sink is not None:
            try:
                self._log_sink(batch)
            except Exception:
                log.exception("queue events could not be stored", extra={"count": len(batch)})

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for t in self._announce_timers.values():
            t.cancel()
        self._flush()

    # -- commands ---------------------------------------------------------------------------
    def _execute(self, commands: list[Any]) -> None:
        for cmd in commands:
            try:
                self._command(cmd)
            except Exception:
                log.exception("queue command failed", extra={"command": repr(cmd)})
        self._reschedule()

    def _command(self, cmd: Any) -> None:
        eng = self.engine
        match cmd:
            case m.RingAgent(caller, agent, _queue, _timeout):
                self._ring(caller, agent)
            case m.CancelRing(caller, agent):
                leg = self.ring_legs.pop((caller, agent), None)
                if leg is not None and not leg.gone:
                    eng.hangup(leg, Cause.NORMAL_CLEARING)
                held = self.core.callers.get(caller)
                if leg is None and held is not None and held.job and self.callbacks:
                    # The agent reserved for a callback went away: call the dial off.
                    self.callbacks.call_off(held.job, f"agent {agent} went away")
            case m.StopAnnouncement(caller):
                call = self.callers.get(caller)
                self._prompts_next.pop(caller, None)
                t = self._announce_timers.pop(caller, None)
                if t is not None:
                    t.cancel()
                if call is not None:
                    eng.media.stop_playback(call.origin.channel.slot)
            case m.PlayMusicOnHold(caller, _music):
                call = self.callers.get(caller)
                if call is not None:
                    eng.play_prompt_loop(call.origin, "hold")
            case m.PlayAnnouncement(caller, prompt, position, wait):
                self._announce(caller, prompt, position, wait)
            case m.Bridge(caller, agent):
                leg = self.ring_legs.pop((caller, agent), None)
                call = self.callers.get(caller)
                if call is not None and leg is not None:
                    call.inbox.put(LegEvent(leg, "acd", data=("bridge", agent)))
            case m.Overflow(caller, destination, reason):
                call = self.callers.get(caller)
                if call is not None:
                    call.inbox.put(LegEvent(call.origin, "acd",
                                            data=("overflow", destination, reason)))
            case m.AcceptCallback(caller, number):
                call = self.callers.get(caller)
                if call is not None:
                    call.inbox.put(LegEvent(call.origin, "acd", data=("callback", number)))
            case m.DialCallback(caller, agent, _number, _agent_first, job):
                # The callback engine dials (claimed first: a restart never dials twice),
                # customer or agent first by the job's mode (the queue's callback_dial).
                if job and self.callbacks is not None:
                    self._dial_callback(caller, agent, job, 0.0)
                else:
                    log.warning("callback place without a job", extra={"caller": caller})
                    asyncio.get_running_loop().call_soon(
                        self.feed, m.CallbackReleased(caller, "no_job"))
            case m.SetAgentState(agent, state, reason):
                self.agent_states[agent] = state
                if state == AgentState.AVAILABLE and eng.out_of_service:
                    self._check_reachability_soon()     # free again, but still reachable?
                eng._notify({"type": "agent", "agent": agent, "state": state,
                             "reason": reason})
            case _:
                log.debug("queue command ignored", extra={"command": repr(cmd)})

    def _dial_callback(self, caller: str, agent_id: str, job: str, waited: float) -> None:
        """Dial the place's callback once the reserved agent's phone is free (or given up
        waiting: the dial then fails as ``agent_unavailable`` and is retried)."""
        agent = self.core.agents.get(agent_id)
        if agent is None or agent.caller is None or agent.caller.id != caller \
                or self.callbacks is None:
            return                     # the reservation is gone meanwhile
        if waited < CALLBACK_AGENT_WAIT_S and not self._phone_free(agent_id):
            asyncio.get_running_loop().call_later(
                CALLBACK_AGENT_POLL_S, self._dial_callback, caller, agent_id, job,
                waited + CALLBACK_AGENT_POLL_S)
            return
        self.callbacks.turn_reached(job, agent_id)

    def _phone_free(self, agent_id: str) -> bool:
        eng = self.engine
        agent = self.core.agents.get(agent_id)
        number = agent.settings.extension if agent is not None else None
        ext = eng.dialplan.extensions.get(number) if number else None
        ch = eng.channels.get(ext.port) if ext is not None and ext.port else None
        return ch is None or eng.channel_free(ch)

    def _ring(self, caller: str, agent_id: str) -> None:
        eng = self.engine
        call = self.callers.get(caller)
        agent = self.core.agents.get(agent_id)
        if call is None or agent is None:
            return
        settings = agent.settings
        leg: Leg | None = None
        if settings.extension:
            ext = eng.dialplan.extensions.get(settings.extension)
            ch = eng.channels.get(ext.port) if ext is not None and ext.port else None
            if ch is not None and eng.channel_free(ch):
                leg = eng.place(call, ch, settings.extension, "agent", call.caller)
        elif settings.number:
            leg = eng._dial_trunk_leg(call, settings.number, call.caller, role="agent")
        if leg is None:
            asyncio.get_running_loop().call_soon(self.feed, m.AgentRejected(caller, agent_id))
            return
        leg.number = agent_id
        self.ring_legs[(caller, agent_id)] = leg

    def _announce(self, caller: str, prompt: str, position: int = 0,
                  wait: float | None = None, fallback: str = "beep") -> None:
        """Play ``queue-<prompt>.wav`` (after the one playing; ``position`` is said with the
        expected wait), then music on hold again."""
        eng = self.engine
        call = self.callers.get(caller)
        if call is None:
            return
        if caller in self._announce_timers:
            self._prompts_next.setdefault(caller, []).append((prompt, position, wait, fallback))
            return
        # position and expected wait, said from prompts (firmware/calls/announce.py)
        said = queue_announcement(eng.prompts, position, wait) if prompt == "position" \
            else None
        if said is not None:
            eng.media.play_pcm(call.origin.channel.slot, said)
            seconds = len(said) / 8000
        else:
            played = eng.play_prompt(call.origin, f"queue-{prompt}.wav", fallback=fallback)
            seconds = eng._prompt_seconds(f"queue-{prompt}.wav") if played \
                else ANNOUNCEMENT_FALLBACK_S

        def finished() -> None:
            self._announce_timers.pop(caller, None)
            queued = self._prompts_next.get(caller)
            if queued:
                self._announce(caller, *queued.pop(0))
                return
            self._prompts_next.pop(caller, None)
            if caller in self.callers:
                eng.play_prompt_loop(call.origin, "hold")
                self.feed(m.AnnouncementFinished(caller))

        self._announce_timers[caller] = asyncio.get_running_loop().call_later(seconds,
                                                                              finished)

    # -- the caller's part of the call script ------------------------------------------------
    async def run(self, call: Call, queue_id: str, hops: int, priority: int = 0,
                  outbound: bool = False) -> None:
        """The caller's part: wait in ``queue_id`` (at ``priority`` at least, from the
        route that sent them) until an agent answers, they leave or overflow. ``outbound``:
        a campaign's answered contact, come to reach its agent (no offered call)."""
        eng = self.engine
        await eng.answer_origin(call)
        call.state = "queued"
        call.route = call.route or f"queue {queue_id}"
        self.callers[call.id] = call
        eng._notify_call(call)
        entered = self.clock()
        self.feed(m.CallerArrived(call.id, queue_id, number=call.caller, entered=entered,
                                  priority=self._vip.priority(queue_id, call.caller,
                                                              route=priority),
                                  outbound=outbound))
        loop = asyncio.get_running_loop()
        keyed: list[str] | None = None     # the number to call back, being keyed
        keyed_until = 0.0
        try:
            while True:
                timeout = None if keyed is None else max(0.0, keyed_until - loop.time())
                ev = await eng.wait(call, ("answered", "released", "digit", "acd"), None,
                                    timeout)
                if ev is None:
                    if keyed is not None:    # no more digits: what was keyed, or the ID
                        self._take_callback(call, queue_id, "".join(keyed))
                        keyed = None
                    continue
                agent = self._agent_of(call, ev.leg)
                if ev.kind == "answered" and agent is not None:
                    self.feed(m.AgentAnswered(call.id, agent))
                elif ev.kind == "released" and agent is not None:
                    if self.ring_legs.pop((call.id, agent), None) is not None:
                        refused = ev.cause in (Cause.USER_BUSY, Cause.CALL_REJECTED)
                        self.feed(m.AgentRejected(call.id, agent) if refused
                                  else m.AgentNoAnswer(call.id, agent))
                elif ev.kind == "digit" and ev.leg is call.origin and keyed is not None:
                    if ev.digit == "#":
                        self._take_callback(call, queue_id, "".join(keyed))
                        keyed = None
                    elif len(keyed) < CALLBACK_MAX_DIGITS:
                        keyed.append(ev.digit)
                        keyed_until = loop.time() + CALLBACK_INTERDIGIT_S
                elif ev.kind == "digit" and ev.leg is call.origin \
                        and self._is_callback_key(queue_id, ev.digit):
                    if queue_id in self._callback_ask or not call.caller:
                        keyed, keyed_until = [], loop.time() + CALLBACK_FIRST_DIGIT_S
                        self._announce(call.id, "callback-number")
                    else:
                        self._take_callback(call, queue_id, "")
                elif ev.kind == "acd" and ev.data is not None:
                    what = ev.data[0]
                    if what == "bridge":
                        await self._talk(call, ev.leg, ev.data[1], queue_id in self._record)
                        return
                    if what == "overflow":
                        self.callers.pop(call.id, None)
                        dest = Destination.parse(ev.data[1])
                        log.info("queue overflow", extra={"call": call.id, "queue": queue_id,
                                                          "reason": ev.data[2]})
                        if dest is not None:
                            await eng.goto(call, dest, hops + 1)
                        return
                    if what == "callback":
                        self.callers.pop(call.id, None)   # the place is kept without a leg
                        eng._tone(call.origin, "stutter", repeat=False)
                        await eng.wait(call, ("never",), timeout=1.0)
                        call.cause = Cause.NORMAL_CLEARING
                        return
        except LegGone:
            if call.id in self.callers:
                self.feed(m.CallerHungUp(call.id))
                if self.on_abandon is not None:
                    try:
                        self.on_abandon(call, queue_id, entered)
                    except Exception:
                        log.exception("abandon hook failed", extra={"call": call.id})
            raise
        finally:
            self.callers.pop(call.id, None)
            for key in [k for k in self.ring_legs if k[0] == call.id]:
                leg = self.ring_legs.pop(key)
                if not leg.gone:
                    eng.hangup(leg, Cause.NORMAL_CLEARING)
            t = self._announce_timers.pop(call.id, None)
            if t is not None:
                t.cancel()
            self._prompts_next.pop(call.id, None)

    def _take_callback(self, call: Call, queue_id: str, keyed: str) -> None:
        """The caller asked to be called back at ``keyed`` (empty: their caller ID)."""
        number = keyed or call.caller or ""
        caller = self.core.callers.get(call.id)
        runner = self.callbacks
        settings = self.core.queues[queue_id].settings if queue_id in self.core.queues \
            else None
        why = ""
        if caller is None or caller.state not in (CallerState.WAITING, CallerState.RINGING):
            return                          # answered or gone meanwhile
        if runner is None or not runner.enabled or settings is None or not settings.callback:
            why = "callbacks are switched off"
        elif settings.callback_max is not None \
                and self.core.callback_places(queue_id) >= settings.callback_max:
            why = f"the queue holds its maximum of {settings.callback_max} callbacks"
        elif not number:
            why = "no number to call back"
        if runner is None or why:
            self._refuse_callback(call, why)
            return
        try:
            job, created = runner.offer_place(number, queue_id, caller.entered,
                                              caller.priority, call.id)
        except CallbackRequestError as exc:
            self._refuse_callback(call, str(exc))
            return
        try:
            self.feed(m.CallbackKeyPressed(call.id, job.number, job=job.id))
        except AcdError as exc:
            if created:
                runner.give_up(job.id, f"the queue refused the place: {exc}")
            self._refuse_callback(call, str(exc))

    def _refuse_callback(self, call: Call, why: str) -> None:
        log.info("callback refused", extra={"call": call.id, "reason": why})
        t = self._announce_timers.pop(call.id, None)
        if t is not None:
            t.cancel()
        self._prompts_next.pop(call.id, None)
        self._announce(call.id, "callback-refused", fallback="congestion")

    # -- callback places (virtual callers of the core) ---------------------------------------
    def hold_place(self, caller: str, job: str, queue: str, number: str, priority: int,
                   place_ts: float, requested_ts: float | None = None) -> bool:
        """A callback job takes (or keeps) its place; False if the queue cannot hold it."""
        try:
            self.feed(m.CallbackQueued(caller, queue, number, priority, place_ts, job,
                                       requested_ts))
        except AcdError as exc:
            log.warning("callback place refused", extra={"job": job, "error": str(exc)})
            return False
        return True

    def release_place(self, job: str, reason: str, answered_ts: float | None = None) -> None:
        """The callback engine is done with the job's place: connected, or given up."""
        place = self.core.callback_place(job)
        if place is None:
            return
        caller, state = place
        if reason == "connected" and state == CallerState.CALLBACK_DIALING:
            self.feed(m.CallbackConnected(caller, answered_ts))
        else:
            self.feed(m.CallbackReleased(caller, reason))

    def callback_call_ended(self, job: str, transferred: bool = False) -> None:
        """The call of a connected callback is over: the agent goes to wrap-up."""
        place = self.core.callback_place(job)
        if place is not None and place[1] == CallerState.CONNECTED:
            self.feed(m.CallEnded(place[0], transferred))

    def _call_state(self, event: dict[str, Any]) -> None:
        """A call with an agent went on hold or came back: the agent's state follows."""
        described = event.get("call") if event.get("type") == "call" else None
        if not isinstance(described, dict) or described.get("id") not in self._talking:
            return
        call_id, state = described["id"], described.get("state")
        before, self._talking[call_id] = self._talking[call_id], str(state)
        if state == "held" and before != "held":
            self.feed(m.CallHeld(call_id))
        elif state == "active" and before == "held":
            self.feed(m.CallResumed(call_id))

    async def _talk(self, call: Call, leg: Leg, agent: str, record: bool = False) -> None:
        eng = self.engine
        ext = self.core.agents[agent].settings.extension if agent in self.core.agents \
            else None
        if ext:
            call.extension = ext
        self._talking[call.id] = "active"
        try:
            await eng.talk(call, leg, record=record)
        finally:
            self.callers.pop(call.id, None)
            self._talking.pop(call.id, None)
            self.feed(m.CallEnded(call.id, transferred=call.transfers > 0))

    def _agent_of(self, call: Call, leg: Leg) -> str | None:
        for (caller, agent), ring_leg in self.ring_legs.items():
            if caller == call.id and ring_leg is leg:
                return agent
        return None

    def _is_callback_key(self, queue_id: str, digit: str) -> bool:
        return self._callback_keys.get(queue_id) == digit

    @staticmethod
    def is_agent_port(kind: ChannelKind) -> bool:
        return kind is ChannelKind.FXS
