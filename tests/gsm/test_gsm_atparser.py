"""The sans-I/O AT parser: rules by example, then property tests."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.gsm.atparser import (
    MAX_LINE,
    AtEvent,
    AtParser,
    Final,
    Garbage,
    Prompt,
    Response,
    Urc,
    response_prefix,
)


def feed_all(parser: AtParser, *chunks: bytes) -> list[AtEvent]:
    events: list[AtEvent] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return events


def finals(events: list[AtEvent]) -> list[Final]:
    return [e for e in events if isinstance(e, Final)]


def urcs(events: list[AtEvent]) -> list[Urc]:
    return [e for e in events if isinstance(e, Urc)]


def test_response_prefix() -> None:
    assert response_prefix("AT+CREG?") == "+CREG:"
    assert response_prefix("AT+CSQ") == "+CSQ:"
    assert response_prefix("AT+CREG=?") == "+CREG:"
    assert response_prefix("AT+CREG=1") is None  # set: no information lines
    assert response_prefix("AT+CMGS=23") == "+CMGS:"  # a set command that answers
    assert response_prefix("ATD+441234;") is None
    assert response_prefix("AT^SYSINFO") == "^SYSINFO:"


def test_command_with_echo_lines_and_ok() -> None:
    p = AtParser()
    p.expect("AT+CSQ")
    events = p.feed(b"AT+CSQ\r\r\n+CSQ: 20,0\r\n\r\nOK\r\n")
    assert events == [Response("+CSQ: 20,0"), Final("OK", True, None, ["+CSQ: 20,0"])]
    assert p.command is None


def test_errors_carry_codes() -> None:
    p = AtParser()
    p.expect("AT+CIMI")
    assert p.feed(b"\r\n+CME ERROR: 10\r\n") == [Final("+CME ERROR", False, 10, [], "10")]
    p.expect("AT+CMGS=1")
    [final] = p.feed(b"\r\n+CMS ERROR: 500\r\n")
    assert isinstance(final, Final) and final.code == 500 and not final.ok
    p.expect("AT+CIMI")
    [final] = p.feed(b"\r\n+CME ERROR: SIM not inserted\r\n")
    assert isinstance(final, Final) and final.code is None
    assert final.detail == "SIM not inserted"
    p.expect("AT+FOO")
    assert p.feed(b"\r\nERROR\r\n") == [Final("ERROR", False, None, [])]


def test_call_results_are_final_only_for_call_commands() -> None:
    p = AtParser()
    p.expect("ATD+441234;")
    assert p.feed(b"\r\nBUSY\r\n") == [Final("BUSY", False, None, [])]
    p.expect("ATA")
    assert p.feed(b"\r\nNO CARRIER\r\n") == [Final("NO CARRIER", False, None, [])]
    p.expect("ATD12345")
    [final] = p.feed(b"\r\nCONNECT 9600\r\n")
    assert isinstance(final, Final) and final.ok and final.detail == "9600"
    # During another command, or with none in flight, they report a call ending.
    p.expect("AT+CLCC")
    events = p.feed(b"\r\nNO CARRIER\r\n\r\nOK\r\n")
    assert events == [Urc("NO CARRIER", "", "NO CARRIER"), Final("OK", True, None, [])]
    assert p.feed(b"\r\nBUSY\r\n") == [Urc("BUSY", "", "BUSY")]


def test_urc_in_the_middle_of_a_response() -> None:
    p = AtParser()
    p.expect("AT+CSQ")
    events = p.feed(b"\r\n+CSQ: 20,0\r\n\r\n+CREG: 0\r\n\r\nRING\r\n\r\nOK\r\n")
    assert urcs(events) == [Urc("+CREG", "0", "+CREG: 0"), Urc("RING", "", "RING")]
    assert finals(events) == [Final("OK", True, None, ["+CSQ: 20,0"])]


def test_prefix_decides_response_or_urc() -> None:
    p = AtParser()
    p.expect("AT+CREG?")
    events = p.feed(b"\r\n+CREG: 1,5\r\n\r\nOK\r\n")
    assert events == [Response("+CREG: 1,5"), Final("OK", True, None, ["+CREG: 1,5"])]
    p.expect("AT+CLCC")
    events = p.feed(b'\r\n+CLCC: 1,0,3,0,0,"123",129\r\n\r\nOK\r\n')
    assert urcs(events) == []
    assert finals(events)[0].lines == ['+CLCC: 1,0,3,0,0,"123",129']
    # A set command answers no lines: its namesake URC stays a URC.
    p.expect('AT+CUSD=1,"*100#",15')
    events = p.feed(b'\r\n+CUSD: 0,"Balance 5",15\r\n\r\nOK\r\n')
    assert urcs(events) == [Urc("+CUSD", '0,"Balance 5",15', '+CUSD: 0,"Balance 5",15')]
    # Unsolicited +CLCC (SIM800 AT+CLCC=1) with no command in flight.
    assert urcs(p.feed(b'\r\n+CLCC: 1,0,0,0,0,"1",129\r\n'))[0].name == "+CLCC"


def test_cmt_collects_its_pdu_line_even_inside_a_response() -> None:
    p = AtParser()
    p.expect("AT+CSQ")
    events = p.feed(b"\r\n+CSQ: 9,0\r\n\r\n+CMT: ,24\r\n07911326040000F0040B\r\n\r\nOK\r\n")
    assert urcs(events) == [Urc("+CMT", ",24", "+CMT: ,24", ["07911326040000F0040B"])]
    assert finals(events) == [Final("OK", True, None, ["+CSQ: 9,0"])]
    # PDU-mode +CDS has a PDU line; text-mode +CDS has none.
    assert urcs(p.feed(b"\r\n+CDS: 25\r\n0791\r\n"))[0].extra_lines == ["0791"]
    assert urcs(p.feed(b'\r\n+CDS: 6,12,"+44",145\r\n'))[0].extra_lines == []


def test_prompt_without_line_end() -> None:
    p = AtParser()
    p.expect("AT+CMGS=23", prompt=True)
    assert p.feed(b"AT+CMGS=23\r\r\n> ") == [Prompt()]
    p.expect_echo("0011")
    events = p.feed(b"0011\x1a\r\n+CMGS: 7\r\n\r\nOK\r\n")
    assert finals(events) == [Final("OK", True, None, ["+CMGS: 7"])]
    # A prompt split across reads.
    p.expect("AT+CMGS=5", prompt=True)
    assert p.feed(b"\r\n>") == [Prompt()]
    p2 = AtParser()
    p2.expect("AT+CMGS=5")
    assert p2.feed(b"\r\n>") == []
    assert p2.feed(b" ") == [Prompt()]


def test_basic_and_vendor_urcs() -> None:
    p = AtParser()
    data = (
        b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n"
        b'\r\nSMS Ready\r\n^RSSI:14\r\n^CEND:1,0,104,16\r\n+QIND: "csq",5\r\n'
        b'+CRING: VOICE\r\n+CLIP: "+4477",145,"",0,"",0\r\n'
    )
    names = [u.name for u in urcs(p.feed(data))]
    assert names == [
        "RDY",
        "+CFUN",
        "+CPIN",
        "Call Ready",
        "SMS Ready",
        "^RSSI",
        "^CEND",
        "+QIND",
        "+CRING",
        "+CLIP",
    ]


def test_stray_results_and_noise_are_garbage() -> None:
    p = AtParser()
    events = p.feed(b"\r\nOK\r\nhello\r\n\x01\x02\x03\r\n+CME ERROR: 3\r\n")
    assert all(isinstance(e, Garbage) for e in events) and len(events) == 4


def test_nul_and_ff_noise_around_a_line_is_stripped() -> None:
    p = AtParser()
    p.expect("AT")
    assert p.feed(b"\x00\xff\r\n\x00OK\xff\r\n") == [Final("OK", True, None, [])]


def test_overlong_line_is_reported_once_and_skipped() -> None:
    p = AtParser()
    p.expect("AT")
    events = p.feed(b"X" * (MAX_LINE * 3))
    assert len(events) == 1 and isinstance(events[0], Garbage)
    assert p.feed(b"tail\r\n\r\nOK\r\n") == [Final("OK", True, None, [])]


def test_abandon_turns_late_answers_into_noise() -> None:
    p = AtParser()
    p.expect("AT+CSQ")
    p.abandon()
    events = p.feed(b"\r\n+CSQ: 1,0\r\n\r\nOK\r\n")
    assert not finals(events)


def test_dialect_urcs() -> None:
    p = AtParser(extra_urcs={"^HELLO", "WAKE UP"})
    p.expect("AT+CSQ")
    events = p.feed(b"\r\nWAKE UP\r\n^HELLO: 1\r\n+CSQ: 1,0\r\nOK\r\n")
    assert [u.name for u in urcs(events)] == ["WAKE UP", "^HELLO"]


# -- properties ---------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=600), max_size=20), st.booleans())
def test_arbitrary_bytes_never_raise(chunks: list[bytes], in_flight: bool) -> None:
    p = AtParser()
    if in_flight:
        p.expect("AT+CMGS=10", prompt=True)
    for chunk in chunks:
        for event in p.feed(chunk):
            assert isinstance(event, Response | Final | Prompt | Urc | Garbage)
    p.feed(b"\r\nX\r\n")  # end any partial line; feed a +CMT its PDU line if it waits
    p.expect("AT")  # and the parser is still usable
    assert p.feed(b"\r\nOK\r\n") == [Final("OK", True, None, [])]


URC_LINES = [
    [b"RING"],
    [b'+CLIP: "+447700900123",145,"",0,"",0'],
    [b"+CRING: VOICE"],
    [b'+CMTI: "SM",3'],
    [b"+CMT: ,24", b"07911326040000F0040B0000"],
    [b"+CREG: 2"],
    [b'+CUSD: 0,"Your balance",15'],
    [b"+CPIN: NOT READY"],
    [b"^RSSI:12"],
    [b"Call Ready"],
    [b"NO CARRIER"],
    [b'+CLCC: 1,1,4,0,0,"123",129'],
]
EXCHANGES = [
    ("AT+CSQ", [b"+CSQ: 20,0"], b"OK", Final("OK", True, None, ["+CSQ: 20,0"])),
    ("AT+CGMI", [b"SIMCOM_Ltd"], b"OK", Final("OK", True, None, ["SIMCOM_Ltd"])),
    (
        "ATI",
        [b"SIM800 R14.18", b"line two"],
        b"OK",
        Final("OK", True, None, ["SIM800 R14.18", "line two"]),
    ),
    ("AT+CIMI", [], b"+CME ERROR: 10", Final("+CME ERROR", False, 10, [], "10")),
    ("ATD+441234;", [], b"BUSY", Final("BUSY", False, None, [])),
    ("AT+CREG?", [b"+CREG: 1,1"], b"OK", Final("OK", True, None, ["+CREG: 1,1"])),
]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(EXCHANGES),
    st.booleans(),
    st.lists(st.tuples(st.integers(0, 10), st.sampled_from(URC_LINES)), max_size=6),
    st.lists(st.integers(1, 400), max_size=30),
    st.sampled_from([b"\r\n", b"\r", b"\n"]),
)
def test_exchange_with_random_urcs_and_splits(
    exchange: tuple[str, list[bytes], bytes, Final],
    echo: bool,
    inserts: list[tuple[int, list[bytes]]],
    splits: list[int],
    eol: bytes,
) -> None:
    command, lines, final_line, expected = exchange
    prefix = response_prefix(command)
    inserts = [
        (pos, group)
        for pos, group in inserts
        if not (prefix and group[0].startswith(prefix.encode()))  # that is a response
        and not (command.startswith("ATD") and group[0] == b"NO CARRIER")  # that is final
    ]
    body: list[list[bytes]] = [[line] for line in lines] + [[final_line]]
    for position, group in sorted(inserts, key=lambda item: item[0], reverse=True):
        body.insert(min(position, len(body) - 1), group)  # URCs before the final line
    stream = (command.encode() + b"\r" if echo else b"") + b"".join(
        eol + line + eol for group in body for line in group
    )
    cuts = sorted({min(s, len(stream)) for s in splits})
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]

    p = AtParser()
    p.expect(command, echo=echo)
    events = feed_all(p, *chunks)

    assert finals(events) == [expected]
    expected_urcs = sorted(group[0].decode() for _, group in inserts)
    assert sorted(u.raw for u in urcs(events)) == expected_urcs
    for event in urcs(events):
        if event.name == "+CMT":
            assert event.extra_lines == ["07911326040000F0040B0000"]
    assert not [e for e in events if isinstance(e, Garbage)]
