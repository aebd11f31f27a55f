"""On-hook caller ID on analog lines: which standard a country uses, the audio of one
transmission, and where it goes in the ring cadence.

Owns the *line-side* policy of caller ID (CLIP): the FXS driver sends what this module
plans, the FXO driver expects what it says, and the simulated exchange sends the same way.
The signal itself (FSK / DTMF modulation, message format) is native.callerid's; the audio
is played and received by the media engine. Nothing here touches a chip or a clock: the
ring program is a list of steps with durations, executed by the port driver.

Modes (the ``system.caller_id`` setting; ``auto`` picks by ``system.country``):

============  =============================================================================
 bell202       Bell 202 FSK, MDMF, between the first and second ring: starts 500 ms after
               the first ring ends, ends at least 200 ms before the next (Telcordia
               GR-30-CORE)
 v23           ITU-T V.23 FSK, MDMF, after the first ring, with the same margins (ETSI EN
               300 659-1, data transmission during ringing)
 v23-dtas      V.23 FSK before the first ring: line reversal, >= 100 ms, DT-AS dual-tone
               alert (2130 + 2750 Hz, 100 ms), 100 ms, the FSK, >= 200 ms, normal polarity
               and ringing (ETSI EN 300 659-1 prior-to-ringing with DT-AS; BT SIN 227 is
               the same sequence)
 v23-rpas      V.23 FSK before the first ring after a ring-pulse alerting signal: a
               ring burst of 200-300 ms (RP-AS, ``RPAS_S``), 500-800 ms of silence
               (``RPAS_TO_FSK_S``), the FSK, >= 200 ms, then normal ringing; no line
               reversal (ETSI EN 300 659-1, data transmission prior to ringing with RP-AS).
               The pulse is an alert, not a ring: phones and FXO ports do not count it.
 dtmf          DTMF caller ID before the first ring, after a line reversal:
               A<digits>C (or B00C / B10C for unavailable / private), 70 ms tones and
               pauses (ETSI EN 300 659-1 annex B national variants; Q.23 digits)
 off           nothing is sent; an FXO line does not wait for caller ID
============  =============================================================================

Per-country choice for ``auto`` (``COUNTRY_CALLER_ID``), and why:

=========  ==========  ====================================================================
 country    mode        source
=========  ==========  ====================================================================
 US, CA     bell202     Telcordia GR-30-CORE / SR-TSV-002476 (CLASS caller ID, MDMF)
 UK, GB     v23-dtas    BT SIN 227 (reversal + idle-state tone alert, V.23, before ringing)
 DE         v23         Deutsche Telekom 1 TR 110-1: ETSI EN 300 659-1 FSK after the 1st ring
 FR         v23         France Telecom STI-1: ETSI V.23 FSK after the first ring
 PL, EU     v23         ETSI EN 300 659-1 data during ringing (the European default)
 RU, UA     v23         digital exchanges send ETSI FSK (Moscow MGTS "CLIP FSK ETSI"); older
                        exchanges send nothing on-hook (Russian AON is off-hook, request
                        based, not supported). Set ``dtmf`` for lines/phones that use it.
 SE, DK,    dtmf        the Nordic DTMF CLIP (Televerket/TeliaSonera, TDC), also used in
 FI, NL,                the Netherlands, Belgium, Brazil and India
 BE, BR, IN
 others     v23         ETSI EN 300 659-1
=========  ==========  ====================================================================

No country's ``auto`` picks ``v23-rpas``: the operators whose specifications we could
check (BT SIN 227 in the UK, Deutsche Telekom 1 TR 110-1, France Telecom) specify the
line-reversal + DT-AS or the after-first-ring sequence. RP-AS is the alert of UK cable
networks (the CCA caller display specification, TW/P&E/312, as deployed by NTL/Telewest,
now Virgin Media) and of some PBXs and line cards; we have not read that specification
itself, so it is an explicit setting (``system.caller_id`` or ``ports.<id>.caller_id``)
for such lines and phones, not an automatic choice.

Message waiting (the phone's lamp, "visual message waiting indication"): the on-hook
transmission of a message waiting indicator message, not associated with ringing
(ETSI EN 300 659-1 and -3; Telcordia GR-30-CORE on-hook VMWI), alerted the way the
line's mode alerts caller ID (``mwi_program``):

============  =============================================================================
 bell202       no alert: channel seizure, mark and the MDMF 0x82 message (GR-30-CORE)
 v23,          line reversal, DT-AS, the V.23 FSK, normal polarity (EN 300 659-1 data not
 v23-dtas      associated with ringing; the same alert as BT's caller display)
 v23-rpas      RP-AS, 500-800 ms, the V.23 FSK (EN 300 659-1 with RP-AS)
 dtmf          as v23: DTMF caller ID has no message waiting coding, and the only on-hook
               lamp signalling of ETSI is FSK (Nordic lamp phones decode both)
 off           nothing: no on-hook signalling at all on that port (stutter tone remains)
============  =============================================================================

The FSK message is MDMF: date and time (the box's time zone), the number or the reason
for its absence ('P' when the caller withheld it, 'O' when it is unknown), the name when
known (printable ASCII: other characters are transliterated or dropped). DTMF carries
only digits, so an international number is written in the country's dialling form
(``+7916...`` is ``8916...`` in Russia, ``00...`` abroad; ``NATIONAL_NUMBERING``).
"""

from __future__ import annotations

import unicodedata
from array import array
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from native.callerid import TIMING, encode
from native.dsp import ToneGenerator, ToneSegment

if TYPE_CHECKING:
    PcmArray: TypeAlias = array[int]
else:
    PcmArray = array

Mode = Literal["bell202", "v23", "v23-dtas", "v23-rpas", "dtmf", "off"]
MODES: Final = ("bell202", "v23", "v23-dtas", "v23-rpas", "dtmf", "off")
SETTINGS: Final = ("auto", *MODES)

COUNTRY_CALLER_ID: Final[dict[str, Mode]] = {
    "US": "bell202", "CA": "bell202",
    "UK": "v23-dtas", "GB": "v23-dtas",
    "DE": "v23", "FR": "v23", "PL": "v23", "EU": "v23", "RU": "v23", "UA": "v23",
    "SE": "dtmf", "DK": "dtmf", "FI": "dtmf", "NL": "dtmf", "BE": "dtmf", "BR": "dtmf",
    "IN": "dtmf",
}
DEFAULT_MODE: Final[Mode] = "v23"

# Country calling code, national (trunk) prefix, international prefix: how a number in
# international form is dialled, hence sent by DTMF, in that country.
NATIONAL_NUMBERING: Final[dict[str, tuple[str, str, str]]] = {
    "RU": ("7", "8", "810"), "UA": ("380", "0", "00"), "SE": ("46", "0", "00"),
    "DK": ("45", "", "00"), "FI": ("358", "0", "00"), "NL": ("31", "0", "00"),
    "BE": ("32", "0", "00"), "BR": ("55", "0", "00"), "IN": ("91", "0", "00"),
    "DE": ("49", "0", "00"), "FR": ("33", "0", "00"), "PL": ("48", "", "00"),
    "UK": ("44", "0", "00"), "GB": ("44", "0", "00"), "US": ("1", "1", "011"),
    "CA": ("1", "1", "011"),
}

# Margins of the ring program (s), from the standards' minimums plus headroom for the
# scheduling jitter of one media tick.
AFTER_RING_S: Final = TIMING["bell202"]["after_first_ring_min_ms"] / 1000 + 0.05   # 0.55
BEFORE_RING_S: Final = TIMING["bell202"]["before_second_ring_min_ms"] / 1000 + 0.05  # 0.25
REVERSAL_TO_ALERT_S: Final = TIMING["v23"]["reversal_to_dtas_min_ms"] / 1000 + 0.05  # 0.15
DTAS_MS: Final = TIMING["v23"]["dtas_ms"]
DTAS_TO_FSK_MS: Final = 100          # 45..500 ms allowed
DATA_TO_RING_S: Final = TIMING["v23"]["fsk_to_first_ring_min_ms"] / 1000 + 0.05   # 0.25
DTAS_LEVEL_DBM0: Final = -16.0       # per tone; EN 300 659-1: -2 .. -40 dBV per tone
# RP-AS: the middle of the standard's windows, so a tick of scheduling jitter either way
# stays inside them (200..300 ms burst, 500..800 ms to the FSK).
RPAS_S: Final = (TIMING["v23"]["rpas_min_ms"] + TIMING["v23"]["rpas_max_ms"]) / 2000  # 0.25
RPAS_TO_FSK_S: Final = (TIMING["v23"]["rpas_to_fsk_min_ms"]
                        + TIMING["v23"]["rpas_to_fsk_max_ms"]) / 2000             # 0.65
# A ring burst this short is an alerting pulse, never a ring: the standard's longest
# RP-AS plus margin, under the shortest ring burst of any cadence (the UK's 0.4 s).
ALERT_PULSE_MAX_S: Final = TIMING["v23"]["rpas_max_ms"] / 1000 + 0.05              # 0.35


def resolve(country: str, setting: str = "auto") -> Mode:
    """The mode for a line: the setting, or with ``auto`` the country's."""
    if setting == "auto":
        return COUNTRY_CALLER_ID.get(country.upper(), DEFAULT_MODE)
    if setting not in MODES:
        raise ValueError(f"caller ID setting {setting!r}: one of {', '.join(SETTINGS)}")
    return setting  # type: ignore[return-value]


def receiver_standard(mode: str) -> str | None:
    """The native receiver an FXO line needs for a mode (None: off)."""
    return {"bell202": "bell202", "v23": "v23", "v23-dtas": "v23", "v23-rpas": "v23",
            "dtmf": "dtmf"}.get(mode)


def before_first_ring(mode: str) -> bool:
    return mode in ("v23-dtas", "v23-rpas", "dtmf")


@dataclass(frozen=True, slots=True)
class Presentation:
    """What to present: number (or None), name (or None), withheld (the caller asked for
    privacy: absence 'P'; a None number otherwise means unknown, 'O')."""

    number: str | None
    name: str | None = None
    withheld: bool = False


def ascii_name(name: str | None, limit: int = 50) -> str | None:
    """The name as MDMF can carry it: printable ASCII, at most `limit` characters."""
    if not name:
        return None
    flat = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = "".join(c for c in flat if 0x20 <= ord(c) <= 0x7E).strip()[:limit].strip()
    return text or None


def dtmf_number(number: str, country: str) -> str:
    """A number as DTMF caller ID sends it: digits only, international form rewritten as
    the country dials it."""
    if number.startswith("+"):
        digits = "".join(c for c in number[1:] if c.isdigit())
        cc, national, international = NATIONAL_NUMBERING.get(country.upper(), ("", "", "00"))
        if cc and digits.startswith(cc):
            return national + digits[len(cc):]
        return international + digits
    return "".join(c for c in number if c.isdigit())


def fsk_number(number: str) -> str:
    return "".join(c for c in number if c.isdigit() or c in "*#+" )[:20]


def signal(mode: str, who: Presentation, when: datetime, country: str = "EU") -> PcmArray:
    """The audio of one transmission for `mode` (the DT-AS alert and its gap included for
    v23-dtas), ready for the media engine; empty for 'off'."""
    if mode == "off":
        return array("h")
    number = who.number if who.number and not who.withheld else None
    if mode == "dtmf":
        digits = dtmf_number(number, country)[:20] if number else ""
        if digits:
            return encode("dtmf", number=digits)
        return encode("dtmf", absence="P" if who.withheld else "O")
    std: Literal["bell202", "v23"] = "bell202" if mode == "bell202" else "v23"
    num = fsk_number(number) if number else ""
    name = None if who.withheld else ascii_name(who.name)
    absence = None if num else ("P" if who.withheld else "O")
    fsk = encode(std, number=num or None, name=name, datetime=when.strftime("%m%d%H%M"),
                 absence=absence, name_absence="P" if who.withheld else None)
    return _dtas() + fsk if mode == "v23-dtas" else fsk


def _dtas() -> PcmArray:
    """The DT-AS alert and the gap after it, to go before FSK."""
    alert = ToneGenerator([ToneSegment(TIMING["v23"]["dtas_low_hz"],
                                       TIMING["v23"]["dtas_high_hz"], DTAS_LEVEL_DBM0,
                                       DTAS_MS)], repeat=False).generate(8 * DTAS_MS)
    return alert + array("h", bytes(2 * 8 * DTAS_TO_FSK_MS))


def _mwi_alert(mode: str) -> str:
    """How a message waiting transmission is alerted in a mode: "dtas" (line reversal +
    DT-AS), "rpas" or "none" (see the table above)."""
    return {"bell202": "none", "v23-rpas": "rpas", "off": "none"}.get(mode, "dtas")


def mwi_signal(mode: str, messages: int, when: datetime) -> PcmArray:
    """The audio of one message waiting indication (lamp on with `messages` > 0, off
    with 0), the DT-AS and its gap included where the mode alerts by DT-AS; empty for
    'off'. ETSI messages carry the date and time and the number of messages (at most
    255); Bell 202 ones only the indicator (GR-30-CORE's minimum)."""
    if mode == "off":
        return array("h")
    on = messages > 0
    if mode == "bell202":
        return encode("bell202", message_waiting=on)
    fsk = encode("v23", message_waiting=on, datetime=when.strftime("%m%d%H%M"),
                 messages=min(messages, 255) if on else None)
    return _dtas() + fsk if _mwi_alert(mode) == "dtas" else fsk


@dataclass(frozen=True, slots=True)
class RingStep:
    """One step of a ring program: set the line feed ("feed": "ringing", "forward" or
    "reverse") or start the caller ID audio ("send"), then hold for hold_s."""

    action: Literal["feed", "send"]
    hold_s: float
    feed: str | None = None


def ring_program(mode: str, cadence: tuple[float, ...], data_s: float) -> list[RingStep]:
    """The first ringing cycle with caller ID of data_s seconds in it; after it the driver
    repeats the plain cadence. 'off' (or no data) gives the plain first cycle.

    Before-ring modes: reverse, alert gap, send, gap, forward, then the cadence
    (v23-rpas: the RP-AS burst, its gap, send, gap, then the cadence).
    After-ring modes: the data goes AFTER_RING_S into the first off period long enough
    to hold it and BEFORE_RING_S more; if the cadence has none (a short-pause country),
    the last pause of the first cycle is stretched to fit, as exchanges do."""
    plain = [RingStep("feed", d, "ringing" if i % 2 == 0 else "forward")
             for i, d in enumerate(cadence)]
    if mode == "off" or data_s <= 0:
        return plain
    if mode == "v23-rpas":
        return [*_rpas_steps(), RingStep("send", data_s + DATA_TO_RING_S), *plain]
    if before_first_ring(mode):
        return [RingStep("feed", REVERSAL_TO_ALERT_S, "reverse"),
                RingStep("send", data_s + DATA_TO_RING_S),
                RingStep("feed", 0.0, "forward"), *plain]
    need = AFTER_RING_S + data_s + BEFORE_RING_S
    pauses = [i for i in range(1, len(cadence), 2)]
    fit = next((i for i in pauses if cadence[i] >= need), pauses[-1] if pauses else None)
    if fit is None:      # a continuous ring: no pause to send in
        return plain
    pause = max(cadence[fit], need)
    return [*plain[:fit], RingStep("feed", AFTER_RING_S, "forward"),
            RingStep("send", pause - AFTER_RING_S), *plain[fit + 1:]]


def _rpas_steps() -> list[RingStep]:
    return [RingStep("feed", RPAS_S, "ringing"), RingStep("feed", RPAS_TO_FSK_S, "forward")]


def mwi_program(mode: str, data_s: float) -> list[RingStep]:
    """The steps of one message waiting transmission of data_s seconds (``mwi_signal``),
    ending in forward feed; empty for 'off' or no data. No ringing but an RP-AS."""
    if mode == "off" or data_s <= 0:
        return []
    send = RingStep("send", data_s + DATA_TO_RING_S)
    alert = _mwi_alert(mode)
    if alert == "rpas":
        return [*_rpas_steps(), send]
    if alert == "dtas":
        return [RingStep("feed", REVERSAL_TO_ALERT_S, "reverse"), send,
                RingStep("feed", 0.0, "forward")]
    return [send]
