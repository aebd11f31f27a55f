"""FXS port driver: one analog phone on a SLIC.

What it owns: the phone's hook as the call engine should see it. Raw loop-closure changes
from the chip are classified by how long the loop stayed open:

==================  ==========================  =====================================
 open for            while                       means
==================  ==========================  =====================================
 < 20 ms             any                         contact bounce: ignored
 20 – 90 ms          off-hook, dialing allowed   one dial pulse (rotary phone)
 90 – 700 ms         off-hook                    hook flash (ChannelFlash)
 > 700 ms            off-hook                    hang-up (on-hook)
==================  ==========================  =====================================

So an on-hook is reported 700 ms after the loop opened (that is how every PBX tells a flash
from a hang-up). Pulses are counted into a digit that ends when the loop has stayed closed
for 300 ms (10 pulses = "0"), and reported as ChannelDigits.

Ringing follows the country's cadence, switching the SLIC between RINGING and FORWARD feed;
the phone going off-hook during ringing (ring trip) answers. The driver never touches audio:
dial tone, ringback and busy tone are media-engine playbacks the call engine starts.
"""

from __future__ import annotations

import asyncio
import logging

from drivers.analog.chips import LineFeed, SlicChip
from drivers.channel import (
    Cause,
    Channel,
    ChannelAnswered,
    ChannelDigits,
    ChannelError,
    ChannelFlash,
    ChannelIdle,
    ChannelKind,
    ChannelReleased,
    ChannelSetup,
    ChannelState,
)

log = logging.getLogger(__name__)

BOUNCE_S = 0.020
PULSE_MAX_S = 0.090
FLASH_MAX_S = 0.700
PULSE_DIGIT_GAP_S = 0.300

# Ringing cadences (on, off, on, off... seconds), repeated. Country plans: ETSI ES 201 970
# and the national specifications summarised in ITU-T E.180 Supplement 2.
RING_CADENCES: dict[str, tuple[float, ...]] = {
    "RU": (0.8, 3.2),
    "UA": (1.0, 4.0),
    "EU": (1.0, 4.0),
    "PL": (1.0, 4.0),
    "DE": (1.0, 4.0),
    "UK": (0.4, 0.2, 0.4, 2.0),
    "US": (2.0, 4.0),
}


class FxsPort(Channel):
    kind = ChannelKind.FXS

    def __init__(self, channel_id: str, slot: int, chip: SlicChip, country: str = "EU") -> None:
        super().__init__(channel_id, slot)
        self.chip = chip
        self.country = country
        self._loop: asyncio.AbstractEventLoop | None = None
        self._off_hook = False            # debounced, as reported upward
        self._opened_at: float | None = None
        self._hangup_timer: asyncio.TimerHandle | None = None
        self._pulses = 0
        self._pulse_timer: asyncio.TimerHandle | None = None
        self._ring_task: asyncio.Task[None] | None = None
        self.ringing = False
        self.caller_id: tuple[str | None, str | None] | None = None
        self._locked_out = False          # released by us while the phone is still off-hook
        chip.on_hook_change(self._on_hook_change)

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.chip.set_linefeed(LineFeed.FORWARD)
        self._off_hook = self.chip.off_hook
        self.state = ChannelState.IDLE

    async def stop(self) -> None:
        self._stop_ringing()
        for timer in (self._hangup_timer, self._pulse_timer):
            if timer is not None:
                timer.cancel()
        self.chip.set_linefeed(LineFeed.OPEN)

    # -- commands -------------------------------------------------------------------------
    async def place_call(
        self, called: str | None, caller: str | None = None, caller_name: str | None = None
    ) -> None:
        if self.state is not ChannelState.IDLE or self._off_hook:
            raise ChannelError(f"{self.id}: cannot ring, port is {self.state}"
                               + (" and off-hook" if self._off_hook else ""))
        self.state = ChannelState.ALERTING
        self.caller_id = (caller, caller_name)
        self.ringing = True
        self._ring_task = asyncio.create_task(self._ring(), name=f"ring-{self.id}")
        log.debug("ringing", extra={"port": self.id, "caller": caller})

    async def answer(self) -> None:
        # An FXS phone answers by going off-hook; a call *from* the phone is already
        # "answered" in the sense that the line is connected. Nothing to do.
        if self.state is not ChannelState.INBOUND:
            raise ChannelError(f"{self.id}: nothing to answer in state {self.state}")
        self.state = ChannelState.ACTIVE

    async def release(self, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        self._stop_ringing()
        if self._off_hook:
            # The phone is still off-hook: the call is over for the engine, the port waits
            # for the phone to hang up (the engine plays busy/howler tone meanwhile).
            self._locked_out = True
            self.state = ChannelState.RELEASING
        else:
            self._set_idle()

    # -- observation ----------------------------------------------------------------------
    def describe(self) -> dict[str, object]:
        d = super().describe()
        d.update(off_hook=self._off_hook, ringing=self.ringing)
        return d

    # -- internals ------------------------------------------------------------------------
    async def _ring(self) -> None:
        cadence = RING_CADENCES.get(self.country, RING_CADENCES["EU"])
        try:
            while True:
                for i, duration in enumerate(cadence):
                    self.chip.set_linefeed(LineFeed.RINGING if i % 2 == 0 else LineFeed.FORWARD)
                    await asyncio.sleep(duration)
        except asyncio.CancelledError:
            self.chip.set_linefeed(LineFeed.FORWARD)
            raise

    def _stop_ringing(self) -> None:
        self.ringing = False
        self.caller_id = None
        if self._ring_task is not None:
            self._ring_task.cancel()
            self._ring_task = None
            self.chip.set_linefeed(LineFeed.FORWARD)

    def _set_idle(self) -> None:
        was_idle = self.state is ChannelState.IDLE
        self.state = ChannelState.IDLE
        self._locked_out = False
        if not was_idle:
            self.emit(ChannelIdle(self.id))

    def _loop_time(self) -> float:
        loop = self._loop or asyncio.get_event_loop()
        return loop.time()

    def _on_hook_change(self, off_hook: bool, ts: float) -> None:
        loop = self._loop or asyncio.get_event_loop()
        if not off_hook:
            # Loop opened: a pulse, a flash or a hang-up, told apart by how long it stays open.
            if self._opened_at is None:
                self._opened_at = ts
                if self._off_hook:
                    self._hangup_timer = loop.call_later(FLASH_MAX_S, self._confirm_on_hook)
                else:
                    self._opened_at = None
            return
        # Loop closed.
        opened_at, self._opened_at = self._opened_at, None
        if self._hangup_timer is not None:
            self._hangup_timer.cancel()
            self._hangup_timer = None
        if not self._off_hook:
            self._went_off_hook()
            return
        if opened_at is None:
            return
        open_for = ts - opened_at
        if open_for < BOUNCE_S:
            return
        if open_for < PULSE_MAX_S:
            self._pulse()
        elif open_for <= FLASH_MAX_S:
            self.emit(ChannelFlash(self.id))

    def _pulse(self) -> None:
        if self.state is not ChannelState.INBOUND:
            return  # pulses only mean digits while dialing
        self._pulses += 1
        if self._pulse_timer is not None:
            self._pulse_timer.cancel()
        loop = self._loop or asyncio.get_event_loop()
        self._pulse_timer = loop.call_later(PULSE_DIGIT_GAP_S, self._pulse_digit_done)

    def _pulse_digit_done(self) -> None:
        count, self._pulses = self._pulses, 0
        self._pulse_timer = None
        if 1 <= count <= 10:
            self.emit(ChannelDigits(self.id, digits=str(count % 10)))

    def _went_off_hook(self) -> None:
        self._off_hook = True
        if self.state is ChannelState.ALERTING:
            self._stop_ringing()
            self.state = ChannelState.ACTIVE
            self.emit(ChannelAnswered(self.id))
        elif self.state is ChannelState.IDLE:
            self.state = ChannelState.INBOUND
            self.emit(ChannelSetup(self.id, caller=None, called=None))

    def _confirm_on_hook(self) -> None:
        self._hangup_timer = None
        self._opened_at = None
        self._off_hook = False
        if self._pulse_timer is not None:
            self._pulse_timer.cancel()
            self._pulse_timer = None
            self._pulses = 0
        if self._locked_out or self.state is ChannelState.RELEASING:
            self._set_idle()
            return
        if self.state in (ChannelState.INBOUND, ChannelState.ACTIVE):
            self.state = ChannelState.RELEASING
            self.emit(ChannelReleased(self.id, cause=Cause.NORMAL_CLEARING))
            self._set_idle()
