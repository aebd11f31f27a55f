"""The national language shift tables of 3GPP TS 23.038 (annex A), entry by entry.

The reference below is a second, independent transcription of the spec's tables
(TS 23.038 V18.0.0, A.2.1–A.2.3 and A.3.1/A.3.3, checked against a published rendering
of those tables as code points): each table is written the way the spec draws it —
columns are the high 3 bits (0x00, 0x10 ... 0x70), rows the low 4 bits — with Unicode
code points rather than glyphs, so a look-alike character (ı/i, Ş/S̡, º/°) cannot slip
through.  ``ESC`` marks 0x1B (escape to the extension table).  Every one of the 128 entries
of a locking table and every defined entry of a single shift table is compared, and
nothing else may be defined.
"""

from __future__ import annotations

import pytest

from drivers.gsm import gsm7

ESC = "ESC"

# Locking shift tables: 8 columns of 16 code points (ESC: the escape to the extension).
LOCKING_REFERENCE: dict[int, list[list[int | str]]] = {
    1: [  # A.3.1 Turkish
        [0x40, 0xA3, 0x24, 0xA5, 0x20AC, 0xE9, 0xF9, 0x131, 0xF2, 0xC7, 0x0A, 0x11E, 0x11F,
         0x0D, 0xC5, 0xE5],
        [0x394, 0x5F, 0x3A6, 0x393, 0x39B, 0x3A9, 0x3A0, 0x3A8, 0x3A3, 0x398, 0x39E, ESC,
         0x15E, 0x15F, 0xDF, 0xC9],
        [0x20, 0x21, 0x22, 0x23, 0xA4, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D,
         0x2E, 0x2F],
        list(range(0x30, 0x40)),
        [0x130, *range(0x41, 0x50)],
        [*range(0x50, 0x5B), 0xC4, 0xD6, 0xD1, 0xDC, 0xA7],
        [0xE7, *range(0x61, 0x70)],
        [*range(0x70, 0x7B), 0xE4, 0xF6, 0xF1, 0xFC, 0xE0],
    ],
    3: [  # A.3.3 Portuguese
        [0x40, 0xA3, 0x24, 0xA5, 0xEA, 0xE9, 0xFA, 0xED, 0xF3, 0xE7, 0x0A, 0xD4, 0xF4, 0x0D,
         0xC1, 0xE1],
        [0x394, 0x5F, 0xAA, 0xC7, 0xC0, 0x221E, 0x5E, 0x5C, 0x20AC, 0xD3, 0x7C, ESC, 0xC2,
         0xE2, 0xCA, 0xC9],
        [0x20, 0x21, 0x22, 0x23, 0xBA, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D,
         0x2E, 0x2F],
        list(range(0x30, 0x40)),
        [0xCD, *range(0x41, 0x50)],
        [*range(0x50, 0x5B), 0xC3, 0xD5, 0xDA, 0xDC, 0xA7],
        [0x7E, *range(0x61, 0x70)],
        [*range(0x70, 0x7B), 0xE3, 0xF5, 0x60, 0xFC, 0xE0],
    ],
}

# Single shift tables: the defined entries, septet → code point, in the spec's column order.
SINGLE_REFERENCE: dict[int, dict[int, int]] = {
    1: {  # A.2.1 Turkish
        0x0A: 0x0C, 0x14: 0x5E, 0x28: 0x7B, 0x29: 0x7D, 0x2F: 0x5C, 0x3C: 0x5B, 0x3D: 0x7E,
        0x3E: 0x5D, 0x40: 0x7C, 0x47: 0x11E, 0x49: 0x130, 0x53: 0x15E, 0x63: 0xE7,
        0x65: 0x20AC, 0x67: 0x11F, 0x69: 0x131, 0x73: 0x15F,
    },
    2: {  # A.2.2 Spanish
        0x09: 0xE7, 0x0A: 0x0C, 0x14: 0x5E, 0x28: 0x7B, 0x29: 0x7D, 0x2F: 0x5C, 0x3C: 0x5B,
        0x3D: 0x7E, 0x3E: 0x5D, 0x40: 0x7C, 0x41: 0xC1, 0x49: 0xCD, 0x4F: 0xD3, 0x55: 0xDA,
        0x61: 0xE1, 0x65: 0x20AC, 0x69: 0xED, 0x6F: 0xF3, 0x75: 0xFA,
    },
    3: {  # A.2.3 Portuguese
        0x05: 0xEA, 0x09: 0xE7, 0x0A: 0x0C, 0x0B: 0xD4, 0x0C: 0xF4, 0x0E: 0xC1, 0x0F: 0xE1,
        0x12: 0x3A6, 0x13: 0x393, 0x14: 0x5E, 0x15: 0x3A9, 0x16: 0x3A0, 0x17: 0x3A8,
        0x18: 0x3A3, 0x19: 0x398, 0x1F: 0xCA, 0x28: 0x7B, 0x29: 0x7D, 0x2F: 0x5C, 0x3C: 0x5B,
        0x3D: 0x7E, 0x3E: 0x5D, 0x40: 0x7C, 0x41: 0xC0, 0x49: 0xCD, 0x4F: 0xD3, 0x55: 0xDA,
        0x5B: 0xC3, 0x5C: 0xD5, 0x61: 0xC2, 0x65: 0x20AC, 0x69: 0xED, 0x6F: 0xF3, 0x75: 0xFA,
        0x7B: 0xE3, 0x7C: 0xF5, 0x7F: 0xE2,
    },
}


@pytest.mark.parametrize("language", sorted(LOCKING_REFERENCE))
def test_locking_shift_table_entry_by_entry(language: int) -> None:
    table = gsm7.LOCKING_SHIFT[language]
    assert len(table) == 128
    for column, points in enumerate(LOCKING_REFERENCE[language]):
        assert len(points) == 16
        for row, point in enumerate(points):
            septet = column * 16 + row
            expected = "\x1b" if point == ESC else chr(int(point))
            assert table[septet] == expected, (
                f"{gsm7.LANGUAGES[language]} locking 0x{septet:02X}: "
                f"U+{ord(table[septet]):04X}, spec U+{ord(expected):04X}")


@pytest.mark.parametrize("language", sorted(SINGLE_REFERENCE))
def test_single_shift_table_entry_by_entry(language: int) -> None:
    table = gsm7.SINGLE_SHIFT[language]
    got = {septet: ord(char) for septet, char in table.items()}
    assert got == SINGLE_REFERENCE[language]


def test_spanish_has_no_locking_shift_table() -> None:
    # A.3.2 does not define one: a message announcing it uses the default alphabet.
    assert 2 not in gsm7.LOCKING_SHIFT
    assert gsm7.decode([0x07, 0x60], locking=2) == "ì¿"


def test_default_extension_table() -> None:
    assert {s: ord(c) for s, c in gsm7.DEFAULT_EXTENSION.items()} == {
        0x0A: 0x0C, 0x14: 0x5E, 0x28: 0x7B, 0x29: 0x7D, 0x2F: 0x5C, 0x3C: 0x5B, 0x3D: 0x7E,
        0x3E: 0x5D, 0x40: 0x7C, 0x65: 0x20AC}


# -- the characters where the tables differ ------------------------------------------------
@pytest.mark.parametrize(("septet", "default", "turkish", "portuguese"), [
    (0x04, "è", "€", "ê"),
    (0x07, "ì", "ı", "í"),
    (0x0B, "Ø", "Ğ", "Ô"),
    (0x12, "Φ", "Φ", "ª"),
    (0x1C, "Æ", "Ş", "Â"),
    (0x24, "¤", "¤", "º"),
    (0x40, "¡", "İ", "Í"),
    (0x5D, "Ñ", "Ñ", "Ú"),
    (0x60, "¿", "ç", "~"),
    (0x7D, "ñ", "ñ", "`"),
])
def test_locking_tables_differ_where_the_spec_says(septet: int, default: str, turkish: str,
                                                  portuguese: str) -> None:
    assert gsm7.decode([septet]) == default
    assert gsm7.decode([septet], locking=1) == turkish
    assert gsm7.decode([septet], locking=3) == portuguese


@pytest.mark.parametrize(("code", "turkish", "spanish", "portuguese"), [
    (0x09, None, "ç", "ç"),
    (0x41, None, "Á", "À"),
    (0x49, "İ", "Í", "Í"),
    (0x61, None, "á", "Â"),
    (0x63, "ç", None, None),
    (0x69, "ı", "í", "í"),
    (0x0E, None, None, "Á"),
    (0x7F, None, None, "â"),
])
def test_single_shift_tables_differ_where_the_spec_says(code: int, turkish: str | None,
                                                        spanish: str | None,
                                                        portuguese: str | None) -> None:
    for language, expected in ((1, turkish), (2, spanish), (3, portuguese)):
        got = gsm7.decode([0x1B, code], single=language)
        # Undefined in that table: the default alphabet's character (§6.2.1.1 fallback).
        assert got == (expected if expected is not None else gsm7.DEFAULT_ALPHABET[code])


@pytest.mark.parametrize(("text", "tables"), [
    ("Işık", (1, 1)),         # dotless ı only in the Turkish tables
    ("Árbol señal", (0, 2)),  # Á only in the Spanish / Portuguese single shift tables
    ("Ação", None),
])
def test_encoding_round_trips_through_the_chosen_tables(text: str,
                                                        tables: tuple[int, int] | None) -> None:
    chosen = gsm7.choose_tables(text)
    assert chosen is not None
    if tables is not None:
        assert chosen[1] == tables[1] or chosen[0] == tables[0]
    assert gsm7.decode(gsm7.encode(text, *chosen), *chosen) == text
