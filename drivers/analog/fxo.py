"""FXO port driver: one analog line from the phone company, on a DAA.

Incoming calls: ringing voltage bursts are seen by the DAA. An analog line carries no
called number (``called`` is None: the call is routed by line), and its caller ID is audio:
the media engine runs an on-hook caller ID receiver on the port's slot (configured by this
driver for the line's mode, see drivers/analog/callerid.py) and the box hands each message
to :meth:`FxoPort.caller_id_received`. The call is offered (ChannelSetup) as soon as the
caller is known:

==========================================  ============================================
 what happened                               ChannelSetup
==========================================  ============================================
 caller ID before the first ring (DT-AS,      on the first ring, with it
 DTMF; within ``PENDING_CID_S``)
 first ring, caller ID mode "off"             on the first ring, caller unknown
 first ring, then caller ID                   when the caller ID arrives
 first ring, no caller ID                     on the second ring, caller unknown
==========================================  ============================================

A first burst of ringing that ends within ``callerid.ALERT_PULSE_MAX_S`` is a ring-pulse
alerting signal (RP-AS: caller ID follows it before the ringing), not a ring: the line
stays idle and waits for the data, so the first ring is counted only once a burst has
lasted longer than that (the call is offered that much later: 0.35 s). Message waiting
indications the exchange sends to the line are logged and kept in ``describe()``, never
taken for a caller. Ring bursts less than ``RING_BURST_GAP_S`` apart are one ring (the
UK's double ring). If
the ringing stops for longer than ``RING_GONE_S`` before we answer, the caller gave up
(ChannelReleased, NORMAL_CLEARING, if the call was offered).

Outgoing calls: seize (go off-hook), wait for dial tone, dial the number in-band as DTMF
through the media engine, and report the call as alerting. Where the exchange reverses loop
polarity on answer, that is the answer signal; otherwise the call counts as answered when
dialing ends (there is no other signal on an analog line).

Far-end disconnect: a loop-current interruption (CPC / open-loop disconnect) or a second
polarity reversal releases the call. Tone-based supervision (busy/congestion and silence)
is the media plane's part and arrives through :meth:`far_end_gone`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from drivers.analog import callerid
from drivers.analog.chips import DaaChip
from drivers.channel import (
    Cause,
    Channel,
    ChannelAnswered,
    ChannelError,
    ChannelIdle,
    ChannelKind,
    ChannelProgress,
    ChannelReleased,
    ChannelSetup,
    ChannelState,
)

log = logging.getLogger(__name__)

RING_GONE_S = 6.5          # longer than any country's ring pause
DIAL_TONE_WAIT_S = 0.6     # seize-to-dial delay (dial tone detection comes with the CPD)
CPC_MIN_S = 0.09           # a loop-current break at least this long is a disconnect
RING_BURST_GAP_S = 1.0     # bursts closer than this are one ring (UK: 0.4 on 0.2 off 0.4 on)
PENDING_CID_S = 8.0        # caller ID before ringing belongs to a first ring this soon after


class InbandDialer(Protocol):
    """The media plane's DTMF generator for a slot (native.media.MediaEngine fits)."""

    def play_dtmf(self, slot: int, digits: str, on_ms: int = 80, off_ms: int = 80,
                  level_dbm0: float = -10.0) -> None: ...


class CallerIdReceiver(Protocol):
    """The media plane's per-slot on-hook caller ID receiver (MediaEngine fits)."""

    def configure_cid(self, slot: int, standard: str | None,
                      threshold_dbm0: float | None = None) -> None: ...


class CallerIdMessage(Protocol):
    """A received caller ID (native.callerid.CallerId fits)."""

    @property
    def number(self) -> str | None: ...

    @property
    def name(self) -> str | None: ...

    @property
    def absence(self) -> str | None: ...

    @property
    def valid(self) -> bool: ...

    @property
    def message_waiting(self) -> bool | None: ...


class FxoPort(Channel):
    kind = ChannelKind.FXO

    def __init__(self, channel_id: str, slot: int, chip: DaaChip, dialer: InbandDialer,
                 answer_on_polarity: bool = False, receiver: CallerIdReceiver | None = None,
                 country: str = "EU", caller_id: str = "auto") -> None:
        super().__init__(channel_id, slot)
        self.chip = chip
        self.dialer = dialer
        self.receiver = receiver
        self.answer_on_polarity = answer_on_polarity
        self.country = country
        self.caller_id_setting = caller_id
        self._ring_gone: asyncio.TimerHandle | None = None
        self._dial_task: asyncio.Task[None] | None = None
        self._loop_break_at: float | None = None
        self._ring_off_at: float | None = None      # last end of ringing voltage
        self._pending_cid: tuple[CallerIdMessage, float] | None = None  # before ringing
        self._offered = False                       # ChannelSetup sent for this call
        self.last_caller_id: dict[str, object] | None = None
        self.message_waiting: bool | None = None   # the exchange's indication, if any
        self.rings = 0
        self.alert_pulses = 0                      # RP-AS seen (since start)
        # a first burst on an idle line, not yet long enough for a ring: (start, timer)
        self._burst: tuple[float, asyncio.TimerHandle] | None = None
        chip.on_ring(self._on_ring)
        chip.on_polarity(self._on_polarity)
        chip.on_loop_current(self._on_loop_current)

    async def start(self) -> None:
        self.chip.set_hook(False)
        self.state = ChannelState.IDLE
        self._configure_receiver()

    # -- settings -------------------------------------------------------------------------
    def configure(self, country: str | None = None, caller_id: str | None = None) -> None:
        """Live settings: the country (caller ID default) and the caller ID setting
        (``callerid.SETTINGS``); the receiver follows at once."""
        if caller_id is not None:
            callerid.resolve(country or self.country, caller_id)     # ValueError if bad
            self.caller_id_setting = caller_id
        if country is not None:
            self.country = country
        self._configure_receiver()

    @property
    def caller_id_mode(self) -> callerid.Mode:
        return "off" if self.receiver is None else callerid.resolve(self.country,
                                                                    self.caller_id_setting)

    def _configure_receiver(self) -> None:
        if self.receiver is not None:
            self.receiver.configure_cid(self.slot,
                                        callerid.receiver_standard(self.caller_id_mode))

    async def stop(self) -> None:
        await self.release()

    # -- commands -------------------------------------------------------------------------
    async def place_call(
        self, called: str | None, caller: str | None = None, caller_name: str | None = None,
        *, caller_withheld: bool = False,
    ) -> None:
        if self.state is not ChannelState.IDLE:
            raise ChannelError(f"{self.id}: line busy ({self.state})")
        if not called:
            raise ChannelError(f"{self.id}: no number to dial")
        self.state = ChannelState.OUTBOUND
        self.chip.set_hook(True)
        self._dial_task = asyncio.create_task(self._dial(called), name=f"dial-{self.id}")

    async def answer(self) -> None:
        if self.state is not ChannelState.INBOUND:
            raise ChannelError(f"{self.id}: nothing to answer in state {self.state}")
        self._cancel_ring_gone()
        self.chip.set_hook(True)
        self.state = ChannelState.ACTIVE

    async def release(self, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        self._cancel_ring_gone()
        if self._dial_task is not None:
            self._dial_task.cancel()
            self._dial_task = None
        if self.state is ChannelState.IDLE:
            return
        if self.state is ChannelState.INBOUND and cause is not Cause.NORMAL_CLEARING:
            # Rejecting an analog call means answering and hanging up at once; leaving it
            # ringing is the only gentler option. Do the latter: the line stays on-hook.
            pass
        self.chip.set_hook(False)
        self._set_idle()

    def far_end_gone(self, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        """Tone/silence supervision from the media plane says the far end hung up."""
        if self.state in (ChannelState.ACTIVE, ChannelState.ALERTING, ChannelState.OUTBOUND):
            self._far_released(cause)

    def caller_id_received(self, cid: CallerIdMessage) -> None:
        """The media plane decoded a caller ID message on this line."""
        loop = asyncio.get_event_loop()
        if not cid.valid:
            log.info("caller ID arrived corrupt", extra={"port": self.id})
            return
        if cid.message_waiting is not None:
            self.message_waiting = cid.message_waiting
            log.info("message waiting indication from the exchange",
                     extra={"port": self.id, "on": cid.message_waiting})
            return
        self.last_caller_id = {"number": cid.number, "name": cid.name,
                               "absence": cid.absence}
        if self.state is ChannelState.IDLE:
            self._pending_cid = (cid, loop.time())       # data before the first ring
        elif self.state is ChannelState.INBOUND and not self._offered:
            self._offer(cid)

    def describe(self) -> dict[str, object]:
        d = super().describe()
        d.update(off_hook=self.chip.off_hook, rings=self.rings, alert_pulses=self.alert_pulses,
                 caller_id_mode=self.caller_id_mode, last_caller_id=self.last_caller_id,
                 message_waiting=self.message_waiting)
        return d

    # -- internals ------------------------------------------------------------------------
    async def _dial(self, number: str) -> None:
        await asyncio.sleep(DIAL_TONE_WAIT_S)
        self.dialer.play_dtmf(self.slot, number)
        await asyncio.sleep(len(number) * 0.16 + 0.1)
        self._dial_task = None
        if self.state is ChannelState.OUTBOUND:
            self.state = ChannelState.ALERTING
            self.emit(ChannelProgress(self.id))
            if not self.answer_on_polarity:
                self.state = ChannelState.ACTIVE
                self.emit(ChannelAnswered(self.id))

    def _on_ring(self, ringing: bool, ts: float) -> None:
        loop = asyncio.get_event_loop()
        if not ringing:
            self._ring_off_at = ts
            started = self._cancel_burst()
            if started is None:
                return
            if ts - started <= callerid.ALERT_PULSE_MAX_S:    # too short for a ring: RP-AS
                self.alert_pulses += 1
                log.debug("ring-pulse alert", extra={"port": self.id})
                return
            ts = started                             # it was the first ring after all
        elif self.state is ChannelState.IDLE:
            if self._burst is None:
                self._burst = (ts, loop.call_later(callerid.ALERT_PULSE_MAX_S,
                                                   self._first_ring))
            return
        self._ring(loop, ts)

    def _cancel_burst(self) -> float | None:
        """Forget a first burst not yet counted; when it started, if there was one."""
        burst, self._burst = self._burst, None
        if burst is None:
            return None
        burst[1].cancel()
        return burst[0]

    def _first_ring(self) -> None:
        """A first burst outlasted an alerting pulse: it is the first ring."""
        started = self._cancel_burst()
        if started is not None and self.state is ChannelState.IDLE:
            self._ring(asyncio.get_event_loop(), started)

    def _ring(self, loop: asyncio.AbstractEventLoop, ts: float) -> None:
        if self.state is ChannelState.IDLE:
            self.rings = 1
            self.state = ChannelState.INBOUND
            self._offered = False
            pending, self._pending_cid = self._pending_cid, None
            if pending is not None and loop.time() - pending[1] <= PENDING_CID_S:
                self._offer(pending[0])
            elif self.caller_id_mode == "off":
                self._offer(None)
        elif self.state is ChannelState.INBOUND:
            gap = None if self._ring_off_at is None else ts - self._ring_off_at
            if gap is None or gap >= RING_BURST_GAP_S:
                self.rings += 1
                if not self._offered:
                    log.info("no caller ID before the second ring", extra={"port": self.id})
                    self._offer(None)
        else:
            return
        self._cancel_ring_gone()
        self._ring_gone = loop.call_later(RING_GONE_S, self._caller_gave_up)

    def _offer(self, cid: CallerIdMessage | None) -> None:
        self._offered = True
        withheld = cid is not None and cid.absence == "P"
        self.emit(ChannelSetup(self.id, caller=cid.number if cid else None,
                               caller_name=cid.name if cid else None, called=None,
                               caller_withheld=withheld))

    def _caller_gave_up(self) -> None:
        self._ring_gone = None
        if self.state is ChannelState.INBOUND:
            if self._offered:
                self.emit(ChannelReleased(self.id, cause=Cause.NORMAL_CLEARING))
            else:
                log.info("the line stopped ringing before the call was offered",
                         extra={"port": self.id})
            self._set_idle()

    def _on_polarity(self, polarity: int, ts: float) -> None:
        if self.state is ChannelState.ALERTING and self.answer_on_polarity and polarity < 0:
            self.state = ChannelState.ACTIVE
            self.emit(ChannelAnswered(self.id))
        elif self.state is ChannelState.ACTIVE and self.answer_on_polarity and polarity > 0:
            self._far_released(Cause.NORMAL_CLEARING)

    def _on_loop_current(self, present: bool, ts: float) -> None:
        if not self.chip.off_hook:
            return
        if not present:
            self._loop_break_at = ts
            loop = asyncio.get_event_loop()
            loop.call_later(CPC_MIN_S, self._check_cpc, ts)
        else:
            self._loop_break_at = None

    def _check_cpc(self, started: float) -> None:
        if self._loop_break_at == started and self.state is not ChannelState.IDLE:
            log.info("loop current interrupted: far end disconnected", extra={"port": self.id})
            self._far_released(Cause.NORMAL_CLEARING)

    def _far_released(self, cause: Cause) -> None:
        if self._dial_task is not None:
            self._dial_task.cancel()
            self._dial_task = None
        self.emit(ChannelReleased(self.id, cause=cause))
        self.chip.set_hook(False)
        self._set_idle()

    def _cancel_ring_gone(self) -> None:
        if self._ring_gone is not None:
            self._ring_gone.cancel()
            self._ring_gone = None

    def _set_idle(self) -> None:
        self._cancel_burst()
        was = self.state
        self.state = ChannelState.IDLE
        self._loop_break_at = None
        self._offered = False
        self._pending_cid = None
        if was is not ChannelState.IDLE:
            self.emit(ChannelIdle(self.id))
