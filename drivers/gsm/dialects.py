"""Dialects of GSM modules: the few places where common modules differ from 27.007.

Owns: a small table of per-vendor differences (command spellings, extra URCs, how a call
end is reported) and picking a row from what the module says it is (AT+CGMI/AT+CGMM).
Must not touch: I/O. The modem driver reads a :class:`Dialect`; nothing here sends bytes.

SIMCom SIM800 is the default: it is what the first boards carry. Quectel and Huawei rows
are first drafts from the vendors' AT manuals; the later dialect issue fills them in
(SMS storage, USSD encoding, power-key timing) and tests them on hardware.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    # Recognition: a regular expression matched against "<CGMI> <CGMM>".
    match: str = r"$^"
    # ICCID: the command and the prefix of its answer (SIM800 answers the bare digits).
    iccid_command: str = "AT+CCID"
    # Hang-up: ATH is V.250; some modules only end a voice call with AT+CHUP.
    hangup_command: str = "ATH"
    # URC names beyond 27.007 (bare words or +X/^X names) the parser must know.
    extra_urcs: frozenset[str] = field(default_factory=frozenset)
    # Commands sent after the common initialisation (vendor switches).
    init_commands: tuple[str, ...] = ()
    # Seconds a module may take to answer ATD (SIM800 answers OK at once; some wait).
    dial_timeout: float = 20.0


SIMCOM = Dialect(
    name="simcom",
    match=r"(?i)simcom|sim8\d\d|sim7\d\d\d",
    iccid_command="AT+CCID",
    hangup_command="ATH",
    extra_urcs=frozenset({"Call Ready", "SMS Ready", "*PSUTTZ", "DST"}),
)

QUECTEL = Dialect(
    name="quectel",
    match=r"(?i)quectel|\bEC2\d|\bEG\d\d|\bUC\d\d|\bM95\b|\bBG\d\d",
    iccid_command="AT+QCCID",
    hangup_command="ATH",
    extra_urcs=frozenset({"+QIND", "+QUSIM", "PB DONE"}),
)

HUAWEI = Dialect(
    name="huawei",
    match=r"(?i)huawei|\bE1\d\d\d|\bE3\d\d\d|\bMU\d\d\d|\bME9\d\d",
    iccid_command="AT^ICCID?",
    hangup_command="AT+CHUP",
    extra_urcs=frozenset({"^CEND", "^ORIG", "^CONF", "^CONN", "^RSSI", "^BOOT", "^MODE"}),
)

DIALECTS: dict[str, Dialect] = {d.name: d for d in (SIMCOM, QUECTEL, HUAWEI)}
DEFAULT_DIALECT = SIMCOM


def dialect_for(manufacturer: str, model: str) -> Dialect:
    """The dialect of a module from its AT+CGMI / AT+CGMM answers; the default if unknown."""
    text = f"{manufacturer} {model}"
    for dialect in DIALECTS.values():
        if re.search(dialect.match, text):
            return dialect
    return DEFAULT_DIALECT


_ICCID = re.compile(r"[0-9A-Fa-f]{18,22}")


def parse_iccid(lines: list[str]) -> str | None:
    """The ICCID in an answer to any dialect's ICCID command (bare or ``+X: <iccid>``)."""
    for line in lines:
        found = _ICCID.search(line.split(":", 1)[-1])
        if found:
            return found.group(0).upper()
    return None
