"""Sans-I/O parser of the AT command line protocol (3GPP TS 27.007 / ITU-T V.250), after h11.

Owns: turning the bytes a modem sends into events, knowing which command is in flight so
that its echo is dropped, its information lines are collected and its final result code
closes it, and telling unsolicited result codes (URCs) apart from responses.
Must not touch: serial ports, asyncio, time. The caller feeds bytes and tells the parser
what it sent (:meth:`AtParser.expect`); the parser never writes anything.

Classification of a complete line (CR and LF both end a line; empty lines are skipped):

1. a pending echo (the command line we sent, with echo on) → dropped, once;
2. a URC that announced extra lines (``+CMT:`` → the PDU/text line after it) collects them;
3. a command in flight and a final result code → :class:`Final`.  ``NO CARRIER``, ``BUSY``,
   ``NO ANSWER``, ``NO DIALTONE`` and ``CONNECT`` are final only for call commands (ATD,
   ATA, ATO); otherwise they report a call ending and are URCs;
4. a line named like a known URC → :class:`Urc`, *unless* the command in flight's response
   prefix is that name (``AT+CREG?`` → ``+CREG:`` is the response);
5. a command in flight → :class:`Response` (an information line of that command);
6. no command in flight: ``+NAME:``/``^NAME`` shaped lines → :class:`Urc` (modems invent
   URCs; the engine logs names nobody handles); anything else (a late ``OK`` after a
   timeout, noise) → :class:`Garbage`.

The SMS/data prompt ``"> "`` has no line end: it is reported when the bytes after the last
line end are exactly the prompt.  Lines longer than :data:`MAX_LINE` and lines holding
control characters are reported as :class:`Garbage` and never wedge the parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

MAX_LINE = 4096
"""Longest line kept, in bytes; AT lines are short, a PDU line is < 400 hex digits."""

FINAL_OK = frozenset({"OK"})
FINAL_ERROR = frozenset({"ERROR"})
FINAL_CALL = frozenset({"NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE"})
"""Call progress results: final for ATD/ATA/ATO, URCs otherwise (a call ending)."""

CALL_COMMANDS = ("ATD", "ATA", "ATO")

BASIC_URCS = frozenset(
    {
        "RING",
        "NO CARRIER",
        "BUSY",
        "NO ANSWER",
        "NO DIALTONE",
        "Call Ready",
        "SMS Ready",
        "RDY",
        "PB DONE",
        "NORMAL POWER DOWN",
        "MO RING",
        "MO CONNECTED",
        "UNDER-VOLTAGE POWER DOWN",
        "UNDER-VOLTAGE WARNNING",
        "OVER-VOLTAGE POWER DOWN",
        "OVER-VOLTAGE WARNNING",
        "POWERED DOWN",
    }
)
"""URCs that are a bare word (SIMCom spells WARNNING so)."""

NAMED_URCS = frozenset(
    {
        "+CLIP",
        "+CRING",
        "+CMTI",
        "+CMT",
        "+CBM",
        "+CDS",
        "+CDSI",
        "+CUSD",
        "+CREG",
        "+CGREG",
        "+CEREG",
        "+CPIN",
        "+CLCC",
        "+CCWA",
        "+CFUN",
        "+CSQN",
        "+CIEV",
        "+CSSI",
        "+CSSU",
        "+CTZV",
        "+CTZE",
        "*PSUTTZ",
        "DST",
        "+PACSP",
        "+QIND",
        "+QUSIM",
        "+CPINR",
        "^CEND",
        "^RSSI",
        "^ORIG",
        "^CONF",
        "^CONN",
        "^BOOT",
        "^MODE",
        "^SIMST",
        "^SRVST",
        "^HCSQ",
        "^SYSSTART",
        "^DSFLOWRPT",
        "^NDISSTAT",
    }
)
"""URCs of the form ``NAME: args`` (or ``^NAME:args``)."""

SET_COMMANDS_WITH_RESPONSE = frozenset(
    {
        "+CMGS",
        "+CMGW",
        "+CMGR",
        "+CMGL",
        "+CMGC",
        "+CPMS",
        "+CPBR",
        "+CPBF",
        "+CSIM",
        "+CRSM",
        "+CLCK",
        "+CCFC",
        "+CCWA",
        "+CPWD",
        "+CGDCONT",
        "+QCCID",
        "+CPOL",
    }
)
"""Set commands (``AT+X=...``) that answer with ``+X:`` lines.  Other set commands only
answer OK/ERROR, so a ``+X:`` line during them is a URC (``AT+CUSD=1,...`` → ``+CUSD:``)."""


RESPONSE_ALIASES: dict[str, tuple[str, ...]] = {
    "+ICCID:": ("+CICCID:", "+CCID:"),  # SIMCom SIM7600: AT+CICCID → +ICCID: ...
    "+CCID:": ("+CICCID:", "+ICCID:"),
}
"""Answers named otherwise than their command (``answer prefix`` → command prefixes)."""


# -- events -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Response:
    """An information line of the command in flight."""

    line: str


@dataclass(frozen=True, slots=True)
class Final:
    """The final result code that ends the command in flight.

    ``result`` is the result keyword (``OK``, ``ERROR``, ``+CME ERROR``, ``+CMS ERROR``,
    ``NO CARRIER``, ``BUSY``, ``NO ANSWER``, ``NO DIALTONE``, ``CONNECT``); ``code`` the
    numeric error (CMEE=1), ``detail`` the text after the keyword (``SIM not inserted`` with
    CMEE=2, the rate after CONNECT); ``lines`` the command's information lines.
    """

    result: str
    ok: bool
    code: int | None = None
    lines: list[str] = field(default_factory=list)
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Prompt:
    """The ``"> "`` prompt (AT+CMGS and friends): the modem waits for the payload."""


@dataclass(frozen=True, slots=True)
class Urc:
    """An unsolicited result code: ``name`` (``+CREG``, ``RING``), ``args`` (after ``:``),
    ``raw`` (the whole line) and ``extra_lines`` (the PDU line after ``+CMT:``...)."""

    name: str
    args: str = ""
    raw: str = ""
    extra_lines: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Garbage:
    """Bytes that are not AT protocol: noise, binary, overlong lines, stray results."""

    raw: bytes


AtEvent: TypeAlias = Response | Final | Prompt | Urc | Garbage


# -- helpers ------------------------------------------------------------------------------
def response_prefix(command: str) -> str | None:
    """The prefix of a command's information lines: ``AT+CREG?`` → ``+CREG:``.

    ``None`` for basic commands (ATI, ATD...) and for set commands that answer no lines.
    """
    body = command.strip()
    if body[:2].upper() != "AT" or len(body) < 3 or body[2] not in "+^$*#%":
        return None
    end = len(body)
    for i in range(3, len(body)):
        if body[i] in "=?;":
            end = i
            break
    name = body[2:end].upper()
    rest = body[end:]
    if (
        rest.startswith("=")
        and not rest.startswith("=?")
        and name not in (SET_COMMANDS_WITH_RESPONSE)
    ):
        return None
    return name + ":"


def split_urc(line: str) -> tuple[str, str]:
    """``+CREG: 1,"00A1"`` → (``+CREG``, ``1,"00A1"``); a bare word → (word, "")."""
    colon = line.find(":")
    if colon > 0 and (line[0] in "+^*" or line[:colon] in NAMED_URCS):
        return line[:colon].strip(), line[colon + 1 :].strip()
    return line.strip(), ""


def _extra_lines_for(name: str, args: str) -> int:
    """How many lines follow a URC's own line (a PDU or a text body)."""
    if name in ("+CMT", "+CBM"):
        # PDU mode: "+CMT: [<alpha>],<length>" then the PDU (text mode is not used).
        return 1 if args.rsplit(",", 1)[-1].strip().isdigit() else 0
    if name == "+CDS":
        # PDU mode: "+CDS: <length>" then the PDU; text mode is a single line.
        return 1 if args.strip().isdigit() else 0
    return 0


def _is_hex_line(line: str) -> bool:
    """A PDU line: hex digits only (every +CMT/+CDS/+CBM extra line in PDU mode)."""
    return bool(line) and all(c in "0123456789ABCDEFabcdef" for c in line)


def _is_text(data: bytes) -> bool:
    return all(b >= 0x20 and b != 0x7F or b == 0x09 for b in data)


class AtParser:
    """Bytes in, :data:`AtEvent` out.  See the module docstring for the rules.

    ``extra_urcs`` adds dialect URC names (named ``+X``/``^X``, or bare words).
    """

    def __init__(self, *, extra_urcs: frozenset[str] | set[str] = frozenset()) -> None:
        self._buf = bytearray()
        self._skipping = False  # discarding the rest of an overlong line
        self._named_urcs = NAMED_URCS | {u for u in extra_urcs if u[:1] in "+^*"}
        self._basic_urcs = BASIC_URCS | {u for u in extra_urcs if u[:1] not in "+^*"}
        self._command: str | None = None
        self._prefix: str | None = None
        self._call_command = False
        self._prompt_expected = False
        self._lines: list[str] = []
        self._echoes: list[str] = []
        self._urc: tuple[str, str, str, list[str], int] | None = None  # collecting extras

    # -- what the caller tells us -------------------------------------------------------
    @property
    def command(self) -> str | None:
        """The command in flight, ``None`` when idle."""
        return self._command

    def expect(
        self,
        command: str,
        *,
        echo: bool = True,
        prompt: bool = False,
        response_prefix_override: str | None = None,
    ) -> None:
        """Say that ``command`` was sent: its echo (if any) is dropped, its lines collected.

        ``prompt``: the command answers with ``"> "`` (a bare ``">"`` is then accepted too).
        ``response_prefix_override``: the prefix of its information lines, when
        :func:`response_prefix` guesses wrong for a dialect's command.
        """
        self._command = command.strip()
        self._prefix = response_prefix_override or response_prefix(self._command)
        self._call_command = self._command.upper().startswith(CALL_COMMANDS)
        self._prompt_expected = prompt
        self._lines = []
        self._echoes = [self._command] if echo else []

    def expect_echo(self, text: str) -> None:
        """A line we sent after a prompt (the PDU) may come back once as echo."""
        self._echoes.append(text.strip())

    def abandon(self) -> None:
        """Forget the command in flight (timed out); its late lines become URCs/garbage."""
        self._command = None
        self._prefix = None
        self._call_command = False
        self._prompt_expected = False
        self._lines = []
        self._echoes = []

    # -- bytes in -----------------------------------------------------------------------
    def feed(self, data: bytes) -> list[AtEvent]:
        events: list[AtEvent] = []
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._skipping:
                    self._skipping = False
                elif self._buf:
                    raw = bytes(self._buf)
                    self._buf.clear()
                    self._line(raw, events)
                continue
            if self._skipping:
                continue
            self._buf.append(byte)
            if len(self._buf) > MAX_LINE:
                events.append(Garbage(bytes(self._buf)))
                self._buf.clear()
                self._skipping = True
        self._check_prompt(events)
        return events

    # -- internals ----------------------------------------------------------------------
    def _check_prompt(self, events: list[AtEvent]) -> None:
        if self._command is None or self._urc is not None:
            return
        buf = bytes(self._buf)
        if buf == b"> " or (self._prompt_expected and buf == b">"):
            self._buf.clear()
            events.append(Prompt())

    def _line(self, raw: bytes, events: list[AtEvent]) -> None:
        # NULs and 0xFF are the usual power-on line noise; Ctrl-Z ends an echoed payload.
        data = raw.strip(b"\x00\xff\x1a")
        if not data:
            return
        if not _is_text(data):
            events.append(Garbage(raw))
            return
        line = data.decode("latin-1").strip()
        if not line:
            return

        if self._urc is not None:
            name, args, urc_raw, extra, missing = self._urc
            if not _is_hex_line(line):
                # The PDU never came (a truncated +CMT/+CDS): report the URC without it
                # and take this line for what it is, so nothing is swallowed.
                self._urc = None
                events.append(Urc(name, args, urc_raw, extra))
                self._line(raw, events)
                return
            extra.append(line)
            if missing > 1:
                self._urc = (name, args, urc_raw, extra, missing - 1)
            else:
                self._urc = None
                events.append(Urc(name, args, urc_raw, extra))
            return

        if self._echoes and line.upper() == self._echoes[0].upper():
            del self._echoes[0]
            return

        if self._command is not None:
            final = self._final(line)
            if final is not None:
                events.append(final)
                self.abandon()
                return

        urc = self._as_urc(line)
        if urc is not None:
            name, args = urc
            missing = _extra_lines_for(name, args)
            if missing:
                self._urc = (name, args, line, [], missing)
            else:
                events.append(Urc(name, args, line))
            return

        if self._command is not None:
            self._lines.append(line)
            self._echoes.clear()  # information has begun: an echo can no longer come
            events.append(Response(line))
            return
        events.append(Garbage(raw))

    def _final(self, line: str) -> Final | None:
        lines = list(self._lines)
        if line in FINAL_OK:
            return Final("OK", True, None, lines)
        if line in FINAL_ERROR:
            return Final("ERROR", False, None, lines)
        for keyword in ("+CME ERROR", "+CMS ERROR"):
            if line.startswith(keyword + ":"):
                detail = line[len(keyword) + 1 :].strip()
                code = int(detail) if detail.isdigit() else None
                return Final(keyword, False, code, lines, detail)
        if self._call_command:
            if line in FINAL_CALL:
                return Final(line, False, None, lines)
            if line == "CONNECT" or line.startswith("CONNECT "):
                return Final("CONNECT", True, None, lines, line[7:].strip())
        return None

    def _as_urc(self, line: str) -> tuple[str, str] | None:
        """(name, args) when ``line`` is unsolicited, given the command in flight."""
        if line in self._basic_urcs:
            return line, ""  # call results during ATD/ATA were taken as Final already
        name, args = split_urc(line)
        if name in ("+CME ERROR", "+CMS ERROR"):
            return None  # a stray error result (late answer to an abandoned command)
        if self._command is None:
            return (name, args) if line[0] in "+^*" or name in self._named_urcs else None
        if self._prefix is not None and self._prefix == name + ":":
            return None  # AT+CREG? → +CREG: is the response
        if self._prefix is not None and self._prefix in RESPONSE_ALIASES.get(name + ":", ()):
            return None  # AT+CICCID → +ICCID:
        if name not in self._named_urcs:
            # An unknown "+X:"/"^X:" line while a command whose answer is "+Y:" is in
            # flight is a vendor URC, not part of the answer.
            if self._prefix is not None and line[0] in "+^" and ":" in line:
                return name, args
            return None
        return name, args
