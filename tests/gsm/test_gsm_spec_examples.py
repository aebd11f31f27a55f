"""The SMS and USSD codecs against 3GPP TS 23.040 and TS 23.038, clause by clause, both ways.

Each test names the clause it checks. Where an example is published (the dreamfabric
"SMS and the PDU format" PDUs, Diafaan's alphanumeric sender, the "*100#" USSD request)
its octets are asserted as published; elsewhere the octets were worked out by hand from
the clause's rules (the derivation is in the comment next to them), decoded, and encoded
again to the same octets.
"""

from __future__ import annotations

import datetime as dt

import pytest

from drivers.gsm import gsm7, pdu

UTC = dt.UTC


def _tz(minutes: int) -> dt.timezone:
    return dt.timezone(dt.timedelta(minutes=minutes))


def _submit(hexed: str) -> pdu.SmsSubmit:
    message = pdu.decode(hexed, mobile_originated=True)
    assert isinstance(message, pdu.SmsSubmit)
    return message


def _deliver(hexed: str) -> pdu.SmsDeliver:
    message = pdu.decode(hexed)
    assert isinstance(message, pdu.SmsDeliver)
    return message


# -- TS 23.038 §6.1.2.1.1: packing of 7-bit characters ------------------------------------
@pytest.mark.parametrize("text, octets", [
    ("A", "41"),  # one character in one octet: 0 1a..1g
    ("AB", "4121"),  # 2g goes to bit 7 of octet 1 (B=1000010: 0), octet 2 = 0 0 2a..2f
    ("hellohello", "E8329BFD4697D9EC37"),  # published (dreamfabric): 10 septets, 9 octets
])
def test_7bit_packing_23038_6_1_2_1_1(text: str, octets: str) -> None:
    assert gsm7.pack(gsm7.encode(text)).hex().upper() == octets
    assert gsm7.decode(gsm7.unpack(bytes.fromhex(octets), len(text))) == text


# -- TS 23.038 §6.1.2.3.1: USSD packing, CR in 7 spare bits --------------------------------
def test_ussd_published_request_23038_6_1_2_3_1() -> None:
    # "*100#": 5 septets in 5 octets, 5 spare bits: no filler needed.
    assert gsm7.pack_ussd("*100#").hex().upper() == "AA180C3602"
    assert gsm7.unpack_ussd(bytes.fromhex("AA180C3602")) == "*100#"


def test_ussd_8n_minus_1_characters_get_a_cr_filler_23038_6_1_2_3_1() -> None:
    # 7 characters = 49 bits: the 7 spare bits of octet 7 carry CR (0x0D << 1 = 0x1A),
    # not 7 zero bits the receiver would read as '@'.
    packed = gsm7.pack_ussd("*100#12")
    assert packed.hex().upper() == "AA180C368AC91A"
    assert packed[-1] >> 1 == 0x0D
    assert gsm7.unpack_ussd(packed) == "*100#12"
    # 15 characters (8n-1 with n=2): the same.
    packed = gsm7.pack_ussd("*123*4567890#12")
    assert len(packed) == 14 and packed[-1] >> 1 == 0x0D
    assert gsm7.unpack_ussd(packed) == "*123*4567890#12"


def test_ussd_wanted_final_cr_on_octet_boundary_is_doubled_23038_6_1_2_3_1() -> None:
    # "1234567\r": 8 characters end on an octet boundary with a wanted CR; another CR is
    # added with one zero padding bit (9 septets in 8 octets), and the receiver, which
    # removes a final CR only on an octet boundary, keeps both (CR CR = CR).
    packed = gsm7.pack_ussd("1234567\r")
    assert packed.hex().upper() == "31D98C56B3DD1A0D"
    assert gsm7.unpack(packed) == [*gsm7.encode("1234567"), 0x0D, 0x0D]
    assert gsm7.unpack_ussd(packed) == "1234567\r\r"


def test_ussd_receiver_keeps_a_final_at_sign_23038_6_1_2_3_1() -> None:
    # 8 characters ending in '@' (septet 0) fill 7 octets: a conforming sender pads with
    # CR, never zeros, so the final '@' is a character that was sent.
    packed = gsm7.pack_ussd("1234567@")
    assert packed.hex().upper() == "31D98C56B3DD00"
    assert gsm7.unpack_ussd(packed) == "1234567@"
    # A final CR on an octet boundary is the filler and goes.
    assert gsm7.unpack_ussd(gsm7.pack(gsm7.encode("*100#12\r"))) == "*100#12"


# -- TS 23.038 §6.2.1: default alphabet, §6.2.1.1: extension table ------------------------
@pytest.mark.parametrize("char, septets", [
    ("@", [0x00]), ("£", [0x01]), ("\n", [0x0A]), ("\r", [0x0D]), ("Δ", [0x10]),
    ("_", [0x11]), ("ß", [0x1E]), (" ", [0x20]), ("¤", [0x24]), ("¡", [0x40]),
    ("Ä", [0x5B]), ("§", [0x5F]), ("¿", [0x60]), ("à", [0x7F]),
    ("\f", [0x1B, 0x0A]), ("^", [0x1B, 0x14]), ("{", [0x1B, 0x28]), ("}", [0x1B, 0x29]),
    ("\\", [0x1B, 0x2F]), ("[", [0x1B, 0x3C]), ("~", [0x1B, 0x3D]), ("]", [0x1B, 0x3E]),
    ("|", [0x1B, 0x40]), ("€", [0x1B, 0x65]),
])
def test_default_alphabet_and_extension_table_23038_6_2_1(char: str, septets: list[int]) -> None:
    assert gsm7.encode(char) == septets
    assert gsm7.decode(septets) == char


def test_extension_table_gaps_23038_6_2_1_1() -> None:
    # A code the extension table does not define shows the main table's character; ESC
    # ESC (reserved for a further extension table) shows a space.
    assert gsm7.decode([0x1B, 0x41, 0x1B, 0x1B]) == "A "


def test_extension_characters_in_an_sms_submit_23038_6_2_1_1() -> None:
    # "€5": ESC 0x65 '5'(0x35) = 3 septets: 0x1B | 0x65 << 7 | 0x35 << 14 = 0x0D729B,
    # least significant octet first → "9B720D".
    # TP-UDL counts septets (TS 23.040 §9.2.3.16): 3.
    hexed = "0001000B916407281553F80000039B720D"
    assert pdu.encode_submit("+46708251358", "€5") == [pdu.SubmitPdu(hexed, 16)]
    message = _submit(hexed)
    assert message.text == "€5" and message.dcs == 0x00


# -- TS 23.038 §6.2.1.2 and annex A: national language shift tables -----------------------
@pytest.mark.parametrize("char, locking, single, septets", [
    ("ı", 1, 0, [0x07]), ("Ğ", 1, 0, [0x0B]), ("ğ", 1, 0, [0x0C]), ("Ş", 1, 0, [0x1C]),
    ("ş", 1, 0, [0x1D]), ("İ", 1, 0, [0x40]), ("ç", 1, 0, [0x60]), ("€", 1, 0, [0x04]),
    ("ş", 0, 1, [0x1B, 0x73]), ("İ", 0, 1, [0x1B, 0x49]), ("ğ", 0, 1, [0x1B, 0x67]),
    ("á", 0, 2, [0x1B, 0x61]), ("ç", 0, 2, [0x1B, 0x09]), ("Ú", 0, 2, [0x1B, 0x55]),
    ("ê", 3, 0, [0x04]), ("ç", 3, 0, [0x09]), ("ã", 3, 0, [0x7B]), ("õ", 3, 0, [0x7C]),
    ("ã", 0, 3, [0x1B, 0x7B]), ("Â", 0, 3, [0x1B, 0x61]), ("Ê", 0, 3, [0x1B, 0x1F]),
])
def test_national_tables_23038_annex_a(char: str, locking: int, single: int,
                                      septets: list[int]) -> None:
    assert gsm7.encode(char, locking, single) == septets
    assert gsm7.decode(septets, locking, single) == char


def test_turkish_locking_shift_sms_23038_6_2_1_2_and_23040_9_2_3_24_16() -> None:
    # "ı" is not in the default tables; the Turkish locking shift table (1) carries it in
    # one septet (0x07) — cheaper than ESC 0x69 of the single shift table.  UDH: IEI 0x25,
    # length 1, language 1 → UDHL 3, 4 octets = 32 bits, 3 fill bits → the septet at bit
    # 35: octet 4 = 0x07 << 3 = 0x38, octet 5 = 0x07 >> 5 = 0x00.  UDL = 5 + 1 septets.
    hexed = "0041000C91093512325476000006032501013800"
    assert pdu.encode_submit("+905321234567", "ı") == [pdu.SubmitPdu(hexed, 19)]
    message = _submit(hexed)
    assert message.text == "ı"
    assert message.udh is not None and message.udh.locking_shift == 1
    # The same septet read without the shift table is the default table's 'ì'.
    assert gsm7.decode([0x07]) == "ì"


def test_spanish_single_shift_sms_23038_6_2_1_2_and_23040_9_2_3_24_15() -> None:
    # Spanish has no locking shift table: "á" is ESC 0x61 of the single shift table (2),
    # announced by IEI 0x24 (the Portuguese locking table would carry it too: only Spanish
    # is enabled here).  UDH 03 24 01 02; septets 1B 61 from bit 35: octet 4 =
    # (0x1B << 3) & 0xFF = 0xD8, octet 5 = 0x1B >> 5 | 0x61 << 2 & 0xFF = 0x84,
    # octet 6 = 0x61 >> 6 = 0x01.  UDL = 5 + 2 septets.
    hexed = "0041000B914316325487F900000703240102D88401"
    assert pdu.encode_submit("+34612345789", "á", national_languages=(2,)) == [
        pdu.SubmitPdu(hexed, 20)]
    assert _submit(hexed).text == "á"


# -- TS 23.038 §6.2.3: UCS2 (UTF-16 for characters outside the basic plane) ---------------
def test_ucs2_with_surrogate_pair_23038_6_2_3() -> None:
    # DCS 0x08 (§4: alphabet bits 10 = UCS2); TP-UDL counts octets: 8 units = 16 octets.
    body = "041F 0440 0438 0432 0435 0442 0020 D83D DC4B".replace(" ", "")  # "Привет 👋"
    hexed = "0001000B916407281553F8000812" + body
    assert pdu.encode_submit("+46708251358", "Привет 👋") == [pdu.SubmitPdu(hexed, 31)]
    message = _submit(hexed)
    assert message.text == "Привет 👋" and message.encoding is pdu.Encoding.UCS2


def test_long_ucs2_never_splits_a_surrogate_pair_23038_6_2_3() -> None:
    # With an 8-bit concatenation header (6 octets) a part holds 134 octets = 67 units;
    # 33 emoji (66 units) and one more would straddle: the pair moves to the next part.
    text = "a" + "😀" * 40
    parts = pdu.encode_submit("+46708251358", text, concat_reference=1)
    texts = [_submit(p.hex).text for p in parts]
    assert texts == ["a" + "😀" * 33, "😀" * 7]


# -- TS 23.040 §9.1.2.5: address fields ---------------------------------------------------
@pytest.mark.parametrize("address, octets", [
    # published (dreamfabric): 11 digits, international, odd → padded with F
    (pdu.Address("+46708251358", 1, 1), "0B916407281553F8"),
    # published (Diafaan): alphanumeric (TON 101): 7 characters = 49 bits = 13 semi-octets
    (pdu.Address("diafaan", 5, 0), "0DD0E474D81C0EBB01"),
    # semi-octets 1010 '*', 1011 '#' (§9.1.2.3), unknown TON: "*#1" → A B 1 F
    (pdu.Address("*#1", 0, 1), "0381BAF1"),
    # national number (TON 010, NPI 0001): 0xA1
    (pdu.Address("0612345678", 2, 1), "0AA16021436587"),
])
def test_address_fields_23040_9_1_2_5(address: pdu.Address, octets: str) -> None:
    assert pdu.encode_address(address).hex().upper() == octets
    # Inside an SMS-DELIVER, read back as it was written.
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    message = _deliver(pdu.encode_deliver(address, "x", when))
    assert message.sender == address


def test_alphanumeric_sender_published_deliver_23040_9_1_2_5() -> None:
    hexed = "0791448720003023240DD0E474D81C0EBB010000111011315214000BE474D81C0EBB5DE3771B"
    message = _deliver(hexed)
    assert message.sender == pdu.Address("diafaan", 5, 0)
    assert message.text == "diafaan.com"
    assert message.smsc == pdu.Address("+447802000332", 1, 1)
    # First octet 0x24: TP-MMS 1 (no more), TP-SRI 1 (a status report will be returned).
    assert message.status_report_indication and not message.more_messages


# -- TS 23.040 §9.2.3.11: TP-SCTS, time zone in quarter hours with its sign ---------------
@pytest.mark.parametrize("octets, when", [
    # published (dreamfabric): 99-03-29 15:16:59, zone 0x80: digits "08" → +8 quarters
    ("99309251619580", dt.datetime(1999, 3, 29, 15, 16, 59, tzinfo=_tz(120))),
    # -3 h = 12 quarters: tens 1 with the sign (bit 3) → 0x9, units 2 → octet 0x29
    ("62217090035129", dt.datetime(2026, 12, 7, 9, 30, 15, tzinfo=_tz(-180))),
    # +5:45 = 23 quarters → octet 0x32
    ("62107021000032", dt.datetime(2026, 1, 7, 12, 0, 0, tzinfo=_tz(345))),
    # -2:30 = 10 quarters → tens 1 | sign = 0x9, units 0 → octet 0x09
    ("62107021000009", dt.datetime(2026, 1, 7, 12, 0, 0, tzinfo=_tz(-150))),
    # 0 → 0x00
    ("62107021000000", dt.datetime(2026, 1, 7, 12, 0, 0, tzinfo=UTC)),
])
def test_scts_timezone_sign_23040_9_2_3_11(octets: str, when: dt.datetime) -> None:
    assert pdu.decode_timestamp(bytes.fromhex(octets)) == when
    decoded = pdu.decode_timestamp(bytes.fromhex(octets))
    assert decoded is not None and decoded.utcoffset() == when.utcoffset()
    assert pdu.encode_timestamp(when).hex().upper() == octets


# -- TS 23.040 §9.2.2.1 / §9.2.3.x: the TP fields of published PDUs -----------------------
def test_published_deliver_tp_fields_23040_9_2_2_1() -> None:
    hexed = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
    message = _deliver(hexed)
    # §9.2.3.1 TP-MTI 00 (SMS-DELIVER), §9.2.3.2 TP-MMS 1 (first octet 0x04)
    assert not message.more_messages and message.udh is None and not message.reply_path
    # §9.1.2.5 TP-OA: 11 digits, type 0xC8 (TON 100 subscriber, NPI 1000 national)
    assert message.sender == pdu.Address("27838890001", 4, 8)
    # §9.2.3.9 TP-PID 00, §9.2.3.10 TP-DCS 00 (default alphabet, no class)
    assert (message.pid, message.dcs, message.message_class) == (0, 0, None)
    assert message.text == "hellohello"
    assert message.timestamp is not None
    assert pdu.encode_deliver(message.sender, message.text, message.timestamp,
                              smsc=message.smsc) == hexed


def test_published_submit_tp_fields_23040_9_2_2_2() -> None:
    # published (dreamfabric): first octet 0x11 = TP-MTI 01 + TP-VPF 10 (relative),
    # TP-MR 00, TP-DA, TP-PID 00, TP-DCS 00, TP-VP 0xAA (§9.2.3.12: (170-166) = 4 days).
    hexed = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
    message = _submit(hexed)
    assert (message.reference, message.validity, message.dcs) == (0, 0xAA, 0)
    assert message.recipient == pdu.Address("+46708251358", 1, 1)
    assert message.text == "hellohello"
    assert pdu.encode_submit("+46708251358", "hellohello", validity=0xAA) == [
        pdu.SubmitPdu(hexed, 23)]


def test_status_report_request_and_reference_23040_9_2_3_5_and_9_2_3_6() -> None:
    # TP-SRR is bit 5 of the first octet (0x21 = SMS-SUBMIT + SRR), TP-MR the next octet.
    hexed = "0021C50B916407281553F800000141"  # "A" with reference 0xC5
    assert pdu.encode_submit("+46708251358", "A", status_report=True, reference=0xC5) == [
        pdu.SubmitPdu(hexed, 14)]
    message = _submit(hexed)
    assert message.status_report_request and message.reference == 0xC5


def test_status_report_23040_9_2_2_3() -> None:
    # First octet 0x06: TP-MTI 10, TP-MMS 1; TP-MR 0xC5; TP-RA; TP-SCTS; TP-DT; TP-ST.
    scts = "62217090035129"  # 2026-12-07 09:30:15 -03:00
    discharge = "62217090504129"  # 2026-12-07 09:05:14 -03:00
    for status, text, final in [(0x00, "delivered", True), (0x21, "pending", False),
                                (0x41, "failed", True), (0x64, "expired", True)]:
        hexed = f"0006C50B916407281553F8{scts}{discharge}{status:02X}"
        report = pdu.decode(hexed)
        assert isinstance(report, pdu.SmsStatusReport)
        assert (report.reference, report.status) == (0xC5, status)
        assert report.recipient.number == "+46708251358"
        assert (report.status_text, report.final) == (text, final)
        assert report.timestamp == dt.datetime(2026, 12, 7, 9, 30, 15, tzinfo=_tz(-180))
        assert report.discharge == dt.datetime(2026, 12, 7, 9, 5, 14, tzinfo=_tz(-180))
        assert pdu.encode_status_report(0xC5, "+46708251358", report.timestamp,
                                        report.discharge, status) == hexed


# -- TS 23.040 §9.2.3.24.1 / .8: concatenation headers -------------------------------------
CONCAT_WHEN = dt.datetime(2026, 1, 7, 12, 0, 0, tzinfo=UTC)


def test_concat_8bit_reference_23040_9_2_3_24_1() -> None:
    # UDH 05 00 03 7B 02 01 (IEI 0x00, ref 0x7B, 2 parts, part 1) = 6 octets = 48 bits:
    # one fill bit, then "A" (0x41) at bit 49: octet 6 = 0x41 << 1 = 0x82.  UDL = 7 + 1.
    # First octet 0x44: SMS-DELIVER, TP-MMS, TP-UDHI.
    hexed = "00440B916407281553F8000062107021000000080500037B020182"
    message = _deliver(hexed)
    assert message.concat == pdu.Concat(0x7B, 2, 1, 8)
    assert message.text == "A"
    assert pdu.encode_deliver("+46708251358", "A", CONCAT_WHEN,
                              concat=pdu.Concat(0x7B, 2, 1)) == hexed


def test_concat_16bit_reference_23040_9_2_3_24_8() -> None:
    # UDH 06 08 04 BE EF 02 01 = 7 octets = 56 bits = 8 septets exactly: no fill bits,
    # "A" is octet 7 as it is (0x41).  UDL = 8 + 1.
    hexed = "00440B916407281553F800006210702100000009060804BEEF020141"
    message = _deliver(hexed)
    assert message.concat == pdu.Concat(0xBEEF, 2, 1, 16)
    assert message.text == "A"
    assert pdu.encode_deliver("+46708251358", "A", CONCAT_WHEN,
                              concat=pdu.Concat(0xBEEF, 2, 1, 16)) == hexed


@pytest.mark.parametrize("ie", ["00037B0000", "00037B0203", "00047B0201FF", "0804BEEF0000"])
def test_concat_ie_to_be_ignored_23040_9_2_3_24_1(ie: str) -> None:
    # Total 0, sequence 0, sequence above total, or a wrong IE length: the receiving
    # entity ignores the IE and treats the message as a single one.
    header = bytes.fromhex(ie)
    ud = bytes([len(header)]) + header
    skip = (len(ud) * 8 + 6) // 7
    packed = bytearray(gsm7.pack([0] * skip + gsm7.encode("A")))
    packed[: len(ud)] = ud
    hexed = ("00440B916407281553F8000062107021000000" + f"{skip + 1:02X}"
             + bytes(packed).hex().upper())
    message = _deliver(hexed)
    assert message.concat is None and message.text == "A"


@pytest.mark.parametrize("ref_bits, per_part", [(8, 153), (16, 152)])
def test_concatenated_7bit_part_sizes_23040_9_2_3_24(ref_bits: int, per_part: int) -> None:
    # 140 octets less a 6 (or 7) octet header leave 1072 (1064) bits: 153 (152) septets,
    # the text starting on the septet boundary after the fill bits.
    text = "".join(chr(ord("a") + i % 26) for i in range(per_part * 2 + 5))
    parts = pdu.encode_submit("+46708251358", text, concat_reference=0x42,
                              concat_ref_bits=ref_bits)
    decoded = [_submit(p.hex) for p in parts]
    assert [len(m.text or "") for m in decoded] == [per_part, per_part, 5]
    assert [m.concat for m in decoded] == [
        pdu.Concat(0x42, 3, seq, ref_bits) for seq in (1, 2, 3)]
    assert "".join(m.text or "" for m in decoded) == text
    # Full parts fill TP-UD: 160 septets = 140 octets after 13 octets of TP fields.
    assert [p.tpdu_length for p in parts[:2]] == [13 + 140, 13 + 140]
