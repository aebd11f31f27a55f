"""The SMS PDU codec cross-checked against an independent decoder: Wireshark's gsm_sms
dissector (tshark, installed from Debian by image/dev/bootstrap.sh).

Each TPDU (the PDU without its SMSC field) is written to a pcap as an exported PDU (link
type 252, "Wireshark Upper PDU export") naming the ``gsm_sms`` dissector, with its
direction: the dissector reads TP-MTI 01 as SMS-SUBMIT only on the way from the mobile
(``P2P_DIR_RECV``), and 00/10 as SMS-DELIVER / SMS-STATUS-REPORT on the way to it.
Reassembly is switched off so each part shows its own header and text.

Both directions:

* our encoder → tshark: SMS-SUBMITs we build (short, 7-bit with extension characters,
  long with 8- and 16-bit references, UCS2 with emoji, national shift tables, status
  report request and validity), SMS-DELIVERs and SMS-STATUS-REPORTs the simulator sends;
* published PDUs → both decoders: real SMS-DELIVERs (a numeric and an alphanumeric
  sender), and their fields must agree.

Wireshark 4.0 announces national language shift tables in the header but decodes the text
with the default tables; for those messages the text is compared with our septets read
through the default tables (which checks the packing and fill bits), and the announced
table with the information element.

tshark missing is a failure, not a skip: bootstrap installs it.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from drivers.gsm import gsm7, pdu

LINKTYPE_UPPER_PDU = 252
TAG_END, TAG_DISSECTOR, TAG_P2P_DIR = 0, 12, 35
TO_MOBILE, FROM_MOBILE = 0, 1  # Wireshark's P2P_DIR_SENT / P2P_DIR_RECV

# Published SMS-DELIVERs, SMSC field first (as +CMGR shows them).
DELIVER_HELLO = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
"""dreamfabric "SMS and the PDU format": "hellohello" from 27838890001 (TON 4, NPI 8)."""
DELIVER_ALPHANUMERIC = (
    "0791448720003023240DD0E474D81C0EBB010000111011315214000BE474D81C0EBB5DE3771B")
"""Diafaan's PDU examples: "diafaan.com" from the alphanumeric sender "diafaan"."""

WHEN = dt.datetime(2026, 12, 7, 9, 30, 15, tzinfo=dt.timezone(dt.timedelta(hours=-3)))


def _tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        pytest.fail("tshark is not installed: the cross-check needs Debian's tshark "
                    "(run image/dev/bootstrap.sh, which installs it)")
    return path


def _tag(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


def _record(tpdu: bytes, direction: int) -> bytes:
    payload = (_tag(TAG_DISSECTOR, b"gsm_sms") + _tag(TAG_P2P_DIR, struct.pack(">i", direction))
               + _tag(TAG_END, b"") + tpdu)
    return struct.pack("<IIII", 0, 0, len(payload), len(payload)) + payload


def _tpdu(pdu_hex: str) -> bytes:
    """The TPDU of a PDU as the modem shows it (the SMSC field removed)."""
    data = bytes.fromhex(pdu_hex)
    return data[1 + data[0]:]


SHOWNAME = "#showname"
"""Suffix of the key holding a field's displayed line (a signed time zone shows only there)."""


def dissect(tmp_path: Path, items: list[tuple[str, int]]) -> list[dict[str, list[str]]]:
    """Each (PDU hex with SMSC field, direction) through tshark's gsm_sms dissector (PDML
    out): for each, every gsm_sms field → its values in order (and ``name#showname`` →
    its displayed lines)."""
    tshark = _tshark()
    capture = tmp_path / "sms.pcap"
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_UPPER_PDU)
    capture.write_bytes(header + b"".join(_record(_tpdu(h), d) for h, d in items))
    done = subprocess.run(
        [tshark, "-n", "-r", str(capture), "-o", "gsm_sms.reassemble:FALSE",
         "-T", "pdml"],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"tshark failed: {done.stderr}"
    packets = ElementTree.fromstring(done.stdout).findall("packet")
    assert len(packets) == len(items)
    out = []
    for packet in packets:
        names = [proto.get("name") for proto in packet.findall("proto")]
        assert "gsm_sms" in names, f"tshark did not dissect it as gsm_sms: {names}"
        assert "_ws.malformed" not in names, "tshark: malformed PDU"
        fields: dict[str, list[str]] = {}
        for proto in packet.findall("proto[@name='gsm_sms']"):
            for field in proto.iter("field"):
                name = field.get("name", "")
                if name.startswith("gsm_sms."):
                    fields.setdefault(name, []).append(field.get("show", ""))
                    fields.setdefault(name + SHOWNAME, []).append(field.get("showname", ""))
        out.append(fields)
    return out


def one(fields: dict[str, list[str]], name: str) -> str:
    values = fields.get(name, [])
    assert len(values) == 1, f"{name}: {values}"
    return values[0]


def _digits(address: pdu.Address) -> str:
    return address.number.lstrip("+")


def _assert_concat(fields: dict[str, list[str]], concat: pdu.Concat | None) -> None:
    if concat is None:
        assert "gsm_sms.udh.mm.msg_id" not in fields
        return
    assert int(one(fields, "gsm_sms.udh.mm.msg_id")) == concat.reference
    assert int(one(fields, "gsm_sms.udh.mm.msg_parts")) == concat.total
    assert int(one(fields, "gsm_sms.udh.mm.msg_part")) == concat.sequence
    ieis = [int(value, 16) for value in fields["gsm_sms.ie_identifier"]]
    assert ieis.count(0x00 if concat.ref_bits == 8 else 0x08) == 1
    assert (0x08 if concat.ref_bits == 8 else 0x00) not in ieis


def _default_table_text(message: pdu.SmsSubmit | pdu.SmsDeliver, pdu_hex: str) -> str:
    """Our septets of a 7-bit message read through the default tables only."""
    tpdu = _tpdu(pdu_hex)
    udl_pos = _user_data_offset(tpdu, isinstance(message, pdu.SmsSubmit))
    udl = tpdu[udl_pos]
    raw = tpdu[udl_pos + 1:]
    header_octets = raw[0] + 1 if message.udh is not None else 0
    return gsm7.decode(gsm7.unpack(raw, udl)[(header_octets * 8 + 6) // 7:])


def _user_data_offset(tpdu: bytes, submit: bool) -> int:
    """Offset of TP-UDL in a TPDU (SMS-SUBMIT or SMS-DELIVER)."""
    pos = 2 if submit else 1
    pos += 2 + (tpdu[pos] + 1) // 2  # address
    pos += 2  # PID, DCS
    if submit:
        vpf = tpdu[0] >> 3 & 3
        pos += {0: 0, 2: 1}.get(vpf, 7)
    else:
        pos += 7  # SCTS
    return pos


def _assert_text(fields: dict[str, list[str]], message: pdu.SmsSubmit | pdu.SmsDeliver,
                 pdu_hex: str) -> None:
    udh = message.udh
    shifted = udh is not None and (udh.locking_shift or udh.single_shift)
    if shifted:
        assert one(fields, "gsm_sms.sms_text") == _default_table_text(message, pdu_hex)
        if udh is not None and udh.locking_shift:
            assert int(one(fields, "gsm_sms.dis_iei_lang.locking_shift")) == udh.locking_shift
        if udh is not None and udh.single_shift:
            assert int(one(fields, "gsm_sms.dis_iei_lang.single_shift")) == udh.single_shift
    else:
        assert one(fields, "gsm_sms.sms_text") == message.text


def _assert_timestamp(fields: dict[str, list[str]], when: dt.datetime | None,
                      index: int = 0) -> None:
    assert when is not None
    got = [int(fields[f"gsm_sms.scts.{name}"][index])
           for name in ("year", "month", "day", "hour", "minutes", "seconds")]
    assert got == [when.year % 100, when.month, when.day, when.hour, when.minute, when.second]
    offset = when.utcoffset()
    assert offset is not None
    # "Timezone: GMT - 3 hours 0 minutes": the sign is only in the displayed line.
    shown = re.fullmatch(r"Timezone: GMT ([+-]) (\d+) hours (\d+) minutes",
                         fields["gsm_sms.scts.timezone" + SHOWNAME][index])
    assert shown is not None, fields["gsm_sms.scts.timezone" + SHOWNAME]
    sign = -1 if shown[1] == "-" else 1
    assert sign * (int(shown[2]) * 3600 + int(shown[3]) * 60) == offset.total_seconds()


SUBMITS: list[tuple[str, dict[str, Any]]] = [
    ("hello", {}),
    ("Prices [EUR]: 5€ {net} ~ back\\slash | caret^", {}),
    ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿azäöñüà", {}),
    ("Part of a long 7-bit message with € and [brackets]. " * 8, {"concat_reference": 0xA7}),
    ("Sixteen-bit reference, several parts: 0123456789 " * 9,
     {"concat_reference": 0xBEEF, "concat_ref_bits": 16}),
    ("Привет, мир! 👋🎉 Ünïcödé", {}),
    ("Long UCS2 with emoji on the part boundaries 😀🚀✨ " * 4,
     {"concat_reference": 0x3C, "concat_ref_bits": 16}),
    ("😀" * 80, {"concat_reference": 9}),
    ("Şişli İstanbul'da buluşalım", {}),
    ("Olá! Ação às três", {}),
    ("Please confirm delivery", {"status_report": True, "validity": 0xAA, "reference": 77}),
    ("Intl 0044 number", {"to": "07700900123"}),
]


@pytest.mark.parametrize("text, options", SUBMITS, ids=[f"submit{i}" for i in range(len(SUBMITS))])
def test_our_submits_decode_the_same_in_tshark(tmp_path: Path, text: str,
                                               options: dict[str, Any]) -> None:
    to = options.pop("to", "+447700900123")
    parts = pdu.encode_submit(to, text, **options)
    dissected = dissect(tmp_path, [(p.hex, FROM_MOBILE) for p in parts])
    texts = []
    for part, fields in zip(parts, dissected, strict=True):
        ours = pdu.decode(part.hex, mobile_originated=True)
        assert isinstance(ours, pdu.SmsSubmit)
        assert one(fields, "gsm_sms.tp-mti") == "1"
        assert one(fields, "gsm_sms.tp-da") == _digits(ours.recipient)
        assert int(one(fields, "gsm_sms.dis_field_addr.num_type")) == ours.recipient.ton
        assert int(one(fields, "gsm_sms.tp-dcs")) == ours.dcs
        assert int(one(fields, "gsm_sms.tp-mr")) == ours.reference
        assert one(fields, "gsm_sms.tp-srr") == ("1" if ours.status_report_request else "0")
        assert one(fields, "gsm_sms.tp-udhi") == ("1" if ours.udh is not None else "0")
        _assert_concat(fields, ours.concat)
        _assert_text(fields, ours, part.hex)
        assert ours.text is not None
        texts.append(ours.text)
    assert "".join(texts) == text  # and ours puts the parts together again


DELIVERS: list[tuple[str, str, dict[str, Any]]] = [
    ("+447700900123", "Hi! Meeting at 10:00 [room 4] ~ €5", {}),
    ("+447700900123", "Ответ: да 😀", {}),
    ("+447700900123", "Part 2 of 3", {"concat": pdu.Concat(200, 3, 2)}),
    ("+447700900123", "Часть 3", {"concat": pdu.Concat(0x1234, 3, 3, 16)}),
    ("5550100", "national number, status report requested", {"status_report_indication": True}),
]


@pytest.mark.parametrize("sender, text, options", DELIVERS,
                         ids=[f"deliver{i}" for i in range(len(DELIVERS))])
def test_simulated_delivers_decode_the_same_in_tshark(tmp_path: Path, sender: str, text: str,
                                                      options: dict[str, Any]) -> None:
    hexed = pdu.encode_deliver(sender, text, WHEN, **options)
    fields = dissect(tmp_path, [(hexed, TO_MOBILE)])[0]
    ours = pdu.decode(hexed)
    assert isinstance(ours, pdu.SmsDeliver)
    _assert_deliver(fields, ours, hexed)
    assert ours.text == text


def _assert_deliver(fields: dict[str, list[str]], ours: pdu.SmsDeliver, hexed: str) -> None:
    assert one(fields, "gsm_sms.tp-mti") == "0"
    assert one(fields, "gsm_sms.tp-oa") == _digits(ours.sender)
    assert int(one(fields, "gsm_sms.dis_field_addr.num_type")) == ours.sender.ton
    assert int(one(fields, "gsm_sms.dis_field_addr.num_plan")) == ours.sender.npi
    assert int(one(fields, "gsm_sms.tp-dcs")) == ours.dcs
    assert one(fields, "gsm_sms.tp-sri") == ("1" if ours.status_report_indication else "0")
    assert one(fields, "gsm_sms.tp-mms") == ("0" if ours.more_messages else "1")
    _assert_timestamp(fields, ours.timestamp)
    _assert_concat(fields, ours.concat)
    _assert_text(fields, ours, hexed)


@pytest.mark.parametrize("hexed, sender, text", [
    (DELIVER_HELLO, "27838890001", "hellohello"),
    (DELIVER_ALPHANUMERIC, "diafaan", "diafaan.com"),
])
def test_published_delivers_decode_alike(tmp_path: Path, hexed: str, sender: str,
                                         text: str) -> None:
    fields = dissect(tmp_path, [(hexed, TO_MOBILE)])[0]
    ours = pdu.decode(hexed)
    assert isinstance(ours, pdu.SmsDeliver)
    _assert_deliver(fields, ours, hexed)
    assert (ours.sender.number, ours.text) == (sender, text)


@pytest.mark.parametrize("status", [0x00, 0x21, 0x41, 0x64])
def test_status_reports_decode_the_same_in_tshark(tmp_path: Path, status: int) -> None:
    discharge = WHEN + dt.timedelta(seconds=42)
    hexed = pdu.encode_status_report(0xC5, "+447700900123", WHEN, discharge, status)
    fields = dissect(tmp_path, [(hexed, TO_MOBILE)])[0]
    ours = pdu.decode(hexed)
    assert isinstance(ours, pdu.SmsStatusReport)
    assert one(fields, "gsm_sms.tp-mti") == "2"
    assert int(one(fields, "gsm_sms.tp-mr")) == ours.reference == 0xC5
    assert one(fields, "gsm_sms.tp-ra") == _digits(ours.recipient)
    _assert_timestamp(fields, ours.timestamp, 0)
    _assert_timestamp(fields, ours.discharge, 1)
    assert ours.discharge == discharge
    tp_st = (int(one(fields, "gsm_sms.dis_field.definition")) << 7
             | int(one(fields, "gsm_sms.dis_field.st_error")) << 5
             | int(one(fields, "gsm_sms.dis.field_st_reason")))
    assert tp_st == ours.status == status
