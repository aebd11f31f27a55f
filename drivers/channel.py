"""The uniform channel interface: what the call engine sees of every port, whatever it is.

A *channel* is one call-carrying port: an FXS port (a phone), an FXO port (an analog line),
a GSM module (one SIM), or one B-channel of an E1 span. Each has one media slot in the
native media engine (its audio) and a signalling side modelled on Q.931's call states,
which every technology can be mapped onto:

=================  =======================================================================
 ChannelSetup       a new call *from* this channel: an incoming call on a trunk (caller and
                    called number where the technology carries them), or an FXS phone going
                    off-hook to dial (``called`` is ``None``: the engine collects digits)
 ChannelProgress    the far end of a call placed on this channel is ringing ("alerting")
 ChannelAnswered    the far end of a call placed on this channel answered (FXS: the phone
                    went off-hook while ringing)
 ChannelReleased    the far end released the call, with a Q.850 cause
 ChannelFlash       hook flash on an FXS port
 ChannelDigits      digits signalled *out of band* (pulse dialing, overlap digits on PRI);
                    in-band DTMF is never an event here: the media engine detects it
 ChannelIdle        the channel is free again (FXS: the phone is back on-hook)
 ChannelStatus      in/out of service (registration lost, alarm, SIM removed...)
=================  =======================================================================

Commands go the other way: :meth:`Channel.place_call` (ring a phone, or dial out on a
trunk), :meth:`Channel.answer`, :meth:`Channel.release`, :meth:`Channel.send_digits`.

Drivers emit events through the sink handed to :meth:`Channel.bind`; they never import the
firmware. A driver must survive any command in any state: a command that makes no sense
in the current state raises :class:`ChannelError` and leaves the channel as it was.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass


class ChannelKind(enum.StrEnum):
    FXS = "fxs"
    FXO = "fxo"
    GSM = "gsm"
    PRI = "pri"

    @property
    def is_trunk(self) -> bool:
        return self is not ChannelKind.FXS


class ChannelState(enum.StrEnum):
    """Call state of a channel (after Q.931's U0..U19, reduced to what every port has)."""

    IDLE = "idle"                  # no call
    INBOUND = "inbound"            # a call from this channel is being set up (not answered)
    OUTBOUND = "outbound"          # a call placed on this channel, no answer yet
    ALERTING = "alerting"          # placed call: far end ringing
    ACTIVE = "active"              # answered, audio flowing
    RELEASING = "releasing"        # released by us, waiting for the port to become free
    OUT_OF_SERVICE = "out_of_service"


class Cause(enum.IntEnum):
    """Release causes, ITU-T Q.850 values."""

    UNALLOCATED_NUMBER = 1
    NO_ROUTE = 3
    NORMAL_CLEARING = 16
    USER_BUSY = 17
    NO_USER_RESPONSE = 18
    NO_ANSWER = 19
    CALL_REJECTED = 21
    INVALID_NUMBER_FORMAT = 28
    NORMAL_UNSPECIFIED = 31
    NO_CIRCUIT_AVAILABLE = 34
    NETWORK_OUT_OF_ORDER = 38
    TEMPORARY_FAILURE = 41
    SWITCHING_EQUIPMENT_CONGESTION = 42
    REQUESTED_CHANNEL_UNAVAILABLE = 44
    OUTGOING_CALLS_BARRED = 52
    INCOMING_CALLS_BARRED = 54
    SERVICE_UNAVAILABLE = 63
    RECOVERY_ON_TIMER_EXPIRY = 102
    INTERWORKING = 127


@dataclass(frozen=True, slots=True)
class ChannelEvent:
    channel_id: str


@dataclass(frozen=True, slots=True)
class ChannelSetup(ChannelEvent):
    caller: str | None = None        # None: unknown; "" never used
    caller_name: str | None = None
    called: str | None = None        # None: the technology carries none (FXO) or digits follow
    caller_withheld: bool = False


@dataclass(frozen=True, slots=True)
class ChannelProgress(ChannelEvent):
    pass


@dataclass(frozen=True, slots=True)
class ChannelAnswered(ChannelEvent):
    pass


@dataclass(frozen=True, slots=True)
class ChannelReleased(ChannelEvent):
    cause: Cause = Cause.NORMAL_CLEARING


@dataclass(frozen=True, slots=True)
class ChannelFlash(ChannelEvent):
    pass


@dataclass(frozen=True, slots=True)
class ChannelDigits(ChannelEvent):
    digits: str = ""


@dataclass(frozen=True, slots=True)
class ChannelIdle(ChannelEvent):
    pass


@dataclass(frozen=True, slots=True)
class ChannelStatus(ChannelEvent):
    in_service: bool = True
    detail: str = ""


EventSink = Callable[[ChannelEvent], None]


class ChannelError(Exception):
    """A command the channel cannot carry out in its current state, or a port fault."""


class Channel(ABC):
    """One call-carrying port. Subclasses live in drivers/<technology>."""

    kind: ChannelKind

    def __init__(self, channel_id: str, slot: int) -> None:
        self.id = channel_id
        self.slot = slot                 # media slot index in the native engine
        self.state = ChannelState.IDLE
        self._sink: EventSink | None = None

    # -- wiring ---------------------------------------------------------------------------
    def bind(self, sink: EventSink) -> None:
        """Hand the channel the callable that receives its events (on the event loop)."""
        self._sink = sink

    def emit(self, event: ChannelEvent) -> None:
        if self._sink is not None:
            self._sink(event)

    async def start(self) -> None:  # noqa: B027 (a hook: most ports need nothing)
        """Bring the port up (open devices, initialise the chip). Default: nothing."""

    async def stop(self) -> None:  # noqa: B027 (a hook: most ports need nothing)
        """Release any call cleanly and close the port. Default: nothing."""

    # -- commands -------------------------------------------------------------------------
    @abstractmethod
    async def place_call(
        self, called: str | None, caller: str | None = None, caller_name: str | None = None,
        *, caller_withheld: bool = False,
    ) -> None:
        """Ring the phone (FXS; ``called`` ignored) or dial ``called`` out on a trunk.
        ``caller`` None with ``caller_withheld`` means the caller asked for privacy (caller
        ID says 'private'); without it, that the number is unknown ('unavailable')."""

    @abstractmethod
    async def answer(self) -> None:
        """Answer the call this channel offered with ChannelSetup."""

    @abstractmethod
    async def release(self, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        """Hang up / reject / stop ringing. Safe to call in any state."""

    async def send_digits(self, digits: str) -> None:
        """Send digits out of band (GSM AT+VTS, PRI INFO). In-band DTMF is the engine's."""
        raise ChannelError(f"{self.id}: out-of-band digits are not supported on {self.kind}")

    # -- observation ----------------------------------------------------------------------
    def describe(self) -> dict[str, object]:
        """A JSON-able snapshot for the UI, the console and the API."""
        return {"id": self.id, "kind": str(self.kind), "slot": self.slot,
                "state": str(self.state)}
