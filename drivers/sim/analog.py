"""Simulated analog hardware: a SLIC with a phone on it, a DAA on a phone-company line.

`SimSlic` models the chip the FXS driver programs (line feed, loop-closure detection);
`SimPhone` is the telephone on that line — a person picks it up, presses keys (DTMF
audio), flashes, hangs up, and sees it ring. `SimDaa` models the FXO chip (hook relay,
ring detector, polarity and loop-current sensing); `SimCoLine` is the exchange behind it,
with a far-end caller who rings in, answers our calls, speaks DTMF and hangs up.

Hook and ring changes are delivered on the asyncio loop with the loop's timestamps, like
the interrupt handler of a real chip driver would deliver them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from drivers.analog.chips import HookCallback, LineFeed
from drivers.sim.parties import SimParty


class SimError(ValueError):
    """A simulator command that makes no sense in the device's present state."""


class SimSlic:
    """The SLIC of one FXS port; the phone plugged into it drives its loop state."""

    def __init__(self) -> None:
        self.linefeed = LineFeed.OPEN
        self._loop_closed = False
        self._callback: HookCallback | None = None
        self.ring_bursts = 0

    # chip side (called by the FXS driver)
    def set_linefeed(self, mode: LineFeed) -> None:
        if mode is LineFeed.RINGING and self.linefeed is not LineFeed.RINGING:
            self.ring_bursts += 1
        self.linefeed = mode

    @property
    def off_hook(self) -> bool:
        return self._loop_closed

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
    """An analog phone on a `SimSlic`."""

    def __init__(self, name: str, slic: SimSlic) -> None:
        super().__init__(name)
        self.slic = slic

    @property
    def off_hook(self) -> bool:
        return self.slic.off_hook

    @property
    def ringing(self) -> bool:
        return self.slic.linefeed is LineFeed.RINGING

    def offhook(self) -> None:
        if self.off_hook:
            raise SimError(f"{self.name}: the phone is already off-hook")
        self.reset_ears()
        self.active = True
        self.slic.set_loop(True)

    def onhook(self) -> None:
        if not self.off_hook:
            raise SimError(f"{self.name}: the phone is already on-hook")
        self.active = False
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
        d.update(off_hook=self.off_hook, ringing=self.ringing, ring_bursts=self.slic.ring_bursts,
                 linefeed=str(self.slic.linefeed))
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
    no more: the port must hear it to let go of the line).
    """

    RING_CADENCE = (1.0, 4.0)

    def __init__(self, name: str, daa: SimDaa, reverses_polarity: bool = False,
                 clear_down: str = "cpc", country: str = "EU") -> None:
        super().__init__(name)
        self.clear_down = clear_down
        self.country = country
        self.daa = daa
        daa.line = self
        self.reverses_polarity = reverses_polarity
        self.call_state = "idle"        # idle | ringing | dialing | alerting | active
        self.caller: str | None = None
        self._ring_task: asyncio.Task[None] | None = None

    async def incoming_call(self, caller: str | None) -> None:
        if self.call_state != "idle" or self.daa.off_hook:
            raise SimError(f"{self.name}: the line is busy ({self.call_state})")
        self.caller = caller
        self.call_state = "ringing"
        self._ring_task = asyncio.create_task(self._ring())

    async def _ring(self) -> None:
        try:
            while True:
                self.daa.ring_voltage(True)
                await asyncio.sleep(self.RING_CADENCE[0])
                self.daa.ring_voltage(False)
                await asyncio.sleep(self.RING_CADENCE[1])
        except asyncio.CancelledError:
            self.daa.ring_voltage(False)
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
        else:
            self._stop_ring()
            self.call_state = "idle"
            self.active = False       # (also stops any clear-down tone)

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
        if self.clear_down == "tone" and not self.reverses_polarity:
            # The far caller is gone; the exchange sends busy tone until the line is freed.
            from native.cpt import tone

            self.call_state = "clearing"
            self.stop_talking()
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
        d.update(call_state=self.call_state, caller=self.caller, line_off_hook=self.daa.off_hook)
        return d
