"""Outbound campaigns on the live box: each campaign's dialer run on the event loop, its
dials as calls of the call engine.

``firmware.campaigns.CampaignDialer`` decides (which contact, when, with which agent) and
never dials; :class:`CampaignRunner` is its adapter, as ``firmware.calls.callbacks`` is the
callback engine's:

- *time and agents*: one asyncio timer (every ``TICK_S`` while a campaign runs, sooner
  after an input) feeds each running dialer the campaign queue's free and busy agents
  (from the ACD) and the time, and carries out what it emits;
- *DialContact* becomes an outbound call of the call engine (``CallEngine.originate``,
  route ``"campaign"``, its own CDR), dialled over the candidate trunks exactly as a
  callback is (``callbacks.dial_next_trunk``: toll guard, rate limit, SIM policy, the
  next trunk on congestion);
- *answer detection*: the trunk's supervision (GSM and E1 CONNECT, FXO polarity
  reversal). An FXO line without reversal reports "answered" as soon as dialling ends, so
  there the call-progress detector decides (:meth:`_progress`): busy → ``busy``,
  congestion and SIT → ``failed``, ringback then voice → answered, nothing within the ring
  timeout → ``no_answer``;
- *answering-machine detection* after the answer (campaign ``amd.enabled``): the slot's
  voice activity (native/csrc/amd.h) through ``firmware.campaigns.amd``; a machine is
  outcome ``machine`` (hung up), or for an autoinformer with ``amd.after_machine:
  message`` the message is left after the beep (``message_left``);
- *by mode, once a person answered*: progressive and preview — the contact's agent was
  reserved in the ACD when the dial started (``OutboundReserve``: state
  ``reserved_outbound``, offered no inbound caller, working time in the KPIs, freed by the
  ACD's guard if no outcome ever comes); on the answer ``OutboundConnected`` and the call
  joins the campaign queue (``QueueService.run``), which rings that agent only and bridges
  them (``connected``); any other outcome frees the agent (``OutboundReleased``);
  predictive — the call joins the queue if an agent is free, else it is *abandoned*: the
  apology prompt (``campaign-apology.wav``, or a tone) within 2 s, then hang-up, counted;
  autoinformer — the message (an uploaded 8 kHz prompt,
  or a tone) and, with ``confirm_digit``, ``confirmed`` when the person presses it, else
  ``played``;
- *run state*: start, pause (no new dials; calls in progress go on) and stop (previews
  are dropped and dials still ringing are hung up, to wait their ``interrupted`` retry;
  answered calls go on). A campaign is stopped when the box starts: a restart never
  starts dialling people by itself (contacts a crash left in ``dialing`` are settled as
  ``interrupted`` and wait their retry interval).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from drivers.channel import Cause, ChannelKind
from firmware.acd import messages as m
from firmware.acd.machine import AcdError, AgentState
from firmware.callback import CallbackSettings
from firmware.calls.callbacks import (
    _outcome_of,
    carry_out,
    dial_next_trunk,
    live_trunk_advisor,
    ring_over_trunks,
)
from firmware.calls.engine import Call, CallEngine
from firmware.calls.legs import Leg, LegEvent, LegGone
from firmware.campaigns import Campaign, CampaignDialer, CancelContact, ContactOutcome, DialContact
from firmware.campaigns.amd import AmdRules, AnsweringMachineDetector
from firmware.campaigns.dialer import ContactOutcomeKind
from firmware.store import CampaignContact, EventStore
from firmware.timeconditions import TimeCondition

log = logging.getLogger(__name__)

ROUTE: Final = "campaign"
TICK_S: Final = 0.5
APOLOGY_PROMPT: Final = "campaign-apology.wav"
APOLOGY_FALLBACK_S: Final = 1.0
CONFIRM_WAIT_S: Final = 5.0        # after the message, for the confirmation digit
BEEP_WAIT_S: Final = 10.0          # a machine's greeting: wait this long for its beep
RUN_STATES: Final = ("running", "paused", "stopped")
_BUSY_AGENT: Final = frozenset({AgentState.RESERVED, AgentState.ON_CALL, AgentState.ON_HOLD,
                                AgentState.WRAP_UP, AgentState.RESERVED_OUTBOUND})


class CampaignError(ValueError):
    """Bad input to the runner (unknown campaign, a mode that does not allow it)."""


class MediaClock(Protocol):
    @property
    def time_ms(self) -> int: ...

    def configure_vad(self, slot: int, on: bool = True) -> None: ...

    def configure_cpd(self, slot: int, country: str | None = "EU",
                      names: Any = None) -> None: ...


def _dial_id(cmd: DialContact) -> str:
    """One dial of one contact: what ties an agent's reservation to its release."""
    return f"{cmd.campaign}/{cmd.contact_id}/{cmd.attempt}"


@dataclass(eq=False)
class _Dial:
    cmd: DialContact
    call: Call | None = None
    leg: Leg | None = None            # the customer's leg
    tried: set[str] = field(default_factory=set)
    trunk: str | None = None
    answered_at: float | None = None
    connected_at: float | None = None
    digits: str = ""                  # keys the contact pressed since the answer
    done: bool = False


class CampaignRunner:
    def __init__(self, calls: CallEngine, store: EventStore, doc: Mapping[str, Any],
                 clock: Callable[[], float] = time.time) -> None:
        self.calls = calls
        self.store = store
        self.clock = clock
        self.dialers: dict[str, CampaignDialer] = {}
        self.states: dict[str, str] = {}
        self._amd: dict[str, tuple[bool, str, AmdRules]] = {}
        self._dials: dict[tuple[str, int], _Dial] = {}
        self._by_slot: dict[int, _Dial] = {}
        self._by_call: dict[str, _Dial] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self.apply_config(doc, pump=False)

    # -- life -------------------------------------------------------------------------------
    def start(self) -> None:
        self.calls.add_listener(self._on_event)
        now = self.clock()
        for dialer in self.dialers.values():
            dialer.recover(now)
        self.pump()

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def apply_config(self, doc: Mapping[str, Any], pump: bool = True) -> None:
        settings = CallbackSettings.from_document(doc)
        advisor = live_trunk_advisor(self.calls, doc)
        conditions = {c["id"]: c for c in doc.get("time_conditions", [])}
        seen = set()
        for entry in doc.get("campaigns", []):
            campaign = Campaign.from_config(entry)
            seen.add(campaign.id)
            hours_ref = entry.get("working_hours")
            hours = (TimeCondition.from_config(conditions[hours_ref], settings.timezone)
                     if hours_ref in conditions else None)
            amd = entry.get("amd") or {}
            self._amd[campaign.id] = (bool(amd.get("enabled", False)),
                                      str(amd.get("after_machine", "hangup")),
                                      AmdRules.from_config(amd))
            dialer = self.dialers.get(campaign.id)
            if dialer is None:
                self.dialers[campaign.id] = CampaignDialer(
                    self.store, campaign, advisor, country=settings.country,
                    timezone=settings.timezone, hours=hours,
                    blacklist=settings.blacklist.__contains__,
                    daily_limit=settings.daily_limit)
                self.dialers[campaign.id].pause(True)
                self.states[campaign.id] = "stopped"
            else:
                dialer.reconfigure(campaign, advisor, hours, settings.blacklist.__contains__,
                                   settings.daily_limit)
        for gone in set(self.dialers) - seen:
            self.dialers[gone].pause(True)
            if self.dialers[gone].in_flight() == 0:
                del self.dialers[gone]
                self.states.pop(gone, None)
        if pump:
            self.pump()

    # -- what supervisors and agents do --------------------------------------------------------
    def dialer(self, campaign: str) -> CampaignDialer:
        dialer = self.dialers.get(campaign)
        if dialer is None:
            raise KeyError(campaign)
        return dialer

    def set_state(self, campaign: str, state: str) -> None:
        """running | paused | stopped (KeyError: unknown campaign)."""
        dialer = self.dialer(campaign)
        if state not in RUN_STATES:
            raise CampaignError(f"run state must be one of {', '.join(RUN_STATES)}")
        self.states[campaign] = state
        dialer.pause(state != "running")
        if state == "stopped":
            dialer.drop_previews()
            for dial in [d for d in self._dials.values() if d.cmd.campaign == campaign
                         and d.answered_at is None and not d.done]:
                self._call_off(dial)
        log.info("campaign run state", extra={"campaign": campaign, "state": state})
        self.pump()

    def _preview_dialer(self, campaign: str, agent: str) -> CampaignDialer:
        dialer = self.dialer(campaign)
        if dialer.campaign.mode != "preview":
            raise CampaignError(f"campaign {campaign!r} is not a preview campaign")
        if self.states.get(campaign) != "running":
            raise CampaignError(f"campaign {campaign!r} is not running")
        queues = self.calls.queues
        if queues is None or agent not in queues.core.agents:
            raise CampaignError(f"no agent {agent!r}")
        if dialer.campaign.queue is not None and \
                dialer.campaign.queue not in queues.core.agents[agent].queues:
            raise CampaignError(f"agent {agent!r} is not in queue {dialer.campaign.queue!r}")
        return dialer

    def preview_next(self, campaign: str, agent: str) -> CampaignContact | None:
        return self._preview_dialer(campaign, agent).preview_next(agent, self.clock())

    def preview_call(self, campaign: str, agent: str) -> bool:
        dialer = self._preview_dialer(campaign, agent)
        placed = dialer.preview_call(agent, self.clock())
        self.pump()
        return placed

    def preview_skip(self, campaign: str, agent: str) -> None:
        self._preview_dialer(campaign, agent).preview_skip(agent)

    # -- the dialers' time and commands -------------------------------------------------------
    def _agents(self, queue: str | None) -> tuple[list[str], int]:
        queues = self.calls.queues
        if queue is None or queues is None:
            return [], 0
        free, busy = [], 0
        for agent in queues.core.agents.values():
            if queue not in agent.queues:
                continue
            if agent.state == AgentState.AVAILABLE:
                free.append(str(agent.id))
            elif agent.state in _BUSY_AGENT:
                busy += 1
        return free, busy

    def _lines_free(self) -> int:
        """Free channels of the enabled trunks (the candidates every dial chooses from)."""
        plan = self.calls.dialplan
        ports = {port for ports in plan.trunk_ports.values() for port in ports}
        return sum(1 for port in ports if (ch := self.calls.channels.get(port)) is not None
                   and self.calls.channel_free(ch))

    def pump(self) -> None:
        if self._closed:
            return
        now = self.clock()
        lines = self._lines_free()
        for dialer in list(self.dialers.values()):
            dialer.agents(*self._agents(dialer.campaign.queue))
            dialer.lines(lines)
            try:
                dialer.on_timer(now)
            except Exception:
                log.exception("campaign timer failed", extra={"campaign": dialer.campaign.id})
            carry_out(dialer.drain(), self._command, "campaign")
        self._reschedule()

    def _reschedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._closed:
            return
        busy = any(s == "running" for s in self.states.values()) or bool(self._dials)
        if busy:
            self._timer = asyncio.get_running_loop().call_later(TICK_S, self.pump)

    def _command(self, cmd: DialContact | CancelContact) -> None:
        if isinstance(cmd, CancelContact):
            dial = self._dials.get((cmd.campaign, cmd.contact_id))
            if dial is not None and dial.cmd.attempt == cmd.attempt:
                dial.done = True
                self._forget(dial)
                if dial.call is not None:
                    self.calls.end_call(dial.call)
            return
        self._dial(cmd)

    def _call_off(self, dial: _Dial) -> None:
        """Stop: a dial still ringing is hung up and waits its ``interrupted`` retry."""
        dial.done = True
        self._forget(dial)
        if dial.cmd.agent is not None:
            self._release_agent(dial.cmd.agent, "stopped", _dial_id(dial.cmd))
        self.dialer(dial.cmd.campaign).interrupt(dial.cmd.contact_id, dial.cmd.attempt,
                                                 self.clock())
        if dial.call is not None:
            self.calls.end_call(dial.call)

    def _report(self, dial: _Dial, kind: ContactOutcomeKind, detail: str = "") -> None:
        if dial.done:
            return
        dial.done = True
        cmd = dial.cmd
        if cmd.agent is not None and kind != "connected":
            self._release_agent(cmd.agent, kind, _dial_id(cmd))
        delay = None
        if dial.answered_at is not None and dial.call is not None:
            delay = dial.answered_at - dial.call.start
        log.info("campaign outcome", extra={"campaign": cmd.campaign, "contact": cmd.contact_id,
                                            "attempt": cmd.attempt, "outcome": kind,
                                            "detail": detail})
        dialer = self.dialers.get(cmd.campaign)
        if dialer is not None:
            dialer.on_outcome(ContactOutcome(cmd.contact_id, cmd.attempt, kind, self.clock(),
                                             answer_delay_s=delay,
                                             answered_ts=dial.answered_at))
        asyncio.get_running_loop().call_soon(self.pump)

    def _forget(self, dial: _Dial) -> None:
        key = (dial.cmd.campaign, dial.cmd.contact_id)
        if self._dials.get(key) is dial:
            del self._dials[key]

    # -- agents: reserved in the ACD while their contact is dialled ----------------------------
    def _reserve_agent(self, agent: str, campaign: str, dial: str) -> None:
        """Hold the agent for the contact being dialled (``reserved_outbound``: no inbound
        caller is offered to them; the ACD's guard frees them if no outcome ever comes)."""
        queues = self.calls.queues
        if queues is None:
            return
        try:
            queues.feed(m.OutboundReserve(agent, campaign, dial))
        except AcdError as exc:     # taken meanwhile: the answer queues for any agent
            log.warning("campaign agent not reserved", extra={"agent": agent,
                                                               "error": str(exc)})

    def _release_agent(self, agent: str, reason: str, dial: str) -> None:
        """The dial ended without reaching the agent: free them (a no-op once they ring)."""
        queues = self.calls.queues
        if queues is not None and agent in queues.core.agents:
            queues.feed(m.OutboundReleased(agent, reason, dial))

    # -- dialling ---------------------------------------------------------------------------
    def _dial(self, cmd: DialContact) -> None:
        dial = _Dial(cmd)
        self._dials[(cmd.campaign, cmd.contact_id)] = dial
        if cmd.agent is not None:
            self._reserve_agent(cmd.agent, cmd.campaign, _dial_id(cmd))

        def first_leg(call: Call) -> Leg | None:
            dial.call = call              # a cancel arriving while the dial starts finds it
            found = dial_next_trunk(self.calls, call, cmd.trunks, dial.tried, cmd.number,
                                    cmd.national, cmd.caller_id)
            if found is None:
                return None
            dial.leg, dial.trunk = found
            return dial.leg

        call = self.calls.originate(first_leg, lambda c: self._script(c, dial),
                                    caller=cmd.caller_id or "", called=cmd.number, route=ROUTE)
        if call is None:
            dial.call = None
            self._report(dial, "failed", "no free trunk may take the call")
            self._forget(dial)
            return
        dial.call = call
        self._by_call[call.id] = dial
        self._watch(dial)

    def _watch(self, dial: _Dial) -> None:
        if dial.leg is not None:
            self._by_slot[dial.leg.channel.slot] = dial

    def on_media_event(self, ev: Any) -> None:
        """Voice activity and call-progress tones of the slots campaign calls are on."""
        dial = self._by_slot.get(ev.slot)
        if dial is None or dial.call is None or dial.leg is None:
            return
        if ev.kind in ("vad_start", "vad_end", "tone_detected"):
            dial.call.inbox.put(LegEvent(dial.leg, "media", data=(ev.kind, ev.tone,
                                                                 ev.time_ms)))

    @property
    def _media(self) -> MediaClock:
        return self.calls.media  # type: ignore[return-value]  # the MediaEngine

    async def _script(self, call: Call, dial: _Dial) -> None:
        call.state = "ringing"
        try:
            leg = await self._ring(call, dial)
            if leg is None:
                return
            call.critical.add(leg)
            await self._answered(call, dial, leg)
        except asyncio.CancelledError:
            raise
        except LegGone:
            self._report(dial, "hangup", "the contact hung up")
            raise
        except Exception as exc:
            self._report(dial, "failed", f"campaign call failed: {exc!r}")
            raise
        finally:
            self._end(call, dial)

    def _end(self, call: Call, dial: _Dial) -> None:
        self._by_call.pop(call.id, None)
        if dial.leg is not None and self._by_slot.get(dial.leg.channel.slot) is dial:
            slot = dial.leg.channel.slot
            del self._by_slot[slot]
            try:
                self._media.configure_vad(slot, False)
                if dial.leg.channel.kind is ChannelKind.FXO:
                    self._media.configure_cpd(slot, self.calls.dialplan.country,
                                              names=("busy", "congestion"))
            except ValueError:
                log.exception("campaign: detectors not restored", extra={"slot": slot})
        if not dial.done and not self._closed:    # the box stopping: recover() settles it
            self._report(dial, "hangup" if dial.answered_at else "failed", "call ended")
        dialer = self.dialers.get(dial.cmd.campaign)
        if dial.connected_at is not None and dialer is not None:
            dialer.call_handled(self.clock() - dial.connected_at)     # for pacing
        self._forget(dial)

    async def _ring(self, call: Call, dial: _Dial) -> Leg | None:
        """Ring the contact (next trunk on congestion): their answered leg, or None with the
        outcome reported."""
        assert dial.leg is not None

        def next_trunk() -> Leg | None:
            found = dial_next_trunk(self.calls, call, dial.cmd.trunks, dial.tried,
                                    dial.cmd.number, dial.cmd.national, dial.cmd.caller_id)
            if found is None:
                return None
            dial.leg, dial.trunk = found
            self._watch(dial)
            return dial.leg

        leg, cause = await ring_over_trunks(self.calls, call, dial.leg,
                                            dial.cmd.ring_timeout_s, next_trunk)
        if leg is None:
            if cause is Cause.NO_ANSWER:
                self._report(dial, "no_answer")
            else:
                self._report(dial, _outcome_of(cause), f"Q.850 cause {int(cause)}")
            return None
        if leg.channel.kind is ChannelKind.FXO and \
                not getattr(leg.channel, "answer_on_polarity", False):
            return await self._progress(call, dial, leg)
        self._mark_answered(call, dial)
        return leg

    def _mark_answered(self, call: Call, dial: _Dial, vad_on: bool = False) -> None:
        dial.answered_at = self.clock()
        call.answer = dial.answered_at
        call.trunk = call.trunk or dial.trunk
        if self._amd[dial.cmd.campaign][0] and dial.leg is not None and not vad_on:
            self._media.configure_vad(dial.leg.channel.slot)

    async def _progress(self, call: Call, dial: _Dial, leg: Leg) -> Leg | None:
        """An analog line without answer supervision: the call-progress detector and voice
        activity tell ringing, busy, SIT and a person's answer apart."""
        eng = self.calls
        slot = leg.channel.slot
        self._media.configure_cpd(slot, eng.dialplan.country,
                                  names=("ringback", "busy", "congestion", "sit"))
        self._media.configure_vad(slot)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + dial.cmd.ring_timeout_s
        while True:
            ev = await eng.wait(call, ("media", "released"), (leg,),
                                max(0.0, deadline - loop.time()))
            if ev is None:
                eng.hangup(leg, Cause.NO_ANSWER)
                call.cause = Cause.NO_ANSWER
                self._report(dial, "no_answer", "rang out (call-progress detector)")
                return None
            if ev.kind == "released":
                call.cause = ev.cause or Cause.NORMAL_CLEARING
                self._report(dial, "failed", "the line dropped while ringing")
                return None
            kind, name, _ms = ev.data
            if kind == "tone_detected":
                if name in ("busy", "congestion", "sit"):
                    outcome: ContactOutcomeKind = "busy" if name == "busy" else "failed"
                    call.cause = Cause.USER_BUSY if name == "busy" else Cause.UNALLOCATED_NUMBER
                    self._report(dial, outcome, f"{name} tone on the line")
                    eng.hangup(leg, call.cause)
                    return None
            elif kind == "vad_start" and name == "voice":
                # speech, not a tone (the detector tells them apart): ringback or not
                # before it, a person (or a machine) answered
                self._media.configure_cpd(slot, eng.dialplan.country,
                                          names=("busy", "congestion"))
                self._mark_answered(call, dial, vad_on=True)
                if self._amd[dial.cmd.campaign][0]:
                    call.inbox.put(ev)          # the greeting's first word, for AMD
                else:
                    self._media.configure_vad(slot, False)
                return leg

    async def _machine(self, call: Call, dial: _Dial, leg: Leg) -> str:
        """human | machine | notsure, from the first seconds of the answer."""
        enabled, _after, rules = self._amd[dial.cmd.campaign]
        if not enabled:
            return "human"
        media = self._media
        detector = AnsweringMachineDetector(rules, media.time_ms)
        while True:
            ev = await self.calls.wait(call, ("media", "digit"), (leg,), 0.05)
            if ev is not None and ev.kind == "digit":
                dial.digits += ev.digit       # machines press no keys: a person
                log.info("answering-machine detection: a key was pressed", extra={
                    "campaign": dial.cmd.campaign, "contact": dial.cmd.contact_id})
                return "human"
            if ev is not None:
                kind, what, ms = ev.data
                if kind in ("vad_start", "vad_end"):
                    detector.feed(what, "start" if kind == "vad_start" else "end", ms)
            decision = detector.decide(media.time_ms)
            if decision is not None:
                log.info("answering-machine detection", extra={
                    "campaign": dial.cmd.campaign, "contact": dial.cmd.contact_id,
                    "result": decision.result, "reason": decision.reason,
                    "after_ms": decision.at_ms})
                return decision.result

    async def _answered(self, call: Call, dial: _Dial, leg: Leg) -> None:
        eng = self.calls
        cmd = dial.cmd
        who = await self._machine(call, dial, leg)
        if who == "machine":
            if cmd.mode == "autoinformer" and self._amd[cmd.campaign][1] == "message":
                await self._after_beep(call, leg)
                await self._play(call, leg, cmd.message)
                self._report(dial, "message_left")
            else:
                self._report(dial, "machine")
            eng.hangup(leg, Cause.NORMAL_CLEARING)
            return
        if cmd.mode == "autoinformer":
            confirmed = await self._inform(call, dial, leg)
            self._report(dial, "confirmed" if confirmed else "played")
            eng.hangup(leg, Cause.NORMAL_CLEARING)
            return
        queues = eng.queues
        queue = cmd.queue
        if queues is None or queue is None:
            self._report(dial, "failed", "no queue to connect the contact to")
            return
        if cmd.agent is not None:
            # held for this call: the ACD rings that agent (only) when the call enters
            queues.feed(m.OutboundConnected(cmd.agent, call.id))
        elif not self._agents(queue)[0]:
            await self._abandon(call, leg)
            self._report(dial, "abandoned", "no agent free for a live answer")
            return
        await queues.run(call, queue, 0, outbound=True)

    async def _abandon(self, call: Call, leg: Leg) -> None:
        """A live answer no agent is free for: the short apology, then hang up."""
        eng = self.calls
        played = eng.play_prompt(leg, APOLOGY_PROMPT, fallback="beep")
        seconds = eng._prompt_seconds(APOLOGY_PROMPT) if played else APOLOGY_FALLBACK_S
        await eng.wait(call, ("never",), timeout=seconds)
        eng.hangup(leg, Cause.NORMAL_CLEARING)

    async def _play(self, call: Call, leg: Leg, prompt: str | None) -> None:
        eng = self.calls
        played = eng.play_prompt(leg, prompt, fallback="beep")
        seconds = eng._prompt_seconds(prompt) if played else APOLOGY_FALLBACK_S
        await eng.wait(call, ("never",), timeout=seconds)

    async def _inform(self, call: Call, dial: _Dial, leg: Leg) -> bool:
        """Play the message; True when the person pressed the confirmation digit (from the
        answer on, until CONFIRM_WAIT_S after the message)."""
        eng = self.calls
        prompt, confirm = dial.cmd.message, dial.cmd.confirm_digit
        played = eng.play_prompt(leg, prompt, fallback="beep")
        seconds = eng._prompt_seconds(prompt) if played else APOLOGY_FALLBACK_S
        if confirm is None:
            await eng.wait(call, ("never",), timeout=seconds)
            return False
        if confirm in dial.digits:
            eng.media.stop_playback(leg.channel.slot)
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds + CONFIRM_WAIT_S
        while True:
            ev = await eng.wait(call, ("digit",), (leg,), max(0.0, deadline - loop.time()))
            if ev is None:
                return False
            if ev.digit == confirm:
                eng.media.stop_playback(leg.channel.slot)
                return True

    async def _after_beep(self, call: Call, leg: Leg) -> None:
        """Wait for the machine's beep to end (or BEEP_WAIT_S) before leaving a message."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BEEP_WAIT_S
        while True:
            ev = await self.calls.wait(call, ("media",), (leg,),
                                       max(0.0, deadline - loop.time()))
            if ev is None or (ev.data[0] == "vad_end" and ev.data[1] == "tone"):
                return

    # -- what the call engine tells ---------------------------------------------------------
    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "agent":          # an agent came free (or not): dial now, not in the ACD's turn
            asyncio.get_running_loop().call_soon(self.pump)
            return
        if kind != "call" or event["call"].get("state") != "active":
            return
        dial = self._by_call.get(event["call"]["id"])
        if dial is not None and not dial.done and dial.answered_at is not None:
            dial.connected_at = self.clock()
            self._report(dial, "connected")
