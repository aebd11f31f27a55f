"""Bringing a hung or vanished module back: CFUN reset → power cycle → USB re-attach.

Owns: the escalation ladder for one :class:`~drivers.gsm.modem.GsmModem`, its visible
state (:class:`RecoveryState`), the log of every reset with its reason
(:class:`ResetRecord`), the power key / reset line behind an injected GPIO object, and
finding a USB module again after it re-enumerated — by its IMEI (or the SIM's ICCID),
never by its tty path.
Must not touch: opening devices by itself (the GPIO line and the port opener are handed
in by the composition root: python-periphery's ``GPIO`` on the box, a simulated power key
in tests), the firmware.

The ladder (after aioesphomeapi's reconnect logic: an explicit state and named waits):

``HEALTHY`` ──(health checks missed, or the port vanished)──▶ ``CFUN_RESET``: the dialect's
soft reset (``AT+CFUN=1,1``); wait for the module to answer, initialise.  A module that
does not take the command or stays silent ▶ ``POWER_CYCLE``: press the power key to switch
it off, wait, press it again (or cut and restore its supply, for a reset line); wait for
it to boot, initialise.  A port that closed (a USB module drops off the bus when it
resets) ▶ ``REATTACH``: scan the candidate ports for the module's IMEI/ICCID for
``reattach_window`` seconds; open it, initialise.  Nothing worked ▶ ``FAILED``: wait
``retry_backoff`` (doubling up to ``max_backoff``) and climb the ladder again.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from drivers.gsm.atengine import AtEngine, GsmError
from drivers.gsm.modem import GsmModem

log = logging.getLogger(__name__)


class RecoveryState(enum.StrEnum):
    HEALTHY = "healthy"
    CFUN_RESET = "cfun-reset"
    POWER_CYCLE = "power-cycle"
    REATTACH = "reattach"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ResetRecord:
    """One step taken: when, which, why, and how it ended."""

    ts: float
    step: RecoveryState
    reason: str
    outcome: str  # "recovered", "no answer", "port gone", "not configured", ...

    def to_json(self) -> dict[str, object]:
        return {"ts": self.ts, "step": str(self.step), "reason": self.reason,
                "outcome": self.outcome}


class GpioLine(Protocol):
    """An output line: python-periphery's ``GPIO(path, line, "out")`` has this shape."""

    def write(self, value: bool) -> None: ...

    def close(self) -> None: ...


class PowerKey:
    """A module's power key (or reset / supply line) on a GPIO output.

    ``active_low``: the key is pressed by driving the line low (through the usual
    transistor the line is then active high on the SoC side — say which it is here).
    """

    def __init__(self, line: GpioLine, *, active_low: bool = False) -> None:
        self.line = line
        self.active_low = active_low
        self.line.write(self._level(False))

    def _level(self, pressed: bool) -> bool:
        return pressed != self.active_low

    async def press(self, seconds: float) -> None:
        self.line.write(self._level(True))
        try:
            await asyncio.sleep(seconds)
        finally:
            self.line.write(self._level(False))

    def close(self) -> None:
        self.line.close()


def periphery_gpio(chip: str, line: int) -> GpioLine:
    """The hardware line: ``periphery.GPIO(chip, line, "out")`` (the composition root
    calls this; tests inject a simulated line)."""
    from periphery import GPIO  # imported here: only the box has GPIO chips

    gpio: GpioLine = GPIO(chip, line, "out")
    return gpio


PortLocator = Callable[[], Sequence[str]]
"""Lists the serial ports a module may have come back on (``/dev/serial/by-id/*`` ...)."""
PortOpener = Callable[[str], Awaitable[AtEngine]]


@dataclass(slots=True)
class RecoveryPolicy:
    """Seconds.  Defaults suit real modules (boot times are the dialect's)."""

    answer_wait: float | None = None  # after a reset: None → the dialect's boot_time
    power_off_wait: float = 2.0  # between switching off and on again
    reattach_window: float = 30.0  # how long a USB module may take to re-enumerate
    reattach_interval: float = 1.0
    retry_backoff: float = 30.0
    max_backoff: float = 600.0
    probe_timeout: float = 2.0


@dataclass(slots=True)
class _Trigger:
    reason: str
    port_gone: bool


class ModemRecovery:
    """The recovery of one modem.  ``start()`` watches it; ``recover(reason)`` runs the
    ladder now (the technician's "reset module" button)."""

    def __init__(
        self,
        modem: GsmModem,
        *,
        power_key: PowerKey | None = None,
        locate: PortLocator | None = None,
        open_port: PortOpener | None = None,
        policy: RecoveryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.modem = modem
        self.power_key = power_key
        self.locate = locate
        self.open_port = open_port or AtEngine.open_serial
        self.policy = policy or RecoveryPolicy()
        self.clock = clock
        self.state = RecoveryState.HEALTHY
        self.history: list[ResetRecord] = []
        self.identity = (modem.imei, modem.iccid)
        self._listeners: list[Callable[[ResetRecord], None]] = []
        self._state_listeners: list[Callable[[RecoveryState], None]] = []
        self._trigger: asyncio.Queue[_Trigger] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        modem.on_unresponsive(self._on_unresponsive)
        modem.on_fault(self._on_fault)

    # -- listeners ------------------------------------------------------------------------
    def on_reset(self, listener: Callable[[ResetRecord], None]) -> None:
        """``listener(record)`` after every step (the firmware logs it in the event store)."""
        self._listeners.append(listener)

    def on_state(self, listener: Callable[[RecoveryState], None]) -> None:
        self._state_listeners.append(listener)

    # -- watching -------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"{self.modem.name}-recovery")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _on_unresponsive(self, missed: int) -> None:
        if self.state is RecoveryState.HEALTHY:
            self._trigger.put_nowait(_Trigger(f"{missed} health checks unanswered", False))

    def _on_fault(self, reason: str) -> None:
        if self.state is RecoveryState.HEALTHY and reason.startswith("port closed") \
                and "engine closed" not in reason:
            self._trigger.put_nowait(_Trigger(reason, True))

    async def _run(self) -> None:
        while True:
            trigger = await self._trigger.get()
            # Coalesce triggers that piled up while we were busy.
            while not self._trigger.empty():
                self._trigger.get_nowait()
            await self._ladder(trigger.reason, trigger.port_gone)

    async def recover(self, reason: str) -> bool:
        """Run the ladder once, now; True when the module is back."""
        return await self._ladder(reason, self.modem.engine.closed.is_set())

    # -- the ladder -----------------------------------------------------------------------
    def _set_state(self, state: RecoveryState) -> None:
        if state is self.state:
            return
        self.state = state
        log.info("%s: recovery state %s", self.modem.name, state)
        for listener in list(self._state_listeners):
            try:
                listener(state)
            except Exception:
                log.exception("%s: recovery state listener failed", self.modem.name)

    def _record(self, step: RecoveryState, reason: str, outcome: str) -> None:
        record = ResetRecord(self.clock(), step, reason, outcome)
        self.history.append(record)
        del self.history[:-100]
        log.warning("%s: %s because %s: %s", self.modem.name, step, reason, outcome)
        for listener in list(self._listeners):
            try:
                listener(record)
            except Exception:
                log.exception("%s: reset listener failed", self.modem.name)

    async def _ladder(self, reason: str, port_gone: bool) -> bool:
        if self.modem.imei:
            self.identity = (self.modem.imei, self.modem.iccid or self.identity[1])
        backoff = self.policy.retry_backoff
        while True:
            if not port_gone:
                self._set_state(RecoveryState.CFUN_RESET)
                outcome = await self._cfun_reset()
                self._record(RecoveryState.CFUN_RESET, reason, outcome)
                if outcome == "recovered":
                    break
                port_gone = outcome == "port gone"
            if not port_gone:
                self._set_state(RecoveryState.POWER_CYCLE)
                outcome = await self._power_cycle()
                self._record(RecoveryState.POWER_CYCLE, reason, outcome)
                if outcome == "recovered":
                    break
                port_gone = outcome == "port gone"
            if port_gone:
                self._set_state(RecoveryState.REATTACH)
                outcome = await self._reattach()
                self._record(RecoveryState.REATTACH, reason, outcome)
                if outcome.startswith("recovered"):
                    break
            self._set_state(RecoveryState.FAILED)
            log.error("%s: recovery failed; trying again in %g s", self.modem.name, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.policy.max_backoff)
            port_gone = self.modem.engine.closed.is_set()
        self._set_state(RecoveryState.HEALTHY)
        return True

    def _answer_wait(self) -> float:
        wait = self.policy.answer_wait
        return self.modem.dialect.boot_time if wait is None else wait

    async def _wait_answering(self) -> str:
        """After a reset: poll AT until the module answers, then initialise it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._answer_wait()
        while loop.time() < deadline:
            if self.modem.engine.closed.is_set():
                return "port gone"
            try:
                await self.modem.engine.command("AT", self.policy.probe_timeout)
                break
            except GsmError:
                await asyncio.sleep(0.05)
        else:
            return "no answer"
        return await self._initialise()

    async def _initialise(self) -> str:
        self.modem.expect_reboot(True)
        try:
            await asyncio.sleep(0.1)  # boot URCs settle
            await self.modem.initialise()
        except GsmError as exc:
            if self.modem.engine.closed.is_set():
                return "port gone"
            # A module that answers but is unhappy (no SIM, PIN) is not hung: stop here.
            if self.modem.sim_state in ("NOT INSERTED", "SIM PUK", "PIN REJECTED") \
                    or self.modem.pin_rejected:
                return "recovered"
            return f"initialisation failed: {exc}"
        finally:
            self.modem.expect_reboot(False)
        self.modem.missed_health_checks = 0
        self.modem.start_health_check()
        return "recovered"

    async def _cfun_reset(self) -> str:
        command = self.modem.dialect.reset_command
        self.modem.expect_reboot(True)
        try:
            result = await self.modem.engine.command(command, self.policy.probe_timeout)
        except GsmError:
            self.modem.expect_reboot(False)
            return "port gone" if self.modem.engine.closed.is_set() else "no answer"
        if not result.ok:
            self.modem.expect_reboot(False)
            return f"refused ({result.result})"
        return await self._wait_answering()

    async def _power_cycle(self) -> str:
        if self.power_key is None:
            return "not configured (no power key)"
        pulse = self.modem.dialect.power_key_pulse or 1.0
        self.modem.expect_reboot(True)
        await self.power_key.press(pulse)  # off (a hung module still obeys its key)
        await asyncio.sleep(self.policy.power_off_wait)
        await self.power_key.press(pulse)  # on
        return await self._wait_answering()

    async def _reattach(self) -> str:
        if self.locate is None:
            return "not configured (no port locator)"
        imei, iccid = self.identity
        if not imei and not iccid:
            return "identity unknown (never identified)"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.policy.reattach_window
        while loop.time() < deadline:
            for path in self.locate():
                engine = await self._probe(path, imei, iccid)
                if engine is not None:
                    log.info("%s: found again on %s", self.modem.name, path)
                    await self.modem.attach_engine(engine)
                    outcome = await self._initialise()
                    if outcome == "recovered":
                        return f"recovered on {path}"
                    return outcome
            await asyncio.sleep(self.policy.reattach_interval)
        return f"not found within {self.policy.reattach_window:g} s"

    async def _probe(self, path: str, imei: str | None, iccid: str | None) -> AtEngine | None:
        """Open ``path`` and keep it when the module there is ours."""
        try:
            engine = await self.open_port(path)
        except GsmError:
            return None
        try:
            await engine.command("ATE0", self.policy.probe_timeout)
            result = await engine.command("AT+CGSN", self.policy.probe_timeout)
            found = next((ln.split(":")[-1].strip().strip('"') for ln in result.lines), None)
            if imei and found == imei:
                return engine
            if not imei and iccid:
                result = await engine.command(self.modem.dialect.iccid_command,
                                              self.policy.probe_timeout)
                if any(iccid in ln for ln in result.lines):
                    return engine
        except GsmError:
            pass
        await engine.close()
        return None

    def info(self) -> dict[str, object]:
        return {"state": str(self.state), "resets": [r.to_json() for r in self.history[-10:]],
                "imei": self.identity[0], "iccid": self.identity[1]}


__all__ = [
    "GpioLine",
    "ModemRecovery",
    "PowerKey",
    "RecoveryPolicy",
    "RecoveryState",
    "ResetRecord",
    "periphery_gpio",
]
