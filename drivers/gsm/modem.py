"""The GSM modem driver and the GSM channel (one SIM = one call-carrying trunk port).

Owns: bringing a module up over an :class:`~drivers.gsm.atengine.AtEngine` (echo off,
errors numeric, caller ID on, identity, SIM and PIN, registration, operator, signal),
keeping its service state from URCs and a periodic health check, and mapping voice calls
onto the uniform channel interface (:mod:`drivers.channel`).
Must not touch: serial devices (the engine is handed in: the composition root opens the
port), audio (the module's voice path is the channel's media ``slot``; the native media
engine carries it), the firmware.

Decisions worth knowing:

* **PIN**: a configured PIN is tried exactly once per :class:`GsmModem` object. A rejected
  PIN is never retried (three wrong tries lock the SIM behind its PUK); the modem reports
  ``pin_rejected`` and stays out of service until someone fixes the configuration.
* **Call waiting** is switched off in the network (``AT+CCWA=0,0``), not only its URC:
  one SIM carries one call, so a second caller must get busy, not endless ringback.
* **Incoming calls**: RING repeats every few seconds; ``ChannelSetup`` is emitted once per
  call, on the first ``+CLIP`` or ``ring_grace`` after the first RING if no ``+CLIP``
  came. A caller giving up before answer is noticed from NO CARRIER or from the call
  vanishing from ``AT+CLCC``.
* **Call progress** comes from ``AT+CLCC`` polling while a call exists (every module has
  it) and from dialect URCs where a module has them (Huawei ``^CONF``/``^CONN``/``^CEND``).
  When a call vanishes from the list, ``cause_grace`` is given to a NO CARRIER / BUSY /
  NO ANSWER line to arrive with a better cause than NORMAL_CLEARING.
* **Errors after a command was accepted** (a timeout, the port going away) are reported
  as channel events (``ChannelReleased`` with a cause, then ``ChannelIdle``), never raised:
  a :class:`~drivers.channel.ChannelError` always means nothing changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import enum
import logging
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal, Protocol

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
    ChannelStatus,
)
from drivers.gsm.atengine import (
    AtEngine,
    AtResult,
    AtTimeout,
    CommandAborted,
    GsmError,
    PortClosed,
)
from drivers.gsm.atparser import Urc
from drivers.gsm.dialects import DEFAULT_DIALECT, Dialect, dialect_for, parse_iccid
from drivers.gsm.sms import SmsService
from drivers.gsm.ussd import UssdService

log = logging.getLogger(__name__)


class SimError(GsmError):
    """The SIM is missing, locked or refused."""


class PinError(SimError):
    """The SIM wants a PIN we do not have, rejected ours, or wants its PUK."""


class Registration(enum.IntEnum):
    """``<stat>`` of +CREG (27.007 §7.2)."""

    NOT_REGISTERED = 0
    HOME = 1
    SEARCHING = 2
    DENIED = 3
    UNKNOWN = 4
    ROAMING = 5

    @property
    def in_service(self) -> bool:
        return self in (Registration.HOME, Registration.ROAMING)


def rssi_to_dbm(rssi: int) -> int | None:
    """+CSQ ``<rssi>`` → dBm: 0 → −113 dBm, n → −113 + 2n, 31 → −51 dBm; 99 → unknown."""
    if not 0 <= rssi <= 31:
        return None
    return -113 + 2 * rssi


def _fields(args: str) -> list[str]:
    """Comma-separated AT arguments, quotes removed: ``"+4477",145,,0`` → [+4477, 145, , 0]."""
    try:
        return [part.strip() for part in next(csv.reader([args], skipinitialspace=True))]
    except (csv.Error, StopIteration):
        return [part.strip().strip('"') for part in args.split(",")]


def _int(text: str, default: int | None = None) -> int | None:
    try:
        return int(text)
    except ValueError:
        return default


ServiceListener = Callable[[bool, str], None]
FaultListener = Callable[[str], None]
UnresponsiveListener = Callable[[int], None]

UNRESPONSIVE_AFTER = 2
"""Missed health checks in a row after which the module counts as hung (recovery starts)."""


class GsmModem:
    """One GSM module behind an AT engine: lifecycle, identity, SIM, registration, signal.

    ``dialect=None`` picks the dialect from AT+CGMI/AT+CGMM (SIMCom if unknown).
    ``own_number`` is the SIM's MSISDN as configured (SIMs rarely store it reliably).
    """

    def __init__(
        self,
        engine: AtEngine,
        name: str,
        *,
        dialect: Dialect | None = None,
        pin: str | None = None,
        own_number: str | None = None,
        command_timeout: float = 5.0,
        health_interval: float = 30.0,
        health_timeout: float = 2.0,
        sim_ready_wait: float = 5.0,
    ) -> None:
        self.engine = engine
        self.name = name
        self.dialect = dialect or DEFAULT_DIALECT
        self._auto_dialect = dialect is None
        self.pin = pin
        self.own_number = own_number
        self.command_timeout = command_timeout
        self.health_interval = health_interval
        self.health_timeout = health_timeout
        self.sim_ready_wait = sim_ready_wait
        # What the module told us.
        self.manufacturer: str | None = None
        self.model: str | None = None
        self.revision: str | None = None
        self.imei: str | None = None
        self.imsi: str | None = None
        self.iccid: str | None = None
        self.sim_state = "UNKNOWN"  # READY, SIM PIN, SIM PUK, NOT INSERTED, NOT READY...
        self.pin_rejected = False  # sticky: never try the same PIN twice
        self.registration: Registration | None = None
        self.operator: str | None = None
        self.rssi: int | None = None
        # Health.
        self.initialised = False
        self.init_error: str | None = None
        self.missed_health_checks = 0
        self.restarts_seen = 0
        self._service: tuple[bool, str] | None = None
        self._service_listeners: list[ServiceListener] = []
        self._fault_listeners: list[FaultListener] = []
        self._unresponsive_listeners: list[UnresponsiveListener] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._health_task: asyncio.Task[None] | None = None
        self._health_wanted = False
        self._reboot_expected = False  # a reset we asked for: recovery initialises
        # URC subscriptions live here, not only on the engine: a re-attached module gets a
        # new engine and every subscriber (channel, SMS, USSD) keeps its handlers.
        self._urc_handlers: list[tuple[str, Callable[[Urc], None]]] = []
        self._engine_unsubscribe: list[Callable[[], None]] = []
        self._unsubscribe = [
            self.on_urc("+CREG", self._on_creg),
            self.on_urc("+CPIN", self._on_cpin),
            self.on_urc("RDY", self._on_restart),
            self.on_urc("^SYSSTART", self._on_restart),
            self.on_urc("^RSSI", self._on_rssi),
        ]
        self._port_watch = self._spawn(self._watch_port(engine), "port-watch")
        self.sms = SmsService(self)
        self.ussd = UssdService(self)

    # -- URC subscriptions (survive an engine swap) ---------------------------------------
    def on_urc(self, name: str, handler: Callable[[Urc], None]) -> Callable[[], None]:
        """Route URCs called ``name`` to ``handler`` on this module, whichever port (engine)
        it is on now or after a re-attach; returns an unsubscriber."""
        entry = (name, handler)
        self._urc_handlers.append(entry)
        self._engine_unsubscribe.append(self.engine.on_urc(name, handler))

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                index = self._urc_handlers.index(entry)
                del self._urc_handlers[index]
                self._engine_unsubscribe.pop(index)()

        return unsubscribe

    async def attach_engine(self, engine: AtEngine) -> None:
        """Carry on over another port (a module that re-enumerated under another tty, found
        again by its IMEI): handlers move over, the old engine is closed.  The caller then
        runs :meth:`initialise`."""
        old = self.engine
        for unsubscribe in self._engine_unsubscribe:
            unsubscribe()
        self.engine = engine
        self._engine_unsubscribe = [engine.on_urc(n, h) for n, h in self._urc_handlers]
        engine.add_urcs(self.dialect.extra_urcs | self.dialect.boot_urcs)
        if old is not engine:
            self._port_watch.cancel()
            await old.close()
        self._port_watch = self._spawn(self._watch_port(engine), "port-watch")
        self.missed_health_checks = 0
        if self._health_wanted:
            self.start_health_check()

    # -- listeners ----------------------------------------------------------------------
    def on_service(self, listener: ServiceListener) -> None:
        """``listener(in_service, detail)`` whenever service starts or stops."""
        self._service_listeners.append(listener)

    def on_fault(self, listener: FaultListener) -> None:
        """``listener(reason)`` when the module restarted or its port went away: any call
        it carried is gone."""
        self._fault_listeners.append(listener)

    def on_unresponsive(self, listener: UnresponsiveListener) -> None:
        """``listener(missed)`` each time the health check misses its answer
        :data:`UNRESPONSIVE_AFTER` times or more in a row: the module is hung."""
        self._unresponsive_listeners.append(listener)

    # -- commands -----------------------------------------------------------------------
    async def command(self, command: str, timeout: float | None = None) -> AtResult:
        return await self.engine.command(command, timeout or self.command_timeout)

    async def _ok(self, command: str, timeout: float | None = None) -> AtResult:
        return (await self.command(command, timeout)).check(command)

    # -- lifecycle ----------------------------------------------------------------------
    async def initialise(self) -> None:
        """Bring the module to a known state and read everything the UI shows.

        Raises :class:`PinError` when the SIM is locked and cannot be unlocked (no PIN,
        PIN rejected now or before, PUK), :class:`AtTimeout`/:class:`PortClosed` when the
        module does not talk. A missing SIM is not an error: the modem is up, out of service.
        """
        self.initialised = False
        self.init_error = None
        try:
            await self._sync()
            # It answers: health checks missed before (a hang recovery just cured) no longer
            # count, or the service reported at the end would still say "not answering".
            self.missed_health_checks = 0
            await self._ok("ATE0")
            await self._ok("AT+CMEE=1")
            await self._identify()
            if self._auto_dialect:
                self.dialect = dialect_for(self.manufacturer or "", self.model or "")
            self.engine.add_urcs(self.dialect.extra_urcs | self.dialect.boot_urcs)
            await self._ok("AT+CLIP=1")
            await self._ok("AT+CRC=1")
            for command in self.dialect.init_commands:
                await self._ok(command)
            if await self._unlock_sim():
                await self._read_sim_identity()
                await self._ok("AT+CREG=1")
                await self.refresh_registration()
                # Call waiting off in the network (needs service; retried at next init).
                result = await self.command("AT+CCWA=0,0")
                if not result.ok:
                    log.info("%s: could not switch call waiting off: %s", self.name, result.result)
                await self.sms.setup()
            await self.refresh_signal()
            self.initialised = True
        except GsmError as exc:
            self.init_error = str(exc)
            raise
        finally:
            self._update_service()

    async def _sync(self) -> None:
        """A module just powered up answers its first AT late or after noise: retry."""
        for attempt in range(3):
            try:
                await self.engine.command("AT", min(self.command_timeout, 2.0))
                return
            except AtTimeout:
                if attempt == 2:
                    raise

    async def _identify(self) -> None:
        async def first_line(command: str) -> str | None:
            result = await self.command(command)
            if not result.ok or not result.lines:
                return None
            line = result.lines[0]
            # Some modules prefix the answer (+CGMI: ...), most do not.
            return line.split(":", 1)[1].strip() if line.startswith("+") else line

        self.manufacturer = await first_line("AT+CGMI")
        self.model = await first_line("AT+CGMM")
        self.revision = await first_line("AT+CGMR")
        imei = await first_line("AT+CGSN")
        self.imei = imei.strip('"') if imei else None

    async def _unlock_sim(self) -> bool:
        """True when the SIM is ready; False when it is missing."""
        result = await self.command("AT+CPIN?")
        state = result.line("+CPIN:") if result.ok else None
        if state is None:
            self.sim_state = "NOT INSERTED" if result.code == 10 else "UNKNOWN"
            return False
        self.sim_state = state
        if state == "READY":
            return True
        if state != "SIM PIN":
            raise PinError(f"{self.name}: the SIM asks for {state}; enter it by hand")
        if self.pin_rejected:
            raise PinError(f"{self.name}: the configured PIN was rejected before; not retrying")
        if not self.pin:
            raise PinError(f"{self.name}: the SIM asks for a PIN and none is configured")
        result = await self.command(f'AT+CPIN="{self.pin}"')
        if not result.ok:
            self.pin_rejected = True
            self.sim_state = "PIN REJECTED"
            raise PinError(
                f"{self.name}: the SIM rejected the configured PIN "
                f"({result.result} {result.detail}); not retrying"
            )
        # The SIM takes a moment to become READY after its PIN.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.sim_ready_wait
        while loop.time() < deadline:
            result = await self.command("AT+CPIN?")
            if result.line("+CPIN:") == "READY":
                self.sim_state = "READY"
                return True
            await asyncio.sleep(0.2)
        raise SimError(f"{self.name}: the SIM did not become ready after its PIN")

    async def _read_sim_identity(self) -> None:
        result = await self.command("AT+CIMI")
        self.imsi = next((ln for ln in result.lines if ln.isdigit()), None) if result.ok else None
        result = await self.command(self.dialect.iccid_command)
        self.iccid = parse_iccid(result.lines) if result.ok else None

    async def refresh_registration(self) -> Registration | None:
        result = await self.command("AT+CREG?")
        args = result.line("+CREG:") if result.ok else None
        if args is not None:
            parts = _fields(args)
            stat = _int(parts[1]) if len(parts) > 1 else None
            self._set_registration(stat)
        if self.registration is not None and self.registration.in_service:
            await self.command("AT+COPS=3,0")  # long alphanumeric operator names
            result = await self.command("AT+COPS?")
            parts = _fields(result.line("+COPS:") or "") if result.ok else []
            self.operator = parts[2] if len(parts) > 2 and parts[2] else None
        else:
            self.operator = None
        return self.registration

    async def refresh_signal(self) -> int | None:
        """Read +CSQ; returns the signal in dBm (None: unknown)."""
        result = await self.command("AT+CSQ")
        args = result.line("+CSQ:") if result.ok else None
        if args is not None:
            self.rssi = _int(_fields(args)[0])
        return self.signal_dbm

    @property
    def signal_dbm(self) -> int | None:
        return None if self.rssi is None else rssi_to_dbm(self.rssi)

    # -- health -------------------------------------------------------------------------
    def start_health_check(self) -> None:
        """Every ``health_interval``: AT (and +CSQ). A missed answer counts; from
        :data:`UNRESPONSIVE_AFTER` in a row the unresponsive listeners (recovery:
        :mod:`drivers.gsm.recovery`) hear of it."""
        self._health_wanted = True
        if self._health_task is None or self._health_task.done():
            self._health_task = self._spawn(self._health_loop(), "health")

    async def _health_loop(self) -> None:
        while not self.engine.closed.is_set():
            await asyncio.sleep(self.health_interval)
            engine = self.engine
            try:
                # Bounded also while another command holds the port: a module silent
                # behind a long command (AT+CMGL, ATD) is as hung as one silent to AT.
                async with asyncio.timeout(2 * self.health_timeout + self.health_interval):
                    await engine.command("AT", self.health_timeout)
                    await self.refresh_signal()
            except (AtTimeout, TimeoutError):
                loop = asyncio.get_running_loop()
                if engine.busy and loop.time() - engine.last_rx < self.health_timeout:
                    continue  # busy, and talking: not hung
                self.missed_health_checks += 1
                log.warning(
                    "%s: health check missed (%d in a row)", self.name, self.missed_health_checks
                )
                if self.missed_health_checks >= UNRESPONSIVE_AFTER:
                    self._update_service()
                    for listener in list(self._unresponsive_listeners):
                        try:
                            listener(self.missed_health_checks)
                        except Exception:
                            log.exception("%s: unresponsive listener failed", self.name)
                continue
            except PortClosed:
                return
            except CommandAborted:
                continue  # the module restarted under the check: it initialises again
            except GsmError as exc:
                # an error answer (+CME ERROR to +CSQ) is an answer all the same
                log.info("%s: health check answered with an error: %s", self.name, exc)
            except Exception:
                log.exception("%s: health check failed; checking on", self.name)
                continue
            if self.missed_health_checks:
                log.info(
                    "%s: answering again after %d missed health checks",
                    self.name,
                    self.missed_health_checks,
                )
            if self.missed_health_checks >= UNRESPONSIVE_AFTER:
                self.missed_health_checks = 0
                self._update_service()
            self.missed_health_checks = 0

    @property
    def responsive(self) -> bool:
        return self.missed_health_checks == 0 and not self.engine.closed.is_set()

    # -- service ------------------------------------------------------------------------
    @property
    def in_service(self) -> bool:
        return self.service[0]

    @property
    def service(self) -> tuple[bool, str]:
        """(in service, why) as the UI and ChannelStatus say it."""
        if self.engine.closed.is_set():
            return False, f"port closed ({self.engine.close_reason})"
        if self.missed_health_checks >= UNRESPONSIVE_AFTER:
            return False, f"module not answering ({self.missed_health_checks} health checks)"
        if self.sim_state in ("NOT INSERTED", "NOT READY"):
            return False, "SIM not inserted"
        if self.pin_rejected:
            return False, "SIM PIN rejected"
        if self.init_error is not None:
            return False, self.init_error
        if self.sim_state != "READY":
            return False, f"SIM locked ({self.sim_state})"
        reg = self.registration
        if reg is None:
            return False, "registration unknown"
        if not reg.in_service:
            return False, f"not registered ({reg.name.lower().replace('_', ' ')})"
        where = "roaming" if reg is Registration.ROAMING else "home network"
        return True, f"registered, {where}" + (f": {self.operator}" if self.operator else "")

    def _update_service(self) -> None:
        service = self.service
        if self._service is not None and service[0] == self._service[0]:
            self._service = service
            return
        self._service = service
        log.info(
            "%s: %s (%s)", self.name, "in service" if service[0] else "out of service", service[1]
        )
        for listener in list(self._service_listeners):
            try:
                listener(*service)
            except Exception:
                log.exception("%s: service listener failed", self.name)

    def _fault(self, reason: str) -> None:
        for listener in list(self._fault_listeners):
            try:
                listener(reason)
            except Exception:
                log.exception("%s: fault listener failed", self.name)

    def _set_registration(self, stat: int | None) -> None:
        try:
            self.registration = Registration(stat) if stat is not None else None
        except ValueError:
            self.registration = Registration.UNKNOWN

    # -- URCs -----------------------------------------------------------------------------
    def _on_creg(self, urc: Urc) -> None:
        parts = _fields(urc.args)
        self._set_registration(_int(parts[0]) if parts else None)
        if self.registration is not None and self.registration.in_service:
            if self.operator is None and self.initialised:
                self._spawn(self._refresh_operator(), "operator")
        self._update_service()

    async def _refresh_operator(self) -> None:
        with contextlib.suppress(GsmError):
            await self.refresh_registration()
            self._update_service()

    def _on_cpin(self, urc: Urc) -> None:
        state = urc.args.strip()
        if state:
            self.sim_state = state
        if state != "READY":
            self.registration = Registration.NOT_REGISTERED
        self._update_service()

    def _on_restart(self, urc: Urc) -> None:
        """The module restarted on its own: settings are lost, any call is gone."""
        self.restarts_seen += 1
        self.engine.abort_in_flight(f"module restarted ({urc.raw})")
        self.initialised = False
        self.registration = None
        self._update_service()
        self._fault("module restarted")
        if self._reboot_expected:
            log.info("%s: module restarted as asked (%s)", self.name, urc.raw)
            return
        log.warning("%s: module restarted (%s); initialising again", self.name, urc.raw)
        self._spawn(self._reinitialise(), "reinit")

    def expect_reboot(self, expected: bool) -> None:
        """Recovery says a restart is its own doing: it initialises the module itself."""
        self._reboot_expected = expected

    async def _reinitialise(self) -> None:
        await asyncio.sleep(0.1)  # let the boot URCs settle
        try:
            await self.initialise()
        except GsmError as exc:
            log.error("%s: initialising after restart failed: %s", self.name, exc)

    async def _watch_port(self, engine: AtEngine) -> None:
        await engine.closed.wait()
        if engine is not self.engine:
            return  # replaced on purpose (attach_engine)
        self._update_service()
        self._fault(f"port closed ({engine.close_reason})")

    def _on_rssi(self, urc: Urc) -> None:
        """Huawei ^RSSI: <rssi> — the signal, unsolicited, on the +CSQ scale."""
        value = _int(urc.args.strip())
        if value is not None:
            self.rssi = value

    def _spawn(self, coro: Coroutine[Any, Any, None], what: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.name}-{what}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        """No background task dies unheard: a failure is logged with its traceback."""
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("%s: background task %s failed", self.name, task.get_name(),
                      exc_info=exc)

    async def close(self) -> None:
        """Stop the health check and background work, close the engine (the port)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self.sms.close()
        self.ussd.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.engine.close()

    # -- observation ----------------------------------------------------------------------
    def info(self) -> dict[str, object]:
        """A JSON-able snapshot for the UI, the console and the API."""
        in_service, detail = self.service
        return {
            "name": self.name,
            "dialect": self.dialect.name,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "revision": self.revision,
            "imei": self.imei,
            "imsi": self.imsi,
            "iccid": self.iccid,
            "own_number": self.own_number,
            "sim_state": self.sim_state,
            "pin_rejected": self.pin_rejected,
            "registration": None if self.registration is None else int(self.registration),
            "registration_text": None
            if self.registration is None
            else self.registration.name.lower(),
            "operator": self.operator,
            "rssi": self.rssi,
            "signal_dbm": self.signal_dbm,
            "in_service": in_service,
            "service_detail": detail,
            "initialised": self.initialised,
            "responsive": self.responsive,
            "missed_health_checks": self.missed_health_checks,
            "restarts_seen": self.restarts_seen,
            "sms": self.sms.info(),
        }


# =========================================================================================
# The channel
# =========================================================================================
@dataclass(frozen=True, slots=True)
class GsmTimings:
    """Seconds. Defaults suit real modules; tests shorten them."""

    ring_grace: float = 0.3  # after the first RING, wait this long for +CLIP
    clcc_interval: float = 0.5  # AT+CLCC polling period while a call exists
    cause_grace: float = 0.2  # call vanished from CLCC: wait for NO CARRIER/BUSY
    answer_timeout: float = 10.0
    hangup_timeout: float = 5.0
    dtmf_timeout: float = 5.0
    clcc_timeout: float = 3.0
    silent_polls: int = 3  # AT+CLCC timeouts in a row that end a call (module silent)


@dataclass(frozen=True, slots=True)
class ClccEntry:
    """One line of AT+CLCC: ``+CLCC: <idx>,<dir>,<stat>,<mode>,<mpty>[,<number>,<type>]``."""

    index: int
    outgoing: bool  # dir 0: mobile originated
    stat: int  # 0 active 1 held 2 dialing 3 alerting 4 incoming
    voice: bool  # 5 waiting (6: disconnected, SIM800 URC only)
    number: str = ""

    @classmethod
    def parse(cls, args: str) -> ClccEntry | None:
        parts = _fields(args)
        if len(parts) < 5:
            return None
        nums = [_int(p) for p in parts[:5]]
        if any(n is None for n in nums):
            return None
        index, direction, stat, mode, _ = (n or 0 for n in nums)
        return cls(index, direction == 0, stat, mode == 0, parts[5] if len(parts) > 5 else "")


CLCC_ACTIVE, CLCC_HELD, CLCC_DIALING, CLCC_ALERTING, CLCC_INCOMING, CLCC_WAITING = range(6)
CLCC_DISCONNECTED = 6

RESULT_CAUSES: dict[str, Cause] = {
    "NO CARRIER": Cause.NORMAL_CLEARING,
    "BUSY": Cause.USER_BUSY,
    "NO ANSWER": Cause.NO_ANSWER,
    "NO DIALTONE": Cause.NETWORK_OUT_OF_ORDER,
}
CME_CAUSES: dict[int, Cause] = {
    3: Cause.REQUESTED_CHANNEL_UNAVAILABLE,  # operation not allowed (a call exists)
    10: Cause.SERVICE_UNAVAILABLE,
    11: Cause.SERVICE_UNAVAILABLE,  # SIM missing / locked
    12: Cause.SERVICE_UNAVAILABLE,
    13: Cause.SERVICE_UNAVAILABLE,
    30: Cause.NETWORK_OUT_OF_ORDER,  # no network service
    32: Cause.OUTGOING_CALLS_BARRED,  # network not allowed, emergency only
}
DIAL_NUMBER = re.compile(r"^\+?[0-9*#]{1,40}$")
DTMF_DIGITS = frozenset("0123456789*#ABCD")


def cause_for_result(result: AtResult) -> Cause:
    """The Q.850 cause of a call that a result code ended."""
    if result.result in RESULT_CAUSES:
        return RESULT_CAUSES[result.result]
    if result.result == "+CME ERROR" and result.code in CME_CAUSES:
        return CME_CAUSES[result.code]
    return Cause.TEMPORARY_FAILURE


@dataclass(eq=False)
class _Call:
    direction: Literal["in", "out"]
    number: str | None = None
    setup_sent: bool = False
    answering: bool = False
    index: int | None = None
    seen_in_clcc: bool = False
    missing_polls: int = 0
    offer_timer: asyncio.TimerHandle | None = None  # ring grace: waiting for +CLIP
    vanish_timer: asyncio.TimerHandle | None = None  # cause grace: waiting for a cause

    def cancel_timers(self) -> None:
        for timer in (self.offer_timer, self.vanish_timer):
            if timer is not None:
                timer.cancel()
        self.offer_timer = self.vanish_timer = None


class RecoveryView(Protocol):
    """What the channel shows of its module's recovery (:class:`drivers.gsm.recovery.
    ModemRecovery`, which imports this module): state and the last resets."""

    def info(self) -> dict[str, object]: ...


class GsmChannel(Channel):
    """The voice side of one GSM module, as a trunk channel of kind GSM."""

    kind = ChannelKind.GSM

    def __init__(
        self,
        channel_id: str,
        slot: int,
        modem: GsmModem,
        *,
        timings: GsmTimings | None = None,
        recovery: RecoveryView | None = None,
    ) -> None:
        super().__init__(channel_id, slot)
        self.modem = modem
        self.recovery = recovery
        self.timings = timings or GsmTimings()
        self._call: _Call | None = None
        self._poller: asyncio.Task[None] | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._started = False

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Initialise the module and start watching it. A module that cannot be brought
        into service (no SIM, PIN trouble, silent) leaves the channel OUT_OF_SERVICE with a
        ChannelStatus saying why; it does not raise."""
        handlers: dict[str, Callable[[Urc], None]] = {
            "RING": self._on_ring,
            "+CRING": self._on_ring,
            "+CLIP": self._on_clip,
            "NO CARRIER": self._on_call_result,
            "BUSY": self._on_call_result,
            "NO ANSWER": self._on_call_result,
            "NO DIALTONE": self._on_call_result,
            "+CLCC": self._on_clcc_urc,
            "^CONF": self._on_huawei_call,
            "^CONN": self._on_huawei_call,
            "^CEND": self._on_huawei_call,
        }
        self._unsubscribe = [self.modem.on_urc(name, h) for name, h in handlers.items()]
        self.modem.on_service(self._on_service)
        self.modem.on_fault(self._on_fault)
        self._started = True
        try:
            await self.modem.initialise()
        except GsmError as exc:
            # The modem already said why through its service listener (ChannelStatus).
            log.error("%s: %s", self.id, exc)
            self.state = ChannelState.OUT_OF_SERVICE
            return
        self.modem.start_health_check()

    async def stop(self) -> None:
        await self.release()
        await self._stop_poller()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        await self.modem.close()

    # -- commands -----------------------------------------------------------------------
    async def place_call(
        self, called: str | None, caller: str | None = None, caller_name: str | None = None,
        *, caller_withheld: bool = False,
    ) -> None:
        """Dial ``called`` (``caller``/``caller_name`` cannot be set on a GSM trunk: the
        network presents the SIM's own number)."""
        if self.state is not ChannelState.IDLE or self._call is not None:
            reason = (
                "out of service"
                if self.state is ChannelState.OUT_OF_SERVICE
                else (f"busy ({self.state})")
            )
            raise ChannelError(f"{self.id}: cannot place a call: {reason}")
        number = (called or "").replace(" ", "").replace("-", "")
        if not DIAL_NUMBER.match(number):
            raise ChannelError(f"{self.id}: cannot dial {called!r}")
        call = _Call("out", number)
        self._call = call
        self.state = ChannelState.OUTBOUND
        try:
            result = await self.modem.command(f"ATD{number};", self.modem.dialect.dial_timeout)
        except AtTimeout:
            if self._call is call:
                await self._hangup_quietly()
                self._finish(call, Cause.RECOVERY_ON_TIMER_EXPIRY)
            return
        except (PortClosed, CommandAborted):   # gone, or restarted under the command
            if self._call is call:
                self._finish(call, Cause.TEMPORARY_FAILURE)
            return
        if self._call is not call:
            return  # released (or failed) while ATD was in flight
        if result.ok:
            self._ensure_poller()
        else:
            self._finish(call, cause_for_result(result))

    async def answer(self) -> None:
        call = self._call
        if self.state is not ChannelState.INBOUND or call is None or not call.setup_sent:
            raise ChannelError(f"{self.id}: no call to answer ({self.state})")
        if call.answering:
            raise ChannelError(f"{self.id}: already answering")
        call.answering = True
        try:
            result = await self.modem.command("ATA", self.timings.answer_timeout)
        except AtTimeout:
            if self._call is call:
                await self._hangup_quietly()
                self._finish(call, Cause.RECOVERY_ON_TIMER_EXPIRY)
            return
        except (PortClosed, CommandAborted):   # gone, or restarted under the command
            if self._call is call:
                self._finish(call, Cause.TEMPORARY_FAILURE)
            return
        if self._call is not call:
            return
        if result.ok:
            self.state = ChannelState.ACTIVE
        else:
            self._finish(call, cause_for_result(result))  # the caller gave up meanwhile

    async def release(self, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        """Hang up, reject or abandon the call; safe in any state, never raises.

        GSM carries no cause from the mobile side: ATH ends the call either way (an
        incoming call rejected with ATH gives the caller busy)."""
        call = self._call
        if call is None or self.state is ChannelState.RELEASING:
            return
        call.cancel_timers()
        self.state = ChannelState.RELEASING
        try:
            await self._hangup_quietly()
        finally:
            if self._call is call:
                self._finish(call, None)

    async def send_digits(self, digits: str) -> None:
        """Send DTMF through the network (AT+VTS), one digit per command."""
        call = self._call
        if self.state is not ChannelState.ACTIVE or call is None:
            raise ChannelError(f"{self.id}: digits need an active call ({self.state})")
        digits = digits.upper()
        if not digits or any(d not in DTMF_DIGITS for d in digits):
            raise ChannelError(f"{self.id}: not DTMF digits: {digits!r}")
        for digit in digits:
            if self._call is not call:
                return
            try:
                result = await self.modem.command(f"AT+VTS={digit}", self.timings.dtmf_timeout)
            except GsmError as exc:
                log.warning("%s: DTMF %s not sent: %s", self.id, digit, exc)
                return
            if not result.ok:
                log.warning("%s: DTMF %s refused: %s", self.id, digit, result.result)
                return

    # -- internals: ending calls --------------------------------------------------------
    async def _hangup_quietly(self) -> None:
        try:
            await self.modem.command(self.modem.dialect.hangup_command, self.timings.hangup_timeout)
        except GsmError as exc:
            log.warning("%s: hang-up failed: %s", self.id, exc)

    def _finish(self, call: _Call, cause: Cause | None) -> None:
        """The call is over. ``cause``: the far end/network ended it (ChannelReleased);
        ``None``: we did. A call never offered (setup not sent) ends silently."""
        if self._call is not call:
            return
        call.cancel_timers()
        self._call = None
        offered = call.direction == "out" or call.setup_sent
        if offered and cause is not None:
            self.emit(ChannelReleased(self.id, cause))
        self.state = ChannelState.IDLE if self.modem.in_service else ChannelState.OUT_OF_SERVICE
        if offered:
            self.emit(ChannelIdle(self.id))

    def _far_end_gone(self, cause: Cause) -> None:
        call = self._call
        if call is None or self.state is ChannelState.RELEASING:
            return
        self._finish(call, cause)

    # -- internals: incoming calls ------------------------------------------------------
    def _new_incoming(self) -> _Call | None:
        if self._call is not None:
            return self._call if self._call.direction == "in" else None
        if self.state not in (ChannelState.IDLE, ChannelState.OUT_OF_SERVICE):
            return None
        call = _Call("in")
        self._call = call
        self.state = ChannelState.INBOUND
        loop = asyncio.get_running_loop()
        call.offer_timer = loop.call_later(self.timings.ring_grace, self._offer, call)
        self._ensure_poller()
        return call

    def _on_ring(self, urc: Urc) -> None:
        if urc.name == "+CRING" and not urc.args.upper().startswith("VOICE"):
            log.info("%s: ignoring a non-voice call (%s)", self.id, urc.raw)
            return
        self._new_incoming()

    def _on_clip(self, urc: Urc) -> None:
        call = self._new_incoming()
        if call is None or call.setup_sent or self.state is not ChannelState.INBOUND:
            return
        parts = _fields(urc.args)
        number = parts[0] if parts else ""
        validity = _int(parts[5], 0) if len(parts) > 5 else 0
        name = parts[4] if len(parts) > 4 and parts[4] else None
        withheld = not number or validity in (1, 2)
        call.number = None if withheld else number
        self._offer(call, withheld=withheld, caller_name=None if withheld else name)

    def _offer(
        self, call: _Call, *, withheld: bool = False, caller_name: str | None = None
    ) -> None:
        if self._call is not call or call.setup_sent:
            return
        if call.offer_timer is not None:
            call.offer_timer.cancel()
            call.offer_timer = None
        call.setup_sent = True
        self.emit(
            ChannelSetup(
                self.id,
                caller=call.number,
                caller_name=caller_name,
                called=self.modem.own_number,
                caller_withheld=withheld,
            )
        )

    # -- internals: progress ------------------------------------------------------------
    def _ensure_poller(self) -> None:
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(
                self._poll_calls(), name=f"{self.id}-clcc"
            )

    async def _stop_poller(self) -> None:
        if self._poller is not None and self._poller is not asyncio.current_task():
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        self._poller = None

    async def _poll_calls(self) -> None:
        silent = 0
        while self._call is not None:
            try:
                result = await self.modem.command("AT+CLCC", self.timings.clcc_timeout)
            except AtTimeout:
                # A module silent mid-call: after a few polls the call is given up (the
                # caller hears the release, not dead air); the health check and recovery
                # deal with the module itself.
                silent += 1
                call = self._call
                if silent >= self.timings.silent_polls and call is not None:
                    log.warning("%s: module silent during a call; releasing it", self.id)
                    self._finish(call, Cause.TEMPORARY_FAILURE)
                    return
                continue
            except PortClosed:
                return
            except CommandAborted:
                continue  # the module restarted: its fault report ends the call
            silent = 0
            if result.ok:
                entries = [
                    ClccEntry.parse(line.partition(":")[2])
                    for line in result.lines
                    if line.startswith("+CLCC:")
                ]
                self._on_clcc([e for e in entries if e is not None])
            if self._call is None:
                return
            await asyncio.sleep(self.timings.clcc_interval)

    def _match(self, call: _Call, entries: list[ClccEntry]) -> ClccEntry | None:
        for entry in entries:
            if not entry.voice or entry.stat == CLCC_WAITING:
                continue
            if call.index is not None and entry.index != call.index:
                continue
            if entry.outgoing == (call.direction == "out"):
                return entry
        return None

    def _on_clcc(self, entries: list[ClccEntry]) -> None:
        """A full AT+CLCC listing."""
        call = self._call
        if call is None or self.state is ChannelState.RELEASING:
            return
        entry = self._match(call, entries)
        if entry is None:
            call.missing_polls += 1
            # A call never seen gets a second look (it may not be listed yet after ATD).
            if call.seen_in_clcc or call.missing_polls >= 2:
                self._call_vanished(call)
            return
        call.missing_polls = 0
        self._on_call_entry(call, entry)

    def _on_call_entry(self, call: _Call, entry: ClccEntry) -> None:
        call.seen_in_clcc = True
        call.index = entry.index
        if entry.stat == CLCC_DISCONNECTED:
            self._call_vanished(call)
        elif call.direction == "out":
            if entry.stat == CLCC_ALERTING:
                self._alerting()
            elif entry.stat == CLCC_ACTIVE:
                self._answered()

    def _alerting(self) -> None:
        if self.state is ChannelState.OUTBOUND:
            self.state = ChannelState.ALERTING
            self.emit(ChannelProgress(self.id))

    def _answered(self) -> None:
        if self.state in (ChannelState.OUTBOUND, ChannelState.ALERTING):
            self.state = ChannelState.ACTIVE
            self.emit(ChannelAnswered(self.id))

    def _call_vanished(self, call: _Call) -> None:
        if call.vanish_timer is not None:
            return  # already waiting for a cause
        call.vanish_timer = asyncio.get_running_loop().call_later(
            self.timings.cause_grace, self._vanished, call
        )

    def _vanished(self, call: _Call) -> None:
        if self._call is call and self.state is not ChannelState.RELEASING:
            self._finish(call, Cause.NORMAL_CLEARING)

    def _on_clcc_urc(self, urc: Urc) -> None:
        """SIM800 with AT+CLCC=1 reports each change of a call unsolicited."""
        entry = ClccEntry.parse(urc.args)
        call = self._call
        if entry is None or call is None or self.state is ChannelState.RELEASING:
            return
        if self._match(call, [entry]) is not None:
            self._on_call_entry(call, entry)

    def _on_call_result(self, urc: Urc) -> None:
        """NO CARRIER / BUSY / NO ANSWER outside ATD/ATA: the call ended."""
        self._far_end_gone(RESULT_CAUSES.get(urc.name, Cause.NORMAL_CLEARING))

    def _on_huawei_call(self, urc: Urc) -> None:
        """Huawei ^CONF (alerting), ^CONN (answered), ^CEND (ended, with a Q.850 cause)."""
        call = self._call
        if call is None:
            return
        if urc.name == "^CONF" and call.direction == "out":
            self._alerting()
        elif urc.name == "^CONN" and call.direction == "out":
            self._answered()
        elif urc.name == "^CEND":
            parts = _fields(urc.args)
            code = _int(parts[3]) if len(parts) > 3 else None
            try:
                cause = Cause(code) if code else Cause.NORMAL_CLEARING
            except ValueError:
                cause = Cause.NORMAL_CLEARING
            self._far_end_gone(cause)

    # -- internals: service -------------------------------------------------------------
    def _on_service(self, in_service: bool, detail: str) -> None:
        if self._call is None and self.state in (ChannelState.IDLE, ChannelState.OUT_OF_SERVICE):
            self.state = ChannelState.IDLE if in_service else ChannelState.OUT_OF_SERVICE
        self.emit(ChannelStatus(self.id, in_service, detail))

    def _on_fault(self, reason: str) -> None:
        call = self._call
        if call is not None:
            log.warning("%s: call lost: %s", self.id, reason)
            self._finish(call, Cause.TEMPORARY_FAILURE)

    # -- observation ----------------------------------------------------------------------
    def describe(self) -> dict[str, object]:
        description = super().describe()
        description["modem"] = self.modem.info()
        if self.recovery is not None:
            description["recovery"] = self.recovery.info()
        if self._call is not None:
            description["call"] = {"direction": self._call.direction, "number": self._call.number}
        return description


async def probe(engine: AtEngine, timeout: float = 3.0) -> dict[str, object]:
    """What an installer checks first, with basic 27.007 commands only (any module):
    identity, SIM, registration, operator, signal.  Reads; changes nothing but echo
    (ATE0).  Raises :class:`AtTimeout` when the module does not answer AT."""

    async def ask(command: str) -> AtResult | None:
        try:
            result = await engine.command(command, timeout)
        except AtTimeout:
            return None
        return result if result.ok else None

    async def first(command: str) -> str | None:
        result = await ask(command)
        if result is None or not result.lines:
            return None
        line = result.lines[0]
        return (line.split(":", 1)[1].strip() if line.startswith(("+", "^")) else line).strip('"')

    await engine.command("AT", timeout)
    await ask("ATE0")
    manufacturer, model = await first("AT+CGMI"), await first("AT+CGMM")
    dialect = dialect_for(manufacturer or "", model or "")
    out: dict[str, object] = {
        "manufacturer": manufacturer,
        "model": model,
        "revision": await first("AT+CGMR"),
        "imei": await first("AT+CGSN"),
        "dialect": dialect.name,
    }
    cpin = await engine.command("AT+CPIN?", timeout)
    sim = cpin.line("+CPIN:") if cpin.ok else None
    out["sim_state"] = sim or ("NOT INSERTED" if cpin.code == 10 else cpin.detail or "UNKNOWN")
    out["imsi"] = await first("AT+CIMI") if sim == "READY" else None
    iccid = None
    if sim == "READY":
        for command in dict.fromkeys((dialect.iccid_command, "AT+CCID", "AT+ICCID",
                                      "AT+QCCID", "AT^ICCID?", "AT+CICCID")):
            result = await ask(command)
            iccid = parse_iccid(result.lines) if result is not None else None
            if iccid:
                break
    out["iccid"] = iccid
    creg = await ask("AT+CREG?")
    parts = _fields(creg.line("+CREG:") or "") if creg is not None else []
    stat = _int(parts[1]) if len(parts) > 1 else None
    try:
        registration = Registration(stat) if stat is not None else None
    except ValueError:
        registration = Registration.UNKNOWN
    out["registration"] = None if registration is None else registration.name.lower()
    operator = None
    if registration is not None and registration.in_service:
        await ask("AT+COPS=3,0")
        cops = await ask("AT+COPS?")
        fields = _fields(cops.line("+COPS:") or "") if cops is not None else []
        operator = fields[2] if len(fields) > 2 and fields[2] else None
    out["operator"] = operator
    csq = await ask("AT+CSQ")
    rssi = _int(_fields(csq.line("+CSQ:") or "")[0]) if csq is not None else None
    out["rssi"] = rssi
    out["signal_dbm"] = None if rssi is None else rssi_to_dbm(rssi)
    return out
