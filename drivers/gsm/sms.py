"""The SMS service of one module: PDU mode, storage, reassembly, status reports.

Owns: configuring SMS on the module (PDU mode, storage, new-message indications as the
dialect wants them), receiving (+CMTI → read and delete, +CMT direct), sweeping the
storage at start so memory never fills, reassembling concatenated messages with a
timeout for missing parts, sending a text in as many parts as it needs, and matching
status reports (+CDS direct, +CDSI stored — where is a dialect quirk) to what was sent by
their TP-MR reference.  The codec is :mod:`drivers.gsm.pdu`; storing and forwarding to
the cloud is the firmware's, through :meth:`SmsService.on_received` /
:meth:`SmsService.on_status`.
Must not touch: the serial port (commands go through the modem), the firmware, the store.

Rules that keep messages safe:

* a message is deleted from the module only after a listener has taken it (a listener
  that raises leaves it on the module for the next sweep); a message read again because
  the box died between taking and deleting it is recognised by :attr:`ReceivedSms.keys`
  (the firmware stores the keys with the message and only deletes it the second time);
* the stored siblings of a long message are deleted with the part that completed it,
  under the storage lock, so a second sweep never lists them again (they would start a
  stale partial message);
* a PDU that cannot be decoded is still delivered — as :class:`ReceivedSms` with
  ``error`` set and the raw PDU — and then deleted: it is never silently dropped;
* a storage read deletes only what it handled, index by index, never with a bulk delete
  flag: a message arriving between the list and the delete stays; a status report that
  matches nothing sent is left in place (another application may own it) unless the
  storage is nearly full (:data:`UNMATCHED_PURGE_LEVEL`), when it is deleted and logged;
* a stored part of a long message stays on the module until the whole message (or what
  came of it) was taken, so a restart during reassembly loses nothing: the sweep reads
  the parts again; a part delivered directly (+CMT) is kept nowhere on the module, so it
  goes to the injected :class:`PartStore` (the firmware's event store) until its message
  is taken, and :meth:`SmsService.use_part_store` reloads what waits there; a message
  whose other parts do not arrive within ``reassembly_timeout`` is delivered as it is,
  marked with the missing sequence numbers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from drivers.gsm import pdu
from drivers.gsm.atengine import AtCommandError, AtResult, GsmError
from drivers.gsm.atparser import Urc

if TYPE_CHECKING:
    from drivers.gsm.modem import GsmModem

log = logging.getLogger(__name__)

REASSEMBLY_TIMEOUT = 300.0
"""Seconds to wait for the missing parts of a long message (networks deliver parts minutes
apart at worst; an SMSC retrying a part gives up far later, but a user waits no longer)."""
UNMATCHED_PURGE_LEVEL = 0.8
"""Storage use above which unmatched status reports are deleted (memory must not fill)."""
PENDING_REPORTS = 256
"""Sent parts remembered for status-report matching (TP-MR is 8 bits: 256 references)."""


class SmsSendError(GsmError):
    """The module refused a part (+CMS ERROR) or did not answer; ``sent`` holds the parts'
    references sent before it."""

    def __init__(self, message: str, sent: list[int], code: int | None = None) -> None:
        super().__init__(message)
        self.sent = sent
        self.code = code


@dataclass(slots=True)
class ReceivedSms:
    """A received message, whole (or as whole as it got), or an undecodable PDU."""

    modem: str
    sender: str | None
    text: str | None
    encoding: str
    timestamp: dt.datetime | None
    smsc: str | None
    raw_pdus: list[str]
    parts: int = 1
    missing: list[int] = field(default_factory=list)  # sequence numbers never received
    concat_reference: int | None = None
    error: str | None = None  # why it could not be decoded (raw_pdus kept)
    warnings: list[str] = field(default_factory=list)
    imei: str | None = None
    iccid: str | None = None

    @property
    def complete(self) -> bool:
        return self.error is None and not self.missing

    @property
    def keys(self) -> list[tuple[str, str]]:
        """What identifies this message when it is read again (after a restart that came
        between storing it and deleting it from the module): one ``(identity, digest)``
        per raw PDU, the identity the SIM's ICCID (the module's IMEI, or its port, when
        that is unknown), the digest a SHA-256 of the PDU in upper case.  A PDU carries
        the sender, the SMSC's timestamp to the second and the concatenation reference,
        so two messages the network delivered never share a key; a message all of whose
        PDUs are known was stored before, even when it is read again in fewer parts."""
        if self.iccid:
            identity = f"iccid:{self.iccid}"
        elif self.imei:
            identity = f"imei:{self.imei}"
        else:
            identity = f"port:{self.modem}"
        return [(identity, hashlib.sha256(p.strip().upper().encode()).hexdigest())
                for p in self.raw_pdus]

    def to_json(self) -> dict[str, object]:
        return {
            "modem": self.modem,
            "sender": self.sender,
            "text": self.text,
            "encoding": self.encoding,
            "timestamp": None if self.timestamp is None else self.timestamp.isoformat(),
            "smsc": self.smsc,
            "parts": self.parts,
            "missing": list(self.missing),
            "concat_reference": self.concat_reference,
            "error": self.error,
            "warnings": list(self.warnings),
            "imei": self.imei,
            "iccid": self.iccid,
            "raw_pdus": list(self.raw_pdus),
        }


@dataclass(slots=True)
class SentSms:
    """A message sent in ``len(references)`` parts; ``reports`` fill in as they come."""

    modem: str
    to: str
    text: str
    references: list[int]
    status_report: bool
    reports: dict[int, pdu.SmsStatusReport] = field(default_factory=dict)
    sent_at: float = field(default_factory=time.time)

    @property
    def state(self) -> str:
        """sent / pending / delivered / failed (delivered: every part delivered)."""
        if not self.reports:
            return "sent"
        finals = [r for r in self.reports.values() if r.final]
        if any(not r.delivered for r in finals):
            return "failed"
        if len(finals) == len(self.references) and all(r.delivered for r in finals):
            return "delivered"
        return "pending"


class PartStore(Protocol):
    """Where parts received directly (+CMT) wait for their siblings across a restart.
    ``modem`` is the module's name (its board port); ``ts`` wall-clock seconds."""

    def save_sms_part(self, modem: str, pdu: str, ts: float) -> None: ...

    def drop_sms_parts(self, modem: str, pdus: Sequence[str]) -> None: ...

    def sms_parts(self, modem: str) -> list[tuple[str, float]]: ...


ReceivedListener = Callable[[ReceivedSms], None]
StatusListener = Callable[[SentSms, pdu.SmsStatusReport], None]


# -- reassembly (sans-I/O: time is an argument) -------------------------------------------
@dataclass(slots=True)
class _Partial:
    first_seen: float
    total: int
    parts: dict[int, tuple[pdu.SmsDeliver, str]] = field(default_factory=dict)


class Reassembler:
    """Collects the parts of concatenated messages; ``now`` is always passed in."""

    def __init__(self, modem: str, timeout: float = REASSEMBLY_TIMEOUT) -> None:
        self.modem = modem
        self.timeout = timeout
        self._partials: dict[tuple[str, int, int, int], _Partial] = {}

    def __len__(self) -> int:
        return len(self._partials)

    def add(self, message: pdu.SmsDeliver, raw: str, now: float) -> ReceivedSms | None:
        """A single message comes straight back; a part returns the whole message when it
        was the last one missing, else ``None``."""
        concat = message.concat
        if concat is None or concat.total == 1:
            return self._whole([(message, raw)], 1, [], None)
        key = (message.sender.number, concat.ref_bits, concat.reference, concat.total)
        partial = self._partials.setdefault(key, _Partial(now, concat.total))
        if concat.sequence in partial.parts:
            log.info("%s: duplicate part %d of message %d from %s ignored", self.modem,
                     concat.sequence, concat.reference, message.sender.number)
            return None
        partial.parts[concat.sequence] = (message, raw)
        if len(partial.parts) < partial.total:
            return None
        del self._partials[key]
        ordered = [partial.parts[i] for i in sorted(partial.parts)]
        return self._whole(ordered, partial.total, [], concat.reference)

    def next_deadline(self) -> float | None:
        if not self._partials:
            return None
        return min(p.first_seen for p in self._partials.values()) + self.timeout

    def expire(self, now: float) -> list[ReceivedSms]:
        """Messages whose missing parts did not come in time, delivered incomplete."""
        out = []
        for key, partial in list(self._partials.items()):
            if now - partial.first_seen >= self.timeout:
                del self._partials[key]
                ordered = [partial.parts[i] for i in sorted(partial.parts)]
                missing = [i for i in range(1, partial.total + 1) if i not in partial.parts]
                log.warning("%s: message %d from %s incomplete after %g s: parts %s missing",
                            self.modem, key[2], key[0], self.timeout, missing)
                out.append(self._whole(ordered, partial.total, missing, key[2]))
        return out

    def _whole(self, parts: list[tuple[pdu.SmsDeliver, str]], total: int, missing: list[int],
               reference: int | None) -> ReceivedSms:
        first = parts[0][0]
        texts = [m.text for m, _ in parts]
        text = None if any(t is None for t in texts) else "".join(t or "" for t in texts)
        encodings = {str(m.encoding) for m, _ in parts}
        return ReceivedSms(
            modem=self.modem,
            sender=first.sender.number,
            text=text,
            encoding=encodings.pop() if len(encodings) == 1 else "mixed",
            timestamp=first.timestamp,
            smsc=None if first.smsc is None else first.smsc.number,
            raw_pdus=[raw for _, raw in parts],
            parts=total,
            missing=missing,
            concat_reference=reference,
            warnings=[w for m, _ in parts for w in m.warnings],
        )


# -- +CMGR / +CMGL / +CPMS answers --------------------------------------------------------
def _ints(text: str) -> list[int | None]:
    out: list[int | None] = []
    for part in text.split(","):
        part = part.strip().strip('"')
        out.append(int(part) if part.isdigit() else None)
    return out


def parse_cmgl(lines: list[str]) -> list[tuple[int, int | None, str]]:
    """``+CMGL: <index>,<stat>,[<alpha>],<length>`` then the PDU line → (index, stat, pdu).
    A header without its PDU line, or a PDU without a header, is skipped."""
    out = []
    header: tuple[int, int | None] | None = None
    for line in lines:
        if line.startswith("+CMGL:"):
            values = _ints(line[6:])
            header = (values[0], values[1] if len(values) > 1 else None) \
                if values and values[0] is not None else None
            continue
        if header is not None:
            out.append((header[0], header[1], line.strip()))
            header = None
    return out


def parse_cpms(lines: list[str]) -> tuple[int, int] | None:
    """(used, total) of the first storage in a +CPMS answer (set or query form)."""
    for line in lines:
        if line.startswith("+CPMS:"):
            values = [v for v in _ints(line[6:]) if v is not None]
            if len(values) >= 2:
                return values[0], values[1]
    return None


class SmsService:
    """SMS on one :class:`~drivers.gsm.modem.GsmModem` (created by the modem itself)."""

    def __init__(self, modem: GsmModem, *, reassembly_timeout: float = REASSEMBLY_TIMEOUT,
                 concat_ref_bits: int = 8) -> None:
        self.modem = modem
        self.reassembler = Reassembler(modem.name, reassembly_timeout)
        self.concat_ref_bits = concat_ref_bits
        self.national_languages: tuple[int, ...] = (1, 2, 3)
        """National language shift tables (TS 23.038 annex A) the encoder may announce when
        the default alphabet cannot carry a text: those the recipients' phones are
        expected to know (the box's country); empty for UCS2 whenever the default
        alphabet is not enough."""
        self._concat_refs = itertools.count(int(time.time()) % 200)
        self._received: list[ReceivedListener] = []
        self._status: list[StatusListener] = []
        self._pending: dict[int, SentSms] = {}  # TP-MR → message, most recent last
        self._held: dict[str, tuple[str, int]] = {}  # stored part PDU → (storage, index)
        self._siblings: list[tuple[str, int]] = []  # held parts to delete with this one
        self._deleted: set[tuple[str, int]] = set()  # deleted during the current sweep
        self._storage_lock = asyncio.Lock()
        self._send_lock = asyncio.Lock()
        self._expiry: asyncio.TimerHandle | None = None
        self._part_store: PartStore | None = None
        self._ready = False
        self.storage_used: tuple[int, int] | None = None
        self.received_count = 0
        self.undecodable_count = 0
        self.sent_count = 0
        self.unmatched_reports = 0
        self.sweeps = 0
        self._unsubscribe = [
            modem.on_urc("+CMTI", self._on_cmti),
            modem.on_urc("+CMT", self._on_cmt),
            modem.on_urc("+CDS", self._on_cds),
            modem.on_urc("+CDSI", self._on_cdsi),
        ]

    # -- listeners --------------------------------------------------------------------------
    def on_received(self, listener: ReceivedListener) -> None:
        """``listener(sms)`` for every received message (whole, incomplete or undecodable).
        It runs on the loop and must not block; if it raises, the message stays on the
        module and comes again with the next sweep.  Until a first listener is attached
        nothing is taken off the module; attaching it sweeps the storage."""
        self._received.append(listener)
        if len(self._received) == 1 and self._ready:
            self.modem._spawn(self._sweep_quietly(), "sms-sweep")

    def on_status(self, listener: StatusListener) -> None:
        """``listener(sent, report)`` for every status report matched to a sent message."""
        self._status.append(listener)

    def use_part_store(self, store: PartStore) -> int:
        """Keep direct (+CMT) parts in ``store`` until their message is taken, and take back
        the parts waiting there from before a restart (their reassembly timeout counts
        from when they first arrived).  Attach the received listeners first.  Returns how
        many parts were reloaded."""
        self._part_store = store
        try:
            saved = store.sms_parts(self.modem.name)
        except Exception:
            log.exception("%s: reading the saved SMS parts failed", self.modem.name)
            return 0
        now_wall, now = time.time(), time.monotonic()
        for pdu_hex, ts in saved:
            try:
                message = pdu.decode(pdu_hex)
            except pdu.PduError as exc:
                log.warning("%s: saved part undecodable (%s), dropped: %s", self.modem.name,
                            exc, pdu_hex)
                self._drop_parts([pdu_hex])
                continue
            if not isinstance(message, pdu.SmsDeliver):
                self._drop_parts([pdu_hex])
                continue
            whole = self.reassembler.add(message, pdu_hex, now - max(0.0, now_wall - ts))
            if whole is not None and self._deliver(whole):
                self._drop_parts(whole.raw_pdus)
        if saved:
            log.info("%s: %d SMS part(s) awaiting their siblings reloaded", self.modem.name,
                     len(saved))
            self._arm_expiry()
        return len(saved)

    def _save_part(self, pdu_hex: str) -> None:
        if self._part_store is None:
            return
        try:
            self._part_store.save_sms_part(self.modem.name, pdu_hex, time.time())
        except Exception:
            log.exception("%s: saving an SMS part failed (kept in memory only)",
                          self.modem.name)

    def _drop_parts(self, pdus: Sequence[str]) -> None:
        if self._part_store is None or not pdus:
            return
        try:
            self._part_store.drop_sms_parts(self.modem.name, list(pdus))
        except Exception:
            log.exception("%s: forgetting saved SMS parts failed", self.modem.name)

    # -- set-up -----------------------------------------------------------------------------
    async def setup(self) -> None:
        """PDU mode, storage, indications; then sweep what is stored (in the background).
        A module that refuses a step keeps working for calls (logged, not raised)."""
        dialect = self.modem.dialect
        mem = dialect.sms_storage
        try:
            (await self.modem.command("AT+CMGF=0")).check("AT+CMGF=0")
            result = await self.modem.command(f'AT+CPMS="{mem}","{mem}","{mem}"')
            self.storage_used = parse_cpms(result.lines) if result.ok else None
            (await self.modem.command(dialect.cnmi_command)).check(dialect.cnmi_command)
        except AtCommandError as exc:
            log.warning("%s: SMS set-up refused (%s); SMS unavailable", self.modem.name, exc)
            return
        self._ready = True
        self.modem._spawn(self._sweep_quietly(), "sms-sweep")

    @property
    def ready(self) -> bool:
        return self._ready

    async def sweep(self) -> int:
        """Read every stored message (received storage, and the status-report storage when
        it is another one), hand each over and delete it.  Returns how many were handled."""
        handled = 0
        storages = [self.modem.dialect.sms_storage]
        if (self.modem.dialect.status_report_delivery == "stored"
                and self.modem.dialect.status_report_storage not in storages):
            storages.append(self.modem.dialect.status_report_storage)
        for mem in storages:
            try:
                handled += await self._sweep_storage(mem)
            except GsmError as exc:
                log.warning("%s: sweeping %s storage failed: %s", self.modem.name, mem, exc)
        self.sweeps += 1
        return handled

    async def _sweep_quietly(self) -> None:
        await self.sweep()

    async def _sweep_storage(self, mem: str) -> int:
        async with self._storage_lock:
            await self._select(mem)
            result = await self.modem.command("AT+CMGL=4", 30.0)
            if not result.ok:
                return 0
            handled = 0
            self._deleted.clear()
            for index, _stat, pdu_hex in parse_cmgl(result.lines):
                if (mem, index) in self._deleted:
                    continue  # a sibling of a message completed earlier in this sweep
                if await self._handle_stored(mem, index, pdu_hex):
                    handled += 1
            await self._select(self.modem.dialect.sms_storage)
            return handled

    async def _select(self, mem: str) -> None:
        result = await self.modem.command(f'AT+CPMS="{mem}"')
        if result.ok:
            used = parse_cpms(result.lines)
            if used is not None:
                self.storage_used = used

    # -- receiving ----------------------------------------------------------------------------
    def _on_cmti(self, urc: Urc) -> None:
        """``+CMTI: "SM",3``: a message was stored."""
        self._on_stored(urc)

    def _on_cdsi(self, urc: Urc) -> None:
        """``+CDSI: "SR",1``: a status report was stored."""
        self._on_stored(urc)

    def _on_stored(self, urc: Urc) -> None:
        parts = [p.strip().strip('"') for p in urc.args.split(",")]
        if len(parts) < 2 or not parts[1].isdigit():
            log.warning("%s: malformed %s %r", self.modem.name, urc.name, urc.raw)
            return
        mem, index = parts[0] or self.modem.dialect.sms_storage, int(parts[1])
        self.modem._spawn(self._read_stored(mem, index), f"sms-read-{mem}-{index}")

    async def _read_stored(self, mem: str, index: int) -> None:
        try:
            async with self._storage_lock:
                if mem != self.modem.dialect.sms_storage:
                    await self._select(mem)
                result = await self.modem.command(f"AT+CMGR={index}")
                pdu_line = next((ln for ln in result.lines if not ln.startswith("+CMGR:")), None)
                if result.ok and pdu_line is not None:
                    await self._handle_stored(mem, index, pdu_line)
                elif not result.ok:
                    log.warning("%s: AT+CMGR=%d (%s) failed: %s %s", self.modem.name, index,
                                mem, result.result, result.detail)
                if mem != self.modem.dialect.sms_storage:
                    await self._select(self.modem.dialect.sms_storage)
        except GsmError as exc:
            log.warning("%s: reading message %d from %s failed: %s (next sweep retries)",
                        self.modem.name, index, mem, exc)

    async def _handle_stored(self, mem: str, index: int, pdu_hex: str) -> bool:
        """Hand over one stored PDU; delete it when it was taken, and with it the stored
        siblings of a long message it completed — here, under the storage lock, so no
        sweep reads them again in between (they would start a stale partial message).
        True if deleted.  Runs with the storage lock held and ``mem`` selected."""
        self._siblings = []
        if not self._take(pdu_hex, location=(mem, index)):
            return False
        deleted = await self._delete(mem, index)
        siblings, self._siblings = self._siblings, []
        await self._delete_at(siblings, mem)
        return deleted

    async def _delete(self, mem: str, index: int) -> bool:
        result = await self.modem.command(f"AT+CMGD={index}")
        if not result.ok:
            log.warning("%s: AT+CMGD=%d (%s) failed: %s", self.modem.name, index, mem,
                        result.result)
            return False
        self._deleted.add((mem, index))
        if self.storage_used is not None:
            self.storage_used = (max(0, self.storage_used[0] - 1), self.storage_used[1])
        return True

    async def _delete_at(self, locations: list[tuple[str, int]], current: str) -> None:
        """Delete stored messages (storage lock held, ``current`` selected, and selected
        again at the end)."""
        for mem in sorted({m for m, _ in locations}):
            if mem != current:
                await self._select(mem)
            for _, index in (loc for loc in locations if loc[0] == mem):
                await self._delete(mem, index)
            if mem != current:
                await self._select(current)

    async def _delete_held(self, locations: list[tuple[str, int]]) -> None:
        """Delete the stored parts of a message that was taken whole (from a direct part
        or the reassembly timeout: outside the storage lock)."""
        try:
            async with self._storage_lock:
                await self._delete_at(locations, self.modem.dialect.sms_storage)
        except GsmError as exc:
            log.warning("%s: deleting parts %s failed: %s", self.modem.name, locations, exc)

    def _on_cmt(self, urc: Urc) -> None:
        """``+CMT: [<alpha>],<length>`` then the PDU: delivered directly, nothing stored."""
        if not urc.extra_lines:
            log.warning("%s: +CMT without its PDU: %r", self.modem.name, urc.raw)
            return
        self._take(urc.extra_lines[0], location=None)

    def _on_cds(self, urc: Urc) -> None:
        """``+CDS: <length>`` then the status report PDU, not stored."""
        if not urc.extra_lines:
            log.warning("%s: +CDS without its PDU: %r", self.modem.name, urc.raw)
            return
        self._take(urc.extra_lines[0], location=None)

    def _take(self, pdu_hex: str, *, location: tuple[str, int] | None) -> bool:
        """Decode and hand over one PDU (``location``: where it is stored, ``None`` when it
        came directly).  True when it may be deleted from the module now."""
        pdu_hex = pdu_hex.strip()
        stored = location is not None
        try:
            message = pdu.decode(pdu_hex)
        except pdu.PduError as exc:
            log.warning("%s: undecodable PDU kept raw (%s): %s", self.modem.name, exc, pdu_hex)
            self.undecodable_count += 1
            return self._deliver(ReceivedSms(
                modem=self.modem.name, sender=None, text=None, encoding="unknown",
                timestamp=None, smsc=None, raw_pdus=[pdu_hex], error=str(exc),
                imei=self.modem.imei, iccid=self.modem.iccid))
        if isinstance(message, pdu.SmsStatusReport):
            return self._report(message, stored=stored)
        if isinstance(message, pdu.SmsSubmit):
            return False  # a stored outgoing message: not ours to delete
        if message.concat is not None and message.concat.total > 1:
            if location is not None:
                if pdu_hex in self._held:
                    return False  # read again by a sweep: still waiting for its siblings
                self._held[pdu_hex] = location
            else:
                self._save_part(pdu_hex)  # nothing keeps a direct part but us
            whole = self.reassembler.add(message, pdu_hex, time.monotonic())
            self._arm_expiry()
            if whole is None:
                return False  # held (stored parts stay on the module until whole)
            taken = self._deliver(whole)
            if taken:
                self._drop_parts(whole.raw_pdus)
            # This part's own location is deleted by the caller; the siblings' here.
            others = [self._held.pop(raw) for raw in whole.raw_pdus if raw in self._held
                      and self._held[raw] != location]
            self._held.pop(pdu_hex, None)
            if taken and others:
                if stored:  # under the storage lock: deleted with this part
                    self._siblings.extend(others)
                else:
                    self.modem._spawn(self._delete_held(others), "sms-delete-parts")
            return taken
        whole = self.reassembler.add(message, pdu_hex, time.monotonic())
        assert whole is not None
        return self._deliver(whole)

    def _deliver(self, sms: ReceivedSms) -> bool:
        if not self._received:
            return False  # nobody to take it yet: it stays on the module
        sms.imei, sms.iccid = self.modem.imei, self.modem.iccid
        self.received_count += 1
        for listener in list(self._received):
            try:
                listener(sms)
            except Exception:
                log.exception("%s: SMS listener failed; message left on the module",
                              self.modem.name)
                return False
        return True

    def _arm_expiry(self) -> None:
        deadline = self.reassembler.next_deadline()
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if deadline is not None:
            loop = asyncio.get_running_loop()
            self._expiry = loop.call_later(max(0.0, deadline - time.monotonic()),
                                           self._expire)

    def _expire(self) -> None:
        self._expiry = None
        for sms in self.reassembler.expire(time.monotonic()):
            if self._deliver(sms):
                self._drop_parts(sms.raw_pdus)
                held = [self._held.pop(raw) for raw in sms.raw_pdus if raw in self._held]
                if held:
                    self.modem._spawn(self._delete_held(held), "sms-delete-parts")
        self._arm_expiry()

    # -- status reports -------------------------------------------------------------------
    def _report(self, report: pdu.SmsStatusReport, *, stored: bool) -> bool:
        sent = self._pending.get(report.reference)
        if sent is None:
            self.unmatched_reports += 1
            used = self.storage_used
            nearly_full = used is not None and used[1] and used[0] >= used[1] * \
                UNMATCHED_PURGE_LEVEL
            if stored and not nearly_full:
                log.info("%s: status report for reference %d matches nothing sent; left in "
                         "storage", self.modem.name, report.reference)
                return False
            log.info("%s: unmatched status report for reference %d %s", self.modem.name,
                     report.reference, "deleted (storage nearly full)" if stored else "ignored")
            return True
        sent.reports[report.reference] = report
        if report.final:
            del self._pending[report.reference]
        for listener in list(self._status):
            try:
                listener(sent, report)
            except Exception:
                log.exception("%s: status listener failed", self.modem.name)
        return True

    def expect_report(self, sent: SentSms) -> None:
        """Remember a message sent before (after a restart) so its reports still match."""
        for ref in sent.references:
            self._remember(ref, sent)

    def _remember(self, reference: int, sent: SentSms) -> None:
        self._pending.pop(reference, None)
        self._pending[reference] = sent
        while len(self._pending) > PENDING_REPORTS:
            del self._pending[next(iter(self._pending))]

    # -- sending --------------------------------------------------------------------------
    async def send(self, to: str, text: str, *, status_report: bool = True,
                   ucs2: bool | None = None) -> SentSms:
        """Send ``text`` in as many parts as it takes; returns once the module accepted
        every part.  Raises :class:`SmsSendError` (refused part) or ``ValueError`` (a
        number or text that cannot be sent)."""
        concat_ref = next(self._concat_refs) % (256 if self.concat_ref_bits == 8 else 65536)
        parts = pdu.encode_submit(to, text, status_report=status_report, ucs2=ucs2,
                                  concat_reference=concat_ref,
                                  concat_ref_bits=self.concat_ref_bits,
                                  national_languages=self.national_languages)
        refs: list[int] = []
        sent = SentSms(self.modem.name, to, text, refs, status_report)
        async with self._send_lock:
            for index, part in enumerate(parts, start=1):
                command = f"AT+CMGS={part.tpdu_length}"
                try:
                    result: AtResult = await self.modem.engine.command(
                        command, self.modem.dialect.sms_send_timeout,
                        payload=part.hex.encode("ascii"))
                except GsmError as exc:
                    raise SmsSendError(f"{self.modem.name}: part {index}/{len(parts)} to {to}: "
                                       f"{exc}", list(refs)) from exc
                if not result.ok:
                    raise SmsSendError(
                        f"{self.modem.name}: part {index}/{len(parts)} to {to} refused: "
                        f"{result.result} {result.detail}".rstrip(), list(refs), result.code)
                mr = _ints(result.line("+CMGS:") or "")
                reference = mr[0] if mr and mr[0] is not None else -1
                refs.append(reference)
                if status_report and reference >= 0:
                    self._remember(reference, sent)
        self.sent_count += 1
        return sent

    # -- shutdown / observation -----------------------------------------------------------
    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    def info(self) -> dict[str, object]:
        return {
            "ready": self._ready,
            "storage": self.modem.dialect.sms_storage,
            "storage_used": None if self.storage_used is None else list(self.storage_used),
            "received": self.received_count,
            "undecodable": self.undecodable_count,
            "sent": self.sent_count,
            "awaiting_reports": len(self._pending),
            "unmatched_reports": self.unmatched_reports,
            "partial_messages": len(self.reassembler),
        }


__all__ = [
    "REASSEMBLY_TIMEOUT",
    "PartStore",
    "Reassembler",
    "ReceivedSms",
    "SentSms",
    "SmsSendError",
    "SmsService",
]
