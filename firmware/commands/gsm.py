"""`edgepbx gsm probe|at|sms-decode|sms-encode`: the technician's GSM tools (JSON out).

``probe PORT`` identifies the module and SIM, registration, operator and signal (basic
27.007 commands: any module); ``at PORT COMMAND`` sends one raw command and prints its
full answer; ``sms-decode PDU_HEX`` decodes a received PDU as +CMGR shows it (SMSC field
first); ``sms-encode --to NUMBER --text TEXT`` prints the PDUs that follow
``AT+CMGS=<tpdu_length>``, one per part.  Bad input is one line on stderr, never a
traceback.  Do not point ``probe``/``at`` at a port the running box is using.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
from typing import Any

from firmware.commands import CliError


def register(sub: Any) -> None:
    gsm = sub.add_parser("gsm", help="GSM module tools: probe, raw AT, SMS PDU codec")
    actions = gsm.add_subparsers(dest="gsm_action", required=True)
    probe = actions.add_parser("probe", help="identify the module and SIM, network, signal")
    probe.add_argument("port", help="serial port, e.g. /dev/ttyUSB2")
    probe.add_argument("--baud", type=int, default=115200)
    probe.add_argument("--timeout", type=float, default=3.0)
    probe.set_defaults(handler=handle)
    at = actions.add_parser("at", help="send one AT command, print its full answer")
    at.add_argument("port")
    at.add_argument("at_command", metavar="COMMAND", help='e.g. "AT+CSQ"')
    at.add_argument("--baud", type=int, default=115200)
    at.add_argument("--timeout", type=float, default=10.0)
    at.set_defaults(handler=handle)
    dec = actions.add_parser("sms-decode", help="decode a received SMS PDU (hex)")
    dec.add_argument("pdu", metavar="PDU_HEX")
    dec.set_defaults(handler=handle)
    enc = actions.add_parser("sms-encode", help="encode SMS-SUBMIT PDUs for AT+CMGS")
    enc.add_argument("--to", required=True, metavar="NUMBER")
    enc.add_argument("--text", required=True)
    enc.add_argument("--status-report", action="store_true", help="ask for a status report")
    enc.add_argument("--ucs2", action="store_true", help="force UCS2")
    enc.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    action = args.gsm_action
    if action == "sms-decode":
        out = _decode(args.pdu)
    elif action == "sms-encode":
        out = _encode(args.to, args.text, args.status_report, args.ucs2)
    else:
        out = asyncio.run(_on_port(args))
    print(json.dumps(out, ensure_ascii=False))
    return 0


def _decode(pdu_hex: str) -> dict[str, object]:
    from drivers.gsm import pdu

    text = pdu_hex.strip()
    if not text:
        raise CliError("PDU_HEX is empty")
    if any(c not in "0123456789abcdefABCDEF" for c in text):
        raise CliError("PDU_HEX: not hexadecimal")
    if len(text) % 2:
        raise CliError(f"PDU_HEX: odd number of hex digits ({len(text)})")
    try:
        message = pdu.decode(text)
    except pdu.PduError as exc:
        raise CliError(f"PDU_HEX: {exc}") from None
    return pdu.to_json(message)


def _encode(to: str, text: str, status_report: bool, ucs2: bool) -> dict[str, object]:
    from drivers.gsm import pdu

    number = to.strip().replace(" ", "").replace("-", "")
    digits = number[1:] if number.startswith("+") else number
    if not digits or not digits.isdigit() or len(digits) > 20:
        raise CliError(f"--to {to!r}: not a phone number")
    if not text:
        raise CliError("--text is empty")
    try:
        parts = pdu.encode_submit(number, text, status_report=status_report,
                                  ucs2=True if ucs2 else None)
    except ValueError as exc:
        raise CliError(f"--text: {exc}") from None
    return {"pdus": [{"hex": p.hex, "tpdu_length": p.tpdu_length} for p in parts]}


async def _on_port(args: argparse.Namespace) -> dict[str, object]:
    from drivers.gsm.atengine import AtEngine, AtTimeout, GsmError, PortClosed
    from drivers.gsm.modem import probe

    # The driver's warnings (a timed-out command) would repeat the one-line error.
    logging.getLogger("drivers.gsm").setLevel(logging.ERROR)
    port = args.port
    if "://" not in port and not os.path.exists(port):
        raise CliError(f"{port}: no such serial port")
    try:
        engine = await AtEngine.open_serial(port, args.baud)
    except PortClosed as exc:
        raise CliError(f"{port}: cannot open: {exc}") from None
    try:
        if args.gsm_action == "probe":
            try:
                return await probe(engine, args.timeout)
            except AtTimeout:
                raise CliError(f"{port}: no answer to AT within {args.timeout:g} s "
                               "(wrong port or baud rate, module off?)") from None
        command = args.at_command.strip()
        if not command.upper().startswith("AT"):
            raise CliError(f"{command!r}: an AT command starts with AT")
        try:
            result = await engine.command(command, args.timeout)
        except AtTimeout:
            raise CliError(f"{port}: no answer to {command} within {args.timeout:g} s") \
                from None
        return {"command": command, "ok": result.ok, "result": result.result,
                "lines": result.lines, "code": result.code, "detail": result.detail}
    except PortClosed as exc:
        raise CliError(f"{port}: {exc}") from None
    except GsmError as exc:
        raise CliError(f"{port}: {exc}") from None
    finally:
        await engine.close()
