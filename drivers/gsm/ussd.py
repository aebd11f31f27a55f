"""USSD requests (balance checks) over AT+CUSD (3GPP TS 27.007 §7.15).

Owns: one USSD request at a time, its answer (``+CUSD: <m>[,<str>[,<dcs>]]``) and decoding
that answer whatever the module made of it: plain text (SIMCom, Quectel with
``AT+CSCS="GSM"``), UCS2 as hex (dcs 72, every module), GSM 7-bit packed as hex (Huawei
sticks, whose requests are packed the same way — ``Dialect.ussd_packed_hex``).
Must not touch: the port (commands go through the modem), the firmware.

The decoding functions are pure and never raise: an answer that cannot be decoded comes
back as its raw string with ``warnings``.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from drivers.gsm import gsm7
from drivers.gsm.atengine import GsmError
from drivers.gsm.atparser import Urc

if TYPE_CHECKING:
    from drivers.gsm.modem import GsmModem

log = logging.getLogger(__name__)

USSD_TIMEOUT = 30.0
"""Seconds a network takes at most to answer (27.007 leaves it to the network; operators'
balance services answer in a few seconds, the module reports m=5 after its own timer)."""

STATUS = {
    0: "done",  # no further user action required
    1: "action-required",  # the network asks for more (a menu): we end the session
    2: "terminated",  # by the network
    3: "other-client",
    4: "not-supported",
    5: "timeout",  # the network did not answer
}


class UssdError(GsmError):
    """The request was refused (ERROR), timed out, or the network answered m=2/4/5."""


@dataclass(frozen=True, slots=True)
class UssdAnswer:
    status: int
    text: str | None
    dcs: int | None
    raw: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def status_text(self) -> str:
        return STATUS.get(self.status, f"unknown ({self.status})")

    def to_json(self) -> dict[str, object]:
        return {"status": self.status, "status_text": self.status_text, "text": self.text,
                "dcs": self.dcs, "warnings": list(self.warnings)}


def cbs_alphabet(dcs: int) -> str:
    """The alphabet a CBS data coding scheme (TS 23.038 §5) announces: gsm7, ucs2, 8bit,
    ``gsm7-lang`` (GSM 7-bit with a 3-character language prefix) or ``ucs2-lang``."""
    group = dcs >> 4
    if group == 0x0 or group in (0x2, 0x3):
        return "gsm7"
    if group == 0x1:
        return "ucs2-lang" if dcs & 0x0F == 0x01 else "gsm7-lang"
    if group in (0x4, 0x5, 0x6, 0x7, 0x9):
        return ("gsm7", "8bit", "ucs2", "gsm7")[dcs >> 2 & 0x03]
    if group == 0xF:
        return "8bit" if dcs & 0x04 else "gsm7"
    return "gsm7"  # reserved: the default alphabet


def _is_hex(text: str) -> bool:
    return bool(text) and len(text) % 2 == 0 and all(c in string.hexdigits for c in text)


def decode_ussd_text(text: str, dcs: int | None, *, packed_hex: bool = False
                     ) -> tuple[str, list[str]]:
    """The answer's text from what the module printed; never raises."""
    warnings: list[str] = []
    alphabet = cbs_alphabet(dcs if dcs is not None else 0x0F)
    try:
        if alphabet.startswith("ucs2"):
            if _is_hex(text) and len(text) % 4 == 0:
                data = bytes.fromhex(text)
                if alphabet == "ucs2-lang":
                    data = data[2:]
                decoded = data.decode("utf-16-be", errors="replace")
                if "\ufffd" in decoded:
                    warnings.append("invalid UCS2 replaced by U+FFFD")
                return decoded, warnings
            warnings.append("UCS2 answer not in hex; shown as received")
            return text, warnings
        if alphabet == "8bit":
            return text, warnings
        if packed_hex and _is_hex(text):
            decoded = gsm7.unpack_ussd(bytes.fromhex(text))
        else:
            decoded = text
        if alphabet == "gsm7-lang":
            decoded = decoded[3:]
        return decoded, warnings
    except Exception as exc:  # noqa: BLE001 - a defect must not take the driver down
        warnings.append(f"undecodable answer ({exc})")
        return text, warnings


def parse_cusd(args: str, *, packed_hex: bool = False) -> UssdAnswer:
    """``+CUSD: <m>[,<str>[,<dcs>]]`` → :class:`UssdAnswer`; never raises."""
    try:
        parts = next(csv.reader([args], skipinitialspace=True))
    except (csv.Error, StopIteration):
        parts = args.split(",")
    parts = [p.strip() for p in parts]
    status = int(parts[0]) if parts and parts[0].isdigit() else -1
    raw = parts[1] if len(parts) > 1 else ""
    dcs = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
    if len(parts) < 2:
        return UssdAnswer(status, None, dcs, raw)
    text, warnings = decode_ussd_text(raw, dcs, packed_hex=packed_hex)
    return UssdAnswer(status, text, dcs, raw, tuple(warnings))


def encode_request(code: str, *, packed_hex: bool) -> str:
    """The ``<str>`` of AT+CUSD=1,<str>,15 for a dialect."""
    return gsm7.pack_ussd(code).hex().upper() if packed_hex else code


class UssdService:
    """USSD on one modem (created by the modem). ``await modem.ussd.request("*100#")``."""

    command_timeout = 10.0   # for the module's OK to AT+CUSD=1 (the answer comes later)

    def __init__(self, modem: GsmModem) -> None:
        self.modem = modem
        self._lock = asyncio.Lock()
        self._waiter: asyncio.Future[UssdAnswer] | None = None
        self.last: UssdAnswer | None = None
        self._unsubscribe = modem.on_urc("+CUSD", self._on_cusd)

    async def request(self, code: str, timeout: float = USSD_TIMEOUT) -> UssdAnswer:
        """Send ``code`` (``*100#``) and return the network's answer.  A menu the network
        opens (m=1) is answered and then closed (AT+CUSD=2).  Raises :class:`UssdError`."""
        if not code or any(c not in "0123456789*#+" for c in code):
            raise UssdError(f"{code!r} is not a USSD code")
        packed = self.modem.dialect.ussd_packed_hex
        async with self._lock:
            loop = asyncio.get_running_loop()
            self._waiter = loop.create_future()
            try:
                command = f'AT+CUSD=1,"{encode_request(code, packed_hex=packed)}",15'
                try:
                    result = await self.modem.command(command, self.command_timeout)
                except GsmError as exc:   # no answer, restarted, port gone: one error kind
                    raise UssdError(f"{self.modem.name}: {code}: {exc}") from exc
                if not result.ok:
                    raise UssdError(f"{self.modem.name}: {code} refused: {result.result} "
                                    f"{result.detail}".rstrip())
                try:
                    async with asyncio.timeout(timeout):
                        answer = await self._waiter
                except TimeoutError:
                    await self._cancel()
                    raise UssdError(f"{self.modem.name}: no answer to {code} within "
                                    f"{timeout:g} s") from None
            finally:
                self._waiter = None
        self.last = answer
        if answer.status == 1:
            await self._cancel()
        if answer.status not in (0, 1):
            raise UssdError(f"{self.modem.name}: {code}: {answer.status_text}"
                            + (f" ({answer.text})" if answer.text else ""))
        return answer

    async def _cancel(self) -> None:
        try:
            await self.modem.command("AT+CUSD=2", 5.0)
        except GsmError as exc:
            log.info("%s: closing the USSD session failed: %s", self.modem.name, exc)

    def _on_cusd(self, urc: Urc) -> None:
        answer = parse_cusd(urc.args, packed_hex=self.modem.dialect.ussd_packed_hex)
        for warning in answer.warnings:
            log.warning("%s: USSD answer %r: %s", self.modem.name, urc.raw, warning)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(answer)
        else:
            log.info("%s: unsolicited USSD %r", self.modem.name, urc.raw)

    def close(self) -> None:
        self._unsubscribe()
