"""The asyncio AT command engine: one command in flight, URCs routed while it waits.

Owns: the serial stream of one module, writing commands, waiting for their final result
with a timeout, routing unsolicited result codes to handlers, and noticing that the port
went away.  The protocol itself is :class:`~drivers.gsm.atparser.AtParser` (sans-I/O);
this module only moves bytes and time.  Must not touch: modem semantics (that is
:mod:`drivers.gsm.modem`), the firmware.

Rules:

* one command in flight behind an :class:`asyncio.Lock` (after pyserial's at_protocol.py);
* a timed-out command is abandoned, and the next command first sends a bare ``AT`` to
  re-synchronise (so that a late ``OK`` of the abandoned command is not taken for the
  answer of the next one);
* URC handlers are plain callables run by the reader task: they must not block, and
  must start a task for anything that sends commands;
* nothing escapes the reader task: a handler that raises is logged; EOF or an OS error
  sets :attr:`AtEngine.closed` and fails the command in flight with :class:`PortClosed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from drivers.gsm.atparser import AtEvent, AtParser, Final, Garbage, Prompt, Response, Urc

log = logging.getLogger(__name__)

UrcHandler = Callable[[Urc], None]

CTRL_Z = b"\x1a"
ESC = b"\x1b"
RESYNC_TIMEOUT = 1.0
"""Seconds the re-synchronising ``AT`` after a timeout may take."""


# -- errors -------------------------------------------------------------------------------
class GsmError(Exception):
    """Root of everything the GSM driver raises."""


class AtTimeout(GsmError):
    """A command got no final result code in time. The engine stays usable."""

    def __init__(self, command: str, timeout: float) -> None:
        super().__init__(f"{command!r}: no answer within {timeout:g} s")
        self.command = command
        self.timeout = timeout


class AtCommandError(GsmError):
    """A command ended with ERROR / +CME ERROR / +CMS ERROR (see :meth:`AtResult.check`)."""

    def __init__(self, command: str, result: AtResult) -> None:
        detail = f": {result.detail}" if result.detail else ""
        super().__init__(f"{command!r} failed: {result.result}{detail}")
        self.command = command
        self.result = result


class CommandAborted(GsmError):
    """The command in flight can get no answer any more: the module restarted under it.
    The engine stays usable."""


class PortClosed(GsmError):
    """The serial port went away (EOF, OS error) or the engine was closed."""


# -- results ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AtResult:
    ok: bool
    result: str  # OK, ERROR, +CME ERROR, NO CARRIER, ... or "> "
    lines: list[str] = field(default_factory=list)
    code: int | None = None  # the +CME/+CMS error number
    detail: str = ""

    def check(self, command: str = "") -> AtResult:
        """Return self when ok, else raise :class:`AtCommandError`."""
        if not self.ok:
            raise AtCommandError(command, self)
        return self

    def line(self, prefix: str = "") -> str | None:
        """The first information line starting with ``prefix``, without it."""
        for line in self.lines:
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        return None


# -- the engine ---------------------------------------------------------------------------
class AtEngine:
    """AT commands over an asyncio stream pair (a serial port, or anything else).

    Create it inside a running event loop; it starts its reader task at once.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        name: str = "gsm",
        extra_urcs: frozenset[str] | set[str] = frozenset(),
    ) -> None:
        self.name = name
        self._reader = reader
        self._writer = writer
        self._parser = AtParser(extra_urcs=extra_urcs)
        self._lock = asyncio.Lock()
        self._waiter: asyncio.Future[AtResult] | None = None
        self._prompt_waiter: asyncio.Future[None] | None = None
        self._handlers: dict[str, list[UrcHandler]] = {}
        self._catch_all: list[UrcHandler] = []
        self._resync = False
        self.closed = asyncio.Event()
        self.close_reason: str | None = None
        self.garbage_count = 0
        self.urc_count = 0
        self.last_rx = asyncio.get_running_loop().time()  # when bytes last arrived
        self._reader_task = asyncio.get_running_loop().create_task(
            self._read_loop(), name=f"{name}-at-reader"
        )

    @classmethod
    async def open_serial(
        cls,
        url_or_path: str,
        baudrate: int = 115200,
        *,
        name: str | None = None,
        extra_urcs: frozenset[str] | set[str] = frozenset(),
    ) -> AtEngine:
        """Open a serial device (``/dev/ttyUSB2``, a pty, any pyserial URL) and wrap it."""
        import serial_asyncio_fast  # imported here: tests over fake streams need no serial

        try:
            reader, writer = await serial_asyncio_fast.open_serial_connection(
                url=url_or_path, baudrate=baudrate
            )
        except Exception as exc:  # pyserial raises SerialException (an OSError subclass)
            raise PortClosed(f"opening {url_or_path}: {exc}") from exc
        return cls(reader, writer, name=name or url_or_path, extra_urcs=extra_urcs)

    # -- URC routing --------------------------------------------------------------------
    def on_urc(self, name: str, handler: UrcHandler) -> Callable[[], None]:
        """Call ``handler(urc)`` for every URC called ``name``; returns an unsubscriber."""
        self._handlers.setdefault(name, []).append(handler)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._handlers.get(name, []).remove(handler)

        return unsubscribe

    def on_any_urc(self, handler: UrcHandler) -> Callable[[], None]:
        """Call ``handler(urc)`` for every URC; returns an unsubscriber."""
        self._catch_all.append(handler)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._catch_all.remove(handler)

        return unsubscribe

    def add_urcs(self, names: frozenset[str] | set[str]) -> None:
        """Teach the parser a dialect's URC names (after the module was identified)."""
        fresh = AtParser(extra_urcs=names)
        # Keep parser state: only the URC tables change.
        self._parser._named_urcs |= fresh._named_urcs
        self._parser._basic_urcs |= fresh._basic_urcs

    # -- commands -----------------------------------------------------------------------
    async def command(
        self,
        command: str,
        timeout: float = 5.0,
        expect_prompt: bool = False,
        payload: bytes | None = None,
    ) -> AtResult:
        """Send ``command`` and return its result; ERROR is a result, not an exception.

        With ``expect_prompt`` (implied by ``payload``), wait for the ``"> "`` prompt, send
        ``payload`` and Ctrl-Z, and return the final result (AT+CMGS).  Raises
        :class:`AtTimeout` (engine stays usable) and :class:`PortClosed`.
        """
        expect_prompt = expect_prompt or payload is not None
        if expect_prompt and payload is None:
            raise ValueError("a prompting command needs the payload to send after '> '")
        async with self._lock:
            if self.closed.is_set():
                raise PortClosed(f"{self.name}: port closed ({self.close_reason})")
            if self._resync:
                await self._exchange("AT", min(RESYNC_TIMEOUT, timeout), None)
                self._resync = False
            return await self._exchange(command, timeout, payload)

    async def _exchange(self, command: str, timeout: float, payload: bytes | None) -> AtResult:
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        self._prompt_waiter = loop.create_future() if payload is not None else None
        self._parser.expect(command, prompt=payload is not None)
        log.debug("%s → %s", self.name, command)
        try:
            async with asyncio.timeout(timeout):
                self._write(command.encode("latin-1") + b"\r")
                if payload is not None:
                    assert self._prompt_waiter is not None
                    await self._prompt_waiter
                    self._parser.expect_echo(payload.decode("latin-1"))
                    self._write(payload + CTRL_Z)
                return await self._waiter
        except TimeoutError:
            self._parser.abandon()
            self._resync = True
            if payload is not None:
                self._write(ESC)  # leave the prompt: the modem would wait forever
            log.warning("%s: %s timed out after %g s", self.name, command, timeout)
            raise AtTimeout(command, timeout) from None
        except CommandAborted:
            self._parser.abandon()
            self._resync = True
            if payload is not None:
                self._write(ESC)
            raise
        except BaseException:
            self._parser.abandon()  # cancelled: the answer, if any, is noise now
            self._resync = True
            raise
        finally:
            self._waiter = None
            self._prompt_waiter = None

    def _write(self, data: bytes) -> None:
        if self.closed.is_set():
            raise PortClosed(f"{self.name}: port closed ({self.close_reason})")
        try:
            self._writer.write(data)
        except Exception as exc:
            self._mark_closed(f"write failed: {exc}")
            raise PortClosed(f"{self.name}: write failed: {exc}") from exc

    # -- the reader task ----------------------------------------------------------------
    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self._reader.read(1024)
                if not data:
                    self._mark_closed("end of file")
                    return
                log.debug("%s ← %r", self.name, data)
                self.last_rx = asyncio.get_running_loop().time()
                for event in self._parser.feed(data):
                    self._dispatch(event)
        except asyncio.CancelledError:
            self._mark_closed("engine closed")
            raise
        except Exception as exc:  # SerialException, OSError: the device went away
            self._mark_closed(f"{type(exc).__name__}: {exc}")

    def _dispatch(self, event: AtEvent) -> None:
        if isinstance(event, Final):
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(
                    AtResult(event.ok, event.result, event.lines, event.code, event.detail)
                )
        elif isinstance(event, Prompt):
            if self._prompt_waiter is not None and not self._prompt_waiter.done():
                self._prompt_waiter.set_result(None)
        elif isinstance(event, Urc):
            self._dispatch_urc(event)
        elif isinstance(event, Garbage):
            self.garbage_count += 1
            # Raw bytes at INFO, rate-limited: a noisy line must not flood the log.
            if self.garbage_count <= 20 or self.garbage_count % 1000 == 0:
                log.info("%s: not AT protocol (%d so far): %r", self.name,
                         self.garbage_count, event.raw[:200])
        elif isinstance(event, Response):
            pass  # collected by the parser into Final.lines

    def abort_in_flight(self, reason: str) -> None:
        """Fail the command in flight now instead of at its timeout: the module said it
        restarted (``RDY``), so whatever it was doing is lost with its settings."""
        for fut in (self._waiter, self._prompt_waiter):
            if fut is not None and not fut.done():
                log.info("%s: command in flight aborted: %s", self.name, reason)
                fut.set_exception(CommandAborted(f"{self.name}: {reason}"))

    @property
    def busy(self) -> bool:
        """A command is in flight (or waiting for the one in flight)."""
        return self._lock.locked()

    def _dispatch_urc(self, urc: Urc) -> None:
        self.urc_count += 1
        handlers = [*self._handlers.get(urc.name, ()), *self._catch_all]
        if not handlers:
            log.debug("%s: unhandled URC %r", self.name, urc.raw)
            return
        for handler in handlers:
            try:
                handler(urc)
            except Exception:
                log.exception("%s: URC handler for %s failed", self.name, urc.name)

    def _mark_closed(self, reason: str) -> None:
        if self.closed.is_set():
            return
        self.close_reason = reason
        self.closed.set()
        log.info("%s: port closed: %s", self.name, reason)
        for fut in (self._waiter, self._prompt_waiter):
            if fut is not None and not fut.done():
                fut.set_exception(PortClosed(f"{self.name}: port closed ({reason})"))

    # -- shutdown -----------------------------------------------------------------------
    async def close(self) -> None:
        """Stop reading and close the port. Idempotent."""
        self._reader_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader_task
        self._mark_closed("engine closed")
        if not self._writer.is_closing():
            self._writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), 2.0)
