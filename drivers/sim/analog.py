"""Simulated analog hardware: a SLIC with a phone on it, a DAA on a phone-company line.

`SimSlic` models the chip the FXS driver programs (line feed, loop-closure detection);
`SimPhone` is the telephone on that line — a person picks it up, presses keys (DTMF
audio), flashes, hangs up, and sees it ring and who calls: like a caller ID phone, it
listens on-hook and decodes the caller ID in the audio it hears with the real receivers
(FSK and DTMF), whatever the standard, keeps the last caller on its display, tells a
ring-pulse alert (RP-AS) from a ring by its length, and lights its message waiting lamp
from the message waiting indications it decodes on the line (nothing else sets it).
`SimDaa` models the FXO chip (hook relay, ring detector, polarity and loop-current
sensing); `SimCoLine` is the exchange behind it, with a far-end caller who rings in (the
exchange sending caller ID the way the country's exchanges do, as audio in the line at
its place in the ring cadence, RP-AS included), answers our calls, speaks DTMF and hangs
up.

Hook and ring changes are delivered on the asyncio loop with the loop's timestamps, like
the interrupt handler of a real chip driver would deliver them.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from collections.abc import Callable
from datetime import datetime
from typing import Any

from drivers.analog import callerid
from drivers.analog.chips import HookCallback, LineFeed
from drivers.sim.parties import CalleeBook, SimParty, play_callee
from native.callerid import CallerId, Receiver, label_fsk

# The longest an RP-AS can precede the end of the caller ID it alerts: 800 ms of gap and
# a long MDMF message (about 2.5 s), with margin.
RP_AS_TO_END_OF_DATA_S = 4.0


class SimError(ValueError):
    """A simulator command that makes no sense in the device's present state."""


class SimSlic:
    """The SLIC of one FXS port; the phone plugged into it drives its loop state.

    It keeps the ring bursts of the call ringing now as a phone's ring detector sees
    them: a burst counts as a ring once it has lasted longer than an alerting pulse can
    (``callerid.ALERT_PULSE_MAX_S``); one that ended sooner was an RP-AS, not a ring."""

    RING_SESSION_GAP_S = 6.0    # longer without ringing: the next burst rings a new call

    def __init__(self) -> None:
        self.linefeed = LineFeed.OPEN
        self._loop_closed = False
        self._callback: HookCallback | None = None
        self._bursts: list[list[float]] = []   # this ring session: [start] or [start, end]
        self._past_rings = 0                   # rings of the sessions before it
        self._ring_end = -1e9
        self.alert_pulses = 0                  # ring-pulse alerts (RP-AS) since power-up
        self.ren_load = 0.0                    # the ringers plugged into the line
        self._last_pulse_end = -1e9

    # chip side (called by the FXS driver)
    def set_linefeed(self, mode: LineFeed) -> None:
        now = time.monotonic()
        if mode is LineFeed.RINGING and self.linefeed is not LineFeed.RINGING:
            if self.rings_ended(now):
                self._past_rings += self._rings(now)
                self._bursts = []
            self._bursts.append([now])
        if self.linefeed is LineFeed.RINGING and mode is not LineFeed.RINGING:
            self._ring_end = now
            if self._bursts:
                burst = self._bursts[-1]
                burst.append(now)
                if now - burst[0] <= callerid.ALERT_PULSE_MAX_S:
                    self.alert_pulses += 1
                    self._last_pulse_end = now
        self.linefeed = mode

    def _rings(self, now: float) -> int:
        """Rings of the ring session: bursts that lasted longer than an alerting pulse."""
        return sum(1 for b in list(self._bursts)
                   if (b[1] if len(b) > 1 else now) - b[0] > callerid.ALERT_PULSE_MAX_S)

    def rings_ended(self, now: float) -> bool:
        """No ringing now nor within RING_SESSION_GAP_S: a call ringing is over."""
        return (self.linefeed is not LineFeed.RINGING
                and now - self._ring_end > self.RING_SESSION_GAP_S)

    @property
    def ring_bursts(self) -> int:
        """Rings since power-up (alerting pulses not counted)."""
        return self._past_rings + self._rings(time.monotonic())

    def rings_of_this_call(self) -> int:
        """Rings of the call ringing now (0 before its first)."""
        now = time.monotonic()
        return 0 if self.rings_ended(now) else self._rings(now)

    def pulse_alerted(self, within_s: float) -> bool:
        """An RP-AS was the last thing on the line, ending at most within_s ago."""
        return (self._last_pulse_end >= self._ring_end
                and time.monotonic() - self._last_pulse_end <= within_s)

    @property
    def off_hook(self) -> bool:
        return self._loop_closed

    def measure_ren(self) -> float:
        """The line test: the ringer load of what is plugged in (the phone's REN)."""
        return self.ren_load

    def on_hook_change(self, callback: HookCallback) -> None:
        self._callback = callback

    # line side (called by the phone)
    def set_loop(self, closed: bool) -> None:
        if closed == self._loop_closed:
            return
        self._loop_closed = closed
        if self._callback is not None:
            self._callback(closed, asyncio.get_running_loop().time())


class SimPhone(SimParty):
    """An analog phone on a `SimSlic`, with a caller ID display. It can be unplugged from
    the line (it then loads, hears and says nothing) and plugged in again."""

    REN = 1.0             # a classic phone's ringer load

    def __init__(self, name: str, slic: SimSlic) -> None:
        super().__init__(name)
        self.slic = slic
        self.plugged = True
        slic.ren_load = self.REN
        # Type 1 (on-hook) caller ID unit: one FSK receiver (it decodes Bell 202 and V.23
        # alike; the mark frequency tells them apart) and one DTMF receiver.
        self._cid_rx = (Receiver("v23"), Receiver("dtmf"))
        self.caller_id: dict[str, Any] | None = None      # the display: the last caller
        self.lamp = False                 # message waiting lamp, as the line last set it
        self.lamp_messages: int | None = None             # with the count, when sent
        self.lamp_updates = 0             # message waiting indications decoded

    @property
    def listening(self) -> bool:
        return True             # on-hook the caller ID unit listens; off-hook the handset

    def hear(self, pcm: array) -> None:
        if not self.plugged:
            return
        if self.active:
            super().hear(pcm)
            return
        for rx in self._cid_rx:
            for found in rx.feed(pcm):
                self._show(found)

    def speak(self, n: int) -> array | None:
        if self.active:
            return super().speak(n)
        return None             # on-hook: nothing into the line

    def _show(self, cid: CallerId) -> None:
        if not cid.valid:
            return
        cid = label_fsk(cid)
        with self._lock:
            if cid.message_waiting is not None:        # the lamp, not the display
                self.lamp, self.lamp_messages = cid.message_waiting, cid.messages
                self.lamp_updates += 1
                return
            # after_rings: rings before it arrived (0: sent before the first ring);
            # rp_as: an RP-AS came just before it (its gap, the data: under 4 s)
            self.caller_id = {"number": cid.number, "name": cid.name,
                              "datetime": cid.datetime, "standard": cid.standard,
                              "absence": cid.absence,
                              "after_rings": self.slic.rings_of_this_call(),
                              "rp_as": self.slic.pulse_alerted(RP_AS_TO_END_OF_DATA_S)}

    @property
    def off_hook(self) -> bool:
        return self.slic.off_hook

    @property
    def ringing(self) -> bool:
        return self.plugged and self.slic.linefeed is LineFeed.RINGING

    def unplug(self) -> None:
        """Pull the phone's cord: its loop opens (a hang-up if it was off-hook) and the
        line has no ringer on it."""
        if not self.plugged:
            raise SimError(f"{self.name}: the phone is already unplugged")
        if self.off_hook:
            self.onhook()
        self.plugged = False
        self.slic.ren_load = 0.0

    def plug(self) -> None:
        if self.plugged:
            raise SimError(f"{self.name}: the phone is already plugged in")
        self.plugged = True
        self.slic.ren_load = self.REN

    def offhook(self) -> None:
        if not self.plugged:
            raise SimError(f"{self.name}: the phone is unplugged")
        if self.off_hook:
            raise SimError(f"{self.name}: the phone is already off-hook")
        self.reset_ears()
        self.active = True
        self.slic.set_loop(True)

    def onhook(self) -> None:
        if not self.off_hook:
            raise SimError(f"{self.name}: the phone is already on-hook")
        self.active = False               # the display keeps the last caller
        for rx in self._cid_rx:
            rx.reset()
        self.slic.set_loop(False)

    async def flash(self, open_ms: int = 300) -> None:
        if not self.off_hook:
            raise SimError(f"{self.name}: flash needs the phone off-hook")
        self.slic.set_loop(False)
        await asyncio.sleep(open_ms / 1000)
        self.slic.set_loop(True)

    async def pulse_dial(self, digits: str, break_ms: int = 60, make_ms: int = 40,
                         gap_ms: int = 600) -> None:
        """Rotary dialing: loop breaks, ten per second, a pause between digits."""
        if not self.off_hook:
            raise SimError(f"{self.name}: dialing needs the phone off-hook")
        for d in digits:
            if not d.isdigit():
                raise SimError(f"{self.name}: a rotary dial has no '{d}'")
            for _ in range(int(d) or 10):
                self.slic.set_loop(False)
                await asyncio.sleep(break_ms / 1000)
                self.slic.set_loop(True)
                await asyncio.sleep(make_ms / 1000)
            await asyncio.sleep(gap_ms / 1000)

    def describe(self) -> dict[str, object]:
        d = super().describe()
        with self._lock:
            shown = dict(self.caller_id) if self.caller_id else None
            lamp = {"on": self.lamp, "messages": self.lamp_messages,
                    "updates": self.lamp_updates}
        d.update(off_hook=self.off_hook, ringing=self.ringing, plugged=self.plugged,
                 ring_bursts=self.slic.ring_bursts,
                 alert_pulses=self.slic.alert_pulses, linefeed=str(self.slic.linefeed),
                 caller_id=shown, message_waiting_lamp=lamp)
        return d


class SimDaa:
    """The DAA of one FXO port, wired to a `SimCoLine`."""

    def __init__(self) -> None:
        self._off_hook = False
        self.line: SimCoLine | None = None
        self._ring_cb: Callable[[bool, float], None] | None = None
        self._pol_cb: Callable[[int, float], None] | None = None
        self._lc_cb: Callable[[bool, float], None] | None = None

    def set_hook(self, off_hook: bool) -> None:
        if off_hook == self._off_hook:
            return
        self._off_hook = off_hook
        if self.line is not None:
            self.line.hook_changed(off_hook)

    @property
    def off_hook(self) -> bool:
        return self._off_hook

    def on_ring(self, callback: Callable[[bool, float], None]) -> None:
        self._ring_cb = callback

    def on_polarity(self, callback: Callable[[int, float], None]) -> None:
        self._pol_cb = callback

    def on_loop_current(self, callback: Callable[[bool, float], None]) -> None:
        self._lc_cb = callback

    # line side
    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def ring_voltage(self, present: bool) -> None:
        if self._ring_cb:
            self._ring_cb(present, self._now())

    def polarity(self, value: int) -> None:
        if self._pol_cb:
            self._pol_cb(value, self._now())

    def loop_current(self, present: bool) -> None:
        if self._lc_cb:
            self._lc_cb(present, self._now())


class SimCoLine(SimParty):
    """The exchange side of an analog line plus the person at the other end of the call.

    ``reverses_polarity`` models exchanges that signal answer and clear-down by polarity
    reversal; without it the exchange signals clear-down by a loop-current break (CPC) or,
    with ``clear_down="tone"``, only by sending busy tone (many exchanges and PBX lines do
    no more: the port must hear it to let go of the line), or, with
    ``clear_down="silence"``, by nothing at all: the line just goes quiet.
    """

    def __init__(self, name: str, daa: SimDaa, reverses_polarity: bool = False,
                 clear_down: str = "cpc", country: str = "EU", clip: bool = True,
                 caller_id: str = "auto") -> None:
        super().__init__(name)
        self.clear_down = clear_down
        self.country = country
        self.clip = clip                # the line subscribes to caller ID presentation
        self.caller_id = caller_id      # how the exchange sends it (callerid.SETTINGS)
        self.daa = daa
        daa.line = self
        self.reverses_polarity = reverses_polarity
        self.call_state = "idle"        # idle | ringing | dialing | alerting | active
        self.caller: str | None = None
        self.caller_name: str | None = None
        self._ring_task: asyncio.Task[None] | None = None
        self._cid_audio = array("h")     # caller ID still to send into the line
        self.callees: CalleeBook | None = None     # called parties with a behaviour
        self._callee_task: asyncio.Task[None] | None = None

    @property
    def ring_cadence(self) -> tuple[float, ...]:
        from drivers.analog.fxs import RING_CADENCES

        return RING_CADENCES.get(self.country, RING_CADENCES["EU"])

    @property
    def listening(self) -> bool:
        with self._lock:
            sending = bool(self._cid_audio)
        return self.active or sending

    def speak(self, n: int) -> array | None:
        with self._lock:
            if self._cid_audio:
                out = self._cid_audio[:n]
                del self._cid_audio[:n]
                return out + array("h", bytes(2 * (n - len(out))))
        return super().speak(n)

    async def incoming_call(self, caller: str | None, name: str | None = None) -> None:
        """A call rings in; caller None: the caller withheld the number."""
        if self.call_state != "idle" or self.daa.off_hook:
            raise SimError(f"{self.name}: the line is busy ({self.call_state})")
        self.caller = caller
        self.caller_name = name
        self.call_state = "ringing"
        mode = callerid.resolve(self.country, self.caller_id) if self.clip else "off"
        data = callerid.signal(mode, callerid.Presentation(caller, name, caller is None),
                               datetime.now(), self.country) if mode != "off" else array("h")
        self._ring_task = asyncio.create_task(self._ring(mode, data))

    async def _ring(self, mode: str, data: array) -> None:
        reversed_ = False
        try:
            for step in callerid.ring_program(mode, self.ring_cadence, len(data) / 8000):
                if step.action == "send":
                    with self._lock:
                        self._cid_audio = array("h", data)
                elif step.feed == "ringing":
                    self.daa.ring_voltage(True)
                elif step.feed == "reverse":
                    reversed_ = True
                    self.daa.polarity(-1)
                else:
                    self.daa.ring_voltage(False)
                    if reversed_:
                        reversed_ = False
                        self.daa.polarity(+1)
                if step.hold_s > 0:
                    await asyncio.sleep(step.hold_s)
            while True:
                for i, duration in enumerate(self.ring_cadence):
                    self.daa.ring_voltage(i % 2 == 0)
                    await asyncio.sleep(duration)
        except asyncio.CancelledError:
            with self._lock:
                self._cid_audio = array("h")
            self.daa.ring_voltage(False)
            if reversed_:
                self.daa.polarity(+1)
            raise

    def _stop_ring(self) -> None:
        if self._ring_task is not None:
            self._ring_task.cancel()
            self._ring_task = None

    def hook_changed(self, off_hook: bool) -> None:
        if off_hook:
            if self.call_state == "ringing":
                self._stop_ring()
                self.call_state = "active"
                self.reset_ears()
                self.active = True
            elif self.call_state == "idle":
                self.call_state = "dialing"     # the box seized the line to call out
                self.reset_ears()
                self.active = True
                if self.callees is not None:
                    self._callee_task = asyncio.get_running_loop().create_task(
                        self._exchange_connects())
        else:
            if self._callee_task is not None:
                self._callee_task.cancel()
                self._callee_task = None
            self._stop_ring()
            self.call_state = "idle"
            self.active = False       # (also stops any clear-down tone)

    async def _exchange_connects(self) -> None:
        """The exchange takes the dialled number (digits, then 0.5 s without one) and puts
        the call through to the callee: ringback, busy or SIT tone on the line, as a plain
        analog line signals them; answer by polarity reversal where the line has it."""
        from native.cpt import tone

        heard = ""
        while True:
            await asyncio.sleep(0.5)
            if self.heard_digits and self.heard_digits == heard:
                break
            heard = self.heard_digits
        assert self.callees is not None
        callee = self.callees.lookup(heard)
        if callee is None or self.call_state != "dialing":
            return
        self.call_state = "alerting"
        if callee.kind in ("human", "machine", "no_answer"):
            self.play_tone(tone(self.country, "ringback"))
        await play_callee(callee, _LineCallee(self))

    @property
    def dialed_number(self) -> str:
        return self.heard_digits if self.call_state in ("dialing", "alerting", "active") else ""

    async def far_answer(self) -> None:
        if self.call_state not in ("dialing", "alerting"):
            raise SimError(f"{self.name}: no outgoing call to answer ({self.call_state})")
        self.call_state = "active"
        if self.reverses_polarity:
            self.daa.polarity(-1)

    async def far_hangup(self) -> None:
        if self.call_state == "ringing":
            self._stop_ring()
            self.call_state = "idle"
            return
        if self.call_state == "idle":
            raise SimError(f"{self.name}: no call to hang up")
        if self.clear_down in ("tone", "silence") and not self.reverses_polarity:
            # The far caller is gone; the exchange sends busy tone (or nothing) until the
            # line is freed.
            from native.cpt import tone

            self.call_state = "clearing"
            self.stop_talking()
            if self.clear_down == "tone":
                self.play_tone(tone(self.country, "busy"))
            return
        self.call_state = "idle"
        self.active = False
        if self.reverses_polarity:
            self.daa.polarity(+1)
        else:
            self.daa.loop_current(False)
            await asyncio.sleep(0.3)
            self.daa.loop_current(True)

    def describe(self) -> dict[str, object]:
        d = super().describe()
        d.update(call_state=self.call_state, caller=self.caller, caller_name=self.caller_name,
                 clip=self.clip, line_off_hook=self.daa.off_hook)
        return d


class _LineCallee:
    """An analog line's far end as a callee script drives it: tones, polarity, CPC."""

    def __init__(self, line: SimCoLine) -> None:
        self.line = line
        self.party: SimParty = line

    async def answer(self) -> None:
        self.line.stop_talking()              # ringback stops
        await self.line.far_answer()

    async def refuse(self, kind: str) -> None:
        from native.cpt import tone

        self.line.play_tone(tone(self.line.country, "busy" if kind == "busy" else "sit"))

    async def hangup(self) -> None:
        await self.line.far_hangup()

    def in_call(self) -> bool:
        return self.line.call_state not in ("idle", "clearing")
