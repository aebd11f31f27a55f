"""A simulated GSM module (SIMCom SIM800 flavoured) speaking AT on a pseudo-terminal.

Owns: the modem side of a pty pair and the state a real module keeps (echo, CMEE, CLIP,
identity, SIM, registration, signal, one voice call), and a control API through which tests
and the simulated board play the network: ring the SIM, answer or reject a call placed on
it, lose registration, pull the SIM, make the module go silent or spew noise.
Must not touch: the driver. The driver opens :attr:`SimModem.device_path` with pyserial
exactly as it opens ``/dev/ttyUSB2``, so the whole serial path is exercised.

Timing follows the module closely enough for the driver's logic (RING every 3 s, the far
end starts ringing ~200 ms after ATD), and every delay is a constructor argument so tests
run fast.  The simulator keeps the slave side open itself: the master then never sees EIO
while the driver closes and re-opens the port.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

log = logging.getLogger(__name__)

CallState = Literal["idle", "incoming", "dialing", "alerting", "active"]

CME_TEXT = {
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    16: "incorrect password",
    30: "no network service",
    100: "unknown",
}
_CLCC_STAT = {"active": 0, "dialing": 2, "alerting": 3, "incoming": 4}


@dataclass(slots=True)
class SimIdentity:
    manufacturer: str = "SIMCOM_Ltd"
    model: str = "SIMCOM_SIM800L"
    revision: str = "Revision:1418B04SIM800L24"
    imei: str = "866782042105117"
    imsi: str = "234150123456789"
    iccid: str = "89441000301234567890"
    own_number: str | None = "+447700900123"
    operator: str = "SimNet"


@dataclass(slots=True)
class _Call:
    direction: Literal[0, 1]  # 0 mobile originated, 1 mobile terminated
    number: str
    state: CallState
    validity: int = 0  # CLI validity for incoming calls
    timer: asyncio.TimerHandle | None = field(default=None)


class SimModem:
    """A virtual modem on a pty. ``async with SimModem() as sim: sim.device_path``."""

    def __init__(
        self,
        *,
        identity: SimIdentity | None = None,
        pin: str | None = None,
        sim_inserted: bool = True,
        registration: int = 1,
        rssi: int = 20,
        ring_interval: float = 3.0,
        alerting_delay: float = 0.2,
        boot_delay: float = 0.2,
    ) -> None:
        self.identity = identity or SimIdentity()
        self.pin = pin
        self.ring_interval = ring_interval
        self.alerting_delay = alerting_delay
        self.boot_delay = boot_delay
        self.on_call_state: Callable[[CallState], None] | None = None
        self.dialed_number: str | None = None
        self.sent_dtmf: list[str] = []
        self.commands: list[str] = []  # every command line received, for tests
        self.sent_sms: list[str] = []  # PDUs sent with AT+CMGS (PDU mode)
        self._payload: bytearray | None = None  # after "> ": collecting up to Ctrl-Z
        self._sim_inserted = sim_inserted
        self._sim_state = "SIM PIN" if pin else "READY"
        self._pin_attempts = 3
        self._registration = registration if sim_inserted and not pin else 0
        self._registration_target = registration
        self._rssi = rssi
        self._silent = False
        self._interleave: list[str] = []
        self._call: _Call | None = None
        self._reset_settings()
        self._master: int | None = None
        self._slave: int | None = None
        self._rx = bytearray()
        self._tx = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self.device_path = ""

    def _reset_settings(self) -> None:
        self.echo = True  # V.250: echo is on after power-up
        self.cmee = 0
        self.clip = False
        self.crc = False
        self.creg_mode = 0
        self.cfun = 1

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation in the line discipline
        os.set_blocking(self._master, False)
        self.device_path = os.ttyname(self._slave)
        self._loop.add_reader(self._master, self._on_readable)

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._call is not None and self._call.timer is not None:
            self._call.timer.cancel()
        if self._loop is not None and self._master is not None:
            self._loop.remove_reader(self._master)
            self._loop.remove_writer(self._master)
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None

    async def __aenter__(self) -> SimModem:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- observable state ---------------------------------------------------------------
    @property
    def call_state(self) -> CallState:
        return self._call.state if self._call is not None else "idle"

    @property
    def registration(self) -> int:
        return self._registration

    # -- control API (the network and the bench) ----------------------------------------
    def incoming_call(self, caller: str | None) -> None:
        """Ring the SIM: RING/+CRING and +CLIP every ``ring_interval`` until answered or
        the caller gives up (:meth:`far_hangup`). ``None``: the caller withholds the number."""
        if self._call is not None:
            raise RuntimeError("the simulator models one call at a time")
        self._set_call(_Call(1, caller or "", "incoming", 0 if caller else 1))
        self._ring()

    def far_answer(self) -> None:
        """The called party answers the call placed by ATD."""
        if self._call is None or self._call.state not in ("dialing", "alerting"):
            raise RuntimeError(f"no outgoing call to answer (call state {self.call_state})")
        self._cancel_call_timer()
        self._set_state("active")

    def far_hangup(self, *, silent: bool = False) -> None:
        """The far end hangs up (or an incoming caller gives up): NO CARRIER.

        ``silent``: the call just disappears (many modules do not report a caller giving
        up before answer; the driver must notice through AT+CLCC)."""
        if self._call is None:
            raise RuntimeError("no call to hang up")
        self._end_call(None if silent else "NO CARRIER")

    def far_busy(self) -> None:
        """The called party is busy: BUSY."""
        if self._call is None or self._call.direction != 0:
            raise RuntimeError("no outgoing call to reject")
        self._end_call("BUSY")

    def far_no_answer(self) -> None:
        """The called party does not answer: NO ANSWER."""
        if self._call is None or self._call.direction != 0:
            raise RuntimeError("no outgoing call")
        self._end_call("NO ANSWER")

    def set_registration(self, stat: int) -> None:
        """Network registration stat (0 not, 1 home, 2 searching, 3 denied, 5 roaming)."""
        self._registration_target = stat
        self._update_registration(stat)

    def set_signal(self, rssi: int) -> None:
        self._rssi = rssi

    def remove_sim(self) -> None:
        """Pull the SIM: +CPIN: NOT READY, registration lost, any call dropped."""
        self._sim_inserted = False
        self._sim_state = "NOT INSERTED"
        if self._call is not None:
            self._end_call("NO CARRIER")
        self._urc("+CPIN: NOT READY")
        self._update_registration(0)

    def stop_answering(self, silent: bool = True) -> None:
        """Go silent (a hung module): commands are swallowed, no URCs."""
        self._silent = silent

    def emit_garbage(self, data: bytes) -> None:
        self._send(data, force=True)

    def emit_urcs(self, lines: list[str]) -> None:
        for line in lines:
            self._urc(line)

    def interleave_urc(self, line: str) -> None:
        """Put ``line`` (a URC) between the lines of the next answer that has lines (or
        before its final result code): the case that breaks naive AT engines."""
        self._interleave.append(line)

    def reboot(self) -> None:
        """The module restarts: settings lost, call dropped, boot URCs after boot_delay."""
        if self._call is not None:
            self._cancel_call_timer()
            self._set_call(None)
        self._reset_settings()
        self._registration = 0
        self._sim_state = (
            "NOT INSERTED" if not self._sim_inserted else "SIM PIN" if self.pin else "READY"
        )

        def booted() -> None:
            self._urc("RDY")
            self._urc("+CFUN: 1")
            self._urc(f"+CPIN: {self._sim_state}")
            if self._sim_state == "READY":
                self._registration = self._registration_target
                self._urc("Call Ready")
                self._urc("SMS Ready")

        self._later(self.boot_delay, booted)

    # -- I/O ----------------------------------------------------------------------------
    def _on_readable(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno == errno.EIO:  # no slave open: cannot happen while we hold one
                return
            raise
        if self._silent:
            return
        for byte in data:
            if self.echo:
                self._send(bytes([byte]))
            if self._payload is not None:
                self._payload_byte(byte)
            elif byte == 0x0D:
                line = self._rx.decode("latin-1").strip()
                self._rx.clear()
                if line:
                    self._execute(line)
            elif byte == 0x0A:
                continue
            elif byte >= 0x20 and len(self._rx) < 1024:  # control characters are ignored
                self._rx.append(byte)

    def _payload_byte(self, byte: int) -> None:
        assert self._payload is not None
        if byte == 0x1B:  # ESC: the sender gave up
            self._payload = None
            self._answer([])
        elif byte == 0x1A:  # Ctrl-Z: send
            pdu = self._payload.decode("latin-1").strip()
            self._payload = None
            self.sent_sms.append(pdu)
            self._answer([f"+CMGS: {len(self.sent_sms)}"])
        elif len(self._payload) < 1024:
            self._payload.append(byte)

    def _send(self, data: bytes, *, force: bool = False) -> None:
        if (self._silent and not force) or self._master is None:
            return
        self._tx += data
        self._flush()

    def _flush(self) -> None:
        assert self._master is not None and self._loop is not None
        while self._tx:
            try:
                sent = os.write(self._master, self._tx)
            except BlockingIOError:
                self._loop.add_writer(self._master, self._flush)
                return
            del self._tx[:sent]
        self._loop.remove_writer(self._master)

    def _urc(self, line: str) -> None:
        self._send(f"\r\n{line}\r\n".encode("latin-1"))

    def _answer(self, lines: list[str], final: str = "OK") -> None:
        out = [f"\r\n{line}\r\n" for line in lines]
        if self._interleave and lines:
            out.insert(1, f"\r\n{self._interleave.pop(0)}\r\n")
        elif self._interleave and final == "OK":
            out.append(f"\r\n{self._interleave.pop(0)}\r\n")
        out.append(f"\r\n{final}\r\n")
        self._send("".join(out).encode("latin-1"))

    def _error(self, code: int) -> None:
        if self.cmee == 1:
            self._answer([], f"+CME ERROR: {code}")
        elif self.cmee == 2:
            self._answer([], f"+CME ERROR: {CME_TEXT.get(code, 'unknown')}")
        else:
            self._answer([], "ERROR")

    def _later(self, delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        assert self._loop is not None

        def run() -> None:
            self._timers.discard(handle)
            callback()

        handle = self._loop.call_later(delay, run)
        self._timers.add(handle)
        return handle

    # -- calls --------------------------------------------------------------------------
    def _set_call(self, call: _Call | None) -> None:
        self._call = call
        self._notify()

    def _set_state(self, state: CallState) -> None:
        assert self._call is not None
        self._call.state = state
        self._notify()

    def _notify(self) -> None:
        if self.on_call_state is not None:
            try:
                self.on_call_state(self.call_state)
            except Exception:
                log.exception("simulator: on_call_state callback failed")

    def _cancel_call_timer(self) -> None:
        if self._call is not None and self._call.timer is not None:
            self._call.timer.cancel()
            self._timers.discard(self._call.timer)
            self._call.timer = None

    def _end_call(self, report: str | None) -> None:
        self._cancel_call_timer()
        self._set_call(None)
        if report:
            self._urc(report)

    def _ring(self) -> None:
        call = self._call
        if call is None or call.state != "incoming":
            return
        self._urc("+CRING: VOICE" if self.crc else "RING")
        if self.clip:
            number_type = 145 if call.number.startswith("+") else 129
            self._urc(f'+CLIP: "{call.number}",{number_type},"",0,"",{call.validity}')
        call.timer = self._later(self.ring_interval, self._ring)

    def _dial(self, number: str) -> None:
        if self._call is not None:
            self._error(3)
            return
        if self._sim_state != "READY":
            self._error(10 if self._sim_state == "NOT INSERTED" else 11)
            return
        if self._registration not in (1, 5):
            self._answer([], "NO CARRIER")
            return
        self.dialed_number = number
        self._set_call(_Call(0, number, "dialing"))
        self._answer([])

        def alerting() -> None:
            if self._call is not None and self._call.state == "dialing":
                self._call.timer = None
                self._set_state("alerting")

        assert self._call is not None
        self._call.timer = self._later(self.alerting_delay, alerting)

    # -- command interpreter ------------------------------------------------------------
    def _execute(self, line: str) -> None:
        self.commands.append(line)
        upper = line.upper()
        if not upper.startswith("AT"):
            return  # modules ignore lines that are not commands
        body, ubody = line[2:], upper[2:]
        if ubody == "":
            return self._answer([])
        if ubody in ("E0", "E1", "E"):
            self.echo = ubody == "E1"
            return self._answer([])
        if ubody == "I":
            return self._answer([f"{self.identity.model.removeprefix('SIMCOM_')} R14.18"])
        if ubody == "A":
            if self._call is not None and self._call.state == "incoming":
                self._cancel_call_timer()
                self._set_state("active")
                return self._answer([])
            return self._answer([], "NO CARRIER")
        if ubody.startswith("D"):
            number = body[1:].strip()
            if not number.endswith(";"):
                return self._error(4)  # data calls are not modelled
            return self._dial(number[:-1])
        if ubody in ("H", "H0", "+CHUP"):
            if self._call is not None:
                self._end_call(None)
            return self._answer([])
        if not ubody.startswith("+"):
            return self._error(100)
        self._extended(body[1:], ubody[1:])

    def _extended(self, body: str, ubody: str) -> None:
        match = re.match(r"([A-Z0-9]+)(=\?|=|\?)?", ubody)
        if match is None:
            return self._error(100)
        name, op, args = match.group(1), match.group(2) or "", body[match.end() :]
        ident = self.identity
        sim_ready = self._sim_state == "READY"
        simple = {
            "CGMI": ident.manufacturer,
            "CGMM": ident.model,
            "CGMR": ident.revision,
            "CGSN": ident.imei,
        }
        if name in simple and op == "":
            return self._answer([simple[name]])
        if name in ("CIMI", "CCID") and op == "":
            if not sim_ready:
                return self._error(10 if self._sim_state == "NOT INSERTED" else 11)
            return self._answer([ident.imsi if name == "CIMI" else ident.iccid])
        if name == "CMEE" and op == "=" and args in ("0", "1", "2"):
            self.cmee = int(args)
            return self._answer([])
        if name in ("CLIP", "CRC") and op == "=" and args in ("0", "1"):
            setattr(self, name.lower(), args == "1")
            return self._answer([])
        if name == "CCWA" and op == "=":
            return self._answer([])
        if name == "CPIN":
            return self._cpin(op, args)
        if name == "CREG":
            if op == "=" and args in ("0", "1", "2"):
                self.creg_mode = int(args)
                return self._answer([])
            if op == "?":
                return self._answer([f"+CREG: {self.creg_mode},{self._registration}"])
            return self._error(3)
        if name == "COPS" and op == "?":
            if self._registration in (1, 5):
                return self._answer([f'+COPS: 0,0,"{ident.operator}"'])
            return self._answer(["+COPS: 0"])
        if name == "CSQ" and op == "":
            return self._answer([f"+CSQ: {self._rssi},0"])
        if name == "CNUM" and op == "":
            own = [f'+CNUM: "","{ident.own_number}",145'] if ident.own_number else []
            return self._answer(own)
        if name == "CLCC" and op == "":
            return self._answer(self._clcc())
        if name == "VTS" and op == "=":
            if self._call is None or self._call.state != "active":
                return self._error(3)
            digits = [d for d in args.replace('"', "").replace(",", "") if d.strip()]
            if not digits or any(d not in "0123456789*#ABCD" for d in digits):
                return self._error(3)
            self.sent_dtmf.extend(digits)
            return self._answer([])
        if name == "CMGS" and op == "=" and args.isdigit():
            if self._sim_state != "READY":
                return self._error(10 if self._sim_state == "NOT INSERTED" else 11)
            self._payload = bytearray()
            return self._send(b"\r\n> ")
        if name == "CFUN":
            if op == "?":
                return self._answer([f"+CFUN: {self.cfun}"])
            if op == "=":
                parts = args.split(",")
                if len(parts) > 1 and parts[1] == "1":
                    self._answer([])
                    return self.reboot()
                self.cfun = int(parts[0]) if parts[0].isdigit() else 1
                self._update_registration(self._registration_target if self.cfun == 1 else 0)
                return self._answer([])
        self._error(100)

    def _cpin(self, op: str, args: str) -> None:
        if op == "?":
            if self._sim_state == "NOT INSERTED":
                return self._error(10)
            return self._answer([f"+CPIN: {self._sim_state}"])
        if op == "=":
            if self._sim_state != "SIM PIN":
                return self._error(3)
            if args.strip().strip('"') == self.pin:
                self._sim_state = "READY"
                self._pin_attempts = 3
                self._answer([])
                self._urc("+CPIN: READY")

                def ready() -> None:
                    self._urc("Call Ready")
                    self._urc("SMS Ready")
                    self._update_registration(self._registration_target)

                self._later(0.01, ready)
                return None
            self._pin_attempts -= 1
            if self._pin_attempts == 0:
                self._sim_state = "SIM PUK"
            return self._error(16)
        return self._error(3)

    def _clcc(self) -> list[str]:
        call = self._call
        if call is None:
            return []
        number_type = 145 if call.number.startswith("+") else 129
        return [
            f'+CLCC: 1,{call.direction},{_CLCC_STAT[call.state]},0,0,"{call.number}",{number_type}'
        ]

    def _update_registration(self, stat: int) -> None:
        if not self._sim_inserted or self._sim_state != "READY" or self.cfun != 1:
            stat = 0 if stat in (1, 5) else stat
        if stat == self._registration:
            return
        self._registration = stat
        if self.creg_mode >= 1:
            self._urc(f"+CREG: {stat}")
        if stat not in (1, 5) and self._call is not None:
            self._end_call("NO CARRIER")
