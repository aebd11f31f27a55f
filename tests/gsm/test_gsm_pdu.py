"""SMS PDU codec and GSM 7-bit alphabet: published examples both ways, tables, UCS2,
concatenation, reassembly, bad input, and fuzzing of the decoder and the AT line parser.

Published examples used (widely reproduced worked examples of TS 23.040 / 27.005 PDUs):

* SMS-DELIVER "hellohello" from +27838890001 via SMSC +27381000015, 1999-03-29 15:16:59
  +02:00, and the SMS-SUBMIT of the same text to +46708251358 with TP-VP 0xAA — the
  classic example of the "SMS and the PDU format" tutorial (dreamfabric);
* SMS-SUBMIT "It is easy to send text messages." to +85291234567 via +85290000000
  (developershome SMS tutorial);
* GSM 7-bit packing of "hellohello", "hello world" (Wikipedia, GSM 03.38) and
  "How are you?" (developershome).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.gsm import gsm7, pdu
from drivers.gsm.atparser import AtParser
from drivers.gsm.sms import Reassembler
from drivers.gsm.ussd import decode_ussd_text, encode_request, parse_cusd

DELIVER_HELLO = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
SUBMIT_HELLO = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
SUBMIT_EASY = (
    "07915892000000F001000B915892214365F7000021493A283D0795C3F33C88FE06CDCB6E32885EC6D341ED"
    "F27C1E3E97E72E"
)


# -- published examples, both ways --------------------------------------------------------
def test_published_deliver_decodes() -> None:
    message = pdu.decode(DELIVER_HELLO)
    assert isinstance(message, pdu.SmsDeliver)
    assert message.smsc == pdu.Address("+27381000015", 1, 1)
    assert message.sender.number == "27838890001"
    assert message.text == "hellohello" and message.encoding is pdu.Encoding.GSM7
    assert message.timestamp == dt.datetime(
        1999, 3, 29, 15, 16, 59, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert pdu.to_json(message) == {
        "sender": "27838890001", "smsc": "+27381000015",
        "timestamp": "1999-03-29T15:16:59+02:00", "text": "hellohello", "encoding": "gsm7",
        "concat": None}


def test_published_deliver_reencodes() -> None:
    message = pdu.decode(DELIVER_HELLO)
    assert isinstance(message, pdu.SmsDeliver) and message.timestamp is not None
    again = pdu.encode_deliver(message.sender, "hellohello", message.timestamp,
                               smsc=message.smsc)
    # Our encoder sets TP-MMS (no more messages): the example has first octet 04 too.
    assert again == DELIVER_HELLO


def test_published_submits_encode_exactly() -> None:
    assert pdu.encode_submit("+46708251358", "hellohello", validity=0xAA) == [
        pdu.SubmitPdu(SUBMIT_HELLO, 23)]
    smsc = pdu.Address("+85290000000")
    assert pdu.encode_submit("+85291234567", "It is easy to send text messages.",
                             smsc=smsc) == [pdu.SubmitPdu(SUBMIT_EASY, 42)]


def test_published_submits_decode() -> None:
    message = pdu.decode(SUBMIT_EASY, mobile_originated=True)
    assert isinstance(message, pdu.SmsSubmit)
    assert message.recipient.number == "+85291234567"
    assert message.smsc is not None and message.smsc.number == "+85290000000"
    assert message.text == "It is easy to send text messages."
    hello = pdu.decode(SUBMIT_HELLO, mobile_originated=True)
    assert isinstance(hello, pdu.SmsSubmit) and hello.validity == 0xAA
    assert pdu.tpdu_length(SUBMIT_EASY) == 42


@pytest.mark.parametrize("text, packed", [
    ("hellohello", "E8329BFD4697D9EC37"),
    ("hello world", "E8329BFD06DDDF723619"),
    ("How are you?", "C8F71D14969741F977FD07"),
])
def test_published_septet_packing(text: str, packed: str) -> None:
    assert gsm7.pack(gsm7.encode(text)).hex().upper() == packed
    assert gsm7.decode(gsm7.unpack(bytes.fromhex(packed), len(text))) == text


# -- GSM 7-bit tables ---------------------------------------------------------------------
def test_default_alphabet_is_complete_and_round_trips() -> None:
    assert len(gsm7.DEFAULT_ALPHABET) == 128
    for tables in [(0, 0), (1, 1), (1, 0), (0, 2), (3, 3)]:
        main = gsm7.LOCKING_SHIFT.get(tables[0], gsm7.DEFAULT_ALPHABET)
        assert len(main) == 128
        text = "".join(c for i, c in enumerate(main) if i != gsm7.ESC)
        assert gsm7.decode(gsm7.encode(text, *tables), *tables) == text


def test_extension_table_costs_two_septets() -> None:
    assert gsm7.encode("€") == [0x1B, 0x65]
    assert gsm7.encode("[~]{|}^\\") == [0x1B, 0x3C, 0x1B, 0x3D, 0x1B, 0x3E, 0x1B, 0x28, 0x1B,
                                        0x40, 0x1B, 0x29, 0x1B, 0x14, 0x1B, 0x2F]
    assert gsm7.septet_count("a€") == 3
    # An escape to a code the table lacks shows the main table's character (§6.2.1.1).
    assert gsm7.decode([0x1B, 0x41]) == "A"


def test_national_tables_are_chosen_only_when_needed() -> None:
    assert gsm7.choose_tables("Hello €") == (0, 0)
    assert gsm7.choose_tables("Şişli İstanbul") is not None
    assert gsm7.choose_tables("Olá, ação") is not None
    assert gsm7.choose_tables("Привет") is None  # Cyrillic: UCS2
    locking, single = gsm7.choose_tables("ğ ı ş") or (0, 0)
    assert 1 in (locking, single)


@pytest.mark.parametrize("text", ["Şişli İstanbul'da buluşalım", "Olá! Ação às três",
                                  "¿Cómo estás? Íñigo"])
def test_national_language_messages_round_trip(text: str) -> None:
    parts = pdu.encode_submit("+905321234567", text)
    assert len(parts) == 1
    message = pdu.decode(parts[0].hex, mobile_originated=True)
    assert isinstance(message, pdu.SmsSubmit) and message.encoding is pdu.Encoding.GSM7
    assert message.text == text
    assert message.udh is not None  # the shift table is announced


def test_ussd_packing_pads_with_cr() -> None:
    # 7 septets leave 7 spare bits: a CR goes there (§6.1.2.3.1), not an '@'.
    packed = gsm7.pack_ussd("*100#12")
    assert gsm7.unpack(packed)[-1] == 0x0D
    assert gsm7.unpack_ussd(packed) == "*100#12"
    assert gsm7.unpack_ussd(gsm7.pack_ussd("*100#")) == "*100#"
    assert encode_request("*100#", packed_hex=True) == "AA180C3602"


# -- UCS2 ---------------------------------------------------------------------------------
def test_ucs2_with_surrogate_pairs() -> None:
    text = "Привет 👋 мир 🎉"
    parts = pdu.encode_submit("+79161234567", text)
    assert len(parts) == 1
    message = pdu.decode(parts[0].hex, mobile_originated=True)
    assert isinstance(message, pdu.SmsSubmit) and message.encoding is pdu.Encoding.UCS2
    assert message.text == text
    deliver = pdu.decode(pdu.encode_deliver("+79161234567", "😀", dt.datetime(
        2024, 1, 1, tzinfo=dt.UTC)))
    assert isinstance(deliver, pdu.SmsDeliver) and deliver.text == "😀"


def test_long_ucs2_never_splits_a_surrogate_pair() -> None:
    text = "a" + "😀" * 100
    parts = pdu.encode_submit("+79161234567", text)
    texts = []
    for part in parts:
        message = pdu.decode(part.hex, mobile_originated=True)
        assert isinstance(message, pdu.SmsSubmit) and message.text is not None
        assert "\ufffd" not in message.text and not message.warnings
        texts.append(message.text)
    assert "".join(texts) == text


def test_invalid_ucs2_decodes_with_a_warning() -> None:
    # A lone high surrogate (D83D) and an odd length.
    good = pdu.encode_deliver("+79161234567", "ab", dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                              ucs2=True)
    data = bytearray(bytes.fromhex(good))
    data[-4:] = bytes.fromhex("D83D0041")
    message = pdu.decode(bytes(data))
    assert isinstance(message, pdu.SmsDeliver)
    assert message.text is not None and "\ufffd" in message.text and message.warnings
    data[-5] = 5  # odd UDL, one octet more than the UCS2 units
    data.append(0x42)
    odd = pdu.decode(bytes(data))
    assert isinstance(odd, pdu.SmsDeliver) and any("odd" in w for w in odd.warnings)


# -- concatenation ------------------------------------------------------------------------
@pytest.mark.parametrize("ref_bits, per_part", [(8, 153), (16, 152)])
def test_long_gsm7_splits_into_concatenated_parts(ref_bits: int, per_part: int) -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(400))
    parts = pdu.encode_submit("+447700900123", text, concat_reference=300 if ref_bits == 16
                              else 77, concat_ref_bits=ref_bits)
    assert len(parts) == 3
    decoded = [pdu.decode(p.hex, mobile_originated=True) for p in parts]
    texts = []
    for seq, message in enumerate(decoded, start=1):
        assert isinstance(message, pdu.SmsSubmit)
        concat = message.concat
        assert concat is not None
        assert (concat.total, concat.sequence, concat.ref_bits) == (3, seq, ref_bits)
        assert concat.reference == (300 if ref_bits == 16 else 77)
        texts.append(message.text or "")
    assert len(texts[0]) == per_part and "".join(texts) == text
    assert all(p.tpdu_length <= 140 + 15 for p in parts)


def test_split_never_separates_an_escape() -> None:
    text = "a" * 152 + "€" + "b" * 10
    parts = pdu.encode_submit("+447700900123", text)
    texts = [pdu.decode(p.hex, mobile_originated=True).text for p in parts]  # type: ignore[union-attr]
    assert "".join(t or "" for t in texts) == text


def test_160_and_70_fit_one_part() -> None:
    assert len(pdu.encode_submit("+1", "x" * 160)) == 1
    assert len(pdu.encode_submit("+1", "x" * 161)) == 2
    assert len(pdu.encode_submit("+1", "я" * 70)) == 1
    assert len(pdu.encode_submit("+1", "я" * 71)) == 2


def _deliver_parts(text: str, total: int, ref: int = 9, ref_bits: int = 8) -> list[str]:
    size = -(-len(text) // total)
    when = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    return [pdu.encode_deliver("+447700900999", text[i * size:(i + 1) * size], when,
                               concat=pdu.Concat(ref, total, i + 1, ref_bits))
            for i in range(total)]


def test_reassembly_in_any_order_and_timeout_for_missing_parts() -> None:
    raws = _deliver_parts("one two three four five six", 3)
    r = Reassembler("gsm1", timeout=10)
    messages = [pdu.decode(raw) for raw in raws]
    assert r.add(messages[2], raws[2], 0.0) is None  # type: ignore[arg-type]
    assert r.add(messages[0], raws[0], 1.0) is None  # type: ignore[arg-type]
    assert r.add(messages[0], raws[0], 1.5) is None  # duplicate ignored
    whole = r.add(messages[1], raws[1], 2.0)  # type: ignore[arg-type]
    assert whole is not None and whole.text == "one two three four five six"
    assert whole.raw_pdus == raws and whole.complete and len(r) == 0

    r.add(messages[0], raws[0], 0.0)  # type: ignore[arg-type]
    r.add(messages[2], raws[2], 0.5)  # type: ignore[arg-type]
    assert r.next_deadline() == 10.0 and r.expire(9.9) == []
    [partial] = r.expire(10.0)
    assert partial.missing == [2] and partial.parts == 3 and not partial.complete
    assert partial.text is not None and partial.text.startswith("one two")


def test_16_bit_references_are_kept_apart_from_8_bit() -> None:
    r = Reassembler("gsm1")
    a = _deliver_parts("aaaabbbb", 2, ref=5, ref_bits=8)
    b = _deliver_parts("ccccdddd", 2, ref=5, ref_bits=16)
    assert r.add(pdu.decode(a[0]), a[0], 0) is None  # type: ignore[arg-type]
    assert r.add(pdu.decode(b[1]), b[1], 0) is None  # type: ignore[arg-type]
    whole = r.add(pdu.decode(a[1]), a[1], 0)  # type: ignore[arg-type]
    assert whole is not None and whole.text == "aaaabbbb"


# -- status reports -----------------------------------------------------------------------
def test_status_report_round_trip() -> None:
    when = dt.datetime(2024, 5, 17, 12, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    raw = pdu.encode_status_report(17, "+447700900123", when, when, 0x00)
    report = pdu.decode(raw)
    assert isinstance(report, pdu.SmsStatusReport)
    assert (report.reference, report.recipient.number, report.delivered, report.final) == (
        17, "+447700900123", True, True)
    assert report.timestamp == when
    pending = pdu.decode(pdu.encode_status_report(17, "+1", when, when, 0x20))
    assert isinstance(pending, pdu.SmsStatusReport) and not pending.final
    failed = pdu.decode(pdu.encode_status_report(17, "+1", when, when, 0x41))
    assert isinstance(failed, pdu.SmsStatusReport) and failed.status_text == "failed"


# -- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("bad, words", [
    ("", "truncated"),
    ("0", "odd"),
    ("zz", "hexadecimal"),
    ("07917283010010F5040BC872388809", "truncated"),
    (DELIVER_HELLO[:-4], "truncated"),
    ("07917283010010F5", "truncated"),
    ("0003", "reserved"),
])
def test_truncated_and_corrupt_pdus_raise_pdu_error(bad: str, words: str) -> None:
    with pytest.raises(pdu.PduError, match=words):
        pdu.decode(bad)


def test_bad_timestamp_is_a_warning_not_an_error() -> None:
    data = bytearray(bytes.fromhex(DELIVER_HELLO))
    data[22] = 0xFF  # a month nibble of 0xF
    message = pdu.decode(bytes(data))
    assert isinstance(message, pdu.SmsDeliver) and message.timestamp is None
    assert message.text == "hellohello" and message.warnings


def test_alphanumeric_sender() -> None:
    raw = pdu.encode_deliver(pdu.Address("MyBank", 5, 0), "code 1234",
                             dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    message = pdu.decode(raw)
    assert isinstance(message, pdu.SmsDeliver) and message.sender.number == "MyBank"


# -- USSD answers ------------------------------------------------------------------------
def test_ussd_answers_gsm7_ucs2_packed() -> None:
    assert parse_cusd('0,"Balance: 12.34",15').text == "Balance: 12.34"
    ucs2 = "Баланс 5 ₽".encode("utf-16-be").hex().upper()
    answer = parse_cusd(f'0,"{ucs2}",72')
    assert answer.text == "Баланс 5 ₽" and answer.status_text == "done"
    packed = gsm7.pack_ussd("Balance 7.50").hex().upper()
    assert parse_cusd(f'0,"{packed}",15', packed_hex=True).text == "Balance 7.50"
    assert parse_cusd("4").text is None and parse_cusd("4").status_text == "not-supported"
    text, warnings = decode_ussd_text("D83D", 72)
    assert "\ufffd" in text and warnings
    assert parse_cusd("garbage").status == -1


# -- fuzzing: nothing escapes -------------------------------------------------------------
@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_pdu_decoder_raises_only_pdu_error(data: bytes) -> None:
    for kwargs in ({}, {"smsc": False}, {"mobile_originated": True}):
        try:
            message = pdu.decode(data, **kwargs)  # type: ignore[arg-type]
        except pdu.PduError:
            continue
        pdu.to_json(message)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789ABCDEFabcdef", max_size=300))
def test_fuzz_pdu_decoder_hex_input(text: str) -> None:
    try:
        pdu.decode(text)
    except pdu.PduError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.sampled_from([8, 16]))
def test_fuzz_encode_decode_round_trip(text: str, ref_bits: int) -> None:
    text = text.replace("\x1b", "")
    try:
        parts = pdu.encode_submit("+447700900123", text, concat_ref_bits=ref_bits)
    except ValueError:
        return  # too long (255 parts) only
    out = []
    for part in parts:
        message = pdu.decode(part.hex, mobile_originated=True)
        assert isinstance(message, pdu.SmsSubmit)
        out.append(message.text or "")
    # Lone surrogates cannot be sent; everything else comes back exactly.
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        assert "".join(out) == text


_AT_TOKENS = [b"\r\n", b"OK", b"ERROR", b"+CME ERROR: 10", b"+CMS ERROR: 500", b"RING",
              b"+CMT: ,23", b"+CMTI: \"SM\",1", b"> ", b"+CREG: 1", b"\x00", b"\xff", b"\x1a",
              b"NO CARRIER", b"CONNECT", b"^RSSI:5", b"+CUSD: 0,\"x\",15", b"0791", b"\r",
              b"\n", b"A" * 50]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_AT_TOKENS), st.binary(max_size=40)), max_size=40),
       st.sampled_from(["AT", "AT+CREG?", "ATD123;", "AT+CMGS=20", "AT+CMGL=4", None]))
def test_fuzz_line_parser_never_raises_and_recovers(chunks: list[bytes],
                                                     command: str | None) -> None:
    parser = AtParser()
    if command is not None:
        parser.expect(command, prompt=command.startswith("AT+CMGS"))
    for chunk in chunks:
        parser.feed(chunk)
    # Whatever came before, a fresh command still gets its answer.
    parser.feed(b"\r\n")
    parser.abandon()
    parser.expect("AT+CSQ")
    events = parser.feed(b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n")
    finals = [e for e in events if type(e).__name__ == "Final"]
    assert finals and finals[-1].lines[-1:] == ["+CSQ: 20,0"]  # type: ignore[attr-defined]
