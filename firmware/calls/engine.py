"""The call engine: calls, their legs and their scripts, over the uniform channel interface.

What it owns: which channels take part in which call, what each call does next (its
*script*: route, ring, menu, bridge, transfer…), the media cross-connects, tones and
prompts of those channels, and the call record written when a call ends. What it must
not touch: hardware (it only sends channel commands), configuration storage (it is handed
a Dialplan on every committed revision), the web UI.

How it works. Channel events are handled synchronously, in the order the channels report
them: a ChannelSetup starts a call and its script (an asyncio task); every later event of
a leg (answered, released, flash, digit) goes into its call's inbox, where the script
waits for what it needs (``wait``). A script reads like the call flow it implements. When
the script ends — normally, because the caller's leg went away (``LegGone``), or because
the engine shuts down — its cleanup releases every leg still up, plays busy tone to a
phone still off-hook and writes the CDR. Channel commands run as tasks; one that fails
comes back as a release of its leg, so one slow port never holds up another call.
Glare — a port reporting a call of its own between the engine choosing it for a leg and
telling it to ring or dial — is settled for the port's call: a lifted phone answers the
call it was chosen for; an incoming trunk call is served and the pending leg fails as
"no circuit" (the outgoing call tries its next trunk).

Feature behaviour on analog phones (the convention of small-office PBXs):

- an emergency number of the box's country (``numbering.PLANS``) dialed from a phone, or
  after a flash, goes out at once over its outbound route or any free trunk, before any
  internal number, class of service or toll-fraud limit: a stale configuration with an
  extension 101 in RU still reaches the fire service (the start of one, "10", waits);
- flash during a call: the other party is held (music or tone) and the phone gets dial
  tone; dial an extension, an outside number or a park slot (701–709);
- hang up while the consulted party rings or talks: transfer (blind / attended);
- flash again while the consulted party rings: back to the held party; while it talks:
  three-way conference; flash in a conference: the consulted party is dropped;
- dial 70N in a call (after flash): the other party is parked in slot N; dial 70N from
  any phone: picks it up; unclaimed after ``park_timeout_s`` it rings the parker back;
- ``*8``: pick up a call ringing in the same pickup group; ``**`` + extension: directed;
- ``*72``/``*73`` forward always on/off, ``*90``/``*91`` on busy, ``*92``/``*93`` on no
  answer, ``*94``/``*95`` when unreachable (the phone fails its line test: unplugged, or
  the port is out of service), ``*78``/``*79`` do-not-disturb on/off (codes configurable);
  a forward back to an extension the call already passed (A → B → A) is not followed:
  the last extension of the chain rings;
- hold: the held party hears ``hold.wav`` (music) or the hold tone; the CDR gives each
  leg its time on hold (``hold_s``);
- voicemail: an extension with ``voicemail`` that does not answer (busy, DND, no answer,
  with no forwarding) sends the caller to its mailbox (greeting, beep, message until
  hang-up, ``#``, silence or the maximum length); its phone then hears stutter dial tone
  (message waiting) until ``*97`` plays the messages (``7`` delete, ``9`` save, ``#`` next,
  ``4`` replay, ``*`` exit);
- recording: a call of a route or extension with ``record`` is recorded while bridged (the
  caller's slot: what they say and what they hear), with a beep to both if configured.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
import uuid
from array import array
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

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
from firmware.calls.dialplan import (
    HANGUP,
    PAUSE_REASONS,
    Destination,
    Dialplan,
    Extension,
    OutboundRoute,
)
from firmware.calls.features import ExtensionSettings
from firmware.calls.legs import Inbox, Leg, LegEvent, LegGone, LegState
from firmware.calls.numbering import classify, cos_allows
from firmware.calls.prompts import PromptError, PromptStore, read_wav_8k
from firmware.calls.recording import RecordingArchive, Tap, WavRecording
from firmware.calls.voicemail import VoicemailError, VoicemailStore

if TYPE_CHECKING:
    from firmware.calls.queues import QueueService
from native.dsp import ToneSegment
from native.media import MediaEvent

log = logging.getLogger(__name__)

RING_TIMEOUT_S = 60.0       # an unanswered destination stops ringing after this
FIRST_DIGIT_S = 10.0        # off-hook with no digit: congestion (off-hook warning)
INTERDIGIT_S = 4.0          # end of dialing when nothing matched yet
IVR_INTERDIGIT_S = 2.0      # in a menu, an option that may begin an extension waits this
MAX_HOPS = 8                # forwarding / menu chains longer than this are loops
CALL_WAITING_BEEP_S = 4.0   # the waiting tone repeats this often over the conversation
VM_MIN_MESSAGE_S = 1.0      # shorter messages are dropped (a caller who hung up at the beep)
VM_SILENCE_PEAK = 300       # |sample| below this (about -40 dBm0) counts as silence
VM_HASH_TRIM_S = 0.3        # the "#" that ended a message is cut from its end


class MediaControl(Protocol):
    def connect(self, a: int, b: int) -> int: ...

    def supervise(self, supervisor: int, conference_id: int, mode: str,
                  agent: int | None = None) -> None: ...

    def join(self, slot: int, conference_id: int, listen_only: bool = False) -> None: ...

    def leave(self, slot: int) -> None: ...

    def play_tone(self, slot: int, segments: list[ToneSegment], repeat: bool = True) -> None: ...

    def play_pcm(self, slot: int, pcm: Any) -> None: ...

    def stop_playback(self, slot: int) -> None: ...

    def record(self, slot: int, on: bool = True) -> None: ...

    def read_recording(self, slot: int, max_frames: int = 16000) -> array: ...

    def recording_dropped(self, slot: int) -> int: ...

class TrunkPermit(Protocol):
    """Leave to use a trunk port for one call; ``max_seconds``: talk time allowed."""

    @property
    def max_seconds(self) -> float | None: ...


class TrunkPolicy(Protocol):
    """Which trunk ports an outbound call tries, in which order, and whether it may take
    one (SIM trunks: quotas, least-cost choice by operator prefix — firmware/trunks).
    Without a policy the engine dials the route's trunks and ports in their order."""

    def order(self, ports: Sequence[str], number: str) -> list[str]:
        """The route's ports (in route order) as they should be tried; a port left out
        is not tried (a SIM disabled or over quota)."""
        ...

    def permit(self, port: str, number: str) -> TrunkPermit | None:
        """Take the port for a call now, or None (refused)."""
        ...

    def finished(self, port: str, permit: TrunkPermit, seconds: float, failed: bool) -> None:
        """The call on ``port`` ended after ``seconds`` of talk (0: never answered)."""
        ...


@dataclass(eq=False)
class _HeldPermit:
    port: str
    permit: TrunkPermit
    timer: asyncio.TimerHandle | None = None


_ANY = re.compile(".*")
_FORWARDS = ("forward_always", "forward_busy", "forward_no_answer", "forward_unreachable")

# Causes of an unanswered outbound leg that are the called party's doing, not a failure.
_NOT_FAILED = frozenset({Cause.NORMAL_CLEARING, Cause.USER_BUSY, Cause.NO_ANSWER,
                         Cause.NO_USER_RESPONSE, Cause.CALL_REJECTED})



@dataclass(eq=False)
class Call:
    id: str
    direction: str                    # inbound | outbound | internal
    caller: str
    start: float
    origin: Leg
    caller_name: str | None = None    # as the trunk presented it (caller ID with name)
    caller_withheld: bool = False     # the caller asked for privacy (caller ID 'P')
    inbox: Inbox = field(default_factory=Inbox)
    legs: list[Leg] = field(default_factory=list)
    called: str = ""
    state: str = "routing"            # routing | dialing | ringing | ivr | active | held |
    #                                   parked | ended
    trunk: str | None = None
    extension: str | None = None
    route: str | None = None
    answer: float | None = None       # when a person first answered
    end: float | None = None
    cause: Cause | None = None
    dialed: str = ""
    digits: str = ""                  # DTMF during the call, every leg, in order
    transfers: int = 0
    record: bool = False
    silent: bool = False              # no CDR (a feature code, a pickup that moved its leg)
    critical: set[Leg] = field(default_factory=set)
    visited: set[str] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    conference: int | None = None
    talking: tuple[Leg, Leg] | None = None     # the two legs the bridge connects
    supervision: str | None = None             # listen | whisper | barge
    max_timer: asyncio.TimerHandle | None = None
    beep_pending: bool = False        # recording started: beep to both sides once bridged
    started: bool = False             # the script's first step ran (see CallEngine.end_call)
    end_requested: bool = False       # end_call() came before the script was started

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "direction": self.direction,
                "caller": self.caller, "called": self.called, "trunk": self.trunk,
                "extension": self.extension, "route": self.route, "start": self.start,
                "answer": self.answer, "transfers": self.transfers,
                "supervision": self.supervision,
                "legs": [leg.describe() for leg in self.legs],
                "digits": self.digits}


@dataclass(eq=False)
class ParkedCall:
    call: Call
    leg: Leg
    parker: str                       # the parker's extension number
    parker_port: str
    retrieved: asyncio.Future[Leg]


@dataclass(eq=False)
class WaitingCall:
    """A second call offered to a phone that is in a call (call waiting)."""
    call: Call
    port: str
    taken: asyncio.Future[None]


CdrSink = Callable[[dict[str, Any]], None]
Listener = Callable[[dict[str, Any]], None]


class RejectCallback(Protocol):
    """What a ``callback`` destination tells (firmware.calls.callbacks.CallbackRunner)."""

    def rejected(self, call: Call, target: str) -> None:
        """``call`` was rejected by a reject-and-call-back route towards ``target``."""
        ...


def _warn_emergency_clashes(dialplan: Dialplan) -> None:
    """A stored configuration from before validation refused them may hold internal numbers
    that collide with emergency numbers: the dial plan lets the emergency number win."""
    for clash in dialplan.emergency_clashes():
        log.warning("internal number collides with an emergency number: dialing it makes "
                    "an emergency call", extra={"clash": clash})


class CallEngine:
    def __init__(self, channels: dict[str, Channel], media: MediaControl, cdr_sink: CdrSink,
                 dialplan: Dialplan | None = None, clock: Callable[[], float] = time.time,
                 ring_timeout_s: float = RING_TIMEOUT_S,
                 settings: ExtensionSettings | None = None,
                 prompts: PromptStore | None = None,
                 trunk_policy: TrunkPolicy | None = None) -> None:
        self.channels = channels
        self.trunk_policy = trunk_policy
        self._permits: dict[Leg, _HeldPermit] = {}
        self.media = media
        self._cdr_sink = cdr_sink
        self.dialplan = dialplan or Dialplan()
        _warn_emergency_clashes(self.dialplan)
        self.clock = clock
        self.ring_timeout_s = ring_timeout_s
        self.settings = settings or ExtensionSettings()
        self.prompts = prompts or PromptStore(None)
        self._calls: dict[str, Call] = {}
        self._legs: dict[str, tuple[Call, Leg]] = {}
        self._by_slot: dict[int, str] = {ch.slot: ch.id for ch in channels.values()}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._listeners: list[Listener] = []
        self._seq = itertools.count(1)
        self._conf_ids = itertools.count(1)
        self.parked: dict[int, ParkedCall] = {}
        self._attempts_ext: dict[str, deque[float]] = {}
        self._attempts_trunk: dict[str, deque[float]] = {}
        self.alerts: deque[dict[str, Any]] = deque(maxlen=100)
        self.queues: QueueService | None = None     # set by the composition root
        # *28 from a phone: the composition root switches day/night (a config revision)
        self.on_day_night: Callable[[str], Awaitable[str]] | None = None
        self.voicemail: VoicemailStore | None = None     # set by the composition root
        self.recordings: RecordingArchive | None = None  # set by the composition root
        self.callbacks: RejectCallback | None = None     # set by the composition root
        self._waiting: dict[str, int] = {}          # mailbox -> new messages (MWI cache)
        self.call_waiting: dict[str, WaitingCall] = {}  # phone port -> the call offered
        self.out_of_service: set[str] = set()   # ports whose ChannelStatus says so (unplugged)
        self.closing = False
        for ch in channels.values():
            ch.bind(self.on_channel_event)

    # == public ============================================================================
    def apply(self, dialplan: Dialplan) -> None:
        """Swap in new routing tables; calls in progress keep their legs."""
        _warn_emergency_clashes(dialplan)
        self.dialplan = dialplan

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def calls(self) -> list[dict[str, Any]]:
        return [c.describe() for c in self._calls.values() if c.state != "ended"]

    @property
    def active_calls(self) -> int:
        return len(self._calls)

    def busy_channels(self) -> list[str]:
        return sorted(self._legs)

    def answered_since(self, channel_id: str) -> float | None:
        """When the call on a channel was answered there (engine clock), or None."""
        entry = self._legs.get(channel_id)
        return entry[1].answered_at if entry is not None and entry[1].up else None

    def messages_waiting(self, mailbox: str) -> int:
        """New voicemail messages of a mailbox (the message-waiting indication)."""
        if self.voicemail is None:
            return 0
        if mailbox not in self._waiting:
            self._waiting[mailbox] = self.voicemail.new_count(mailbox)
        return self._waiting[mailbox]

    def mailbox_changed(self, mailbox: str) -> None:
        """A message was added, read or deleted (here or through the façade): MWI again."""
        self._waiting.pop(mailbox, None)
        self._notify({"type": "mwi", "extension": mailbox,
                      "messages_waiting": self.messages_waiting(mailbox)})

    async def shutdown(self, timeout: float = 5.0) -> None:
        """End every call cleanly (records written), then wait for the port commands."""
        self.closing = True
        scripts = [c.task for c in self._calls.values() if c.task is not None]
        for task in scripts:
            task.cancel()
        if scripts:
            await asyncio.wait(scripts, timeout=timeout)
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    # == events in =========================================================================
    def on_channel_event(self, ev: ChannelEvent) -> None:
        ch = self.channels.get(ev.channel_id)
        if ch is None:
            log.warning("event from unknown channel", extra={"channel": ev.channel_id})
            return
        entry = self._legs.get(ch.id)
        if isinstance(ev, ChannelSetup):
            if entry is not None:
                if self._glare(ch, *entry, ev):
                    return
                log.warning("setup on a channel already in a call",
                            extra={"channel": ch.id, "call": entry[0].id})
                return
            if self.closing:
                self._spawn(ch.release(Cause.TEMPORARY_FAILURE))
                return
            self._start_call(ch, ev)
            return
        if isinstance(ev, ChannelIdle):
            if entry is None:
                self.media.stop_playback(ch.slot)
                self.media.leave(ch.slot)
            self._notify({"type": "port", "port": ch.id, "state": str(ch.state)})
            return
        if isinstance(ev, ChannelStatus):
            (self.out_of_service.discard if ev.in_service else self.out_of_service.add)(ch.id)
            self._notify({"type": "port", "port": ch.id, "in_service": ev.in_service,
                          "detail": ev.detail})
            return
        if entry is None:
            return
        call, leg = entry
        if isinstance(ev, ChannelAnswered):
            self._leg_answered(call, leg)
        elif isinstance(ev, ChannelProgress):
            call.inbox.put(LegEvent(leg, "progress"))
        elif isinstance(ev, ChannelReleased):
            self._leg_gone(leg, ev.cause)
            call.inbox.put(LegEvent(leg, "released", cause=ev.cause))
        elif isinstance(ev, ChannelFlash):
            call.inbox.put(LegEvent(leg, "flash"))
        elif isinstance(ev, ChannelDigits):
            for d in ev.digits:
                self._digit(call, leg, d)

    def _glare(self, ch: Channel, call: Call, leg: Leg, ev: ChannelSetup) -> bool:
        """A call from the port in the instant between the engine choosing the port for a
        leg and telling it to ring or dial (glare). A phone lifted as its call comes in
        takes that call, as on any PBX, rather than a dead line while the caller rings
        nobody. On a trunk the incoming call has the line: it is served, and the pending
        leg fails as "no circuit" so its call goes on to its next trunk."""
        if leg.state is not LegState.CALLING or leg.placing:
            return False
        if ch.kind is ChannelKind.FXS:
            log.info("phone lifted as its call arrived: answered",
                     extra={"channel": ch.id, "call": call.id})
            self._leg_answered(call, leg)      # UP: the pending ring (place()) stands down
            self._spawn(ch.answer())
            return True
        log.info("incoming call took the line an outgoing leg was about to use",
                 extra={"channel": ch.id, "call": call.id})
        self._leg_gone(leg, Cause.NO_CIRCUIT_AVAILABLE)   # GONE: place() stands down
        call.inbox.put(LegEvent(leg, "released", cause=Cause.NO_CIRCUIT_AVAILABLE))
        if self.closing:
            self._spawn(ch.release(Cause.TEMPORARY_FAILURE))
        else:
            self._start_call(ch, ev)
        return True

    def _leg_answered(self, call: Call, leg: Leg) -> None:
        if leg.state is LegState.CALLING:
            leg.state = LegState.UP
            leg.answered_at = self.clock()
            self._arm_permit(leg)
        if leg.role == "supervisor":          # handled here: the script is not involved
            self._resupervise(call)
            self._notify_call(call)
            return
        call.inbox.put(LegEvent(leg, "answered"))

    def on_media_event(self, ev: MediaEvent) -> None:
        if ev.kind != "dtmf_start" or ev.digit is None:
            return
        ch_id = self._by_slot.get(ev.slot)
        entry = self._legs.get(ch_id) if ch_id else None
        if entry is not None:
            self._digit(entry[0], entry[1], ev.digit)

    def _digit(self, call: Call, leg: Leg, digit: str) -> None:
        if leg.up and call.answer is not None and call.state != "dialing":
            leg.digits += digit
            call.digits += digit
            self._notify({"type": "dtmf", "call": call.id, "leg": leg.role, "digit": digit,
                          "channel": leg.channel.id})
        call.inbox.put(LegEvent(leg, "digit", digit=digit))

    # == call lifecycle ====================================================================
    def _start_call(self, ch: Channel, ev: ChannelSetup) -> None:
        now = self.clock()
        leg = Leg(ch, "caller", now, state=LegState.UP if ch.kind is ChannelKind.FXS
                  else LegState.CALLING)
        if ch.kind is ChannelKind.FXS:
            ext = self.dialplan.by_port.get(ch.id)
            caller = ext.number if ext else ""
            direction = "internal"
        else:
            caller = "" if ev.caller_withheld else (ev.caller or "")
            direction = "inbound"
        call = Call(id=f"{int(now)}-{next(self._seq)}-{uuid.uuid4().hex[:6]}",
                    direction=direction, caller=caller, start=now, origin=leg)
        leg.number = caller
        call.legs.append(leg)
        call.critical.add(leg)
        self._calls[call.id] = call
        self._legs[ch.id] = (call, leg)
        if ch.kind is ChannelKind.FXS:
            call.extension = caller or None
            script = self._phone_originates(call)
        else:
            call.called = ev.called or ""
            call.caller_name, call.caller_withheld = ev.caller_name, ev.caller_withheld
            call.trunk = self.dialplan.trunk_of_port.get(ch.id)
            script = self._trunk_inbound(call, ev)
        self._start_script(call, script)
        self._notify_call(call)

    def _start_script(self, call: Call, script: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(self._run(call, script),
                                                      name=f"call-{call.id}")
        call.task = task
        if call.end_requested:
            task.get_loop().call_soon(task.cancel)

        def settled(_task: asyncio.Task[None]) -> None:
            # A task cancelled before its first step never runs _run's clean-up: finish
            # the call here, so its legs are hung up and its channels freed all the same.
            if call.state != "ended":
                script.close()
                self._finish(call)

        task.add_done_callback(settled)

    def end_call(self, call: Call, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        """End ``call`` now, whatever its script is doing: the one way to end a call.

        The script is cancelled and its clean-up runs (legs hung up, record written, its
        owner told); a call whose script has not started yet (originated, or set up, in
        this very turn of the loop, even from inside :meth:`originate`) is cancelled just
        after its first step, so a leg it is seizing at this instant is released and
        nothing stays reserved for it."""
        if call.state == "ended":
            return
        call.cause = call.cause or cause
        call.end_requested = True
        task = call.task
        if task is None:
            return                # originate() starts the script, and cancels it at once
        if call.started:
            task.cancel()
        else:
            asyncio.get_running_loop().call_soon(task.cancel)

    async def _run(self, call: Call, script: Coroutine[Any, Any, None]) -> None:
        call.started = True
        try:
            await script
        except LegGone:
            pass
        except asyncio.CancelledError:
            call.cause = call.cause or Cause.NORMAL_CLEARING
        except Exception:
            log.exception("call script failed", extra={"call": call.id})
            call.cause = call.cause or Cause.TEMPORARY_FAILURE
        finally:
            self._finish(call)

    def _finish(self, call: Call) -> None:
        now = self.clock()
        if call.max_timer is not None:
            call.max_timer.cancel()
        call.end = now
        call.state = "ended"
        cause = call.cause or next(
            (leg.cause for leg in call.legs if leg.cause is not None), Cause.NORMAL_CLEARING)
        call.cause = cause
        for leg in call.legs:
            if not leg.gone and self._legs.get(leg.channel.id, (None, None))[1] is leg:
                self.hangup(leg, cause)
        for slot, parked in list(self.parked.items()):
            if parked.call is call:
                del self.parked[slot]
        self._calls.pop(call.id, None)
        if not call.silent and (call.direction != "internal" or call.dialed):
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
            "legs": [leg.describe() for leg in call.legs],
            "digits": call.digits,
        }
        try:
            self._cdr_sink(record)
        except Exception:
            # The record must not be lost silently: log it whole so it can be recovered.
            log.exception("CDR could not be stored", extra={"cdr": repr(record)})

    # == legs ==============================================================================
    def place(self, call: Call, ch: Channel, number: str | None, role: str,
              caller: str | None = None, caller_name: str | None = None) -> Leg:
        """Ring a phone or dial out on a trunk as a new leg of ``call``."""
        leg = Leg(ch, role, self.clock(), number=number or "")
        call.legs.append(leg)
        self._legs[ch.id] = (call, leg)

        async def go() -> None:
            if leg.gone or leg.state is LegState.UP:
                return        # hung up before the port was seized, or the phone took it
            leg.placing = True
            try:
                # caller ID with name: the given name, else the directory's, else the trunk's
                name = caller_name or self.dialplan.caller_name(caller) or call.caller_name
                await ch.place_call(number, caller or None, name,
                                    caller_withheld=call.caller_withheld)
            except ChannelError as exc:
                log.warning("could not place call", extra={"port": ch.id, "error": str(exc)})
                failed = Cause.NO_CIRCUIT_AVAILABLE
            except Exception:          # a driver defect: the leg fails, the call goes on
                log.exception("placing a call failed", extra={"port": ch.id})
                failed = Cause.TEMPORARY_FAILURE
            else:
                return
            if self._legs.get(ch.id, (None, None))[1] is leg:
                self._leg_gone(leg, failed)
                call.inbox.put(LegEvent(leg, "released", cause=failed))

        self._spawn(go())
        return leg

    def hangup(self, leg: Leg, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        """Release a leg now; a phone still off-hook hears busy tone until it hangs up."""
        ch = leg.channel
        off_hook_phone = ch.kind is ChannelKind.FXS and ch.state in (
            ChannelState.ACTIVE, ChannelState.INBOUND)
        self._leg_gone(leg, cause)
        if off_hook_phone:
            self._tone(leg, "busy")
        self._spawn(ch.release(cause))

    def _leg_gone(self, leg: Leg, cause: Cause) -> None:
        if leg.state is not LegState.GONE:
            leg.state = LegState.GONE
            leg.released_at = self.clock()
            leg.cause = cause
            leg.hold_ended(leg.released_at)
        held = self._permits.pop(leg, None)
        if held is not None:
            self._permit_done(leg, held)
        ch = leg.channel
        if self._legs.get(ch.id, (None, None))[1] is leg:
            del self._legs[ch.id]
        self.media.leave(ch.slot)
        self.media.stop_playback(ch.slot)

    def _move_leg(self, leg: Leg, src: Call, dst: Call, role: str) -> None:
        """Hand a live leg from one call to another (pickup, park retrieval)."""
        if leg in src.legs:
            src.legs.remove(leg)
        src.critical.discard(leg)
        src.silent = True
        leg.role = role
        dst.legs.append(leg)
        self._legs[leg.channel.id] = (dst, leg)

    def channel_free(self, ch: Channel) -> bool:
        return ch.state is ChannelState.IDLE and ch.id not in self._legs

    # == waiting ===========================================================================
    async def wait(self, call: Call, kinds: Iterable[str], legs: Iterable[Leg] | None = None,
                   timeout: float | None = None) -> LegEvent | None:
        """The next event of one of ``kinds`` from one of ``legs``; None on timeout.

        Events of other kinds or legs are dropped, except the release of a *critical* leg
        (the caller, unless the script took it over), which raises LegGone — unless the
        script explicitly watches that leg for "released".
        """
        wanted = set(kinds)
        watched = set(legs) if legs is not None else None
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            if remaining == 0.0 and deadline is not None:
                ev = await call.inbox.get(0)
                if ev is None:
                    return None
            else:
                ev = await call.inbox.get(remaining)
                if ev is None:
                    return None
            if ev.kind == "released" and ev.leg in call.critical and (
                    watched is None or ev.leg not in watched or "released" not in wanted):
                raise LegGone(ev.leg)
            if ev.kind in wanted and (watched is None or ev.leg in watched):
                return ev

    async def collect(self, call: Call, leg: Leg, first_s: float, interdigit_s: float,
                      done: Callable[[str], bool], stop_on_flash: bool = False,
                      initial: str = "") -> tuple[str, bool]:
        """Digits from ``leg`` until ``done(digits)`` or a timeout; (digits, flashed).
        ``initial``: digits already typed ahead."""
        digits = initial
        if digits and done(digits):
            return digits, False
        timeout = interdigit_s if digits else first_s
        while True:
            ev = await self.wait(call, ("digit", "flash") if stop_on_flash else ("digit",),
                                 (leg,), timeout)
            if ev is None:
                return digits, False
            if ev.kind == "flash":
                return digits, True
            if not digits:
                self.media.stop_playback(leg.channel.slot)
            digits += ev.digit
            if done(digits):
                return digits, False
            timeout = interdigit_s

    # == media =============================================================================
    def _tone(self, leg: Leg, name: str, repeat: bool = True) -> None:
        try:
            self.media.play_tone(leg.channel.slot, tones.tone(self.dialplan.country, name),
                                 repeat=repeat)
        except ValueError as exc:
            log.warning("tone not played", extra={"port": leg.channel.id, "error": str(exc)})

    def play_prompt(self, leg: Leg, prompt: str | None, fallback: str = "beep") -> bool:
        """Play a prompt (or a fallback tone, once); True if it was the prompt."""
        pcm = self.prompts.load(prompt)
        if pcm is not None and len(pcm):
            self.media.play_pcm(leg.channel.slot, pcm)
            return True
        self._tone(leg, fallback, repeat=False)
        return False

    def connect(self, a: Leg, b: Leg, call: Call | None = None) -> None:
        for leg in (a, b):
            self.media.stop_playback(leg.channel.slot)
        conf = self.media.connect(a.channel.slot, b.channel.slot)
        if call is not None:
            call.conference = conf
            call.talking = (a, b)
            self._resupervise(call)

    # -- supervision: listen, whisper, barge -------------------------------------------------
    SUPERVISION_MODES = ("listen", "whisper", "barge")

    def supervise(self, call_id: str, extension: str, mode: str = "listen") -> None:
        """Ring a supervisor's phone into a call; once answered they listen, whisper to the
        box's party (the agent: the leg that is not the caller) or barge in."""
        call = self._calls.get(call_id)
        if call is None or call.state not in ("active",) or call.conference is None:
            raise ValueError(f"call {call_id!r} is not a call in progress")
        if mode not in self.SUPERVISION_MODES:
            raise ValueError(f"mode must be one of {', '.join(self.SUPERVISION_MODES)}")
        if any(leg.role == "supervisor" and not leg.gone for leg in call.legs):
            raise ValueError(f"call {call_id!r} is already supervised")
        ext = self.dialplan.extensions.get(extension)
        ch = self.channels.get(ext.port) if ext is not None and ext.port else None
        if ch is None:
            raise ValueError(f"no phone for extension {extension!r}")
        if not self.channel_free(ch) or any(leg.channel is ch for leg in call.legs
                                              if not leg.gone):
            raise ValueError(f"extension {extension!r} is busy")
        call.supervision = mode
        self.place(call, ch, extension, "supervisor", call.caller,
                   f"supervise {call.extension or ''}".strip())
        log.info("supervision requested", extra={"call": call_id, "supervisor": extension,
                                                 "mode": mode})

    def set_supervision(self, call_id: str, mode: str) -> None:
        call = self._calls.get(call_id)
        if call is None or not any(leg.role == "supervisor" and not leg.gone
                                   for leg in call.legs):
            raise ValueError(f"call {call_id!r} has no supervisor")
        if mode not in self.SUPERVISION_MODES:
            raise ValueError(f"mode must be one of {', '.join(self.SUPERVISION_MODES)}")
        call.supervision = mode
        self._resupervise(call)
        self._notify_call(call)

    def _resupervise(self, call: Call) -> None:
        sup = next((leg for leg in call.legs if leg.role == "supervisor"
                    and leg.state is LegState.UP), None)
        if sup is None or call.conference is None or call.talking is None:
            return
        agent = next((leg for leg in call.talking if leg is not call.origin), call.talking[-1])
        self.media.stop_playback(sup.channel.slot)
        self.media.supervise(sup.channel.slot, call.conference, call.supervision or "listen",
                             agent.channel.slot)

    def conference(self, legs: Iterable[Leg]) -> int:
        conf = 1_000_000 + next(self._conf_ids)
        for leg in legs:
            self.media.stop_playback(leg.channel.slot)
            self.media.join(leg.channel.slot, conf)
        return conf

    def hold(self, leg: Leg) -> None:
        self.media.leave(leg.channel.slot)
        leg.state = LegState.HELD
        leg.hold_started(self.clock())
        self.play_prompt_loop(leg, "hold")

    def play_prompt_loop(self, leg: Leg, name: str) -> None:
        pcm = self.prompts.load(f"{name}.wav")
        if pcm is not None and len(pcm):
            self.media.play_pcm(leg.channel.slot, pcm)
        else:
            self._tone(leg, "hold" if name == "hold" else name)

    def unhold(self, leg: Leg) -> None:
        if leg.state is LegState.HELD:
            leg.state = LegState.UP
        leg.hold_ended(self.clock())
        self.media.stop_playback(leg.channel.slot)

    # == scripts ===========================================================================
    async def _trunk_inbound(self, call: Call, ev: ChannelSetup) -> None:
        if call.trunk is None:
            log.warning("incoming call on a port with no enabled trunk",
                        extra={"port": call.origin.channel.id, "caller": call.caller})
            call.cause = Cause.INCOMING_CALLS_BARRED
            return
        route = self.dialplan.route_inbound(call.trunk, ev.called, ev.caller)
        if route is None:
            log.warning("no inbound route", extra={"trunk": call.trunk, "called": ev.called})
            call.cause = Cause.NO_ROUTE
            return
        if self._blacklisted(call.caller):
            log.info("caller on the blacklist: rejected", extra={"call": call.id,
                                                                 "caller": call.caller})
            call.route = route.name
            call.cause = Cause.CALL_REJECTED
            return
        call.route = route.name
        call.record = route.record
        if route.time_condition is not None:
            tc = self.dialplan.time_conditions.get(route.time_condition)
            if tc is not None and not tc.is_open(self.clock()):
                log.info("outside working hours", extra={"call": call.id,
                                                         "condition": route.time_condition})
                call.route = f"{route.name} (closed)"
                await self.goto(call, route.night_destination or HANGUP)
                return
        log.info("inbound call", extra={"call": call.id, "trunk": call.trunk,
                                        "caller": call.caller, "route": route.name,
                                        "destination": route.destination.type})
        await self.goto(call, route.destination)

    async def goto(self, call: Call, dest: Destination, hops: int = 0) -> None:
        """Send the call to a destination; returns when the call is over there."""
        if hops > MAX_HOPS:
            log.error("routing loop", extra={"call": call.id, "destination": dest.type})
            call.cause = Cause.SWITCHING_EQUIPMENT_CONGESTION
            return
        plan = self.dialplan
        if dest.type == "extension" and dest.target:
            ext = plan.extensions.get(dest.target)
            if ext is None or not ext.enabled:
                call.cause = Cause.UNALLOCATED_NUMBER
                return
            await self.to_extension(call, ext, hops)
        elif dest.type == "ring_group" and dest.target in plan.ring_groups:
            group = plan.ring_groups[dest.target]
            leg = await self.ring_group(call, group)
            if leg is not None:
                await self.talk(call, leg)
            else:
                await self.goto(call, group.failover, hops + 1)
        elif dest.type == "ivr" and dest.target in plan.ivrs:
            nxt = await self.ivr(call, dest.target)
            await self.goto(call, nxt, hops + 1)
        elif dest.type == "external" and dest.target:
            leg = await self.dial_external(call, dest.target, check_cos=False)
            if leg is not None:
                await self.talk(call, leg)
        elif dest.type == "announcement":
            await self.answer_origin(call)
            call.state = "announcement"
            self.play_prompt(call.origin, dest.target, fallback="sit")
            await self.wait(call, ("never",), timeout=self._prompt_seconds(dest.target) + 0.2)
            call.cause = Cause.NORMAL_CLEARING
        elif dest.type == "queue" and dest.target and self.queues is not None \
                and dest.target in self.queues.core.queues:
            await self.queues.run(call, dest.target, hops, priority=dest.priority)
        elif dest.type == "voicemail" and dest.target:
            await self.leave_voicemail(call, dest.target)
        elif dest.type == "busy":
            call.cause = Cause.USER_BUSY
        elif dest.type == "callback" and dest.target and self.callbacks is not None:
            # reject and call back: the caller pays nothing, the box calls them at once
            call.cause = Cause.CALL_REJECTED
            self.callbacks.rejected(call, dest.target)
        elif dest.type == "hangup":
            call.cause = Cause.CALL_REJECTED if call.origin.state is LegState.CALLING \
                else Cause.NORMAL_CLEARING
        else:
            log.error("destination not available", extra={"call": call.id, "type": dest.type,
                                                          "target": dest.target})
            call.cause = Cause.SERVICE_UNAVAILABLE

    def _blacklisted(self, number: str) -> bool:
        if not number:
            return False
        from firmware.numbers import MalformedNumber, normalize_number

        try:
            return normalize_number(number, self.dialplan.country) in self.dialplan.blacklist
        except MalformedNumber:
            return False

    def _prompt_seconds(self, prompt: str | None) -> float:
        pcm = self.prompts.load(prompt)
        return len(pcm) / 8000 if pcm is not None and len(pcm) else 3.0

    async def answer_origin(self, call: Call) -> None:
        o = call.origin
        if o.state is LegState.CALLING:
            o.state = LegState.UP
            o.answered_at = self.clock()
            try:
                await o.channel.answer()
            except ChannelError as exc:
                log.warning("could not answer", extra={"port": o.channel.id, "error": str(exc)})
                raise LegGone(o) from None

    async def to_extension(self, call: Call, ext: Extension, hops: int) -> None:
        user = self.settings.get(ext.number)
        call.extension = call.extension if call.direction == "internal" else ext.number
        call.called = call.called or ext.number
        if ext.number in call.visited:
            log.warning("forwarding loop", extra={"call": call.id, "extension": ext.number})
            call.cause = Cause.USER_BUSY
            return
        call.visited.add(ext.number)
        loops: dict[str, Any] = {kind: None for kind in _FORWARDS
                                 if self._forward_loops(call, ext, getattr(user, kind))}
        user = replace(user, **loops)
        if user.forward_always:
            await self.goto(call, self._forward_target(user.forward_always), hops + 1)
            return
        ch = self.channels.get(ext.port) if ext.port else None
        if user.forward_unreachable and (ch is None or ch.id in self.out_of_service
                                         or ch.state is ChannelState.OUT_OF_SERVICE):
            await self.goto(call, self._forward_target(user.forward_unreachable), hops + 1)
            return
        busy = user.dnd or ch is None or not self.channel_free(ch)
        to_mailbox = ext.voicemail and self.voicemail is not None
        if busy and not user.dnd and ch is not None and ext.call_waiting \
                and await self._offer_waiting(call, ch, float(ext.ring_s)):
            return
        if busy:
            if user.forward_busy:
                await self.goto(call, self._forward_target(user.forward_busy), hops + 1)
            elif to_mailbox:
                await self.leave_voicemail(call, ext.number)
            else:
                call.cause = Cause.USER_BUSY
            return
        assert ch is not None
        no_answer_target = user.forward_no_answer
        timeout = float(ext.ring_s) if no_answer_target or to_mailbox else self.ring_timeout_s
        me = self.dialplan.by_port.get(call.origin.channel.id)
        leg = await self.ring(call, [(ch, ext.number)], timeout,
                              caller_name=me.name if me else None)
        if leg is not None:
            call.extension = call.extension or ext.number
            await self.talk(call, leg, record=ext.record)
            return
        if no_answer_target and call.cause is not Cause.USER_BUSY:
            call.cause = None
            await self.goto(call, self._forward_target(no_answer_target), hops + 1)
        elif to_mailbox and not call.origin.gone:
            call.cause = None
            await self.leave_voicemail(call, ext.number)

    # -- call waiting -----------------------------------------------------------------------
    async def _offer_waiting(self, call: Call, ch: Channel, ring_s: float) -> bool:
        """The phone on ``ch`` is talking: beep it the waiting tone every few seconds while
        the caller hears ringback. True if the busy user flashed to take this call (the
        caller's leg then belongs to the phone's call), False on timeout (busy handling)."""
        entry = self._legs.get(ch.id)
        if entry is None or entry[0] is call or entry[0].state != "active" \
                or not entry[1].up or ch.id in self.call_waiting:
            return False
        offer = WaitingCall(call, ch.id, asyncio.get_running_loop().create_future())
        self.call_waiting[ch.id] = offer
        call.state = "waiting"
        self._notify_call(call)
        if call.origin.channel.kind is ChannelKind.FXS:
            self._tone(call.origin, "ringback")
        beep = tones.tone(self.dialplan.country, "waiting")[:1]   # the tone, not its pause

        async def beeps() -> None:
            while True:
                held = self._legs.get(ch.id)
                if held is not None and held[0].state == "active":
                    self.media.play_tone(ch.slot, beep, repeat=False)
                await asyncio.sleep(CALL_WAITING_BEEP_S)

        beeper = asyncio.ensure_future(beeps())
        watcher = asyncio.ensure_future(self.wait(call, ("never",)))   # LegGone if caller
        try:
            futures: set[asyncio.Future[Any]] = {offer.taken, watcher}
            done, _ = await asyncio.wait(futures, timeout=ring_s,
                                         return_when=asyncio.FIRST_COMPLETED)
            if watcher in done:
                watcher.result()                                   # raises LegGone
            return offer.taken in done
        finally:
            beeper.cancel()
            watcher.cancel()
            if self.call_waiting.get(ch.id) is offer:
                del self.call_waiting[ch.id]
            if not offer.taken.done():
                offer.taken.cancel()

    async def _take_waiting(self, call: Call, phone: Leg, other: Leg, offer: WaitingCall
                            ) -> tuple[Leg, Leg] | None:
        """The busy user flashed: ``other`` waits on hold, the phone talks to the waiting
        caller; each flash toggles; hanging up with a party on hold rings the phone back."""
        waiting_call = offer.call
        leg = waiting_call.origin
        del self.call_waiting[phone.channel.id]
        self.hold(other)
        await self.answer_origin(waiting_call)
        self._move_leg(leg, waiting_call, call, "waiting")
        waiting_call.answer = self.clock()
        offer.taken.set_result(None)
        log.info("call waiting taken", extra={"call": call.id, "waiting": waiting_call.id})
        talking, held = leg, other
        self.connect(phone, talking)
        call.state = "active"
        self._notify_call(call)
        while True:
            ev = await self.wait(call, ("released", "flash"), (phone, talking, held))
            if ev is None:
                continue
            if ev.kind == "flash" and ev.leg is phone:
                self.hold(talking)
                self.unhold(held)
                talking, held = held, talking
                self.connect(phone, talking)
                continue
            if ev.kind != "released":
                continue
            if ev.leg is phone:                       # hung up with a party on hold
                if not talking.gone:
                    self.hangup(talking)
                return await self._recall(call, held, phone)
            if ev.leg is talking:                     # back to the one on hold
                self.unhold(held)
                return phone, held
            self.media.stop_playback(phone.channel.slot)
            return phone, talking                     # the held party left

    def _forward_loops(self, call: Call, ext: Extension, target: str | None) -> bool:
        """Forwarding back to an extension this call already passed (A → B → A): the
        last one in the chain rings itself, so the call is neither lost nor bounced."""
        if target is None or target not in call.visited:
            return False
        log.warning("forwarding loop: the extension rings itself",
                    extra={"call": call.id, "extension": ext.number, "forward": target})
        return True

    def _forward_target(self, number: str) -> Destination:
        if number in self.dialplan.extensions:
            return Destination("extension", number)
        return Destination("external", number)

    async def ring(self, call: Call, targets: list[tuple[Channel, str]], timeout: float,
                   caller_name: str | None = None, role: str = "callee") -> Leg | None:
        """Ring every target at once; the first to answer wins, the others stop ringing.
        None when nobody answered in time (call.cause says why)."""
        call.state = "ringing"
        self._notify_call(call)
        legs = [self.place(call, ch, number, role, call.caller, caller_name)
                for ch, number in targets]
        if call.origin.channel.kind is ChannelKind.FXS:
            self._tone(call.origin, "ringback")
        return await self._await_answer(call, legs, timeout)

    async def _await_answer(self, call: Call, legs: list[Leg], timeout: float) -> Leg | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        live = list(legs)
        causes: list[Cause] = []
        while live:
            ev = await self.wait(call, ("answered", "released"), None,
                                 max(0.0, deadline - loop.time()))
            if ev is None:
                call.cause = Cause.NO_ANSWER
                break
            if ev.kind == "released" and ev.leg in live:
                live.remove(ev.leg)
                causes.append(ev.cause or Cause.NORMAL_UNSPECIFIED)
                continue
            if ev.kind == "answered" and (ev.leg in live or ev.leg.role == "pickup"):
                for other in live:
                    if other is not ev.leg:
                        self.hangup(other, Cause.NORMAL_CLEARING)
                return ev.leg
        for other in live:
            self.hangup(other, Cause.NO_ANSWER)
        if not live and causes:
            call.cause = Cause.USER_BUSY if Cause.USER_BUSY in causes else causes[-1]
        return None

    async def ring_group(self, call: Call, group: Any) -> Leg | None:
        """Ring all / sequential / cascading, members being extensions or outside numbers."""
        call.state = "ringing"
        call.route = call.route or f"ring group {group.id}"
        loop = asyncio.get_running_loop()
        if call.origin.channel.kind is ChannelKind.FXS:
            self._tone(call.origin, "ringback")
        pending = list(group.members)
        live: list[Leg] = []
        started = loop.time()
        end = started + group.timeout_s
        next_step = started
        step = 0
        while True:
            now = loop.time()
            if now >= next_step and pending:
                if group.strategy == "sequential":
                    for leg in live:
                        self.hangup(leg, Cause.NO_ANSWER)
                    live.clear()
                batch = pending if group.strategy == "ringall" else [pending[0]]
                for member in list(batch):
                    pending.remove(member)
                    member_leg = self._ring_member(call, member)
                    if member_leg is not None:
                        live.append(member_leg)
                step += 1
                if group.strategy == "ringall":
                    next_step = end
                elif group.strategy == "cascading" and pending and pending[0].delay_s:
                    next_step = started + pending[0].delay_s
                else:
                    next_step = now + group.member_s
                if not live and pending:
                    next_step = now          # that member was busy: try the next at once
                    continue
            if not live and not pending:
                call.cause = Cause.USER_BUSY if step else Cause.NO_ANSWER
                return None
            limit = min(end, next_step) if pending else end
            if group.strategy == "sequential" and not pending:
                limit = min(end, next_step)
            ev = await self.wait(call, ("answered", "released"), None,
                                 max(0.0, limit - loop.time()))
            if ev is None:
                if loop.time() >= end - 1e-3 or (not pending and group.strategy != "ringall"
                                                 and loop.time() >= next_step - 1e-3):
                    for leg in live:
                        self.hangup(leg, Cause.NO_ANSWER)
                    call.cause = Cause.NO_ANSWER
                    return None
                continue
            if ev.kind == "released" and ev.leg in live:
                live.remove(ev.leg)
                if not live and pending:
                    next_step = loop.time()
                continue
            if ev.kind == "answered" and (ev.leg in live or ev.leg.role == "pickup"):
                for other in live:
                    if other is not ev.leg:
                        self.hangup(other, Cause.NORMAL_CLEARING)
                if self._is_extension_leg(ev.leg):
                    call.extension = ev.leg.number
                return ev.leg

    def _is_extension_leg(self, leg: Leg) -> bool:
        """A leg to an extension's phone (not a trunk leg whose outside number happens to
        equal an extension's, such as 101 to the fire service beside a stale extension)."""
        ext = self.dialplan.extensions.get(leg.number)
        return ext is not None and ext.port == leg.channel.id

    def _ring_member(self, call: Call, member: Any) -> Leg | None:
        if member.external:
            return self._dial_trunk_leg(call, member.target, call.caller, role="member")
        ext = self.dialplan.extensions.get(member.target)
        if ext is None or not ext.enabled or self.settings.get(ext.number).dnd:
            return None
        ch = self.channels.get(ext.port) if ext.port else None
        if ch is None or not self.channel_free(ch):
            return None
        return self.place(call, ch, ext.number, "member", call.caller)

    async def talk(self, call: Call, leg: Leg, record: bool = False) -> None:
        """A person answered: connect them with the caller until one side is done."""
        await self.answer_origin(call)
        now = self.clock()
        if call.answer is None:
            call.answer = now
        call.state = "active"
        if self._is_extension_leg(leg) and call.direction != "internal":
            call.extension = leg.number
        log.info("call answered", extra={"call": call.id, "by": leg.channel.id})
        self._notify_call(call)
        recording = self._start_recording(call) if record or call.record else None
        try:
            await self.bridge(call, call.origin, leg)
        finally:
            if recording is not None:
                await self._stop_recording(call, *recording)

    def _start_recording(self, call: Call) -> tuple[Tap, WavRecording] | None:
        archive = self.recordings
        if archive is None or call.origin.recording is not None:
            return None
        if not archive.may_record():
            self._alert("call not recorded: data partition below its free-space floor",
                        call=call.id)
            return None
        path = archive.path_for(call.id, call.start)
        wav = WavRecording(path, compressed=archive.policy.compressed)
        tap = Tap(self.media, call.origin.channel.slot, wav.write)
        tap.start()
        archive.active.add(path)
        call.origin.recording = str(path.relative_to(archive.directory))
        call.beep_pending = self.dialplan.record_beep
        log.info("recording", extra={"call": call.id, "file": call.origin.recording})
        return tap, wav

    async def _stop_recording(self, call: Call, tap: Tap, wav: WavRecording) -> None:
        try:
            dropped = await tap.stop()
            if dropped:
                log.warning("recording lost audio", extra={"call": call.id,
                                                           "frames": dropped})
        finally:
            wav.close()
            if self.recordings is not None:
                self.recordings.active.discard(wav.path)
                # retention after every recording, not only hourly: the partition never fills
                self._spawn(asyncio.to_thread(self.recordings.sweep))
            self._notify({"type": "recording", "call": call.id,
                          "file": call.origin.recording})

    async def bridge(self, call: Call, a: Leg, b: Leg) -> None:
        """Two parties talk; flash on a phone starts a consultation (transfer, conference,
        park). Returns when the call is over."""
        while True:
            call.critical = set()
            resumed = call.state == "held"
            call.state = "active"
            if resumed:
                self._notify_call(call)              # back from hold
            self.connect(a, b, call)
            if call.beep_pending:                    # "this call is recorded"
                call.beep_pending = False
                for leg in (a, b):
                    self._tone(leg, "beep", repeat=False)
            self._arm_max_length(call, (a, b))
            ev = await self.wait(call, ("released", "flash"), (a, b))
            if ev is None or ev.kind == "released":
                return
            if ev.leg.channel.kind is not ChannelKind.FXS:
                continue
            flasher, held = ev.leg, (b if ev.leg is a else a)
            offer = self.call_waiting.get(flasher.channel.id)
            if offer is not None and not offer.taken.done():
                pair = await self._take_waiting(call, flasher, held, offer)
            else:
                pair = await self.consult(call, flasher, held)
            if pair is None:
                return
            a, b = pair
            self._notify_call(call)

    def _arm_max_length(self, call: Call, legs: tuple[Leg, ...]) -> None:
        if call.max_timer is not None:
            return
        if not any(leg.channel.kind.is_trunk for leg in legs):
            return
        limit = self.dialplan.toll.max_call_s

        def expire() -> None:
            if call.task is not None and not call.task.done():
                log.warning("maximum call length reached", extra={"call": call.id,
                                                                  "limit_s": limit})
                call.cause = Cause.NORMAL_CLEARING
                call.task.cancel()

        call.max_timer = asyncio.get_running_loop().call_later(limit, expire)

    # -- consultation, transfer, conference, park ------------------------------------------
    async def consult(self, call: Call, flasher: Leg, held: Leg) -> tuple[Leg, Leg] | None:
        """After a flash: hold the other party, let the flasher dial, and carry out what
        they do next. Returns the pair to bridge afterwards, or None if the call is over."""
        call.state = "held"
        self._notify_call(call)                      # e.g. an ACD agent is now on hold
        self.hold(held)
        self._tone(flasher, "dial")
        plan = self.dialplan
        digits, flashed = await self._consult_digits(call, flasher, held)
        if digits is None:                           # the held party hung up meanwhile
            self.media.stop_playback(flasher.channel.slot)
            return None if flasher.gone else (flasher, flasher)
        if flashed or not digits:
            if flasher.gone:                         # hung up without dialing: recall
                return await self._recall(call, held, flasher)
            self.unhold(held)
            return flasher, held
        slot = plan.park_slot(digits)
        if slot is not None:
            return await self.park(call, held, flasher, slot)
        target = await self._consult_target(call, flasher, digits)
        if target is None:
            self._tone(flasher, "congestion")
            ev = await self.wait(call, ("flash", "released"), (flasher, held))
            if ev is None or ev.leg is held:
                return None
            if ev.kind == "released":
                return await self._recall(call, held, flasher)
            self.unhold(held)
            return flasher, held
        return await self._consulting(call, flasher, held, target)

    async def _consult_digits(self, call: Call, flasher: Leg, held: Leg
                              ) -> tuple[str | None, bool]:
        plan = self.dialplan
        digits = ""
        timeout = FIRST_DIGIT_S
        while True:
            ev = await self.wait(call, ("digit", "flash", "released"), (flasher, held),
                                 timeout)
            if ev is None:
                return digits, False
            if ev.kind == "released":
                if ev.leg is held:
                    return None, False
                return digits, False                 # the flasher hung up
            if ev.kind == "flash":
                return digits, True
            if ev.leg is not flasher:
                continue
            if not digits:
                self.media.stop_playback(flasher.channel.slot)
            digits += ev.digit
            if plan.is_emergency(digits) \
                    or (digits in plan.extensions and not plan.could_be_longer(digits)) \
                    or plan.park_slot(digits) is not None \
                    or plan.route_outbound(digits) is not None:
                return digits, False
            timeout = INTERDIGIT_S

    async def _consult_target(self, call: Call, flasher: Leg, digits: str) -> Leg | None:
        plan = self.dialplan
        if plan.is_emergency(digits):
            me = plan.by_port.get(flasher.channel.id)
            caller = me.number if me else call.caller
            out_leg = (self._dial_trunk_leg(call, digits, caller, "consult")
                       or self._dial_any_trunk(call, digits, "consult"))
            if out_leg is not None:
                self._tone(flasher, "ringback")
            return out_leg
        ext = plan.extensions.get(digits)
        if ext is not None:
            ch = self.channels.get(ext.port) if ext.port else None
            if ch is None or not self.channel_free(ch) or self.settings.get(digits).dnd:
                return None
            me = plan.by_port.get(flasher.channel.id)
            leg = self.place(call, ch, digits, "consult", me.number if me else "",
                             me.name if me else None)
            self._tone(flasher, "ringback")
            return leg
        me = plan.by_port.get(flasher.channel.id)
        route = plan.route_outbound(digits)
        if route is None or me is None or not self._outbound_allowed(me, digits, route):
            return None
        out_leg = self._dial_route(call, route, route.translate(digits), me.number, "consult")
        if out_leg is not None:
            self._tone(flasher, "ringback")
        return out_leg

    async def _consulting(self, call: Call, flasher: Leg, held: Leg, target: Leg
                          ) -> tuple[Leg, Leg] | None:
        watched = (flasher, held, target)
        while True:
            ev = await self.wait(call, ("answered", "released", "flash"), watched)
            if ev is None:
                continue
            if ev.leg is target and ev.kind == "answered":
                self.connect(flasher, target)
                continue
            if ev.leg is target and ev.kind == "released":
                if flasher.gone:
                    return await self._recall(call, held, flasher)
                self._tone(flasher, "busy")          # flash to return to the held party
                continue
            if ev.leg is held and ev.kind == "released":
                if target.state is LegState.UP:
                    return flasher, target
                if flasher.gone:
                    self.hangup(target)
                    return None
                continue                             # keep consulting; talk if it answers
            if ev.leg is flasher and ev.kind == "released":
                # Transfer: the held party goes to the consulted one.
                call.transfers += 1
                self.unhold(held)
                log.info("transfer", extra={"call": call.id, "to": target.channel.id,
                                            "attended": target.state is LegState.UP})
                if target.state is LegState.UP:
                    return held, target
                if held.channel.kind is ChannelKind.FXS:
                    self._tone(held, "ringback")
                else:
                    self.play_prompt_loop(held, "hold")
                ev2 = await self._await_answer(call, [target], self.ring_timeout_s)
                return (held, ev2) if ev2 is not None else await self._recall(call, held,
                                                                              flasher)
            if ev.leg is flasher and ev.kind == "flash":
                if target.state is LegState.UP and not held.gone:
                    await self._three_way(call, flasher, held, target)
                    if flasher.gone:
                        return None
                    survivors = [leg for leg in (held, target) if not leg.gone]
                    return (flasher, survivors[0]) if survivors else None
                self.hangup(target, Cause.NORMAL_CLEARING)
                self.unhold(held)
                return flasher, held

    async def _three_way(self, call: Call, flasher: Leg, held: Leg, target: Leg) -> None:
        """All three talk; a flash drops the consulted party; a leg leaving ends it."""
        self.unhold(held)
        call.state = "conference"
        call.conference = self.conference((flasher, held, target))
        self._notify_call(call)
        ev = await self.wait(call, ("released", "flash"), (flasher, held, target))
        for leg in (flasher, held, target):
            self.media.leave(leg.channel.slot)
        if ev is not None and ev.kind == "flash":
            self.hangup(target, Cause.NORMAL_CLEARING)

    async def _recall(self, call: Call, held: Leg, parker: Leg) -> tuple[Leg, Leg] | None:
        """The held party is alone: ring the phone that left them (if free) once."""
        if held.gone:
            return None
        ch = parker.channel
        self.play_prompt_loop(held, "hold")
        for _ in range(100):                         # give the phone time to go on-hook
            if self.channel_free(ch):
                break
            await asyncio.sleep(0.05)
        if not self.channel_free(ch):
            return None
        call.critical = {held}
        leg = self.place(call, ch, parker.number, "recall", call.caller)
        answered = await self._await_answer(call, [leg], self.ring_timeout_s)
        if answered is None:
            return None
        self.unhold(held)
        return held, answered

    async def park(self, call: Call, held: Leg, parker: Leg, slot: int
                   ) -> tuple[Leg, Leg] | None:
        if slot in self.parked:
            self._tone(parker, "congestion")
            ev = await self.wait(call, ("flash", "released"), (parker, held))
            if ev is not None and ev.kind == "flash":
                self.unhold(held)
                return parker, held
            return None if ev is None or ev.leg is held else await self._recall(
                call, held, parker)
        me = self.dialplan.by_port.get(parker.channel.id)
        parked = ParkedCall(call, held, me.number if me else "", parker.channel.id,
                            asyncio.get_running_loop().create_future())
        self.parked[slot] = parked
        call.state = "parked"
        self._notify({"type": "park", "slot": slot, "call": call.id})
        log.info("call parked", extra={"call": call.id, "slot": slot})
        self._tone(parker, "stutter", repeat=False)
        await asyncio.sleep(0.6)
        if not parker.gone:
            self.hangup(parker)
        call.critical = {held}
        try:
            retriever = await asyncio.wait_for(
                self._wait_retrieval(call, parked), self.dialplan.park_timeout_s)
        except TimeoutError:
            retriever = None
        finally:
            if self.parked.get(slot) is parked:
                del self.parked[slot]
        if retriever is not None:
            self.unhold(held)
            return held, retriever
        log.info("parked call not picked up: ringing the parker", extra={"call": call.id})
        return await self._recall(call, held, parker)

    async def _wait_retrieval(self, call: Call, parked: ParkedCall) -> Leg | None:
        # The waiter only watches the inbox for the held party hanging up (LegGone); it
        # must never outlive this call, or it would eat the events of what comes next.
        waiter = asyncio.ensure_future(self.wait(call, ("retrieved",), None))
        futures: set[asyncio.Future[Any]] = {waiter, parked.retrieved}
        try:
            done, _ = await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
            if parked.retrieved in done:
                return parked.retrieved.result()
            ev = waiter.result()
            return ev.leg if ev is not None else None
        finally:
            waiter.cancel()
            if not parked.retrieved.done():
                parked.retrieved.cancel()

    # -- phones dialing ---------------------------------------------------------------------
    async def _phone_originates(self, call: Call) -> None:
        call.state = "dialing"
        o = call.origin
        plan = self.dialplan
        me = plan.by_port.get(o.channel.id)
        # Message waiting: stutter dial tone (unless the extension wants the lamp only).
        self._tone(o, "stutter" if me is not None and me.voicemail
                   and me.message_waiting != "lamp"
                   and self.messages_waiting(me.number) else "dial")
        f = plan.features

        def complete(d: str) -> bool:
            if d.endswith("#") and len(d) > 1 and not d.startswith("*"):
                return True                          # "#" ends dialing at once
            if plan.is_emergency(d):
                return True                          # emergency numbers dial at once
            if plan.could_be_longer(d):
                return False
            if plan.route_outbound(d) is not None:
                # A pattern of variable length (^8\d{6,15}$) waits for the inter-digit
                # time while one more digit could still match; a fixed one dials at once.
                return not any(o.pattern.fullmatch(d + x)
                               for o in plan.outbound for x in "0123456789")
            return (d in plan.extensions or plan.park_slot(d) is not None
                    or d in self._codes()
                    or (d.startswith(f.directed_pickup) and d[len(f.directed_pickup):]
                        in plan.extensions)
                    or any(d.startswith(c) and len(d) > len(c) + 1 and d.endswith("#")
                           for c in (*self._forward_on_codes(), f.agent_pause_reason)))

        digits, _ = await self.collect(call, o, FIRST_DIGIT_S, INTERDIGIT_S, complete)
        if digits.endswith("#") and len(digits) > 1 and not digits.startswith("*"):
            digits = digits[:-1]
        call.dialed = digits
        if not digits:
            self._tone(o, "congestion")
            await self.wait(call, ("never",))       # until the phone hangs up
            return
        self._notify_call(call)
        await self._dialed(call, digits)

    def _codes(self) -> set[str]:
        f = self.dialplan.features
        return {f.pickup, f.forward_always_off, f.forward_busy_off, f.forward_no_answer_off,
                f.forward_unreachable_off,
                f.dnd_on, f.dnd_off, f.voicemail, f.agent_login, f.agent_logout, f.agent_pause,
                f.agent_unpause, f.day_night_toggle}

    def _forward_on_codes(self) -> list[str]:
        f = self.dialplan.features
        return [f.forward_always_on, f.forward_busy_on, f.forward_no_answer_on,
                f.forward_unreachable_on]

    async def _dialed(self, call: Call, digits: str) -> None:
        plan, o = self.dialplan, call.origin
        me = plan.by_port.get(o.channel.id)
        f = plan.features
        if plan.is_emergency(digits):
            await self._emergency_call(call, digits, me)
            return
        if await self._feature(call, digits):
            return
        if digits == f.voicemail and me is not None:
            await self.check_voicemail(call, me)
            return
        slot = plan.park_slot(digits)
        if slot is not None:
            await self._retrieve_parked(call, slot)
            return
        if digits == f.pickup or (digits.startswith(f.directed_pickup)
                                  and digits[len(f.directed_pickup):] in plan.extensions):
            target = digits[len(f.directed_pickup):] if digits != f.pickup else None
            if not self._pickup(call, target):
                await self._fail(call, Cause.UNALLOCATED_NUMBER)
            return
        ext = plan.extensions.get(digits)
        if ext is not None:
            call.called = digits
            if me is not None and ext.port == o.channel.id:
                await self._fail(call, Cause.USER_BUSY)
                return
            await self.to_extension(call, ext, 0)
            if call.answer is None and not o.gone:
                await self._fail(call, call.cause or Cause.NO_ANSWER)
            return
        route = plan.route_outbound(digits)
        if route is None or me is None:
            await self._fail(call, Cause.UNALLOCATED_NUMBER)
            return
        call.direction = "outbound"
        call.route = route.name
        call.called = route.translate(digits)
        if not self._outbound_allowed(me, digits, route):
            call.cause = Cause.OUTGOING_CALLS_BARRED
            await self._fail(call, Cause.OUTGOING_CALLS_BARRED)
            return
        leg = await self.dial_external(call, call.called, route=route, caller_ext=me)
        if leg is not None:
            await self.talk(call, leg)
        elif not o.gone:
            await self._fail(call, call.cause or Cause.NO_CIRCUIT_AVAILABLE)

    async def _emergency_call(self, call: Call, digits: str, me: Extension | None) -> None:
        """An emergency number goes out, never to an internal number (even one a stale
        configuration holds): over its outbound route if one matches, else, or when none
        of the route's trunks is free, over any free trunk. Class of service and the
        toll-fraud guard never stop it."""
        o = call.origin
        call.direction = "outbound"
        call.called = digits
        leg = None
        route = self.dialplan.route_outbound(digits)
        if route is not None:
            call.route = route.name
            call.called = route.translate(digits)
            leg = await self.dial_external(call, call.called, route=route, caller_ext=me)
        if leg is None and not o.gone and call.cause in (None, Cause.NO_CIRCUIT_AVAILABLE):
            call.called = digits
            placed = self._dial_any_trunk(call, digits, "callee")
            if placed is None:
                await self._fail(call, Cause.NO_CIRCUIT_AVAILABLE)
                return
            call.cause = None
            leg = await self._await_outbound(call, [placed])
        if leg is not None:
            await self.talk(call, leg)
        elif not o.gone:
            await self._fail(call, call.cause or Cause.NO_ANSWER)

    async def _fail(self, call: Call, cause: Cause) -> None:
        """Tell the phone why (busy or congestion tone) and wait for it to hang up."""
        call.cause = cause
        call.state = "ended"
        self._notify_call(call)
        self._tone(call.origin, "busy" if cause is Cause.USER_BUSY else "congestion")
        await self.wait(call, ("never",))

    async def _feature(self, call: Call, digits: str) -> bool:
        plan = self.dialplan
        me = plan.by_port.get(call.origin.channel.id)
        if me is None:
            return False
        f = plan.features
        changes: dict[str, Any] | None = None
        for code, key in ((f.forward_always_on, "forward_always"),
                          (f.forward_busy_on, "forward_busy"),
                          (f.forward_no_answer_on, "forward_no_answer"),
                          (f.forward_unreachable_on, "forward_unreachable")):
            if digits.startswith(code) and digits.endswith("#") and len(digits) > len(code) + 1:
                target = digits[len(code):-1]
                if target == me.number or not target.isdigit():
                    return False
                changes = {key: target}
        simple: dict[str, dict[str, Any]] = {f.forward_always_off: {"forward_always": None},
                  f.forward_busy_off: {"forward_busy": None},
                  f.forward_no_answer_off: {"forward_no_answer": None},
                  f.forward_unreachable_off: {"forward_unreachable": None},
                  f.dnd_on: {"dnd": True}, f.dnd_off: {"dnd": False}}
        if changes is None:
            changes = simple.get(digits)
        if digits == f.day_night_toggle and self.on_day_night is not None:
            try:
                state = await self.on_day_night(me.number)
            except Exception as exc:
                log.warning("day/night toggle refused", extra={"error": str(exc)})
                return False
            call.silent = True
            log.info("day/night mode changed by phone", extra={"extension": me.number,
                                                               "mode": state})
            self._tone(call.origin, "stutter", repeat=False)
            await self.wait(call, ("never",), timeout=1.0)
            self._tone(call.origin, "dial")
            await self.wait(call, ("never",))
            return True
        agent_codes = {f.agent_login: "login", f.agent_logout: "logout",
                       f.agent_pause: "pause", f.agent_unpause: "unpause"}
        action, reason = agent_codes.get(digits), "break"
        if digits.startswith(f.agent_pause_reason) and digits.endswith("#"):
            action = "pause"
            reason = PAUSE_REASONS.get(digits[len(f.agent_pause_reason):-1], "")
        if changes is None and action is not None and self.queues is not None:
            agent = self.queues.agent_for_extension(me.number)
            if agent is None or not reason:          # not an agent, or an unknown reason
                return False
            try:
                self.queues.agent_action(agent, action, reason)
            except Exception as exc:      # AcdError: e.g. logging in twice
                log.info("agent action refused", extra={"agent": agent, "error": str(exc)})
                return False
            call.silent = True
            self._tone(call.origin, "stutter", repeat=False)
            await self.wait(call, ("never",), timeout=1.0)
            self._tone(call.origin, "dial")
            await self.wait(call, ("never",))
            return True
        if changes is None:
            return False
        self.settings.update(me.number, **changes)
        call.silent = True
        log.info("extension settings changed", extra={"extension": me.number, **{
            k: str(v) for k, v in changes.items()}})
        self._notify({"type": "extension", "extension": me.number, "changes": changes})
        self._tone(call.origin, "stutter", repeat=False)
        await self.wait(call, ("never",), timeout=1.0)
        self._tone(call.origin, "dial")
        await self.wait(call, ("never",))
        return True

    def _pickup(self, call: Call, target_ext: str | None) -> bool:
        """Take over a ringing call of the same pickup group (or of one extension)."""
        plan = self.dialplan
        me = plan.by_port.get(call.origin.channel.id)
        if me is None:
            return False
        for other in list(self._calls.values()):
            if other is call or other.state != "ringing":
                continue
            for leg in other.legs:
                if leg.state is not LegState.CALLING or leg.channel.kind is not ChannelKind.FXS:
                    continue
                ext = plan.by_port.get(leg.channel.id)
                if ext is None or ext.number == me.number:
                    continue
                if target_ext is not None and ext.number != target_ext:
                    continue
                if target_ext is None and (ext.pickup_group is None
                                           or ext.pickup_group != me.pickup_group):
                    continue
                picker = call.origin
                self._move_leg(picker, call, other, "pickup")
                picker.number = me.number
                picker.answered_at = self.clock()
                other.inbox.put(LegEvent(picker, "answered"))
                log.info("call picked up", extra={"call": other.id, "by": me.number})
                call.cause = Cause.NORMAL_CLEARING
                return True
        return False

    async def _retrieve_parked(self, call: Call, slot: int) -> None:
        parked = self.parked.get(slot)
        if parked is None or parked.retrieved.done():
            await self._fail(call, Cause.UNALLOCATED_NUMBER)
            return
        me = self.dialplan.by_port.get(call.origin.channel.id)
        retriever = call.origin
        self._move_leg(retriever, call, parked.call, "retriever")
        retriever.number = me.number if me else ""
        parked.retrieved.set_result(retriever)

    # -- voicemail --------------------------------------------------------------------------
    async def leave_voicemail(self, call: Call, mailbox: str) -> None:
        """Answer, greet, beep and record the caller's message into ``mailbox``."""
        store, o = self.voicemail, call.origin
        ext = self.dialplan.extensions.get(mailbox)
        if store is None or ext is None or not ext.voicemail:
            call.cause = Cause.USER_BUSY
            return
        await self.answer_origin(call)
        call.state = "voicemail"
        call.route = call.route or f"voicemail {mailbox}"
        self._notify_call(call)
        self.media.leave(o.channel.slot)
        policy = self.dialplan.voicemail
        if len(store.messages(mailbox)) >= policy.max_messages:
            log.warning("mailbox full", extra={"call": call.id, "mailbox": mailbox})
            self.play_prompt(o, "vm-full.wav", fallback="congestion")
            await self.wait(call, ("never",), timeout=self._prompt_seconds("vm-full.wav"))
            call.cause = Cause.NORMAL_CLEARING
            return
        greeting = f"vm-greeting-{mailbox}.wav"
        if self.prompts.load(greeting) is None:
            greeting = "vm-greeting.wav"
        if self.play_prompt(o, greeting, fallback="ringback"):
            greeting_s = self._prompt_seconds(greeting)
        else:
            greeting_s = 1.0                         # one ring's worth as a greeting
        # Any key skips the greeting.
        await self.wait(call, ("digit",), (o,), timeout=greeting_s)
        self._tone(o, "beep", repeat=False)
        await self.wait(call, ("never",), timeout=0.5)
        self.media.stop_playback(o.channel.slot)

        rx = array("h")
        silent = [0.0]

        def keep(frames: array) -> None:
            said = frames[0::2]                      # rx: what the caller says
            rx.extend(said)
            loud = max(max(said), -min(said)) >= VM_SILENCE_PEAK if len(said) else False
            silent[0] = 0.0 if loud else silent[0] + len(said) / 8000

        tap = Tap(self.media, o.channel.slot, keep)
        tap.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.max_message_s
        trim_s = 0.0
        try:
            while (remaining := deadline - loop.time()) > 0:
                ev = await self.wait(call, ("digit", "released"), (o,), min(remaining, 0.5))
                if ev is None:
                    if silent[0] >= policy.max_silence_s:
                        trim_s = silent[0]
                        break
                    continue
                if ev.kind == "released":
                    break
                if ev.digit == "#":
                    trim_s = VM_HASH_TRIM_S
                    break
        finally:
            await tap.stop()
        keep_n = max(0, len(rx) - int(trim_s * 8000))
        pcm = rx[:keep_n]
        if len(pcm) < VM_MIN_MESSAGE_S * 8000:
            log.info("voicemail too short, dropped", extra={"call": call.id,
                                                            "mailbox": mailbox})
        else:
            try:
                msg = store.add(mailbox, pcm, caller=call.caller, ts=self.clock())
            except (VoicemailError, OSError) as exc:
                log.error("voicemail not stored", extra={"call": call.id, "error": str(exc)})
            else:
                o.voicemail = f"{mailbox}/{msg.id}"
                log.info("voicemail left", extra={"call": call.id, "mailbox": mailbox,
                                                  "message": msg.id})
                self._notify({"type": "voicemail", "extension": mailbox, "message": msg.id,
                              "caller": call.caller, "duration_s": msg.duration_s})
                self.mailbox_changed(mailbox)
        call.cause = Cause.NORMAL_CLEARING
        if not o.gone:
            self._tone(o, "beep", repeat=False)      # "thank you", then the box hangs up
            await self.wait(call, ("never",), timeout=0.5)

    async def check_voicemail(self, call: Call, me: Extension) -> None:
        """``*97``: the messages of the phone's own mailbox, new ones first."""
        store, o = self.voicemail, call.origin
        if store is None or not me.voicemail:
            await self._fail(call, Cause.UNALLOCATED_NUMBER)
            return
        call.state = "voicemail"
        call.route = f"voicemail {me.number}"
        self._notify_call(call)
        msgs = store.messages(me.number)
        new = sum(1 for m in msgs if m.status == "new")
        # How many new messages: a prompt if uploaded, else one beep each.
        count_prompt = f"vm-count-{min(new, 10)}.wav"
        if self.play_prompt(o, count_prompt, fallback="busy" if not msgs else "stutter"):
            await self.wait(call, ("never",), timeout=self._prompt_seconds(count_prompt))
        elif new:
            beeps = tones.tone(self.dialplan.country, "beep") * new
            self.media.play_tone(o.channel.slot, beeps, repeat=False)
            await self.wait(call, ("never",), timeout=0.5 * new + 0.5)
        else:
            await self.wait(call, ("never",), timeout=1.0)
        i = 0
        try:
            while i < len(msgs):
                m = msgs[i]
                try:
                    pcm = read_wav_8k(store.path(me.number, m.id))
                except (PromptError, OSError, VoicemailError) as exc:
                    log.error("voicemail unreadable", extra={"message": m.id,
                                                             "error": str(exc)})
                    i += 1
                    continue
                self.media.play_pcm(o.channel.slot, pcm)
                ev = await self.wait(call, ("digit",), (o,), timeout=len(pcm) / 8000 + 5.0)
                self.media.stop_playback(o.channel.slot)
                key = ev.digit if ev is not None else "#"
                if key == "4":
                    continue                         # replay
                if key == "7":
                    store.delete(me.number, m.id)
                    self._tone(o, "beep", repeat=False)
                    await self.wait(call, ("never",), timeout=0.5)
                else:                                # 9 save, # next, * exit: now read
                    if m.status != "saved":
                        store.mark(me.number, m.id, "saved")
                if key == "*":
                    break
                i += 1
        finally:
            self.mailbox_changed(me.number)
        call.cause = Cause.NORMAL_CLEARING

    # -- outbound ---------------------------------------------------------------------------
    def _outbound_allowed(self, ext: Extension, digits: str, route: OutboundRoute) -> bool:
        """Class of service and the toll-fraud guard; every refusal is an alert."""
        plan, toll = self.dialplan, self.dialplan.toll
        number = route.translate(digits)
        cls = classify(number, plan.country)
        reason = None
        if cls == "emergency":
            return True
        if any(number.startswith(p) or digits.startswith(p) for p in toll.blocked_prefixes):
            reason = "blocked prefix"
        elif cls == "international" and not toll.allow_international:
            reason = "international calls are blocked (toll-fraud guard)"
        elif cls == "premium" and not toll.allow_premium:
            reason = "premium-rate numbers are blocked (toll-fraud guard)"
        elif cls != "premium" and not cos_allows(ext.cos, cls):
            reason = f"class of service {ext.cos!r} does not allow {cls} numbers"
        elif sum(1 for c in self._calls.values() if c.direction == "outbound"
                 and c.trunk is not None and c.state != "ended") \
                >= toll.max_outbound_concurrent:
            reason = f"more than {toll.max_outbound_concurrent} outbound calls at once"
        elif not self._rate_ok(self._attempts_ext, ext.number,
                               toll.max_calls_per_hour_extension):
            reason = f"extension {ext.number} made {toll.max_calls_per_hour_extension} " \
                     "outbound calls in the last hour"
        if reason is not None:
            self._alert("outbound call refused", extension=ext.number, number=number,
                        number_class=cls, reason=reason)
            return False
        return True

    def _rate_ok(self, table: dict[str, deque[float]], key: str, per_hour: int) -> bool:
        now = self.clock()
        q = table.setdefault(key, deque())
        while q and q[0] < now - 3600:
            q.popleft()
        if len(q) >= per_hour:
            return False
        q.append(now)
        return True

    def alert(self, message: str, **detail: Any) -> None:
        """An alert raised outside the engine (a SIM disabled for quota...), with its own."""
        self._alert(message, **detail)

    def _alert(self, message: str, **detail: Any) -> None:
        entry = {"type": "alert", "message": message, "ts": self.clock(), **detail}
        self.alerts.append(entry)
        log.warning(message, extra={k: str(v) for k, v in detail.items()})
        self._notify(entry)

    async def dial_external(self, call: Call, number: str, route: OutboundRoute | None = None,
                            caller_ext: Extension | None = None, check_cos: bool = True
                            ) -> Leg | None:
        """Dial an outside number over the route's trunks in order, failing over on busy
        trunks and congestion. Returns the answered leg, or None (call.cause says why)."""
        plan = self.dialplan
        if route is None:
            route = plan.route_outbound(number)
            if route is None:
                call.cause = Cause.NO_ROUTE
                return None
            number = route.translate(number)
        caller = caller_ext.number if caller_ext else call.caller
        call.direction = call.direction if call.direction == "inbound" else "outbound"
        call.state = "ringing"
        self._notify_call(call)
        tried: set[str] = set()
        while True:
            leg = self._dial_route(call, route, number, caller, "callee", exclude=tried)
            if leg is None:
                call.cause = call.cause or Cause.NO_CIRCUIT_AVAILABLE
                return None
            # congestion is the trunk's, not one channel's: the next try is the next trunk
            trunk = self.dialplan.trunk_of_port.get(leg.channel.id)
            tried.update(self.dialplan.trunk_ports.get(trunk or "", ()) or (leg.channel.id,))
            answered = await self._await_outbound(call, [leg])
            if answered is not None:
                return answered
            if call.cause not in (Cause.NO_CIRCUIT_AVAILABLE, Cause.SWITCHING_EQUIPMENT_CONGESTION,
                                  Cause.TEMPORARY_FAILURE, Cause.NETWORK_OUT_OF_ORDER,
                                  Cause.REQUESTED_CHANNEL_UNAVAILABLE):
                return None
            log.info("trunk failed, trying the next", extra={"call": call.id,
                                                             "port": leg.channel.id})
            call.cause = None

    async def _await_outbound(self, call: Call, legs: list[Leg]) -> Leg | None:
        if call.origin.channel.kind is ChannelKind.FXS:
            self._tone(call.origin, "ringback")
        return await self._await_answer(call, legs, self.ring_timeout_s)

    def _dial_route(self, call: Call, route: OutboundRoute, number: str, caller: str,
                    role: str, exclude: set[str] | None = None) -> Leg | None:
        candidates = [(trunk, port) for trunk in route.trunks
                      for port in self.dialplan.trunk_ports.get(trunk, ())]
        policy = self.trunk_policy
        if policy is not None:
            trunk_of = {port: trunk for trunk, port in candidates}
            candidates = [(trunk_of[p], p) for p in policy.order(list(trunk_of), number)
                          if p in trunk_of]
        limited: set[str] = set()
        for trunk, port in candidates:
            ch = self.channels.get(port)
            if trunk in limited or ch is None or not self.channel_free(ch) or (
                    exclude and port in exclude):
                continue
            if not self._rate_ok(self._attempts_trunk, trunk,
                                 self.dialplan.toll.max_calls_per_hour_trunk):
                self._alert("trunk call rate limit reached", trunk=trunk)
                limited.add(trunk)
                continue
            permit = None
            if policy is not None:
                permit = policy.permit(port, number)
                if permit is None:
                    log.info("trunk port refused by the trunk policy",
                             extra={"call": call.id, "port": port})
                    continue
            call.trunk = trunk
            presented = None if route.caller_id == "hidden" else (
                caller if route.caller_id == "extension" else
                route.caller_id if route.caller_id not in ("trunk",) else None)
            log.info("outbound call", extra={"call": call.id, "trunk": trunk,
                                             "port": port, "route": route.name})
            leg = self.place(call, ch, number, role, presented)
            if permit is not None:
                self._permits[leg] = _HeldPermit(port, permit)
            return leg
        return None

    def _arm_permit(self, leg: Leg) -> None:
        """An answered leg under a permit with a talk-time cap: release it at the cap."""
        held = self._permits.get(leg)
        if held is None or held.permit.max_seconds is None or held.timer is not None:
            return
        limit = held.permit.max_seconds

        def expire() -> None:
            entry = self._legs.get(leg.channel.id)
            if entry is None or entry[1] is not leg:
                return
            log.warning("trunk call length limit reached",
                        extra={"call": entry[0].id, "port": held.port, "limit_s": limit})
            self.hangup(leg, Cause.NORMAL_CLEARING)
            entry[0].inbox.put(LegEvent(leg, "released", cause=Cause.NORMAL_CLEARING))

        held.timer = asyncio.get_running_loop().call_later(max(0.0, limit), expire)

    def _permit_done(self, leg: Leg, held: _HeldPermit) -> None:
        if held.timer is not None:
            held.timer.cancel()
        talk = 0.0
        if leg.answered_at is not None:
            talk = max(0.0, (leg.released_at or self.clock()) - leg.answered_at)
        failed = leg.answered_at is None and leg.cause not in _NOT_FAILED
        assert self.trunk_policy is not None
        try:
            self.trunk_policy.finished(held.port, held.permit, talk, failed)
        except Exception:
            log.exception("trunk policy failed to account a call", extra={"port": held.port})

    # -- calls the box places itself ---------------------------------------------------------
    def originate(self, dial: Callable[[Call], Leg | None],
                  script: Callable[[Call], Coroutine[Any, Any, None]], *, caller: str,
                  called: str, route: str) -> Call | None:
        """Start a call the box places itself (a callback, a campaign).

        ``dial(call)`` places the call's first leg (with :meth:`dial_trunk` or
        :meth:`place`), which becomes its origin; ``script(call)`` then runs as the call's
        script. The origin is not *critical* until the script makes it so (after it
        answered), so the script sees its release as an event. The call is outbound and
        its record carries ``route``. None (and no record) when ``dial`` placed nothing.
        """
        now = self.clock()
        call = Call(id=f"{int(now)}-{next(self._seq)}-{uuid.uuid4().hex[:6]}",
                    direction="outbound", caller=caller, start=now,
                    origin=None)  # type: ignore[arg-type]  # set below, before anyone looks
        call.called, call.route = called, route
        leg = dial(call)
        if leg is None:
            for other in call.legs:
                if self._legs.get(other.channel.id, (None, None))[1] is other:
                    self.hangup(other, Cause.NORMAL_CLEARING)
            return None
        call.origin = leg
        self._calls[call.id] = call
        self._start_script(call, script(call))
        self._notify_call(call)
        return call

    def dial_trunk(self, call: Call, trunk: str, number: str, caller_id: str | None = None,
                   role: str = "callee") -> Leg | None:
        """Dial ``number`` (as the trunk expects it) over a free port of ``trunk`` as a
        new leg of ``call``: the toll-fraud guard, the trunk call-rate limit and the trunk
        (SIM) policy apply as to any outbound call. None when refused or no port is free."""
        toll = self.dialplan.toll
        cls = classify(number, self.dialplan.country)
        reason = None
        if any(number.startswith(p) for p in toll.blocked_prefixes):
            reason = "blocked prefix"
        elif cls == "international" and not toll.allow_international:
            reason = "international calls are blocked (toll-fraud guard)"
        elif cls == "premium" and not toll.allow_premium:
            reason = "premium-rate numbers are blocked (toll-fraud guard)"
        elif sum(1 for c in self._calls.values() if c.direction == "outbound"
                 and c.trunk is not None and c.state != "ended" and c is not call) \
                >= toll.max_outbound_concurrent:
            reason = f"more than {toll.max_outbound_concurrent} outbound calls at once"
        if reason is not None:
            self._alert("outbound call refused", number=number, number_class=cls,
                        reason=reason, route=call.route)
            return None
        route = OutboundRoute(name=call.route or "originated", pattern=_ANY, trunks=(trunk,),
                              strip=0, prepend="", caller_id=caller_id or "trunk")
        return self._dial_route(call, route, number, call.caller, role)

    def _dial_trunk_leg(self, call: Call, number: str, caller: str, role: str) -> Leg | None:
        route = self.dialplan.route_outbound(number)
        if route is None:
            return None
        return self._dial_route(call, route, route.translate(number), caller, role)

    def _dial_any_trunk(self, call: Call, number: str, role: str) -> Leg | None:
        """Emergency calls take any free trunk channel, whatever the routes say."""
        for port, trunk in self.dialplan.trunk_of_port.items():
            ch = self.channels.get(port)
            if ch is not None and self.channel_free(ch):
                call.trunk = trunk
                return self.place(call, ch, number, role, call.caller)
        return None

    # -- IVR --------------------------------------------------------------------------------
    async def ivr(self, call: Call, menu_id: str) -> Destination:
        """Play the menu's prompt (interruptible), read a choice; returns where to go."""
        menu = self.dialplan.ivrs[menu_id]
        await self.answer_origin(call)
        call.state = "ivr"
        self._notify_call(call)
        o = call.origin
        plan = self.dialplan
        longest = max([len(k) for k in menu.options] + [1])
        typed = ""
        for _attempt in range(max(1, menu.retries)):
            if not typed:
                self.play_prompt(o, menu.prompt, fallback="dial")
            prompt_s = self._prompt_seconds(menu.prompt) if menu.prompt else 0.0

            def complete(d: str) -> bool:
                # An option that is also the start of an extension waits for the next
                # digit (up to the inter-digit time) before it counts as the option.
                longer = any(k != d and k.startswith(d) for k in menu.options) or (
                    menu.direct_dial and any(n.startswith(d) and n != d
                                             for n in plan.extensions))
                if d in menu.options and not longer:
                    return True
                if menu.direct_dial and d in plan.extensions and not plan.could_be_longer(d):
                    return True
                if not longer and d not in menu.options:
                    return True          # nothing can match any more: invalid at once
                return len(d) >= max(longest, 6)

            digits, _ = await self.collect(call, o, prompt_s + menu.timeout_s,
                                           min(menu.timeout_s, IVR_INTERDIGIT_S), complete,
                                           initial=typed)
            self.media.stop_playback(o.channel.slot)
            if not digits:
                return menu.timeout_destination
            if digits in menu.options:
                return menu.options[digits]
            if menu.direct_dial and digits in plan.extensions:
                return Destination("extension", digits)
            log.info("invalid menu choice", extra={"call": call.id, "menu": menu.id,
                                                    "digits": digits})
            self._tone(o, "congestion", repeat=False)
            # A key pressed during the complaint starts the next try (type-ahead).
            ev = await self.wait(call, ("digit",), (o,), timeout=0.5)
            typed = ev.digit if ev is not None else ""
        return menu.invalid_destination if menu.invalid_destination else HANGUP

    # == plumbing ==========================================================================
    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        async def run() -> None:
            try:
                await coro
            except ChannelError as exc:
                log.warning("channel command refused", extra={"error": str(exc)})
            except Exception:
                log.exception("channel command failed")

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
