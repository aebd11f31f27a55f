"""SMS PDU codec (3GPP TS 23.040 TPDUs as AT commands carry them, TS 27.005 PDU mode).

Owns: bytes ↔ SMS-DELIVER, SMS-SUBMIT and SMS-STATUS-REPORT, addresses, timestamps, data
coding schemes (TS 23.038 §4), user data headers (concatenation with 8- and 16-bit
references, national language shift tables), and splitting a long text into parts.
Sans-I/O and pure: no modem, no clock, no storage (:mod:`drivers.gsm.sms` does those).

Conventions:

* a PDU "as the modem shows it" (``+CMGR``, ``+CMT``, ``+CDS`` and what follows
  ``AT+CMGS=<n>``) starts with the SMSC address field (``00``: the SIM's default SMSC);
  ``<n>`` / ``tpdu_length`` counts the octets *after* that field;
* :func:`decode` is strict about structure (:class:`PduError` for truncated or corrupt
  PDUs — the caller then keeps the raw PDU) and lenient about text: invalid UCS2 (odd
  length, lone surrogates), undefined alphabets and bad timestamps decode with a
  replacement and a note in ``warnings``; no other exception escapes it;
* UCS2 is decoded as UTF-16 big endian, so characters outside the basic plane (emoji)
  sent as surrogate pairs come out whole; the encoder never splits a pair across parts.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from drivers.gsm import gsm7


class PduError(ValueError):
    """A PDU that cannot be parsed (truncated, corrupt, not hex)."""


class Encoding(enum.StrEnum):
    GSM7 = "gsm7"
    EIGHT_BIT = "8bit"
    UCS2 = "ucs2"
    COMPRESSED = "compressed"  # TS 23.042: not supported, kept raw


# -- small pieces -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Address:
    """TP-address / RP-address: ``number`` as dialled (``+`` for international, letters
    for an alphanumeric sender), ``ton`` type of number, ``npi`` numbering plan."""

    number: str
    ton: int = 1
    npi: int = 1

    @property
    def type_octet(self) -> int:
        return 0x80 | (self.ton & 7) << 4 | (self.npi & 0x0F)

    @classmethod
    def parse(cls, text: str) -> Address:
        """A number as a user writes it: ``+447700900123`` → international."""
        text = text.strip().replace(" ", "").replace("-", "")
        if text.startswith("+"):
            return cls(text, 1, 1)
        if text and not all(c in _SEMI for c in text.lower()):
            return cls(text, 5, 0)  # alphanumeric
        return cls(text, 0, 1)


_SEMI = "0123456789*#abc"


def _bcd_digits(data: bytes, count: int) -> str:
    out: list[str] = []
    for byte in data:
        for nibble in (byte & 0x0F, byte >> 4):
            if len(out) >= count:
                break
            if nibble == 0x0F:
                continue
            out.append(_SEMI[nibble])
    return "".join(out)


def _to_bcd(digits: str) -> bytes:
    values = []
    for char in digits:
        index = _SEMI.find(char.lower()) if char not in "0123456789" else int(char)
        if index < 0:
            raise PduError(f"{char!r} cannot be carried in a number")
        values.append(index)
    if len(values) % 2:
        values.append(0x0F)
    return bytes(values[i] | values[i + 1] << 4 for i in range(0, len(values), 2))


def encode_address(address: Address) -> bytes:
    """TP-DA/TP-OA: semi-octet length, type, BCD digits (or packed GSM 7-bit letters)."""
    number = address.number
    if address.ton == 5:
        septets = gsm7.encode(number)
        body = gsm7.pack(septets)
        return bytes([(len(septets) * 7 + 3) // 4, address.type_octet]) + body
    digits = number[1:] if number.startswith("+") else number
    return bytes([len(digits), address.type_octet]) + _to_bcd(digits)


def encode_smsc(address: Address | None) -> bytes:
    """The SMSC field that precedes the TPDU: ``00`` for the SIM's default."""
    if address is None:
        return b"\x00"
    digits = address.number.lstrip("+")
    body = bytes([address.type_octet]) + _to_bcd(digits)
    return bytes([len(body)]) + body


class _Reader:
    """Bytes with a cursor; running off the end is a :class:`PduError` naming the field."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int, what: str) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise PduError(
                f"truncated PDU: {what} needs {count} octet(s) at offset {self.pos}, "
                f"{len(self.data) - self.pos} left"
            )
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def octet(self, what: str) -> int:
        return self.take(1, what)[0]

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk


def _read_address(reader: _Reader, what: str) -> Address:
    length = reader.octet(f"{what} length")
    type_octet = reader.octet(f"{what} type")
    ton, npi = type_octet >> 4 & 7, type_octet & 0x0F
    body = reader.take((length + 1) // 2, what)
    if ton == 5:  # alphanumeric: GSM 7-bit packed in `length` semi-octets
        text = gsm7.decode(gsm7.unpack(body, length * 4 // 7))
        return Address(text, ton, npi)
    digits = _bcd_digits(body, length)
    return Address(("+" + digits) if ton == 1 and digits else digits, ton, npi)


def _read_smsc(reader: _Reader) -> Address | None:
    length = reader.octet("SMSC length")
    if length == 0:
        return None
    body = reader.take(length, "SMSC address")
    ton, npi = body[0] >> 4 & 7, body[0] & 0x0F
    digits = _bcd_digits(body[1:], 2 * (length - 1))
    return Address(("+" + digits) if ton == 1 and digits else digits, ton, npi)


def _semi_swap(byte: int) -> int:
    return (byte & 0x0F) * 10 + (byte >> 4)


def decode_timestamp(data: bytes) -> dt.datetime | None:
    """TP-SCTS (§9.2.3.11): 7 swapped-BCD octets, the last the zone in quarter hours with
    its sign in bit 3 of the first digit.  ``None`` when the digits make no date."""
    if len(data) != 7 or any((b & 0x0F) > 9 or b >> 4 > 9 for b in data[:6]):
        return None
    year, month, day, hour, minute, second = (_semi_swap(b) for b in data[:6])
    tz_byte = data[6]
    quarters = (tz_byte & 0x07) * 10 + (tz_byte >> 4)
    if tz_byte >> 4 > 9 or quarters > 4 * 18:
        return None
    offset = dt.timedelta(minutes=15 * quarters) * (-1 if tz_byte & 0x08 else 1)
    try:
        return dt.datetime(
            2000 + year if year < 90 else 1900 + year,
            month,
            day,
            hour,
            minute,
            second,
            tzinfo=dt.timezone(offset),
        )
    except ValueError:
        return None


def encode_timestamp(when: dt.datetime) -> bytes:
    offset = when.utcoffset() or dt.timedelta(0)
    quarters = int(abs(offset.total_seconds()) // 900)
    values = [when.year % 100, when.month, when.day, when.hour, when.minute, when.second]
    out = bytearray((v % 10) << 4 | v // 10 for v in values)
    tz = (quarters % 10) << 4 | quarters // 10
    if offset < dt.timedelta(0):
        tz |= 0x08
    out.append(tz)
    return bytes(out)


# -- data coding scheme -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DataCoding:
    """What TP-DCS (TS 23.038 §4) says about the user data."""

    encoding: Encoding
    message_class: int | None = None
    # Message waiting indication groups: ("voicemail"...) indications are not used here.
    discard: bool = False  # MWI "discard message" group 1100

    @classmethod
    def parse(cls, dcs: int) -> DataCoding:
        group = dcs >> 4
        if group <= 0x07:  # 00xx general, 01xx marked for automatic deletion
            compressed = bool(dcs & 0x20)
            klass = dcs & 0x03 if dcs & 0x10 else None
            alphabet = dcs >> 2 & 0x03
            if compressed:
                return cls(Encoding.COMPRESSED, klass)
            return cls((Encoding.GSM7, Encoding.EIGHT_BIT, Encoding.UCS2, Encoding.GSM7)[alphabet],
                       klass)
        if group == 0x0C:
            return cls(Encoding.GSM7, None, True)
        if group == 0x0D:
            return cls(Encoding.GSM7)
        if group == 0x0E:
            return cls(Encoding.UCS2)
        if group == 0x0F:
            return cls(Encoding.EIGHT_BIT if dcs & 0x04 else Encoding.GSM7, dcs & 0x03)
        return cls(Encoding.GSM7)  # reserved groups: assume the default alphabet (§4)


def dcs_for(encoding: Encoding, message_class: int | None = None) -> int:
    base = {Encoding.GSM7: 0x00, Encoding.EIGHT_BIT: 0x04, Encoding.UCS2: 0x08}[encoding]
    if message_class is not None:
        base |= 0x10 | (message_class & 3)
    return base


# -- user data header ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Concat:
    """A part of a concatenated message (IE 0x00 or 0x08 of §9.2.3.24.1/.8)."""

    reference: int
    total: int
    sequence: int
    ref_bits: int = 8


@dataclass(frozen=True, slots=True)
class UserDataHeader:
    elements: tuple[tuple[int, bytes], ...] = ()

    @property
    def concat(self) -> Concat | None:
        for iei, data in self.elements:
            if iei == 0x00 and len(data) == 3:
                ref, total, seq = data
                if total and 1 <= seq <= total:  # else ignore the IE (§9.2.3.24.1)
                    return Concat(ref, total, seq, 8)
            if iei == 0x08 and len(data) == 4:
                ref, total, seq = data[0] << 8 | data[1], data[2], data[3]
                if total and 1 <= seq <= total:
                    return Concat(ref, total, seq, 16)
        return None

    @property
    def locking_shift(self) -> int:
        return next((d[0] for i, d in self.elements if i == 0x25 and len(d) == 1), 0)

    @property
    def single_shift(self) -> int:
        return next((d[0] for i, d in self.elements if i == 0x24 and len(d) == 1), 0)

    def encode(self) -> bytes:
        body = b"".join(bytes([iei, len(data)]) + data for iei, data in self.elements)
        return bytes([len(body)]) + body

    @classmethod
    def parse(cls, data: bytes) -> UserDataHeader:
        """``data`` is the header without its length octet. A truncated IE ends it."""
        elements = []
        pos = 0
        while pos + 2 <= len(data):
            iei, length = data[pos], data[pos + 1]
            if pos + 2 + length > len(data):
                raise PduError(f"user data header: IE {iei:#04x} runs past the header")
            elements.append((iei, bytes(data[pos + 2 : pos + 2 + length])))
            pos += 2 + length
        return cls(tuple(elements))


def concat_header(concat: Concat, single_shift: int = 0, locking_shift: int = 0) -> UserDataHeader:
    elements: list[tuple[int, bytes]] = []
    if concat.ref_bits == 16:
        elements.append((0x08, bytes([concat.reference >> 8 & 0xFF, concat.reference & 0xFF,
                                      concat.total, concat.sequence])))
    else:
        elements.append((0x00, bytes([concat.reference & 0xFF, concat.total, concat.sequence])))
    if single_shift:
        elements.append((0x24, bytes([single_shift])))
    if locking_shift:
        elements.append((0x25, bytes([locking_shift])))
    return UserDataHeader(tuple(elements))


# -- messages -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SmsDeliver:
    """SMS-DELIVER (§9.2.2.1): a message that arrived."""

    sender: Address
    timestamp: dt.datetime | None
    text: str | None  # None: compressed; hex digits for 8-bit data
    encoding: Encoding
    smsc: Address | None = None
    pid: int = 0
    dcs: int = 0
    udh: UserDataHeader | None = None
    message_class: int | None = None
    more_messages: bool = False
    status_report_indication: bool = False
    reply_path: bool = False
    user_data: bytes = b""  # raw TP-UD after the header (8-bit data)
    warnings: tuple[str, ...] = ()

    @property
    def concat(self) -> Concat | None:
        return None if self.udh is None else self.udh.concat


@dataclass(frozen=True, slots=True)
class SmsSubmit:
    """SMS-SUBMIT (§9.2.2.2): a message we send (decoded for tests and tools)."""

    recipient: Address
    text: str | None
    encoding: Encoding
    reference: int = 0
    smsc: Address | None = None
    dcs: int = 0
    udh: UserDataHeader | None = None
    status_report_request: bool = False
    validity: int | None = None  # relative TP-VP octet
    user_data: bytes = b""
    warnings: tuple[str, ...] = ()

    @property
    def concat(self) -> Concat | None:
        return None if self.udh is None else self.udh.concat


@dataclass(frozen=True, slots=True)
class SmsStatusReport:
    """SMS-STATUS-REPORT (§9.2.2.3): what became of a message we sent (``reference``)."""

    reference: int
    recipient: Address
    timestamp: dt.datetime | None  # when the SMSC took the message
    discharge: dt.datetime | None  # when it was delivered / failed
    status: int
    smsc: Address | None = None

    @property
    def delivered(self) -> bool:
        return self.status <= 0x1F

    @property
    def final(self) -> bool:
        """False while the SMSC is still trying (0x20..0x3F)."""
        return not 0x20 <= self.status <= 0x3F

    @property
    def status_text(self) -> str:
        if self.status <= 0x1F:
            return "delivered"
        if self.status <= 0x3F:
            return "pending"
        if self.status <= 0x5F:
            return "failed"
        return "expired"


Message = SmsDeliver | SmsSubmit | SmsStatusReport


def _hex(pdu: str | bytes) -> bytes:
    if isinstance(pdu, bytes):
        return pdu
    text = pdu.strip()
    if len(text) % 2:
        raise PduError(f"odd number of hex digits ({len(text)})")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise PduError("not hexadecimal") from None


def _user_data(
    reader: _Reader, udhi: bool, dcs: int
) -> tuple[UserDataHeader | None, str | None, Encoding, bytes, list[str], int | None]:
    coding = DataCoding.parse(dcs)
    udl = reader.octet("TP-UDL")
    raw = reader.rest()
    warnings: list[str] = []
    if coding.encoding is Encoding.GSM7:
        needed = (udl * 7 + 7) // 8
    else:
        needed = udl
    if len(raw) < needed:
        raise PduError(f"truncated PDU: TP-UDL says {udl} but only {len(raw)} octet(s) follow")
    if len(raw) > needed:
        warnings.append(f"{len(raw) - needed} octet(s) after the user data ignored")
        raw = raw[:needed]
    udh: UserDataHeader | None = None
    header_octets = 0
    if udhi:
        if not raw:
            raise PduError("TP-UDHI set but no user data")
        udhl = raw[0]
        if udhl + 1 > len(raw):
            raise PduError(f"user data header length {udhl} runs past the user data")
        udh = UserDataHeader.parse(raw[1 : 1 + udhl])
        header_octets = udhl + 1
    if coding.encoding is Encoding.GSM7:
        skip = (header_octets * 8 + 6) // 7
        septets = gsm7.unpack(raw, udl)[skip:]
        lock = udh.locking_shift if udh else 0
        single = udh.single_shift if udh else 0
        for lang in {lock, single} - {0}:
            if lang not in gsm7.LANGUAGES:
                warnings.append(f"national language table {lang} not known; default used")
        text: str | None = gsm7.decode(septets, lock, single)
        body = b""
    else:
        body = raw[header_octets:]
        if coding.encoding is Encoding.UCS2:
            if len(body) % 2:
                warnings.append("UCS2 user data of odd length; last octet dropped")
            decoded = body[: len(body) // 2 * 2].decode("utf-16-be", errors="replace")
            if "\ufffd" in decoded and b"\xff\xfd" not in body:
                warnings.append("invalid UCS2 (lone surrogate) replaced by U+FFFD")
            text = decoded
        elif coding.encoding is Encoding.EIGHT_BIT:
            text = body.hex().upper()
        else:
            text = None
            warnings.append("compressed user data (TS 23.042) is not supported")
    return udh, text, coding.encoding, body, warnings, coding.message_class


def decode(pdu: str | bytes, *, smsc: bool = True, mobile_originated: bool = False) -> Message:
    """Decode a PDU as the modem shows it (SMSC field first unless ``smsc=False``).

    The TP-MTI picks the type: SMS-DELIVER or SMS-STATUS-REPORT for a received PDU;
    ``mobile_originated`` reads MTI 01 as SMS-SUBMIT (what we send).
    Raises :class:`PduError` only.
    """
    try:
        return _decode(_hex(pdu), smsc, mobile_originated)
    except PduError:
        raise
    except Exception as exc:  # a defect here must not take the driver down
        raise PduError(f"undecodable PDU ({type(exc).__name__}: {exc})") from exc


def _decode(data: bytes, with_smsc: bool, mobile_originated: bool) -> Message:
    reader = _Reader(data)
    smsc = _read_smsc(reader) if with_smsc else None
    first = reader.octet("first octet")
    mti = first & 0x03
    if mti == 0x01 or (mobile_originated and mti != 0x02):
        if mti != 0x01:
            raise PduError(f"TP-MTI {mti} is not an SMS-SUBMIT")
        return _decode_submit(reader, first, smsc)
    if mti == 0x02:
        return _decode_status_report(reader, first, smsc)
    if mti == 0x03:
        raise PduError("TP-MTI 3 is reserved")
    sender = _read_address(reader, "TP-OA")
    pid = reader.octet("TP-PID")
    dcs = reader.octet("TP-DCS")
    scts = reader.take(7, "TP-SCTS")
    udh, text, encoding, body, warnings, klass = _user_data(reader, bool(first & 0x40), dcs)
    timestamp = decode_timestamp(scts)
    if timestamp is None:
        warnings.append(f"invalid timestamp {scts.hex().upper()}")
    return SmsDeliver(
        sender=sender,
        timestamp=timestamp,
        text=text,
        encoding=encoding,
        smsc=smsc,
        pid=pid,
        dcs=dcs,
        udh=udh,
        message_class=klass,
        more_messages=not first & 0x04,
        status_report_indication=bool(first & 0x20),
        reply_path=bool(first & 0x80),
        user_data=body,
        warnings=tuple(warnings),
    )


def _decode_submit(reader: _Reader, first: int, smsc: Address | None) -> SmsSubmit:
    reference = reader.octet("TP-MR")
    recipient = _read_address(reader, "TP-DA")
    reader.octet("TP-PID")
    dcs = reader.octet("TP-DCS")
    vpf = first >> 3 & 0x03
    validity = None
    if vpf == 0x02:
        validity = reader.octet("TP-VP")
    elif vpf in (0x01, 0x03):
        reader.take(7, "TP-VP")
    udh, text, encoding, body, warnings, _ = _user_data(reader, bool(first & 0x40), dcs)
    return SmsSubmit(recipient, text, encoding, reference, smsc, dcs, udh,
                     bool(first & 0x20), validity, body, tuple(warnings))


def _decode_status_report(reader: _Reader, first: int, smsc: Address | None) -> SmsStatusReport:
    reference = reader.octet("TP-MR")
    recipient = _read_address(reader, "TP-RA")
    scts = decode_timestamp(reader.take(7, "TP-SCTS"))
    discharge = decode_timestamp(reader.take(7, "TP-DT"))
    status = reader.octet("TP-ST")
    return SmsStatusReport(reference, recipient, scts, discharge, status, smsc)


# -- encoding -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SubmitPdu:
    """One part to send: ``hex`` follows ``AT+CMGS=<tpdu_length>`` (SMSC field first)."""

    hex: str
    tpdu_length: int


GSM7_SINGLE = 160
UCS2_SINGLE = 70


def _gsm7_capacity(header_octets: int) -> int:
    return (140 * 8 - header_octets * 8) // 7


def _split_gsm7(septets: list[int], capacity: int) -> list[list[int]]:
    parts: list[list[int]] = []
    start = 0
    while start < len(septets):
        end = min(start + capacity, len(septets))
        # Never split ESC from the code it escapes.
        if end < len(septets) and septets[end - 1] == gsm7.ESC:
            esc_run = 0
            i = end - 1
            while i >= start and septets[i] == gsm7.ESC:
                esc_run += 1
                i -= 1
            if esc_run % 2:
                end -= 1
        parts.append(septets[start:end])
        start = end
    return parts


def _split_ucs2(units: bytes, capacity_octets: int) -> list[bytes]:
    parts = []
    start = 0
    while start < len(units):
        end = min(start + capacity_octets, len(units))
        if end < len(units) and 0xD8 <= units[end - 2] <= 0xDB:
            end -= 2  # never split a surrogate pair
        parts.append(units[start:end])
        start = end
    return parts


def encode_submit(
    to: str | Address,
    text: str,
    *,
    smsc: Address | None = None,
    status_report: bool = False,
    reference: int = 0,
    concat_reference: int = 0,
    concat_ref_bits: int = 8,
    validity: int | None = None,
    ucs2: bool | None = None,
    national_languages: Sequence[int] = (1, 2, 3),
    message_class: int | None = None,
) -> list[SubmitPdu]:
    """SMS-SUBMIT PDUs for ``text`` to ``to``: one, or several parts of a concatenated
    message carrying ``concat_reference``.

    GSM 7-bit when the default tables (or, failing them, a national shift table among
    ``national_languages``) carry the text, else UCS2; ``ucs2=True`` forces UCS2.
    ``validity``: a relative TP-VP octet (``0xAA`` = 4 days); ``None`` leaves it to the
    SMSC.  ``reference`` is TP-MR (the module replaces it with its own counter).
    """
    address = to if isinstance(to, Address) else Address.parse(to)
    tables = None if ucs2 else gsm7.choose_tables(text, national_languages)
    if concat_ref_bits not in (8, 16):
        raise ValueError("concatenation references are 8 or 16 bits")
    parts: list[tuple[UserDataHeader | None, bytes, int, int]] = []  # udh, ud, udl, dcs
    if tables is not None:
        locking, single = tables
        septets = gsm7.encode(text, locking, single)
        lang_octets = 3 * sum(1 for t in tables if t)
        if len(septets) <= _gsm7_capacity(1 + lang_octets if lang_octets else 0):
            chunks = [septets]
        else:
            concat_octets = 5 if concat_ref_bits == 8 else 6
            chunks = _split_gsm7(septets, _gsm7_capacity(1 + concat_octets + lang_octets))
        total = len(chunks)
        if total > 255:
            raise ValueError(f"text too long: {total} parts (at most 255)")
        for seq, chunk in enumerate(chunks, start=1):
            elements: list[tuple[int, bytes]] = []
            if total > 1:
                elements.extend(concat_header(
                    Concat(concat_reference, total, seq, concat_ref_bits)).elements)
            if single:
                elements.append((0x24, bytes([single])))
            if locking:
                elements.append((0x25, bytes([locking])))
            udh = UserDataHeader(tuple(elements)) if elements else None
            if udh is None:
                parts.append((None, gsm7.pack(chunk), len(chunk), dcs_for(Encoding.GSM7,
                                                                          message_class)))
                continue
            header = udh.encode()
            skip = (len(header) * 8 + 6) // 7
            packed = bytearray(gsm7.pack([0] * skip + chunk))
            packed[: len(header)] = header
            parts.append((udh, bytes(packed), skip + len(chunk),
                          dcs_for(Encoding.GSM7, message_class)))
    else:
        units = text.encode("utf-16-be")
        if len(units) <= 140:
            chunks_b = [units]
        else:
            concat_octets = 6 if concat_ref_bits == 8 else 7
            chunks_b = _split_ucs2(units, (140 - concat_octets) // 2 * 2)
        total = len(chunks_b)
        if total > 255:
            raise ValueError(f"text too long: {total} parts (at most 255)")
        for seq, chunk_b in enumerate(chunks_b, start=1):
            if total > 1:
                udh = concat_header(Concat(concat_reference, total, seq, concat_ref_bits))
                ud = udh.encode() + chunk_b
                parts.append((udh, ud, len(ud), dcs_for(Encoding.UCS2, message_class)))
            else:
                parts.append((None, chunk_b, len(chunk_b), dcs_for(Encoding.UCS2, message_class)))

    out = []
    for udh, ud, udl, dcs in parts:
        first = 0x01
        if validity is not None:
            first |= 0x10  # TP-VPF relative
        if status_report:
            first |= 0x20
        if udh is not None:
            first |= 0x40
        tpdu = bytes([first, reference & 0xFF]) + encode_address(address) + bytes([0, dcs])
        if validity is not None:
            tpdu += bytes([validity & 0xFF])
        tpdu += bytes([udl]) + ud
        out.append(SubmitPdu((encode_smsc(smsc) + tpdu).hex().upper(), len(tpdu)))
    return out


def encode_deliver(
    sender: str | Address,
    text: str,
    timestamp: dt.datetime,
    *,
    smsc: Address | None = None,
    ucs2: bool | None = None,
    concat: Concat | None = None,
    status_report_indication: bool = False,
) -> str:
    """One SMS-DELIVER PDU (hex, SMSC field first), for the simulator and tests.

    ``text`` must fit one PDU (with ``concat``'s header, if any)."""
    address = sender if isinstance(sender, Address) else Address.parse(sender)
    udh = concat_header(concat) if concat is not None else None
    header = udh.encode() if udh is not None else b""
    if not ucs2 and gsm7.can_encode(text):
        dcs = 0x00
        skip = (len(header) * 8 + 6) // 7
        septets = gsm7.encode(text)
        packed = bytearray(gsm7.pack([0] * skip + septets))
        packed[: len(header)] = header
        ud, udl = bytes(packed), skip + len(septets)
        if udl > 160:
            raise ValueError("text too long for one SMS-DELIVER")
    else:
        dcs = 0x08
        ud = header + text.encode("utf-16-be")
        udl = len(ud)
        if udl > 140:
            raise ValueError("text too long for one SMS-DELIVER")
    first = 0x04 | (0x40 if udh is not None else 0) | (0x20 if status_report_indication else 0)
    tpdu = (bytes([first]) + encode_address(address) + bytes([0, dcs])
            + encode_timestamp(timestamp) + bytes([udl]) + ud)
    return (encode_smsc(smsc) + tpdu).hex().upper()


def encode_status_report(
    reference: int,
    recipient: str | Address,
    timestamp: dt.datetime,
    discharge: dt.datetime,
    status: int = 0,
    *,
    smsc: Address | None = None,
) -> str:
    """One SMS-STATUS-REPORT PDU (hex, SMSC field first), for the simulator and tests."""
    address = recipient if isinstance(recipient, Address) else Address.parse(recipient)
    tpdu = (bytes([0x06, reference & 0xFF]) + encode_address(address)
            + encode_timestamp(timestamp) + encode_timestamp(discharge) + bytes([status & 0xFF]))
    return (encode_smsc(smsc) + tpdu).hex().upper()


def tpdu_length(pdu_hex: str) -> int:
    """Octets after the SMSC field (what ``+CMGR``/``+CMGS`` count)."""
    data = _hex(pdu_hex)
    if not data:
        raise PduError("empty PDU")
    return len(data) - 1 - data[0]


def to_json(message: Message) -> dict[str, object]:
    """The technician's view (``edgepbx gsm sms-decode``)."""
    def when(value: dt.datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    smsc = None if message.smsc is None else message.smsc.number
    if isinstance(message, SmsStatusReport):
        return {"type": "status-report", "reference": message.reference,
                "recipient": message.recipient.number, "smsc": smsc,
                "timestamp": when(message.timestamp), "discharge": when(message.discharge),
                "status": message.status, "status_text": message.status_text}
    concat = message.concat
    party = message.sender if isinstance(message, SmsDeliver) else message.recipient
    out: dict[str, object] = {
        "sender" if isinstance(message, SmsDeliver) else "recipient": party.number,
        "smsc": smsc,
        "timestamp": when(message.timestamp) if isinstance(message, SmsDeliver) else None,
        "text": message.text,
        "encoding": str(message.encoding),
        "concat": None if concat is None else {
            "reference": concat.reference, "total": concat.total, "sequence": concat.sequence},
    }
    return out


__all__ = [
    "Address",
    "Concat",
    "DataCoding",
    "Encoding",
    "Message",
    "PduError",
    "SmsDeliver",
    "SmsStatusReport",
    "SmsSubmit",
    "SubmitPdu",
    "UserDataHeader",
    "decode",
    "encode_deliver",
    "encode_status_report",
    "encode_submit",
    "tpdu_length",
    "to_json",
]
