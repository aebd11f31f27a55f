"""Dialects of GSM modules: the few places where common modules differ from 27.007.

Owns: a small table of per-vendor differences (command spellings, extra URCs, how a call
end is reported) and picking a row from what the module says it is (AT+CGMI/AT+CGMM).
Must not touch: I/O. The modem driver reads a :class:`Dialect`; nothing here sends bytes.

SIMCom SIM800 is the default: it is what the first boards carry, and its behaviour is the
plain 27.007/27.005 one.  Rows come from the vendors' AT manuals (SIM800 Series AT Command
Manual, SIM7500/SIM7600 AT manual, Quectel M35/UC15/EC25 AT manuals, Huawei HSPA module
AT command interface specification); each row is exercised by the simulator speaking that
dialect (tests/gsm/test_gsm_dialects.py).  Rows are matched in order: the SIM7600 answers
AT+CGMI with "SIMCOM INCORPORATED", the SIM800 with "SIMCOM_Ltd".
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
    # URCs that mean "the module (re)booted": settings are lost, any call is gone.
    boot_urcs: frozenset[str] = frozenset({"RDY"})
    # Commands sent after the common initialisation (vendor switches).
    init_commands: tuple[str, ...] = ()
    # Seconds a module may take to answer ATD (SIM800 answers OK at once; some wait).
    dial_timeout: float = 20.0
    # -- SMS (TS 27.005) --
    # Storage read/written/received into (AT+CPMS); "SM" the SIM, "ME" the module.
    sms_storage: str = "SM"
    # Status reports: "direct" (+CDS: <len> then the PDU, CNMI <ds>=1) or "stored"
    # (+CDSI: <mem>,<index>, CNMI <ds>=2) in ``status_report_storage``.
    status_report_delivery: str = "direct"
    status_report_storage: str = "SM"
    # Seconds AT+CMGS may take (the network round trip).
    sms_send_timeout: float = 60.0
    # -- USSD --
    # Huawei sticks want the request 7-bit packed in hex and answer GSM 7-bit likewise.
    ussd_packed_hex: bool = False
    # -- recovery --
    # The soft reset (a full functionality cycle with module reset).
    reset_command: str = "AT+CFUN=1,1"
    # Power key pulse that switches the module off or on, and how long it takes to boot.
    power_key_pulse: float = 1.0
    boot_time: float = 10.0
    # Signal URC some modules send by themselves (Huawei ^RSSI: <rssi>).
    signal_urc: str | None = None

    @property
    def cnmi_command(self) -> str:
        """New-message indications: SMS stored with +CMTI (mt=1), status reports as the
        dialect delivers them (ds=1 direct +CDS, ds=2 stored +CDSI)."""
        ds = 2 if self.status_report_delivery == "stored" else 1
        return f"AT+CNMI=2,1,0,{ds},0"


# SIMCom SIM800 family (SIM800L/C/H, SIM900): 2G, AT+CCID answers bare digits,
# "Call Ready"/"SMS Ready" after boot, status reports direct (+CDS).
SIMCOM = Dialect(
    name="simcom",
    match=r"(?i)sim8\d\d|sim9\d\d|simcom_ltd",
    iccid_command="AT+CCID",
    hangup_command="ATH",
    extra_urcs=frozenset({"Call Ready", "SMS Ready", "*PSUTTZ", "DST"}),
    power_key_pulse=1.2,  # SIM800: pull PWRKEY low for at least 1 s
    boot_time=5.0,
)

# SIMCom SIM7600 family (LTE): AT+CICCID (+ICCID: ...), "SMS DONE"/"PB DONE" after boot,
# AT+CHUP to end a voice call.
SIMCOM_LTE = Dialect(
    name="simcom-lte",
    match=r"(?i)sim7\d\d\d|simcom incorporated|a76\d\d",
    iccid_command="AT+CICCID",
    hangup_command="AT+CHUP",
    extra_urcs=frozenset({"SMS DONE", "PB DONE", "+CGEV", "VOICE CALL"}),
    power_key_pulse=0.6,  # SIM7600: PWRKEY low 0.5 s
    boot_time=15.0,
)

# Quectel UC15/EC25/EG25 (3G/4G): AT+QCCID (+QCCID: ...), +QIND boot notices, status
# reports stored in the dedicated "SR" storage (+CDSI: "SR",<n>).
QUECTEL = Dialect(
    name="quectel",
    match=r"(?i)quectel|(?<![a-z0-9])(EC2\d|EG\d\d|UC\d\d|BG\d\d)",
    iccid_command="AT+QCCID",
    hangup_command="ATH",
    extra_urcs=frozenset({"+QIND", "+QUSIM", "PB DONE"}),
    init_commands=("AT+QURCCFG=\"urcport\",\"usbat\"",),
    status_report_delivery="stored",
    status_report_storage="SR",
    power_key_pulse=0.6,  # EC25: PWRKEY low ≥ 500 ms
    boot_time=13.0,
)

# Quectel M35/M95 (2G): SIM800-like; AT+QCCID answers bare digits, "Call Ready".
QUECTEL_2G = Dialect(
    name="quectel-2g",
    match=r"(?i)(?<![a-z0-9])(M35|M95|M66|M10)(?![0-9])",
    iccid_command="AT+QCCID",
    hangup_command="ATH",
    extra_urcs=frozenset({"Call Ready", "SMS Ready", "+QIND"}),
    power_key_pulse=1.0,  # M35: PWRKEY low ≥ 0.6 s (1 s is the manual's example)
    boot_time=5.0,
)

# Huawei E1550/E173 USB sticks (the chan_dongle family): AT^ICCID?, AT+CHUP, ^RSSI/^BOOT/
# ^MODE chatter, ^ORIG/^CONF/^CONN/^CEND call progress, USSD 7-bit packed in hex,
# status reports stored in the SIM among the messages (+CDSI: "SM",<n>), no power key
# (a USB stick is power-cycled by switching its VBUS), re-enumerates after a reset.
HUAWEI = Dialect(
    name="huawei",
    match=r"(?i)huawei|(?<![a-z0-9])(E1\d\d\d?|E3\d\d\d|MU\d\d\d|ME9\d\d)",
    iccid_command="AT^ICCID?",
    hangup_command="AT+CHUP",
    extra_urcs=frozenset(
        {"^CEND", "^ORIG", "^CONF", "^CONN", "^RSSI", "^BOOT", "^MODE", "^SRVST", "^SIMST"}
    ),
    boot_urcs=frozenset({"^SYSSTART"}),
    init_commands=("AT^CURC=1",),
    status_report_delivery="stored",
    status_report_storage="SM",
    ussd_packed_hex=True,
    power_key_pulse=0.0,
    boot_time=15.0,
    signal_urc="^RSSI",
)

DIALECTS: dict[str, Dialect] = {
    d.name: d for d in (SIMCOM, SIMCOM_LTE, QUECTEL, QUECTEL_2G, HUAWEI)
}
DEFAULT_DIALECT = SIMCOM
# Model-specific rows before vendor-wide ones ("Quectel_M35" is 2G, other Quectels are not).
MATCH_ORDER = (SIMCOM_LTE, QUECTEL_2G, QUECTEL, HUAWEI, SIMCOM)


def dialect_for(manufacturer: str, model: str) -> Dialect:
    """The dialect of a module from its AT+CGMI / AT+CGMM answers; the default if unknown."""
    text = f"{manufacturer} {model}"
    for dialect in MATCH_ORDER:
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
