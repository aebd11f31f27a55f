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
the phone going off-hook during ringing (ring trip) answers. Dial tone, ringback and busy
tone are media-engine playbacks the call engine starts; the one audio this driver plays
itself is on-hook caller ID, because only it knows the ring cadence the data must fit in:
the first ring cycle follows ``callerid.ring_program`` (data after the first ring, or line
reversal + alert + data before it, per the country or the ``caller_id`` setting), and the
encoded transmission is played on the port's slot through the injected `CallerIdSender`
(the media engine). Going off-hook during the transmission stops it and answers.

The line test: with ``line_test_s`` set, every that many seconds an idle, on-hook, quiet
line is measured (``SlicChip.measure_ren``): under ``MIN_PHONE_REN`` no phone is plugged
in. A change is reported as ``ChannelStatus`` (``in_service`` False: "no phone on the
line"; True again when a phone is back, or at once when the line goes off-hook, which only
a phone can do). The port keeps working meanwhile (a phone plugged in and picked up gets
dial tone at once); the status tells the call engine, the ACD and the UI not to count on it.

The other on-hook transmission is the message waiting indication (the phone's lamp):
:meth:`FxsPort.set_message_waiting` says what the lamp should show; the port sends it
(``callerid.mwi_program``: alert per mode, then the FSK message) only while the line is
idle and the phone on-hook, ``MWI_SETTLE_S`` after the line last became so: never during
ringing or a call. A state that cannot go now waits, and a newer state replaces it. A
call to ring, or the phone going off-hook, cuts a transmission in progress; it is sent
again, whole, when the line is quiet again.
"""

from __future__ import annotations

import asyncio
import logging
from array import array
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drivers.analog import callerid
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
    ChannelStatus,
)

log = logging.getLogger(__name__)

BOUNCE_S = 0.020
PULSE_MAX_S = 0.090
FLASH_MAX_S = 0.700
PULSE_DIGIT_GAP_S = 0.300
# Quiet line before a message waiting transmission: after a hang-up a phone takes up to
# about a second to re-arm its on-hook data receiver, and a caller may ring back at once.
MWI_SETTLE_S = 1.5
# The least ringer load that is a phone: one modern phone is 0.1–1 REN, an open line ~0.
MIN_PHONE_REN = 0.05

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


_FEEDS = {"ringing": LineFeed.RINGING, "forward": LineFeed.FORWARD,
          "reverse": LineFeed.REVERSE}


class CallerIdSender(Protocol):
    """The media plane's playback on a slot (native.media.MediaEngine fits)."""

    def play_pcm(self, slot: int, pcm: callerid.PcmArray) -> None: ...

    def stop_playback(self, slot: int) -> None: ...


class FxsPort(Channel):
    kind = ChannelKind.FXS

    def __init__(self, channel_id: str, slot: int, chip: SlicChip, country: str = "EU",
                 media: CallerIdSender | None = None, caller_id: str = "auto",
                 timezone: str | None = None,
                 wall_clock: Callable[[tzinfo | None], datetime] = datetime.now,
                 line_test_s: float | None = None) -> None:
        super().__init__(channel_id, slot)
        self.line_test_s = line_test_s
        self.phone_present: bool | None = None    # by the last line test (None: not run)
        self._line_test_task: asyncio.Task[None] | None = None
        self.chip = chip
        self.country = country
        self.media = media
        self.caller_id_setting = caller_id
        self._tz: tzinfo | None = None
        self._wall_clock = wall_clock
        self.configure(timezone=timezone)
        self._cid_until: float | None = None   # loop time the transmission in progress ends
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
        self.message_waiting: int | None = None   # the lamp to show: messages (0: off)
        self._mwi_due = False             # message_waiting not yet sent
        self._mwi_task: asyncio.Task[None] | None = None
        self.mwi_sent = 0                 # message waiting transmissions completed
        chip.on_hook_change(self._on_hook_change)

    # -- settings -------------------------------------------------------------------------
    def configure(self, country: str | None = None, caller_id: str | None = None,
                  timezone: str | None = None) -> None:
        """Live settings (country: cadence and caller ID default; caller_id: a
        ``callerid.SETTINGS`` value; timezone for the date/time sent). Applies from the
        next call; a call ringing now keeps its program."""
        if caller_id is not None:
            callerid.resolve(country or self.country, caller_id)     # ValueError if bad
            self.caller_id_setting = caller_id
        if country is not None:
            self.country = country
        if timezone is not None:
            try:
                self._tz = ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("unknown time zone: caller ID sends local time",
                            extra={"port": self.id, "timezone": timezone})
                self._tz = None

    @property
    def caller_id_mode(self) -> callerid.Mode:
        return "off" if self.media is None else callerid.resolve(self.country,
                                                                  self.caller_id_setting)

    @property
    def caller_id_sending(self) -> bool:
        """A caller ID transmission is on the line now."""
        return self._cid_until is not None and self._loop_time() < self._cid_until

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.chip.set_linefeed(LineFeed.FORWARD)
        self._off_hook = self.chip.off_hook
        self.state = ChannelState.IDLE
        self._kick_mwi()
        if self.line_test_s:
            self._line_test_task = self._loop.create_task(self._line_tests(),
                                                          name=f"line-test-{self.id}")

    async def stop(self) -> None:
        if self._line_test_task is not None:
            self._line_test_task.cancel()
            self._line_test_task = None
        self._cancel_mwi()
        self._stop_ringing()
        for timer in (self._hangup_timer, self._pulse_timer):
            if timer is not None:
                timer.cancel()
        self.chip.set_linefeed(LineFeed.OPEN)

    # -- commands -------------------------------------------------------------------------
    async def place_call(
        self, called: str | None, caller: str | None = None, caller_name: str | None = None,
        *, caller_withheld: bool = False,
    ) -> None:
        if self.state is not ChannelState.IDLE or self._off_hook:
            raise ChannelError(f"{self.id}: cannot ring, port is {self.state}"
                               + (" and off-hook" if self._off_hook else ""))
        mode = self.caller_id_mode
        data = array("h")
        if mode != "off":
            who = callerid.Presentation(caller or None, caller_name, caller_withheld)
            try:
                data = callerid.signal(mode, who, self._wall_clock(self._tz), self.country)
            except ValueError as exc:   # a number the standard cannot carry: ring without
                log.warning("caller ID not sent", extra={"port": self.id, "error": str(exc)})
        self._cancel_mwi()                # the call comes first; the lamp goes later
        self.state = ChannelState.ALERTING
        self.caller_id = (caller, caller_name)
        self.ringing = True
        self._ring_task = asyncio.create_task(self._ring(mode, data), name=f"ring-{self.id}")
        log.debug("ringing", extra={"port": self.id, "caller": caller, "caller_id": mode})

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

    def set_message_waiting(self, messages: int) -> None:
        """The lamp the phone should show: on with `messages` (> 0) new messages, off with
        0. Sent when the line is quiet (see the module docstring); calling it again with
        the same value sends it again (a refresh)."""
        if messages < 0:
            raise ValueError(f"{self.id}: messages waiting {messages} < 0")
        self.message_waiting = messages
        self._mwi_due = True
        if self._mwi_task is not None:           # replace a transmission of the old state
            self._cancel_mwi()
        self._kick_mwi()

    # -- observation ----------------------------------------------------------------------
    def describe(self) -> dict[str, object]:
        d = super().describe()
        d.update(off_hook=self._off_hook, ringing=self.ringing,
                 phone_present=self.phone_present,
                 caller_id_mode=self.caller_id_mode, caller_id_sending=self.caller_id_sending,
                 message_waiting=self.message_waiting, message_waiting_pending=self._mwi_due)
        return d

    # -- internals ------------------------------------------------------------------------
    async def _run_program(self, steps: list[callerid.RingStep],
                           data: callerid.PcmArray) -> None:
        for step in steps:
            if step.action == "send":
                self._send_caller_id(data)
            else:
                self.chip.set_linefeed(_FEEDS[step.feed or "forward"])
            if step.hold_s > 0:
                await asyncio.sleep(step.hold_s)

    def _quiet(self) -> bool:
        """On-hook, idle, not ringing: on-hook data not associated with ringing may go."""
        return (self.state is ChannelState.IDLE and not self._off_hook
                and self._opened_at is None and self._ring_task is None)

    async def _line_tests(self) -> None:
        assert self.line_test_s
        while True:
            await asyncio.sleep(self.line_test_s)
            if not self._quiet() or self._mwi_task is not None:
                continue                         # only an idle, silent, on-hook line
            try:
                ren = self.chip.measure_ren()
            except OSError as exc:
                log.warning("line test failed", extra={"port": self.id, "error": str(exc)})
                continue
            self._phone_seen(ren >= MIN_PHONE_REN, f"line test: {ren:.2f} REN")

    def _phone_seen(self, present: bool, why: str) -> None:
        if present == self.phone_present:
            return
        first = self.phone_present is None
        self.phone_present = present
        if first and present:
            return                               # as expected: nothing to report
        log.info("phone %s", "back on the line" if present else "gone from the line",
                 extra={"port": self.id, "detail": why})
        self.emit(ChannelStatus(self.id, present,
                                f"phone on the line ({why})" if present
                                else f"no phone on the line ({why})"))

    def _kick_mwi(self) -> None:
        if self._mwi_due and self._mwi_task is None and self._quiet() and self._loop:
            self._mwi_task = self._loop.create_task(self._send_mwi(), name=f"mwi-{self.id}")

    def _cancel_mwi(self) -> None:
        """Cut a message waiting transmission (it stays due) and restore the feed."""
        task, self._mwi_task = self._mwi_task, None
        if task is not None:
            task.cancel()
            self._mwi_due = True
            self._stop_caller_id()
            self.chip.set_linefeed(LineFeed.FORWARD)

    async def _send_mwi(self) -> None:
        try:
            await asyncio.sleep(MWI_SETTLE_S)
            mode, messages = self.caller_id_mode, self.message_waiting or 0
            if not self._quiet():
                return                           # sent when the line is quiet again
            data = callerid.mwi_signal(mode, messages, self._wall_clock(self._tz))
            self._mwi_due = False
            if not data:
                log.info("message waiting lamp not sent: caller ID is off on this port",
                         extra={"port": self.id})
                return
            log.debug("message waiting", extra={"port": self.id, "messages": messages,
                                                "caller_id": mode})
            await self._run_program(callerid.mwi_program(mode, len(data) / 8000), data)
            self.chip.set_linefeed(LineFeed.FORWARD)
            self.mwi_sent += 1
        finally:
            if asyncio.current_task() is self._mwi_task:
                self._mwi_task = None

    async def _ring(self, mode: str, data: callerid.PcmArray) -> None:
        cadence = RING_CADENCES.get(self.country, RING_CADENCES["EU"])
        try:
            await self._run_program(callerid.ring_program(mode, cadence, len(data) / 8000),
                                    data)
            while True:
                for i, duration in enumerate(cadence):
                    self.chip.set_linefeed(LineFeed.RINGING if i % 2 == 0 else LineFeed.FORWARD)
                    await asyncio.sleep(duration)
        except asyncio.CancelledError:
            self._stop_caller_id()
            self.chip.set_linefeed(LineFeed.FORWARD)
            raise

    def _send_caller_id(self, data: callerid.PcmArray) -> None:
        if self.media is None or not data:
            return
        try:
            self.media.play_pcm(self.slot, data)
        except ValueError as exc:          # slot disabled or closed: ring without it
            log.warning("caller ID not sent", extra={"port": self.id, "error": str(exc)})
            return
        self._cid_until = self._loop_time() + len(data) / 8000 + 0.1

    def _stop_caller_id(self) -> None:
        """Cut a transmission still in progress (the phone answered, or the call went)."""
        until, self._cid_until = self._cid_until, None
        if until is not None and self.media is not None and self._loop_time() < until:
            try:
                self.media.stop_playback(self.slot)
            except ValueError:
                pass

    def _stop_ringing(self) -> None:
        self.ringing = False
        self.caller_id = None
        self._stop_caller_id()
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
        self._kick_mwi()

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
        if self.phone_present is False:
            self._phone_seen(True, "off-hook")   # only a phone closes the loop
        self._cancel_mwi()                # the handset must not hear the data
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
