"""The Indian national language tables of TS 23.038 annex A (locking shift A.3.4–A.3.13,
single shift A.2.4–A.2.13), table by table: every character round-trips, the tables are
what their script says they are, and the encoder uses one only when it is enabled and the
default alphabet cannot carry the text."""

from __future__ import annotations

import unicodedata

import pytest

from drivers.gsm import gsm7, pdu
from tests.gsm.rig import Rig, wait_until

INDIAN = {4: "BENGALI", 5: "GUJARATI", 6: "DEVANAGARI", 7: "KANNADA", 8: "MALAYALAM",
          9: "ORIYA", 10: "GURMUKHI", 11: "TAMIL", 12: "TELUGU", 13: "ARABIC"}
"""Language → the Unicode script its letters belong to (Hindi: Devanagari, Punjabi:
Gurmukhi, Urdu: Arabic)."""

HINDI = "नमस्ते, आप कैसे हैं? कल मिलते हैं।"


def _defined(lang: int) -> dict[int, str]:
    table = gsm7.LOCKING_SHIFT[lang]
    return {code: char for code, char in enumerate(table)
            if code != gsm7.ESC and char != gsm7.UNDEFINED}


@pytest.mark.parametrize("lang", sorted(INDIAN))
def test_locking_table_round_trips(lang: int) -> None:
    defined = _defined(lang)
    assert len(gsm7.LOCKING_SHIFT[lang]) == 128
    for code, char in defined.items():
        assert gsm7.encode(char, lang, 0) == [code], (lang, hex(code), char)
        assert gsm7.decode([code], lang, 0) == char
    text = "".join(defined.values())
    assert gsm7.decode(gsm7.encode(text, lang, lang), lang, lang) == text


@pytest.mark.parametrize("lang", sorted(INDIAN))
def test_single_shift_table_round_trips(lang: int) -> None:
    main = set(_defined(lang).values())
    table = gsm7.SINGLE_SHIFT[lang]
    assert gsm7.ESC not in table and all(0 <= code < 128 for code in table)
    for code, char in sorted(table.items()):
        first = min(c for c, ch in table.items() if ch == char)  # '¡', '*': twice in A.2.4
        assert gsm7.decode([gsm7.ESC, code], 0, lang) == char
        if char not in main:  # a character of the locking table costs one septet there
            assert gsm7.encode(char, lang, lang) == [gsm7.ESC, first], (lang, hex(code))
        if char not in gsm7.DEFAULT_ALPHABET:
            assert gsm7.encode(char, 0, lang) == [gsm7.ESC, first], (lang, hex(code))
    text = "".join(table.values())
    assert gsm7.decode(gsm7.encode(text, 0, lang), 0, lang) == text


@pytest.mark.parametrize("lang", sorted(INDIAN))
def test_tables_hold_their_script(lang: int) -> None:
    script = INDIAN[lang]
    letters = [c for c in _defined(lang).values() if ord(c) >= 0x80]
    assert len(letters) > 40
    assert all(unicodedata.name(c).startswith(script) for c in letters), lang
    # The locking tables keep the default alphabet's digits, Latin small letters, space,
    # LF/CR and punctuation at their places: 0x2C is the comma (see gsm7's docstring).
    defined = _defined(lang)
    for code in [0x0A, 0x0D, 0x20, 0x21, 0x2C, 0x2E, 0x3F, *range(0x30, 0x3A), *range(0x61,
                                                                                    0x7B)]:
        assert defined[code] == gsm7.DEFAULT_ALPHABET[code], (lang, hex(code))
    # The single shift tables carry the script's own digits zero to nine, in order.
    digits = [c for c in gsm7.SINGLE_SHIFT[lang].values()
              if unicodedata.category(c) == "Nd" and ord(c) >= 0x80]
    assert [unicodedata.digit(c) for c in digits] == list(range(10)), lang


def test_cells_where_transcriptions_differ() -> None:
    # See gsm7's docstring: the comma at 0x2C, and Kannada DDA at 0x24 like its siblings.
    assert {gsm7.decode([0x2C], lang, 0) for lang in INDIAN} == {","}
    dda = {lang: unicodedata.name(gsm7.decode([0x24], lang, 0))
           for lang in (4, 5, 6, 7, 8, 9, 10, 12)}  # Tamil has no DDA, Urdu another script
    assert all(name.endswith(" LETTER DDA") for name in dda.values()), dda
    assert gsm7.decode([0x24], 7, 0) == "\u0ca1"


def test_undefined_cells_decode_as_space_and_never_encode() -> None:
    # Bengali 0x0C and 0x0E, Tamil 0x00 are empty in the spec's tables (§6.1.1: space).
    assert gsm7.decode([0x0C, 0x0E], 4, 0) == "  "
    assert gsm7.decode([0x00], 11, 0) == " "
    assert gsm7.encode(" ", 4, 0) == [0x20]
    assert gsm7.encode(" ", 11, 11) == [0x20]


def test_indian_tables_only_when_enabled_and_needed() -> None:
    assert gsm7.choose_tables("Hello, see you at 10") == (0, 0)
    assert gsm7.choose_tables("Hello, see you at 10", (6,)) == (0, 0)
    assert gsm7.choose_tables(HINDI) is None  # default languages: UCS2
    assert gsm7.choose_tables(HINDI, (6,)) == (6, 6)  # the danda "।" is in A.2.6
    assert gsm7.choose_tables(HINDI, (4, 5)) is None  # Bengali, Gujarati: no Devanagari
    assert gsm7.choose_tables("স্বাগতম ১২৩", (6, 4)) == (4, 4)  # Bengali digits: single shift


def test_hindi_sms_in_7bit_is_smaller_than_ucs2() -> None:
    text = HINDI * 6
    seven = pdu.encode_submit("+919812345678", text, national_languages=(6,))
    ucs2 = pdu.encode_submit("+919812345678", text)
    assert len(seven) < len(ucs2)
    decoded = [pdu.decode(p.hex, mobile_originated=True) for p in seven]
    assert all(isinstance(m, pdu.SmsSubmit) and m.encoding is pdu.Encoding.GSM7
               and m.udh is not None and m.udh.locking_shift == 6 for m in decoded)
    assert "".join(m.text or "" for m in decoded if isinstance(m, pdu.SmsSubmit)) == text


async def test_modem_sends_with_the_enabled_tables(rig: Rig) -> None:
    await rig.modem.sms.send("+919812345678", HINDI)  # default tables: no Indian one
    rig.modem.sms.national_languages = (6,)
    await rig.modem.sms.send("+919812345678", HINDI)
    await wait_until(lambda: len(rig.sim.sent_sms) == 2)
    first, second = (pdu.decode(p, mobile_originated=True) for p in rig.sim.sent_sms)
    assert isinstance(first, pdu.SmsSubmit) and first.encoding is pdu.Encoding.UCS2
    assert isinstance(second, pdu.SmsSubmit) and second.encoding is pdu.Encoding.GSM7
    assert second.udh is not None and second.udh.locking_shift == 6
    assert first.text == second.text == HINDI
