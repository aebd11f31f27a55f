"""The GSM 7-bit alphabet of 3GPP TS 23.038: default table, extension table, national
language shift tables, and septet packing.

Owns: characters ↔ septets and septets ↔ octets.  Sans-I/O and pure; nothing here knows
about PDUs (that is :mod:`drivers.gsm.pdu`) or modems.

Tables (TS 23.038 §6.2.1 and annex A):

* the default alphabet (§6.2.1) and its extension table reached with ESC (0x1B, §6.2.1.1);
* national language *locking* shift tables (annex A.3) replace the default table for the
  whole message: Turkish (1) and Portuguese (3).  Spanish (2) has none (the default table
  is used);
* national language *single* shift tables (annex A.2) replace the extension table:
  Turkish (1), Spanish (2), Portuguese (3).
  The Indian languages' tables (4..13, annex A.2.4ff/A.3.4ff) are not carried: a message
  announcing them decodes with the default tables, characters missing from a table come
  out as the default table's character (the fallback §6.2.1.1 prescribes) — never an
  exception.

The Turkish, Spanish and Portuguese tables were checked entry by entry against TS 23.038
V18.0.0 (tests/gsm/test_gsm_national_tables.py holds an independent transcription by
code point, and the characters where the tables differ).

Packing (§6.1.2.1.1): septets are packed LSB first; ``fill_bits`` zero bits come first when
a user data header precedes the text so that the text starts on a septet boundary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

ESC = 0x1B

# §6.2.1: the default alphabet.  Index = septet value; "\x1b" at 0x1B stands for ESC.
DEFAULT_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# §6.2.1.1: the extension table (after ESC).  0x0A is a page break (form feed).
DEFAULT_EXTENSION: dict[int, str] = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

# Annex A.3: national language locking shift tables (replace the default alphabet).
LOCKING_SHIFT: dict[int, str] = {
    1: (  # Turkish, A.3.1
        "@£$¥€éùıòÇ\nĞğ\rÅå"
        "Δ_ΦΓΛΩΠΨΣΘΞ\x1bŞşßÉ"
        " !\"#¤%&'()*+,-./"
        "0123456789:;<=>?"
        "İABCDEFGHIJKLMNO"
        "PQRSTUVWXYZÄÖÑÜ§"
        "çabcdefghijklmno"
        "pqrstuvwxyzäöñüà"
    ),
    3: (  # Portuguese, A.3.3
        "@£$¥êéúíóç\nÔô\rÁá"
        "Δ_ªÇÀ∞^\\€Ó|\x1bÂâÊÉ"
        " !\"#º%&'()*+,-./"
        "0123456789:;<=>?"
        "ÍABCDEFGHIJKLMNO"
        "PQRSTUVWXYZÃÕÚÜ§"
        "~abcdefghijklmno"
        "pqrstuvwxyzãõ`üà"
    ),
}

# Annex A.2: national language single shift tables (replace the extension table).
SINGLE_SHIFT: dict[int, dict[int, str]] = {
    1: {  # Turkish, A.2.1
        **DEFAULT_EXTENSION,
        0x47: "Ğ",
        0x49: "İ",
        0x53: "Ş",
        0x63: "ç",
        0x67: "ğ",
        0x69: "ı",
        0x73: "ş",
    },
    2: {  # Spanish, A.2.2
        **DEFAULT_EXTENSION,
        0x09: "ç",
        0x41: "Á",
        0x49: "Í",
        0x4F: "Ó",
        0x55: "Ú",
        0x61: "á",
        0x69: "í",
        0x6F: "ó",
        0x75: "ú",
    },
    3: {  # Portuguese, A.2.3
        **DEFAULT_EXTENSION,
        0x05: "ê",
        0x09: "ç",
        0x0B: "Ô",
        0x0C: "ô",
        0x0E: "Á",
        0x0F: "á",
        0x12: "Φ",
        0x13: "Γ",
        0x15: "Ω",
        0x16: "Π",
        0x17: "Ψ",
        0x18: "Σ",
        0x19: "Θ",
        0x1F: "Ê",
        0x41: "À",
        0x49: "Í",
        0x4F: "Ó",
        0x55: "Ú",
        0x5B: "Ã",
        0x5C: "Õ",
        0x61: "Â",
        0x69: "í",
        0x6F: "ó",
        0x75: "ú",
        0x7B: "ã",
        0x7C: "õ",
        0x7F: "â",
    },
}

LANGUAGES = {0: "default", 1: "turkish", 2: "spanish", 3: "portuguese"}


class Gsm7Error(ValueError):
    """Text that the chosen GSM 7-bit tables cannot carry."""


def _tables(locking: int, single: int) -> tuple[str, dict[int, str]]:
    return LOCKING_SHIFT.get(locking, DEFAULT_ALPHABET), SINGLE_SHIFT.get(
        single, DEFAULT_EXTENSION
    )


def _reverse(locking: int, single: int) -> dict[str, tuple[int, ...]]:
    main, ext = _tables(locking, single)
    table: dict[str, tuple[int, ...]] = {}
    for code, char in ext.items():
        table.setdefault(char, (ESC, code))
    for code, char in enumerate(main):
        if code != ESC:
            table[char] = (code,)  # the main table wins: one septet instead of two
    return table


_REVERSE_CACHE: dict[tuple[int, int], dict[str, tuple[int, ...]]] = {}


def _reverse_cached(locking: int, single: int) -> dict[str, tuple[int, ...]]:
    key = (locking, single)
    if key not in _REVERSE_CACHE:
        _REVERSE_CACHE[key] = _reverse(locking, single)
    return _REVERSE_CACHE[key]


def encode(text: str, locking: int = 0, single: int = 0) -> list[int]:
    """Text → septets (an extension character is two: ESC, code).  Raises :class:`Gsm7Error`."""
    table = _reverse_cached(locking, single)
    out: list[int] = []
    for index, char in enumerate(text):
        codes = table.get(char)
        if codes is None:
            raise Gsm7Error(f"{char!r} (position {index}) is not in the GSM 7-bit tables")
        out.extend(codes)
    return out


def can_encode(text: str, locking: int = 0, single: int = 0) -> bool:
    table = _reverse_cached(locking, single)
    return all(char in table for char in text)


def septet_count(text: str, locking: int = 0, single: int = 0) -> int:
    table = _reverse_cached(locking, single)
    return sum(len(table[char]) for char in text)


def decode(septets: Iterable[int], locking: int = 0, single: int = 0) -> str:
    """Septets → text.  Never raises: an escape to a code the extension table lacks gives
    the main table's character (§6.2.1.1); a trailing lone ESC is dropped."""
    main, ext = _tables(locking, single)
    out: list[str] = []
    escaped = False
    for septet in septets:
        septet &= 0x7F
        if escaped:
            escaped = False
            if septet == ESC:
                out.append(" ")  # ESC ESC: reserved for a further extension; a space
                continue
            out.append(ext.get(septet, main[septet]))
        elif septet == ESC:
            escaped = True
        else:
            out.append(main[septet])
    return "".join(out)


def choose_tables(text: str, languages: Sequence[int] = (1, 2, 3)) -> tuple[int, int] | None:
    """The (locking, single) shift tables that carry ``text`` in the fewest septets, the
    default tables first; ``None`` when no GSM 7-bit table set carries it (use UCS2).

    Each table announced costs a 3-octet information element in every part; it is worth it
    only when the default tables cannot carry the text at all.
    """
    if can_encode(text):
        return 0, 0
    best: tuple[int, tuple[int, int]] | None = None
    for lang in languages:
        for combo in ((0, lang), (lang, 0), (lang, lang)):
            if combo[0] and combo[0] not in LOCKING_SHIFT:
                continue
            if combo[1] and combo[1] not in SINGLE_SHIFT:
                continue
            if not can_encode(text, *combo):
                continue
            # Each announced table costs 3 octets of header ≈ 4 septets.
            cost = septet_count(text, *combo) + 4 * sum(1 for c in combo if c)
            if best is None or cost < best[0]:
                best = (cost, combo)
    return None if best is None else best[1]


def pack(septets: Sequence[int], fill_bits: int = 0) -> bytes:
    """Pack septets LSB first after ``fill_bits`` zero bits (§6.1.2.1.1)."""
    acc = 0
    nbits = fill_bits
    out = bytearray()
    for septet in septets:
        acc |= (septet & 0x7F) << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack(data: bytes, count: int | None = None, fill_bits: int = 0) -> list[int]:
    """Unpack ``count`` septets (as many as the octets hold if ``None``) after
    ``fill_bits``.  Never reads past ``data``: a short buffer gives fewer septets."""
    available = (len(data) * 8 - fill_bits) // 7 if len(data) * 8 > fill_bits else 0
    if count is None or count > available:
        count = available
    out: list[int] = []
    bit = fill_bits
    for _ in range(count):
        byte, shift = divmod(bit, 8)
        value = data[byte] >> shift
        if shift > 1 and byte + 1 < len(data):
            value |= data[byte + 1] << (8 - shift)
        out.append(value & 0x7F)
        bit += 7
    return out


def pack_ussd(text: str) -> bytes:
    """GSM 7-bit packing of a USSD string (no length field, §6.1.2.3.1).

    When the last octet would have 7 spare bits (8n-1 characters) a CR fills them, so the
    receiver does not read an '@'; when the text itself ends with a CR on an octet boundary
    (8n characters) a second CR is added (with one zero padding bit), so the receiver's
    removal of a final CR filler does not eat the wanted one."""
    septets = encode(text)
    if len(septets) % 8 == 7 or (len(septets) % 8 == 0 and septets and septets[-1] == 0x0D):
        septets.append(0x0D)
    return pack(septets)


def unpack_ussd(data: bytes) -> str:
    """Inverse of :func:`pack_ussd` (§6.1.2.3.1): where the message ends on an octet
    boundary with a CR as its last character, that final CR (the filler) is removed.

    A final '@' is kept: a conforming sender never leaves 7 zero bits, so at an octet
    boundary the eighth septet is a character that was sent."""
    septets = unpack(data)
    if len(data) % 7 == 0 and septets and septets[-1] == 0x0D:
        septets.pop()
    return decode(septets)
