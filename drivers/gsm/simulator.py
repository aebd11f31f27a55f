"""A simulated GSM module speaking AT on a pseudo-terminal, in the dialect of a real one.

Owns: the modem side of a pty pair and the state a real module keeps (echo, CMEE, CLIP,
identity, SIM, registration, signal, one voice call, SMS storage, USSD, power), and a
control API through which tests and the simulated board play the network: ring the SIM,
answer or reject a call placed on it, deliver SMS (single, multi-part, UCS2; stored with
+CMTI or direct with +CMT), send status reports, answer USSD, lose registration, change
the signal, pull the SIM, make the module go silent, spew noise or floods of URCs, reboot,
power it through a simulated power key (:class:`SimPowerKey`), and re-enumerate it under
another tty path (a USB module reset).

How each module differs is :class:`SimProfile` — the simulator's own notes from the
vendors' manuals (SIM800, SIM7600, M35, UC15, EC25, E1550, E173).  It is deliberately
separate from the driver's dialect table: the tests check the driver's table against it.
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
import datetime
import errno
import logging
import os
import re
import tty
from collections.abc import Callable, Sequence
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


@dataclass(frozen=True, slots=True)
class SimProfile:
    """How one model behaves where modules differ (from its vendor's AT manual)."""

    name: str
    manufacturer: str
    model: str
    revision: str
    iccid_command: str = "CCID"  # the extended command name that reads the ICCID
    iccid_prefix: str = ""  # "+ICCID: " / "+QCCID: " / "^ICCID: " or bare digits
    boot_urcs: tuple[str, ...] = ("RDY", "+CFUN: 1", "+CPIN: {sim}", "Call Ready",
                                  "SMS Ready")
    sms_storages: tuple[str, ...] = ("SM", "ME")
    status_report_storage: str | None = None  # "SR": a dedicated one; None: with messages
    ussd_packed_hex: bool = False  # Huawei: USSD strings 7-bit packed in hex
    huawei_call_urcs: bool = False  # ^ORIG/^CONF/^CONN/^CEND
    signal_urc: bool = False  # ^RSSI on signal change
    accepts: tuple[str, ...] = ()  # vendor set commands that just answer OK
    usb: bool = False  # a USB module: a reset re-enumerates it


SIM800 = SimProfile("SIM800", "SIMCOM_Ltd", "SIMCOM_SIM800L", "Revision:1418B04SIM800L24")
SIM7600 = SimProfile(
    "SIM7600", "SIMCOM INCORPORATED", "SIMCOM_SIM7600E-H", "LE20B04SIM7600M22",
    iccid_command="CICCID", iccid_prefix="+ICCID: ",
    boot_urcs=("RDY", "+CPIN: {sim}", "SMS DONE", "PB DONE"), usb=True)
M35 = SimProfile(
    "M35", "Quectel_Ltd", "Quectel_M35", "M35FAR02A03", iccid_command="QCCID",
    boot_urcs=("RDY", "+CFUN: 1", "+CPIN: {sim}", "Call Ready", "SMS Ready"))
UC15 = SimProfile(
    "UC15", "Quectel", "UC15", "UC15AEFAR02A02", iccid_command="QCCID",
    iccid_prefix="+QCCID: ", boot_urcs=("RDY", "+CPIN: {sim}", "+QIND: SMS DONE",
                                        "+QIND: PB DONE"),
    sms_storages=("SM", "ME", "SR"), status_report_storage="SR",
    accepts=("QURCCFG",), usb=True)
EC25 = SimProfile(
    "EC25", "Quectel", "EC25", "EC25EFAR06A06M4G", iccid_command="QCCID",
    iccid_prefix="+QCCID: ", boot_urcs=("RDY", "+CPIN: {sim}", "+QIND: SMS DONE",
                                        "+QIND: PB DONE"),
    sms_storages=("SM", "ME", "SR"), status_report_storage="SR",
    accepts=("QURCCFG",), usb=True)
E1550 = SimProfile(
    "E1550", "huawei", "E1550", "11.608.13.02.00", iccid_command="^ICCID",
    iccid_prefix="^ICCID: ", boot_urcs=("^SYSSTART", "+CPIN: {sim}"),
    ussd_packed_hex=True, huawei_call_urcs=True, signal_urc=True, accepts=("CURC",),
    usb=True)
E173 = SimProfile(
    "E173", "huawei", "E173", "11.126.85.00.209", iccid_command="^ICCID",
    iccid_prefix="^ICCID: ", boot_urcs=("^SYSSTART", "+CPIN: {sim}"),
    ussd_packed_hex=True, huawei_call_urcs=True, signal_urc=True, accepts=("CURC",),
    usb=True)
PROFILES: dict[str, SimProfile] = {
    p.name: p for p in (SIM800, SIM7600, M35, UC15, EC25, E1550, E173)
}


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


class SimPowerKey:
    """A GPIO output wired to the simulated module's power key (the shape of
    python-periphery's ``GPIO``: ``write(bool)``, ``close()``).  A press of at least
    ``min_press`` seconds toggles the power, as on SIM800/EC25-class modules."""

    def __init__(self, modem: SimModem, *, min_press: float = 0.05, active_low: bool = False
                 ) -> None:
        self.modem = modem
        self.min_press = min_press
        self.active_low = active_low
        self._pressed_at: float | None = None
        self.presses = 0

    def write(self, value: bool) -> None:
        pressed = value != self.active_low
        now = asyncio.get_running_loop().time()
        if pressed and self._pressed_at is None:
            self._pressed_at = now
        elif not pressed and self._pressed_at is not None:
            held = now - self._pressed_at
            self._pressed_at = None
            if held >= self.min_press:
                self.presses += 1
                self.modem.toggle_power()

    def close(self) -> None:
        pass


class SimModem:
    """A virtual modem on a pty. ``async with SimModem() as sim: sim.device_path``."""

    def __init__(
        self,
        *,
        profile: SimProfile = SIM800,
        identity: SimIdentity | None = None,
        pin: str | None = None,
        sim_inserted: bool = True,
        registration: int = 1,
        rssi: int = 20,
        ring_interval: float = 3.0,
        alerting_delay: float = 0.2,
        boot_delay: float = 0.2,
        sms_capacity: int = 10,
        report_delay: float = 0.1,
        ussd_delay: float = 0.05,
    ) -> None:
        self.profile = profile
        self.identity = identity or SimIdentity(
            manufacturer=profile.manufacturer, model=profile.model, revision=profile.revision)
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
        self._booting = False  # between reboot() and its boot URCs: deaf
        self._interleave: list[str] = []
        self._call: _Call | None = None
        self._reset_settings()
        # SMS: storages (index → (stat, pdu)), the network's queue when they are full.
        self.sms_capacity = sms_capacity
        self._storage: dict[str, dict[int, tuple[int, str]]] = {
            mem: {} for mem in profile.sms_storages
        }
        self._network_queue: list[tuple[str, bool]] = []
        self._mr = 0
        self.report_delay = report_delay
        self.report_status = 0  # TP-ST of the status reports the "network" sends
        self.sms_sent_refs: list[int] = []
        # USSD: code → (answer text, "gsm7" | "ucs2", <m>)
        self.ussd_delay = ussd_delay
        self.ussd_answers: dict[str, tuple[str, str, int]] = {
            "*100#": ("Balance: 12.34 EUR", "gsm7", 0)
        }
        self.ussd_requests: list[str] = []
        self.powered = True
        self.power_cycles = 0
        self.enumerations = 0
        self._flood: asyncio.TimerHandle | None = None
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
        self.cmgf = 0
        self.cnmi = (0, 0, 0, 0, 0)  # after power-up no indications (27.005 default)
        self.mem = ["SM", "SM", "SM"]

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._open_pty()

    def _open_pty(self) -> None:
        assert self._loop is not None
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation in the line discipline
        os.set_blocking(self._master, False)
        self.device_path = os.ttyname(self._slave)
        self._loop.add_reader(self._master, self._on_readable)
        self.enumerations += 1

    def _close_pty(self) -> None:
        if self._loop is not None and self._master is not None:
            self._loop.remove_reader(self._master)
            self._loop.remove_writer(self._master)
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        self._tx.clear()
        self._rx.clear()

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._call is not None and self._call.timer is not None:
            self._call.timer.cancel()
        self._close_pty()

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
        if self.profile.huawei_call_urcs:
            self._urc("^CONN:1,0")

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
        if self.profile.signal_urc:
            self._urc(f"^RSSI:{rssi}")

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
        """The module restarts: settings lost, call dropped, boot URCs after boot_delay.

        Like a real module it takes no command while it boots: what arrives before the
        boot URCs is lost, so a driver that polls ``AT`` sees its first answer only after
        ``RDY``."""
        self._booting = True
        if self._call is not None:
            self._cancel_call_timer()
            self._set_call(None)
        self._reset_settings()
        self._registration = 0
        self._sim_state = (
            "NOT INSERTED" if not self._sim_inserted else "SIM PIN" if self.pin else "READY"
        )

        def booted() -> None:
            if not self.powered:
                return
            self._booting = False
            for line in self.profile.boot_urcs:
                if line in ("Call Ready", "SMS Ready", "SMS DONE", "PB DONE",
                            "+QIND: SMS DONE", "+QIND: PB DONE") \
                        and self._sim_state != "READY":
                    continue
                self._urc(line.format(sim=self._sim_state))
            if self._sim_state == "READY":
                self._registration = self._registration_target
            self._retry_network_queue()

        self._later(self.boot_delay, booted)

    # -- control API: power, USB, floods --------------------------------------------------
    def power_off(self) -> None:
        """The module switches off: silent, call and settings gone."""
        if not self.powered:
            return
        self.powered = False
        if self._call is not None:
            self._cancel_call_timer()
            self._set_call(None)
        self._silent = True

    def power_on(self) -> None:
        """The module switches on: boots (URCs after ``boot_delay``); a USB module comes
        back under a new tty path."""
        if self.powered:
            return
        self.powered = True
        self.power_cycles += 1
        self._silent = False
        if self.profile.usb:
            self.reenumerate()
        self.reboot()

    def toggle_power(self) -> None:
        """What a press of the power key does."""
        if self.powered:
            self.power_off()
        else:
            self.power_on()

    def reenumerate(self) -> None:
        """The USB module drops off the bus and comes back under another tty path: the
        driver's port sees EOF, the module's settings are kept by its identity."""
        if self._loop is None:
            return
        old = self._master, self._slave
        self._master = self._slave = None
        self._open_pty()
        # Close the old pair after the new one exists, so the path number differs.
        if self._loop is not None and old[0] is not None:
            self._loop.remove_reader(old[0])
            self._loop.remove_writer(old[0])
        for fd in old:
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._tx.clear()
        self._rx.clear()

    def flood(self, count: int, rate: float = 1000.0, line: str = "+CSQN: 20,0") -> None:
        """Emit ``count`` URCs at ``rate`` per second (in 10 ms batches)."""
        batch = max(1, int(rate / 100))
        remaining = [count]

        def tick() -> None:
            n = min(batch, remaining[0])
            remaining[0] -= n
            self._send((f"\r\n{line}\r\n" * n).encode("latin-1"))
            if remaining[0] > 0:
                self._flood = self._later(0.01, tick)
            else:
                self._flood = None

        tick()

    # -- control API: SMS and USSD ------------------------------------------------------
    def deliver_sms(self, pdu_hex: str, *, direct: bool | None = None) -> None:
        """The network delivers one SMS-DELIVER PDU (SMSC field first).  ``direct``:
        +CMT (CNMI mt=2) rather than storing it; default: what CNMI asks for.  A full
        storage keeps it in the network's queue until a message is deleted."""
        if not self.powered or self._sim_state != "READY":
            self._network_queue.append((pdu_hex, bool(direct)))
            return
        mt = self.cnmi[1]
        if direct or (direct is None and mt in (2, 3)):
            length = _tpdu_length(pdu_hex)
            self._urc(f"+CMT: ,{length}\r\n{pdu_hex}")
            return
        mem = self.mem[2]
        index = self._store(mem, 0, pdu_hex)
        if index is None:
            self._network_queue.append((pdu_hex, False))
            return
        if mt in (1, 2, 3):
            self._urc(f'+CMTI: "{mem}",{index}')

    def deliver_text(self, sender: str, text: str, *, ucs2: bool | None = None,
                     direct: bool | None = None, reference: int = 42, skip: Sequence[int] = (),
                     part_chars: int | None = None, ref_bits: int = 8,
                     timestamp: datetime.datetime | None = None) -> list[str]:
        """Deliver ``text`` from ``sender``, in concatenated parts if it needs them;
        ``skip`` holds sequence numbers the network loses.  The parts carry ``timestamp``
        as their TP-SCTS — by default now, to the second, as an SMSC stamps what it takes
        (so the same text sent twice is two messages).  Returns the PDUs."""
        from drivers.gsm.pdu import Concat, encode_deliver  # the simulator's own helper

        use_ucs2 = ucs2 if ucs2 is not None else not _gsm7_ok(text)
        size = part_chars or (67 if use_ucs2 else 153)
        single = 70 if use_ucs2 else 160
        chunks = [text] if len(text) <= single and part_chars is None else [
            text[i : i + size] for i in range(0, len(text), size)]
        now = timestamp or datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        pdus = []
        for seq, chunk in enumerate(chunks, start=1):
            concat = Concat(reference, len(chunks), seq, ref_bits) if len(chunks) > 1 else None
            pdus.append(encode_deliver(sender, chunk, now, ucs2=use_ucs2, concat=concat))
        for seq, pdu_hex in enumerate(pdus, start=1):
            if seq not in skip:
                self.deliver_sms(pdu_hex, direct=direct)
        return pdus

    def stored_messages(self, mem: str = "SM") -> dict[int, str]:
        return {i: p for i, (_, p) in self._storage.get(mem, {}).items()}

    def _store(self, mem: str, stat: int, pdu_hex: str) -> int | None:
        """Store a PDU at the first free index (as modules do); None when full."""
        box = self._storage.setdefault(mem, {})
        if len(box) >= self.sms_capacity:
            return None
        index = next(i for i in range(1, self.sms_capacity + 2) if i not in box)
        box[index] = (stat, pdu_hex)
        return index

    def _retry_network_queue(self) -> None:
        queue, self._network_queue = self._network_queue, []
        for pdu_hex, direct in queue:
            self.deliver_sms(pdu_hex, direct=direct or None)

    def _status_report(self, reference: int, recipient: str) -> None:
        from drivers.gsm.pdu import encode_status_report

        now = datetime.datetime(2024, 5, 17, 12, 31, 0, tzinfo=datetime.UTC)
        pdu_hex = encode_status_report(reference, recipient, now, now, self.report_status)
        ds = self.cnmi[3]
        if ds == 1:
            self._urc(f"+CDS: {_tpdu_length(pdu_hex)}\r\n{pdu_hex}")
        elif ds == 2:
            mem = self.profile.status_report_storage or self.mem[2]
            index = self._store(mem, 0, pdu_hex)
            if index is not None:
                self._urc(f'+CDSI: "{mem}",{index}')

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
        if self._silent or self._booting:
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
            pdu_hex = self._payload.decode("latin-1").strip()
            self._payload = None
            self._submit(pdu_hex)
        elif len(self._payload) < 1024:
            self._payload.append(byte)

    def _submit(self, pdu_hex: str) -> None:
        """AT+CMGS payload: check it is a PDU, give it a TP-MR, maybe report on it."""
        try:
            data = bytes.fromhex(pdu_hex)
            first = data[1 + data[0]]
            da_len = data[3 + data[0]]
        except (ValueError, IndexError):
            self._answer([], "+CMS ERROR: 304")  # invalid PDU mode parameter
            return
        if self._registration not in (1, 5):
            self._answer([], "+CMS ERROR: 331")  # no network service
            return
        self._mr = (self._mr + 1) % 256
        self.sent_sms.append(pdu_hex)
        self.sms_sent_refs.append(self._mr)
        self._answer([f"+CMGS: {self._mr}"])
        if first & 0x20:  # TP-SRR: the sender wants a status report
            digits = data[5 + data[0] : 5 + data[0] + (da_len + 1) // 2]
            number = "".join(f"{b & 0x0F:x}{b >> 4:x}" for b in digits)[:da_len]
            plus = "+" if data[4 + data[0]] & 0x70 == 0x10 else ""
            reference = self._mr
            self._later(self.report_delay,
                        lambda: self._status_report(reference, plus + number))

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
        had_call = self._call is not None
        self._set_call(None)
        if self.profile.huawei_call_urcs and had_call:
            cause = {"BUSY": 17, "NO ANSWER": 19}.get(report or "", 16)
            self._urc(f"^CEND:1,0,104,{cause}")
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

        if self.profile.huawei_call_urcs:
            self._urc("^ORIG:1,0")

        def alerting() -> None:
            if self._call is not None and self._call.state == "dialing":
                self._call.timer = None
                self._set_state("alerting")
                if self.profile.huawei_call_urcs:
                    self._urc("^CONF:1")

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
        if not ubody.startswith(("+", "^")):
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
        if name == "CIMI" and op == "":
            if not sim_ready:
                return self._error(10 if self._sim_state == "NOT INSERTED" else 11)
            return self._answer([ident.imsi])
        if name == self.profile.iccid_command.lstrip("^") and op in ("", "?"):
            if not sim_ready:
                return self._error(10 if self._sim_state == "NOT INSERTED" else 11)
            return self._answer([self.profile.iccid_prefix + ident.iccid])
        if name in self.profile.accepts and op == "=":
            return self._answer([])
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
        if name in ("CMGF", "CPMS", "CNMI", "CMGR", "CMGL", "CMGD", "CSMS", "CNMA"):
            return self._sms_command(name, op, args)
        if name == "CUSD":
            return self._cusd(op, args)
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

    def _cms(self, code: int) -> None:
        self._answer([], f"+CMS ERROR: {code}" if self.cmee else "ERROR")

    def _sms_command(self, name: str, op: str, args: str) -> None:
        if self._sim_state != "READY" and name != "CMGF":
            return self._cms(310)  # SIM not inserted / not ready
        values = [a.strip().strip('"') for a in args.split(",")] if args else []
        if name == "CMGF":
            if op == "=" and values in (["0"], ["1"]):
                self.cmgf = int(values[0])
                return self._answer([])
            if op == "?":
                return self._answer([f"+CMGF: {self.cmgf}"])
            return self._cms(302)
        if name == "CSMS":
            return self._answer(["+CSMS: 0,1,1,1"] if op != "?" else ["+CSMS: 0,1,1,1"])
        if name == "CNMA":
            return self._answer([])
        if name == "CNMI":
            if op == "=" and values and all(v.isdigit() for v in values):
                padded = [int(v) for v in values] + [0] * (5 - len(values))
                self.cnmi = (padded[0], padded[1], padded[2], padded[3], padded[4])
                return self._answer([])
            if op == "?":
                return self._answer(["+CNMI: " + ",".join(map(str, self.cnmi))])
            return self._cms(303)
        if name == "CPMS":
            if op == "=":
                if not values or any(v not in self._storage for v in values):
                    return self._cms(302)
                for i, mem in enumerate(values[:3]):
                    self.mem[i] = mem
            if op in ("=", "?"):
                usage = [f"{len(self._storage[m])},{self.sms_capacity}" for m in self.mem]
                if op == "?":
                    usage = [f'"{m}",{u}' for m, u in zip(self.mem, usage, strict=True)]
                return self._answer(["+CPMS: " + ",".join(usage)])
            return self._cms(302)
        if self.cmgf != 0:
            return self._cms(302)  # only PDU mode is modelled
        box = self._storage[self.mem[0]]
        if name == "CMGR" and op == "=" and args.isdigit():
            entry = box.get(int(args))
            if entry is None:
                return self._cms(321)  # invalid memory index
            stat, pdu_hex = entry
            if stat == 0:
                box[int(args)] = (1, pdu_hex)
            return self._answer([f"+CMGR: {stat},,{_tpdu_length(pdu_hex)}", pdu_hex])
        if name == "CMGL" and op == "=":
            wanted = int(values[0]) if values and values[0].isdigit() else 4
            lines = []
            for index in sorted(box):
                stat, pdu_hex = box[index]
                if wanted in (4, stat):
                    lines += [f"+CMGL: {index},{stat},,{_tpdu_length(pdu_hex)}", pdu_hex]
                    if stat == 0:
                        box[index] = (1, pdu_hex)
            return self._answer(lines)
        if name == "CMGD" and op == "=" and values and values[0].isdigit():
            flag = int(values[1]) if len(values) > 1 and values[1].isdigit() else 0
            if flag == 4:
                box.clear()
            elif flag:
                for index in [i for i, (st, _) in box.items() if st == 1]:
                    del box[index]
            else:
                box.pop(int(values[0]), None)
            self._answer([])
            self._retry_network_queue()
            return None
        return self._cms(302)

    def _cusd(self, op: str, args: str) -> None:
        if op == "?":
            return self._answer(["+CUSD: 1"])
        values = [a.strip().strip('"') for a in args.split(",")]
        if op != "=" or not values or values[0] not in ("0", "1", "2"):
            return self._error(3)
        if values[0] == "2" or len(values) < 2:
            return self._answer([])
        if self._registration not in (1, 5):
            return self._error(30)
        request = values[1]
        if self.profile.ussd_packed_hex:
            from drivers.gsm.gsm7 import unpack_ussd

            try:
                request = unpack_ussd(bytes.fromhex(request))
            except ValueError:
                return self._error(3)
        self.ussd_requests.append(request)
        self._answer([])
        answer = self.ussd_answers.get(request)

        def respond() -> None:
            if answer is None:
                self._urc("+CUSD: 4")
                return
            text, alphabet, m = answer
            if alphabet == "ucs2":
                self._urc(f'+CUSD: {m},"{text.encode("utf-16-be").hex().upper()}",72')
            elif self.profile.ussd_packed_hex:
                from drivers.gsm.gsm7 import pack_ussd

                self._urc(f'+CUSD: {m},"{pack_ussd(text).hex().upper()}",15')
            else:
                self._urc(f'+CUSD: {m},"{text}",15')

        self._later(self.ussd_delay, respond)
        return None

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


def _tpdu_length(pdu_hex: str) -> int:
    data = bytes.fromhex(pdu_hex)
    return len(data) - 1 - data[0]


def _gsm7_ok(text: str) -> bool:
    from drivers.gsm.gsm7 import can_encode

    return can_encode(text)
