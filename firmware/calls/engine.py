"""The call engine: calls and their legs over the uniform channel interface.

What it owns: which channels take part in which call, the call's state, the media
cross-connects and tones of those channels, and the call record written when a call ends.
What it must not touch: hardware (it only sends channel commands), configuration storage
(it is handed a Dialplan on every committed revision), the web UI.

Event handling is synchronous — state changes as the event arrives, in the order the
channels reported them — and channel commands (which may wait on a modem) run as tasks
whose failures come back as releases, so one slow port never holds up another call.

A call is two legs: the *caller* leg (the channel the call came from: a trunk, or a phone
that went off-hook) and the *callee* leg (the channel it was sent to). Later steps add
more legs (ring groups, transfers, conferences) on the same model.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from drivers.channel import (
    Cause,
    Channel,
    ChannelAnswered,
    ChannelDigits,
    ChannelError,
    ChannelEvent,
    ChannelFlash,
    ChannelIdle,
    ChannelKind,
    ChannelProgress,
    ChannelReleased,
    ChannelSetup,
    ChannelState,
    ChannelStatus,
)
from firmware.calls import tones
from firmware.calls.dialplan import Dialplan, Extension
from native.dsp import ToneSegment
from native.media import MediaEvent

log = logging.getLogger(__name__)

RING_TIMEOUT_S = 60.0       # an unanswered extension stops ringing after this
FIRST_DIGIT_S = 10.0        # off-hook with no digit: congestion (off-hook warning)
INTERDIGIT_S = 4.0          # end of dialing when no route matched yet


class MediaControl(Protocol):
    def connect(self, a: int, b: int) -> int: ...

    def leave(self, slot: int) -> None: ...

    def play_tone(self, slot: int, segments: list[ToneSegment], repeat: bool = True) -> None: ...

    def stop_playback(self, slot: int) -> None: ...


class CallState(enum.StrEnum):
    DIALING = "dialing"        # a phone is collecting digits
    ROUTING = "routing"
    RINGING = "ringing"        # the callee is being alerted
    ACTIVE = "active"
    ENDED = "ended"


@dataclass(slots=True)
class Leg:
    channel: Channel
    role: str                         # "caller" | "callee"
    joined_at: float
    answered_at: float | None = None
    released_at: float | None = None
    cause: Cause | None = None

    def describe(self) -> dict[str, Any]:
        return {"channel": self.channel.id, "kind": str(self.channel.kind), "role": self.role,
                "joined_at": self.joined_at, "answered_at": self.answered_at,
                "released_at": self.released_at,
                "cause": int(self.cause) if self.cause is not None else None}


@dataclass(slots=True)
class Call:
    id: str
    direction: str                    # inbound | outbound | internal
    caller: str
    start: float
    caller_leg: Leg
    called: str = ""
    state: CallState = CallState.ROUTING
    callee_leg: Leg | None = None
    trunk: str | None = None
    extension: str | None = None
    route: str | None = None
    answer: float | None = None
    end: float | None = None
    cause: Cause | None = None
    dialed: str = ""
    digits: list[tuple[str, str, float]] = field(default_factory=list)  # (leg role, digit, t)
    timers: list[asyncio.TimerHandle] = field(default_factory=list)

    @property
    def legs(self) -> list[Leg]:
        return [leg for leg in (self.caller_leg, self.callee_leg) if leg is not None]

    def other(self, channel_id: str) -> Leg | None:
        for leg in self.legs:
            if leg.channel.id != channel_id:
                return leg
        return None

    def leg_of(self, channel_id: str) -> Leg | None:
        for leg in self.legs:
            if leg.channel.id == channel_id:
                return leg
        return None

    def cancel_timers(self) -> None:
        for t in self.timers:
            t.cancel()
        self.timers.clear()

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "state": str(self.state), "direction": self.direction,
                "caller": self.caller, "called": self.called, "trunk": self.trunk,
                "extension": self.extension, "route": self.route, "start": self.start,
                "answer": self.answer, "legs": [leg.describe() for leg in self.legs],
                "digits": "".join(d for _, d, _ in self.digits)}


CdrSink = Callable[[dict[str, Any]], None]
Listener = Callable[[dict[str, Any]], None]


class CallEngine:
    def __init__(self, channels: dict[str, Channel], media: MediaControl, cdr_sink: CdrSink,
                 dialplan: Dialplan | None = None, clock: Callable[[], float] = time.time,
                 ring_timeout_s: float = RING_TIMEOUT_S) -> None:
        self.channels = channels
        self.media = media
        self._cdr_sink = cdr_sink
        self.dialplan = dialplan or Dialplan()
        self.clock = clock
        self.ring_timeout_s = ring_timeout_s
        self._calls: dict[str, Call] = {}
        self._by_channel: dict[str, Call] = {}
        self._by_slot: dict[int, str] = {ch.slot: ch.id for ch in channels.values()}
        self._tasks: set[asyncio.Task[None]] = set()
        self._listeners: list[Listener] = []
        self._seq = itertools.count(1)
        self.closing = False
        for ch in channels.values():
            ch.bind(self.on_channel_event)

    # -- public ---------------------------------------------------------------------------
    def apply(self, dialplan: Dialplan) -> None:
        """Swap in new routing tables; calls in progress keep their legs."""
        self.dialplan = dialplan

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def calls(self) -> list[dict[str, Any]]:
        return [c.describe() for c in self._calls.values()]

    @property
    def active_calls(self) -> int:
        return len(self._calls)

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Release every call cleanly (records written), then wait for the commands."""
        self.closing = True
        for call in list(self._calls.values()):
            self._end(call, Cause.NORMAL_CLEARING, release_all=True)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    # -- events in ------------------------------------------------------------------------
    def on_channel_event(self, ev: ChannelEvent) -> None:
        ch = self.channels.get(ev.channel_id)
        if ch is None:
            log.warning("event from unknown channel", extra={"channel": ev.channel_id})
            return
        call = self._by_channel.get(ch.id)
        log.debug("channel event", extra={"event": repr(ev)})
        if isinstance(ev, ChannelSetup):
            if call is not None:
                log.warning("setup on a channel already in a call",
                            extra={"channel": ch.id, "call": call.id})
                return
            if self.closing:
                self._spawn(ch.release(Cause.TEMPORARY_FAILURE))
                return
            if ch.kind is ChannelKind.FXS:
                self._phone_off_hook(ch)
            else:
                self._trunk_setup(ch, ev)
        elif isinstance(ev, ChannelAnswered) and call is not None:
            self._answered(call, ch)
        elif isinstance(ev, ChannelProgress) and call is not None:
            self._progress(call, ch)
        elif isinstance(ev, ChannelReleased):
            if call is not None:
                self._end(call, ev.cause, released_by=ch.id)
        elif isinstance(ev, ChannelDigits) and call is not None:
            for d in ev.digits:
                self._digit(call, ch, d)
        elif isinstance(ev, ChannelIdle):
            self.media.stop_playback(ch.slot)
            self.media.leave(ch.slot)
            self._notify({"type": "port", "port": ch.id, "state": str(ch.state)})
        elif isinstance(ev, ChannelFlash):
            pass  # hold / transfer / conference come with the extension features
        elif isinstance(ev, ChannelStatus):
            self._notify({"type": "port", "port": ch.id, "in_service": ev.in_service,
                          "detail": ev.detail})

    def on_media_event(self, ev: MediaEvent) -> None:
        if ev.kind != "dtmf_start" or ev.digit is None:
            return
        ch_id = self._by_slot.get(ev.slot)
        if ch_id is None:
            return
        call = self._by_channel.get(ch_id)
        if call is not None:
            self._digit(call, self.channels[ch_id], ev.digit)

    # -- call flows -----------------------------------------------------------------------
    def _new_call(self, direction: str, caller: str, leg: Leg) -> Call:
        call = Call(id=f"{int(self.clock())}-{next(self._seq)}-{uuid.uuid4().hex[:6]}",
                    direction=direction, caller=caller, start=self.clock(), caller_leg=leg)
        self._calls[call.id] = call
        self._by_channel[leg.channel.id] = call
        return call

    def _trunk_setup(self, ch: Channel, ev: ChannelSetup) -> None:
        trunk = self.dialplan.trunk_of_port.get(ch.id)
        caller = "" if ev.caller_withheld else (ev.caller or "")
        call = self._new_call("inbound", caller, Leg(ch, "caller", self.clock()))
        call.trunk = trunk
        call.called = ev.called or ""
        if trunk is None:
            log.warning("incoming call on a port with no enabled trunk",
                        extra={"port": ch.id, "caller": caller})
            self._end(call, Cause.INCOMING_CALLS_BARRED, release_all=True)
            return
        route = self.dialplan.route_inbound(trunk, ev.called, ev.caller)
        if route is None:
            log.warning("no inbound route", extra={"trunk": trunk, "called": ev.called})
            self._end(call, Cause.NO_ROUTE, release_all=True)
            return
        call.route = route.name
        dest = route.destination
        log.info("inbound call", extra={"call": call.id, "trunk": trunk, "caller": caller,
                                        "route": route.name, "destination": dest.type})
        if dest.type == "extension" and dest.target is not None:
            ext = self.dialplan.extensions.get(dest.target)
            if ext is None or not ext.enabled:
                self._end(call, Cause.UNALLOCATED_NUMBER, release_all=True)
                return
            self._ring_extension(call, ext, caller, None)
        elif dest.type == "busy":
            self._end(call, Cause.USER_BUSY, release_all=True)
        elif dest.type == "hangup":
            self._end(call, Cause.CALL_REJECTED, release_all=True)
        else:
            log.error("destination type not available yet",
                      extra={"call": call.id, "type": dest.type})
            self._end(call, Cause.SERVICE_UNAVAILABLE, release_all=True)
        self._notify_call(call)

    def _ring_extension(self, call: Call, ext: Extension, caller: str,
                        caller_name: str | None) -> None:
        target = self.channels.get(ext.port)
        call.extension = ext.number
        call.called = call.called or ext.number
        if target is None or target.state is not ChannelState.IDLE \
                or target.id in self._by_channel:
            self._end(call, Cause.USER_BUSY, release_all=True)
            return
        leg = Leg(target, "callee", self.clock())
        call.callee_leg = leg
        self._by_channel[target.id] = call
        call.state = CallState.RINGING
        self._spawn(target.place_call(None, caller or None, caller_name), leg=leg, call=call)
        caller_ch = call.caller_leg.channel
        if caller_ch.kind is ChannelKind.FXS:
            self._tone(caller_ch, "ringback")
        call.timers.append(asyncio.get_running_loop().call_later(
            self.ring_timeout_s, self._ring_timeout, call.id))

    def _ring_timeout(self, call_id: str) -> None:
        call = self._calls.get(call_id)
        if call is not None and call.state is CallState.RINGING:
            self._end(call, Cause.NO_ANSWER, release_all=True)

    def _phone_off_hook(self, ch: Channel) -> None:
        ext = self.dialplan.by_port.get(ch.id)
        caller = ext.number if ext else ""
        call = self._new_call("internal", caller, Leg(ch, "caller", self.clock()))
        call.state = CallState.DIALING
        call.extension = caller or None
        self._tone(ch, "dial")
        self._restart_digit_timer(call, FIRST_DIGIT_S)
        self._notify_call(call)

    def _restart_digit_timer(self, call: Call, delay: float) -> None:
        call.cancel_timers()
        call.timers.append(asyncio.get_running_loop().call_later(
            delay, self._dialing_timeout, call.id))

    def _dialing_timeout(self, call_id: str) -> None:
        call = self._calls.get(call_id)
        if call is None or call.state is not CallState.DIALING:
            return
        self._dialing_failed(call, Cause.INVALID_NUMBER_FORMAT if call.dialed
                             else Cause.NORMAL_UNSPECIFIED)

    def _dialing_failed(self, call: Call, cause: Cause) -> None:
        """Nothing to connect to: congestion tone until the phone hangs up."""
        call.cancel_timers()
        call.state = CallState.ENDED
        call.cause = cause
        self._tone(call.caller_leg.channel, "congestion")

    def _digit(self, call: Call, ch: Channel, digit: str) -> None:
        leg = call.leg_of(ch.id)
        if leg is None:
            return
        if call.state is CallState.DIALING and leg.role == "caller":
            if not call.dialed:
                self.media.stop_playback(ch.slot)
            call.dialed += digit
            self._route_dialed(call)
        elif call.state is CallState.ACTIVE:
            call.digits.append((leg.role, digit, self.clock()))
            self._notify({"type": "dtmf", "call": call.id, "leg": leg.role, "digit": digit,
                          "channel": ch.id})

    def _route_dialed(self, call: Call) -> None:
        plan, digits = self.dialplan, call.dialed
        ext = plan.extensions.get(digits)
        if ext is not None and not plan.could_be_extension(digits):
            call.cancel_timers()
            call.direction = "internal"
            call.called = digits
            if ext.port == call.caller_leg.channel.id:
                self._dialing_failed(call, Cause.USER_BUSY)
                return
            me = plan.by_port.get(call.caller_leg.channel.id)
            self._ring_extension(call, ext, call.caller, me.name if me else None)
            self._notify_call(call)
            return
        route = plan.route_outbound(digits)
        if route is not None:
            call.cancel_timers()
            self._dial_out(call, route.name, route.trunks, route.translate(digits))
            return
        self._restart_digit_timer(call, INTERDIGIT_S)

    def _dial_out(self, call: Call, route: str, trunks: tuple[str, ...], number: str) -> None:
        call.direction = "outbound"
        call.route = route
        call.called = number
        for trunk in trunks:
            for port in self.dialplan.trunk_ports.get(trunk, ()):
                ch = self.channels.get(port)
                if ch is None or ch.state is not ChannelState.IDLE or port in self._by_channel:
                    continue
                call.trunk = trunk
                leg = Leg(ch, "callee", self.clock())
                call.callee_leg = leg
                self._by_channel[ch.id] = call
                call.state = CallState.RINGING
                self._spawn(ch.place_call(number, call.caller or None), leg=leg, call=call)
                log.info("outbound call", extra={"call": call.id, "trunk": trunk,
                                                 "port": port, "route": route})
                self._notify_call(call)
                return
        log.warning("no free trunk channel", extra={"call": call.id, "route": route})
        self._dialing_failed(call, Cause.NO_CIRCUIT_AVAILABLE)

    def _progress(self, call: Call, ch: Channel) -> None:
        if call.callee_leg is not None and ch is call.callee_leg.channel:
            caller = call.caller_leg.channel
            if caller.kind is ChannelKind.FXS:
                self._tone(caller, "ringback")

    def _answered(self, call: Call, ch: Channel) -> None:
        leg = call.leg_of(ch.id)
        if leg is None or leg.role != "callee" or call.state is not CallState.RINGING:
            return
        call.cancel_timers()
        now = self.clock()
        leg.answered_at = now
        call.answer = now
        call.state = CallState.ACTIVE
        caller = call.caller_leg.channel
        if caller.kind is not ChannelKind.FXS and caller.state is ChannelState.INBOUND:
            self._spawn(caller.answer(), leg=call.caller_leg, call=call)
        call.caller_leg.answered_at = call.caller_leg.answered_at or now
        self.media.stop_playback(caller.slot)
        self.media.stop_playback(ch.slot)
        self.media.connect(caller.slot, ch.slot)
        log.info("call answered", extra={"call": call.id, "by": ch.id})
        self._notify_call(call)

    def _end(self, call: Call, cause: Cause, released_by: str | None = None,
             release_all: bool = False) -> None:
        """The call is over: release what is left, tone the phones still off-hook, record."""
        if call.id not in self._calls:
            return
        call.cancel_timers()
        now = self.clock()
        was_dialing_only = call.state is CallState.DIALING or (
            call.state is CallState.ENDED and call.callee_leg is None)
        call.state = CallState.ENDED
        call.end = now
        call.cause = call.cause if (was_dialing_only and call.cause) else cause
        for leg in call.legs:
            ch = leg.channel
            self._by_channel.pop(ch.id, None)
            self.media.leave(ch.slot)
            if leg.released_at is None:
                leg.released_at = now
                leg.cause = cause
            if ch.id == released_by and not release_all:
                self.media.stop_playback(ch.slot)
                continue
            if ch.kind is ChannelKind.FXS and ch.state in (ChannelState.ACTIVE,
                                                            ChannelState.INBOUND):
                self._tone(ch, "busy")
            else:
                self.media.stop_playback(ch.slot)
            self._spawn(ch.release(cause))
        del self._calls[call.id]
        if was_dialing_only and not call.dialed:
            return   # a phone picked up and put down: not a call
        self._record(call)
        self._notify({"type": "call_end", "call": call.id})

    def _record(self, call: Call) -> None:
        cause = call.cause or Cause.NORMAL_CLEARING
        if call.answer is not None:
            disposition = "answered"
        elif cause is Cause.USER_BUSY:
            disposition = "busy"
        elif cause in (Cause.NO_ANSWER, Cause.NO_USER_RESPONSE, Cause.NORMAL_CLEARING):
            disposition = "no_answer"
        elif cause in (Cause.CALL_REJECTED, Cause.INCOMING_CALLS_BARRED):
            disposition = "rejected"
        else:
            disposition = "failed"
        end = call.end or self.clock()
        record = {
            "call_id": call.id, "start_ts": call.start, "answer_ts": call.answer,
            "end_ts": end, "caller": call.caller, "called": call.called or call.dialed,
            "trunk": call.trunk, "extension": call.extension, "direction": call.direction,
            "disposition": disposition, "cause": int(cause), "route": call.route,
            "wait_s": round((call.answer or end) - call.start, 3),
            "talk_s": round(end - call.answer, 3) if call.answer else 0.0,
            "legs": [dict(leg.describe(), digits="".join(
                d for role, d, _ in call.digits if role == leg.role)) for leg in call.legs],
            "digits": "".join(d for _, d, _ in call.digits),
        }
        try:
            self._cdr_sink(record)
        except Exception:
            # The record must not be lost silently: log it whole so it can be recovered.
            log.exception("CDR could not be stored", extra={"cdr": record})

    # -- helpers --------------------------------------------------------------------------
    def _tone(self, ch: Channel, name: str) -> None:
        self.media.play_tone(ch.slot, tones.tone(self.dialplan.country, name), repeat=True)

    def _spawn(self, coro: Coroutine[Any, Any, None], leg: Leg | None = None,
               call: Call | None = None) -> None:
        async def run() -> None:
            try:
                await coro
            except ChannelError as exc:
                log.warning("channel command refused", extra={"error": str(exc)})
                if call is not None and leg is not None and call.id in self._calls:
                    self._end(call, Cause.TEMPORARY_FAILURE, release_all=True)
            except Exception:
                log.exception("channel command failed")
                if call is not None and call.id in self._calls:
                    self._end(call, Cause.TEMPORARY_FAILURE, release_all=True)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _notify_call(self, call: Call) -> None:
        self._notify({"type": "call", "call": call.describe()})

    def _notify(self, event: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("listener failed")
