"""The message waiting indicator (visual message waiting, the phone's lamp) of
native.callerid: exact bytes against the standards' coding, and round trips through the
modulator and the streaming receivers.

The expected bytes are derived by hand here from the coding tables, not from the encoder:
- ETSI EN 300 659-3 clause 5.2 (message types) and 5.3 (parameters): message type
  "Message Waiting Indicator" = 1000 0010 (0x82); parameter "Visual Indicator" =
  0000 1011 (0x0B), length 1, value 0000 0000 deactivation (indicator off), 1111 1111
  activation (on), other values reserved; parameter "Number of Messages" = 0001 0011
  (0x13), length 1, binary; parameter "Date and Time" = 0x01, 8 octets MMDDHHMM in
  ASCII. The checksum is the two's complement of the modulo-256 sum of every octet from
  the message type to the last parameter octet (EN 300 659-2 / -3).
- Telcordia GR-30-CORE on-hook VMWI in MDMF: the same message type 0x82 and the visual
  indicator parameter 0x0B with 0xFF / 0x00.
"""

from __future__ import annotations

from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from native import callerid as cid


def checksum(octets: list[int]) -> int:
    return (-sum(octets)) & 0xFF


def test_etsi_lamp_on_with_count_exact_bytes() -> None:
    # type, length 6 = (2 + 1) visual indicator + (2 + 1) number of messages
    body = [0x82, 0x06, 0x0B, 0x01, 0xFF, 0x13, 0x01, 0x03]
    # 0x82 + 6 + 0x0B + 1 + 0xFF + 0x13 + 1 + 3 = 426 = 0x1AA; -0xAA mod 256 = 0x56
    assert checksum(body) == 0x56
    assert cid.encode_message("v23", message_waiting=True, messages=3) == bytes([*body, 0x56])


def test_etsi_lamp_off_with_date_exact_bytes() -> None:
    # date/time first (its parameter number is lower), then the indicator
    body = [0x82, 0x0D, 0x01, 0x08, *b"11220930", 0x0B, 0x01, 0x00]
    expected = bytes([*body, checksum(body)])
    assert cid.encode_message("v23", datetime="11220930", message_waiting=False) == expected


@pytest.mark.parametrize(("on", "value", "check"), [(True, 0xFF, 0x70), (False, 0x00, 0x6F)])
def test_bell_vmwi_exact_bytes(on: bool, value: int, check: int) -> None:
    # 0x82 + 3 + 0x0B + 1 = 0x91: off 0x100 - 0x91 = 0x6F; on + 0xFF = 0x190: 0x70
    body = [0x82, 0x03, 0x0B, 0x01, value]
    assert checksum(body) == check
    assert cid.encode_message("bell202", message_waiting=on) == bytes([*body, check])


def test_decode_message_reads_the_indicator() -> None:
    status, r = cid.decode_message(bytes([0x82, 0x06, 0x0B, 0x01, 0xFF, 0x13, 0x01, 0x03,
                                          0x56]))
    assert status == "ok" and r is not None
    assert (r.message_waiting, r.messages, r.number, r.format) == (True, 3, None, "mdmf")


def test_caller_id_has_no_indicator() -> None:
    status, r = cid.decode_message(cid.encode_message("v23", number="123"))
    assert status == "ok" and r is not None
    assert (r.message_waiting, r.messages) == (None, None)


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"standard": "dtmf", "message_waiting": True}, "not DTMF"),
        ({"standard": "v23", "message_waiting": True, "format": "sdmf"}, "SDMF"),
        ({"standard": "v23", "message_waiting": True, "number": "12"}, "no number"),
        ({"standard": "v23", "message_waiting": True, "messages": 0}, "1..255"),
        ({"standard": "v23", "message_waiting": True, "messages": 256}, "1..255"),
        ({"standard": "bell202", "message_waiting": True, "messages": 2}, "ETSI"),
        ({"standard": "v23", "messages": 2}, "belongs to a message waiting"),
    ],
)
def test_bad_indicator_fields_are_named(kwargs: dict[str, object], what: str) -> None:
    with pytest.raises(ValueError, match=what):
        cid.encode_message(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("standard", ["v23", "bell202"])
@pytest.mark.parametrize("on", [True, False])
def test_round_trip_through_the_streaming_receiver(standard: str, on: bool) -> None:
    messages = 7 if on and standard == "v23" else None
    pcm = cid.encode(standard, datetime="01020304", message_waiting=on,  # type: ignore[arg-type]
                     messages=messages)
    rx = cid.Receiver("v23")          # a phone's one FSK receiver decodes both standards
    found = rx.feed(pcm + array("h", bytes(800)))
    assert len(found) == 1
    r = cid.label_fsk(found[0])
    assert (r.valid, r.standard, r.message_waiting, r.messages, r.datetime) == (
        True, standard, on, messages, "01020304")


@given(on=st.booleans(), messages=st.one_of(st.none(), st.integers(1, 255)),
       dt=st.one_of(st.none(), st.just("12312359")))
def test_message_round_trip(on: bool, messages: int | None, dt: str | None) -> None:
    data = cid.encode_message("v23", datetime=dt, message_waiting=on, messages=messages)
    status, r = cid.decode_message(data)
    assert status == "ok" and r is not None
    assert (r.message_waiting, r.messages, r.datetime) == (on, messages, dt)
