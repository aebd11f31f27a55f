"""Coverage-guided fuzz targets (atheris / libFuzzer) for the GSM driver's sans-I/O parts.

Run as a process — libFuzzer ends the process when it is done, so a test cannot call it
in-line: ``python -m tests.gsm.fuzz_gsm at|pdu -max_total_time=20``.  Exit status 0 means
no input broke a contract; anything else prints the input that did (libFuzzer writes it
as ``crash-*`` in the working directory).

Contracts checked:

* ``at``: :class:`~drivers.gsm.atparser.AtParser` takes any bytes, in any chunks, with or
  without a command in flight, and only ever returns its event types; it never raises,
  and after a line end nothing of the old line stays buffered;
* ``pdu``: :func:`drivers.gsm.pdu.decode` raises :class:`~drivers.gsm.pdu.PduError` and
  nothing else; what it decodes can be turned into JSON (the technician's view) — and a
  PDU this codec encodes (SMS-SUBMIT) decodes back to its text.
"""

from __future__ import annotations

import json
import sys

import atheris

with atheris.instrument_imports():
    from drivers.gsm import pdu
    from drivers.gsm.atparser import AtParser, Final, Garbage, Prompt, Response, Urc

COMMANDS = ["AT", "AT+CMGS=23", "ATD+447700900123;", "AT+CREG?", "AT+CMGL=4", "AT+CSQ",
            "AT+CUSD=1,\"*100#\",15", "ATA", "AT^ICCID?", "AT+CLCC"]
EVENT_TYPES = (Final, Garbage, Prompt, Response, Urc)


def fuzz_at(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    parser = AtParser(extra_urcs={"^RSSI", "+QIND", "Call Ready"})
    for _ in range(fdp.ConsumeIntInRange(1, 8)):
        action = fdp.ConsumeIntInRange(0, 3)
        if action == 0:
            parser.expect(COMMANDS[fdp.ConsumeIntInRange(0, len(COMMANDS) - 1)],
                          echo=fdp.ConsumeBool(), prompt=fdp.ConsumeBool())
        elif action == 1:
            parser.abandon()
        chunk = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 600))
        for event in parser.feed(chunk):
            if not isinstance(event, EVENT_TYPES):
                raise AssertionError(f"unexpected event {event!r}")
        if chunk.endswith((b"\r", b"\n")) and parser._buf:
            raise AssertionError("bytes left buffered after a line end")


def fuzz_pdu(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 3)
    if mode == 3:  # encoder → decoder round trip of what we send
        text = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 400))
        try:
            parts = pdu.encode_submit("+447700900123", text, status_report=fdp.ConsumeBool())
        except ValueError:
            return
        decoded = []
        for part in parts:
            message = pdu.decode(part.hex, mobile_originated=True)
            assert isinstance(message, pdu.SmsSubmit)
            assert pdu.tpdu_length(part.hex) == part.tpdu_length
            decoded.append(message.text or "")
        if "".join(decoded) != text:
            raise AssertionError(f"round trip: {text!r} came back as {''.join(decoded)!r}")
        return
    raw = fdp.ConsumeBytes(fdp.remaining_bytes())
    payload: str | bytes = raw.hex() if mode != 2 else raw
    try:
        message = pdu.decode(payload, smsc=mode != 1, mobile_originated=mode == 2)
    except pdu.PduError:
        return
    json.dumps(pdu.to_json(message))


TARGETS = {"at": fuzz_at, "pdu": fuzz_pdu}


def main() -> None:
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
