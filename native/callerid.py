"""Caller ID (CLIP) encoding and decoding: FSK Bell 202 / V.23 with SDMF or MDMF messages,
and DTMF caller ID. Thin typed wrapper over native/csrc/callerid.h (read its header
comment for the signal chain, the message formats and the receiver's limits).

Audio is 16-bit linear PCM at 8 kHz as `array('h')`; levels are dBm0 (0 dBm0 = a sine of
peak 22827). `encode` makes the audio of one caller ID transmission; `decode` finds the
caller ID in a recording. `cid_encode_file` / `cid_decode_file` are the cores of the
technician tools `edgepbx dsp cid-encode` / `cid-decode` (8 kHz mono 16-bit PCM WAV).

Fields: number (digits; FSK also * # +), name (printable ASCII, MDMF only), datetime
("MMDDHHMM"), absence ('O' unavailable / 'P' private: the reason the number is absent),
name_absence (the same for the name, MDMF only). DTMF caller ID carries only the number or
its absence.

Message waiting (the lamp of a phone, ETSI EN 300 659-3 / Telcordia GR-30-CORE on-hook
VMWI): ``message_waiting`` True (lamp on) or False (off) makes an MDMF message waiting
indicator (type 0x82, visual indicator 0x0B: 0xFF / 0x00) instead of a caller ID, with
optionally the datetime and ``messages``, the number of messages waiting (1..255,
parameter 0x13; an ETSI parameter: the Bell 202 encoder refuses it). A decoded message
waiting indicator has ``message_waiting`` set (None on a caller ID) and no number.

This module owns no state between calls: every call makes and frees its own C objects.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from os import PathLike
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from native._native import ffi, lib
from native.wavtools import read_pcm, write_pcm

__all__ = [
    "CallerId",
    "Receiver",
    "STANDARDS",
    "TIMING",
    "cid_decode_file",
    "cid_encode_file",
    "decode",
    "decode_all",
    "decode_message",
    "encode_message",
    "encode",
    "label_fsk",
    "result_to_caller_id",
]

if TYPE_CHECKING:
    PcmArray: TypeAlias = array[int]
else:
    PcmArray = array

Standard = Literal["bell202", "v23", "dtmf"]
STANDARDS: dict[str, int] = {
    "bell202": lib.CID_BELL202,
    "v23": lib.CID_V23,
    "dtmf": lib.CID_DTMF,
}
_NAMES = {v: k for k, v in STANDARDS.items()}
_FORMATS = {"sdmf": lib.CID_FMT_SDMF, "mdmf": lib.CID_FMT_MDMF}
_FORMAT_NAMES = {lib.CID_FMT_SDMF: "sdmf", lib.CID_FMT_MDMF: "mdmf", lib.CID_FMT_DTMF: "dtmf"}
_MARK_HZ = {"bell202": 1200.0, "v23": 1300.0}
RATE = 8000
_BLOCK = 160

MAX_NUMBER: int = lib.CID_MAX_NUMBER
MAX_NAME: int = lib.CID_MAX_NAME

#: When the line driver sends caller ID (ms), from the standards; see callerid.h.
TIMING: dict[str, dict[str, int]] = {
    # Telcordia GR-30-CORE: between the first and the second ring.
    "bell202": {
        "after_first_ring_min_ms": lib.CID_BELL_AFTER_RING1_MIN_MS,
        "before_second_ring_min_ms": lib.CID_BELL_BEFORE_RING2_MIN_MS,
    },
    # ETSI EN 300 659-1: after the first ring, or before ringing after a line reversal and
    # a dual-tone alerting signal (DT-AS), or after a ring-pulse alerting signal (RP-AS).
    "v23": {
        "after_first_ring_min_ms": lib.CID_ETSI_AFTER_RING1_MIN_MS,
        "before_second_ring_min_ms": lib.CID_ETSI_BEFORE_RING2_MIN_MS,
        "reversal_to_dtas_min_ms": lib.CID_ETSI_REVERSAL_TO_DTAS_MIN_MS,
        "dtas_ms": lib.CID_ETSI_DTAS_MS,
        "dtas_low_hz": lib.CID_ETSI_DTAS_LOW_HZ,
        "dtas_high_hz": lib.CID_ETSI_DTAS_HIGH_HZ,
        "dtas_to_fsk_min_ms": lib.CID_ETSI_DTAS_TO_FSK_MIN_MS,
        "dtas_to_fsk_max_ms": lib.CID_ETSI_DTAS_TO_FSK_MAX_MS,
        "fsk_to_first_ring_min_ms": lib.CID_ETSI_FSK_TO_RING_MIN_MS,
        "rpas_min_ms": lib.CID_ETSI_RPAS_MIN_MS,
        "rpas_max_ms": lib.CID_ETSI_RPAS_MAX_MS,
        "rpas_to_fsk_min_ms": lib.CID_ETSI_RPAS_TO_FSK_MIN_MS,
        "rpas_to_fsk_max_ms": lib.CID_ETSI_RPAS_TO_FSK_MAX_MS,
    },
    # DTMF caller ID (Nordic/Q.23-based national specs): before the first ring.
    "dtmf": {
        "tone_ms": lib.CID_DTMF_TONE_MS,
        "pause_ms": lib.CID_DTMF_PAUSE_MS,
        "fsk_to_first_ring_min_ms": lib.CID_ETSI_FSK_TO_RING_MIN_MS,
    },
}


@dataclass(frozen=True)
class CallerId:
    """One decoded caller ID. valid=False: a message arrived but failed its checksum (or
    was malformed); then every field is None."""

    standard: str
    number: str | None = None
    name: str | None = None
    datetime: str | None = None
    absence: str | None = None
    name_absence: str | None = None
    valid: bool = True
    format: str | None = None
    message_waiting: bool | None = None
    messages: int | None = None
    mark_hz: float | None = None
    level_dbm0: float | None = None
    start_ms: int = 0


def _standard(standard: str) -> int:
    try:
        return STANDARDS[standard]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown caller ID standard {standard!r}: use one of {', '.join(STANDARDS)}"
        ) from None


def _check_fields(
    standard: str,
    number: str | None,
    name: str | None,
    datetime: str | None,
    absence: str | None,
    name_absence: str | None,
    fmt: str,
    message_waiting: bool | None = None,
    messages: int | None = None,
) -> None:
    """Clear errors for the cases the C encoder would only answer with CID_EINVAL."""
    if fmt not in _FORMATS:
        raise ValueError(f"format must be 'mdmf' or 'sdmf', not {fmt!r}")
    if message_waiting is None and messages is not None:
        raise ValueError("a number of messages belongs to a message waiting indicator")
    if message_waiting is not None:
        if standard == "dtmf" or fmt != "mdmf":
            raise ValueError("a message waiting indicator is an MDMF message of FSK caller "
                             "ID (bell202 or v23), not DTMF or SDMF")
        if any(v is not None for v in (number, name, absence, name_absence)):
            raise ValueError("a message waiting indicator carries no number or name")
        if messages is not None and (standard != "v23" or not 1 <= messages <= 255):
            raise ValueError(f"messages {messages!r}: 1..255, and only in ETSI (v23) "
                             "messages")
    if number is not None:
        allowed = "0123456789" if standard == "dtmf" else "0123456789*#+"
        if not 1 <= len(number) <= MAX_NUMBER or any(c not in allowed for c in number):
            raise ValueError(f"number {number!r}: 1..{MAX_NUMBER} characters of {allowed!r}")
    if name is not None and (
        not 1 <= len(name) <= MAX_NAME or any(not 0x20 <= ord(c) <= 0x7E for c in name)
    ):
        raise ValueError(f"name {name!r}: 1..{MAX_NAME} printable ASCII characters")
    if datetime is not None:
        ok = len(datetime) == 8 and datetime.isascii() and datetime.isdigit()
        if ok:
            mo, dd, hh, mi = (int(datetime[i : i + 2]) for i in range(0, 8, 2))
            ok = 1 <= mo <= 12 and 1 <= dd <= 31 and hh <= 23 and mi <= 59
        if not ok:
            raise ValueError(f"datetime {datetime!r}: MMDDHHMM (month, day, hour, minute)")
    for what, reason in (("absence", absence), ("name_absence", name_absence)):
        if reason is not None and reason not in ("O", "P"):
            raise ValueError(f"{what} {reason!r}: 'O' (unavailable) or 'P' (private)")
    if number is not None and absence is not None:
        raise ValueError("give a number or a reason for its absence, not both")
    if name is not None and name_absence is not None:
        raise ValueError("give a name or a reason for its absence, not both")
    if standard == "dtmf":
        if name is not None or name_absence is not None or datetime is not None:
            raise ValueError("DTMF caller ID carries only the number (or its absence)")
        if number is None and absence is None:
            raise ValueError("DTMF caller ID needs a number or a reason for its absence")
    elif fmt == "sdmf":
        if name is not None or name_absence is not None:
            raise ValueError("SDMF carries no name: use format='mdmf'")
        if datetime is None or (number is None and absence is None):
            raise ValueError("SDMF needs a datetime and a number (or a reason for absence)")
    elif message_waiting is None and all(
            v is None for v in (number, name, datetime, absence, name_absence)):
        raise ValueError("an MDMF message needs at least one field")


def _message(
    fmt: str,
    number: str | None,
    name: str | None,
    datetime: str | None,
    absence: str | None,
    name_absence: str | None,
    message_waiting: bool | None = None,
    messages: int | None = None,
) -> object:
    m = ffi.new("cid_message_t *")
    m.mwi = (lib.CID_MWI_NONE if message_waiting is None
             else lib.CID_MWI_ON if message_waiting else lib.CID_MWI_OFF)
    m.messages = messages or 0
    m.format = _FORMATS[fmt]
    m.number = (number or "").encode("ascii")
    m.name = (name or "").encode("ascii")
    m.datetime = (datetime or "").encode("ascii")
    m.number_absence = (absence or "\0").encode("ascii")
    m.name_absence = (name_absence or "\0").encode("ascii")
    return m


def encode_message(
    standard: Standard,
    number: str | None = None,
    name: str | None = None,
    datetime: str | None = None,
    absence: str | None = None,
    format: str = "mdmf",
    name_absence: str | None = None,
    *,
    message_waiting: bool | None = None,
    messages: int | None = None,
) -> bytes:
    """The message bytes (type, length, parameters, checksum) for FSK, or the digit
    string as ASCII for DTMF (e.g. b"A0123C")."""
    std = _standard(standard)
    _check_fields(standard, number, name, datetime, absence, name_absence, format,
                  message_waiting, messages)
    m = _message(format, number, name, datetime, absence, name_absence, message_waiting,
                 messages)
    buf = ffi.new("uint8_t[]", lib.CID_MAX_MESSAGE)
    n = lib.cid_encode_message(std, m, buf, lib.CID_MAX_MESSAGE)
    if n < 0:
        raise ValueError("caller ID fields rejected by the encoder")
    return bytes(ffi.buffer(buf, n))


_STATUS = {
    lib.CID_OK: "ok",
    lib.CID_BAD_CHECKSUM: "bad_checksum",
    lib.CID_BAD_MESSAGE: "bad_message",
    lib.CID_UNSUPPORTED: "unsupported",
}


def decode_message(data: bytes | bytearray) -> tuple[str, CallerId | None]:
    """Decode FSK message bytes (type to checksum): ("ok", CallerId) or
    ("bad_checksum" | "bad_message" | "unsupported", None)."""
    raw = bytes(data)
    res = ffi.new("cid_result_t *")
    status = lib.cid_decode_message(ffi.from_buffer("uint8_t[]", raw) if raw else ffi.NULL,
                                    len(raw), res)  # fmt: skip
    if status != lib.CID_OK:
        return _STATUS[status], None
    msg = res.msg
    return "ok", CallerId(
        standard="fsk",
        number=_text(msg.number),
        name=_text(msg.name),
        datetime=_text(msg.datetime),
        absence=_char(msg.number_absence),
        name_absence=_char(msg.name_absence),
        format=_FORMAT_NAMES.get(msg.format),
        **_indicator(msg),
    )


def _indicator(msg: Any) -> dict[str, Any]:
    """The message waiting fields of a decoded C message (none for a caller ID)."""
    if msg.mwi == lib.CID_MWI_NONE:
        return {}
    return {"message_waiting": msg.mwi == lib.CID_MWI_ON,
            "messages": int(msg.messages) or None}


def encode(
    standard: Standard,
    number: str | None = None,
    name: str | None = None,
    datetime: str | None = None,
    absence: str | None = None,
    level_dbm0: float | None = None,
    format: str = "mdmf",
    *,
    name_absence: str | None = None,
    seizure_bits: int = lib.CID_SEIZURE_BITS,
    mark_bits: int = lib.CID_MARK_BITS,
    dtmf_codes: str = "AC",
    message_waiting: bool | None = None,
    messages: int | None = None,
) -> PcmArray:
    """The audio of one caller ID transmission, with no silence around it.

    FSK: channel seizure (seizure_bits), mark (mark_bits), the message, a short mark
    tail; level default -13 dBm0. DTMF: <start><digits><end> from dtmf_codes ("AC",
    "DC", "A#", "D#"), or B00C / B10C for absence 'O' / 'P'; 70 ms tones and pauses,
    default -10 dBm0 per tone."""
    std = _standard(standard)
    _check_fields(standard, number, name, datetime, absence, name_absence, format,
                  message_waiting, messages)
    tx = ffi.gc(lib.cid_tx_new(std), lib.cid_tx_free)
    if tx == ffi.NULL:
        raise MemoryError("cid_tx_new")
    if level_dbm0 is not None and lib.cid_tx_set_level(tx, float(level_dbm0)) < 0:
        raise ValueError(f"level {level_dbm0} dBm0 outside -60..+3")
    if lib.cid_tx_set_preamble(tx, seizure_bits, mark_bits) < 0:
        raise ValueError(f"seizure/mark bits {seizure_bits}/{mark_bits} outside 0..1000")
    if standard == "dtmf":
        if (
            len(dtmf_codes) != 2
            or lib.cid_tx_set_dtmf_codes(tx, dtmf_codes[0].encode(), dtmf_codes[1].encode()) < 0
        ):
            raise ValueError(f"dtmf_codes {dtmf_codes!r}: start A or D, end C or #")
    m = _message(format, number, name, datetime, absence, name_absence, message_waiting,
                 messages)
    if lib.cid_tx_set_message(tx, m) < 0:
        raise ValueError("caller ID fields rejected by the encoder")
    out = array("h")
    buf = ffi.new("int16_t[]", 8 * _BLOCK)
    while lib.cid_tx_busy(tx):
        k = lib.cid_tx_block(tx, buf, 8 * _BLOCK)
        out.frombytes(ffi.buffer(buf, 2 * k))
    ffi.release(tx)
    return out


def _pcm_bytes(pcm: object) -> bytes:
    if isinstance(pcm, array):
        if pcm.typecode != "h":
            raise ValueError(f"PCM array must have typecode 'h', not {pcm.typecode!r}")
        return pcm.tobytes()
    data = bytes(pcm)  # type: ignore[call-overload]
    if len(data) % 2:
        raise ValueError(f"PCM bytes must have an even length, got {len(data)}")
    return data


def _text(field: object) -> str | None:
    s = ffi.string(field).decode("ascii")
    return s or None


def _char(c: bytes) -> str | None:
    return None if c == b"\x00" else c.decode("ascii")


def result_to_caller_id(std: int, res: Any) -> CallerId:
    """A CallerId from a C `cid_result_t` of a receiver of standard `std` (CID_*)."""
    ok = res.status == lib.CID_OK
    msg = res.msg
    fsk = std != lib.CID_DTMF
    return CallerId(
        standard=_NAMES[std],
        number=_text(msg.number) if ok else None,
        name=_text(msg.name) if ok else None,
        datetime=_text(msg.datetime) if ok else None,
        absence=_char(msg.number_absence) if ok else None,
        name_absence=_char(msg.name_absence) if ok else None,
        valid=ok,
        format=_FORMAT_NAMES.get(msg.format) if ok else None,
        **(_indicator(msg) if ok else {}),
        mark_hz=round(float(res.mark_hz), 1) if fsk else None,
        level_dbm0=round(float(res.level_dbm0), 1) if fsk else None,
        start_ms=int(res.start_sample) // 8,
    )


def label_fsk(r: CallerId) -> CallerId:
    """Name an FSK result by its measured mark frequency (nearer 1200 Hz: bell202, nearer
    1300 Hz: v23): each FSK receiver decodes the other's tones too."""
    if r.mark_hz is None:
        return r
    near = min(_MARK_HZ, key=lambda k: abs(_MARK_HZ[k] - (r.mark_hz or 0.0)))
    return CallerId(**{**r.__dict__, "standard": near})


class Receiver:
    """A streaming caller ID receiver (one C `cid_rx_t`): feed blocks of audio as they
    arrive, get the messages completed in them. For a simulated phone's ear or a test;
    the box's own lines use the media engine's per-slot receiver instead."""

    def __init__(self, standard: Standard, threshold_dbm0: float | None = None) -> None:
        self._std = _standard(standard)
        self._rx = ffi.gc(lib.cid_rx_new(self._std), lib.cid_rx_free)
        if self._rx == ffi.NULL:
            raise MemoryError("cid_rx_new")
        if threshold_dbm0 is not None and lib.cid_rx_set_threshold(self._rx,
                                                                   threshold_dbm0) < 0:
            raise ValueError(f"threshold {threshold_dbm0} dBm0 outside -70..0")
        self._res = ffi.new("cid_result_t *")

    def feed(self, pcm: object) -> list[CallerId]:
        """Messages completed in this audio (valid=False: arrived but corrupt)."""
        raw = _pcm_bytes(pcm)
        n = len(raw) // 2
        if n == 0:
            return []
        samples = ffi.from_buffer("int16_t[]", raw)
        found: list[CallerId] = []
        for at in range(0, n, _BLOCK):
            k = min(_BLOCK, n - at)
            if lib.cid_rx_block(self._rx, samples + at, k) > 0 and lib.cid_rx_get(
                    self._rx, self._res) and self._res.status != lib.CID_UNSUPPORTED:
                found.append(result_to_caller_id(self._std, self._res))
        return found

    def reset(self) -> None:
        lib.cid_rx_reset(self._rx)

    @property
    def carrier(self) -> bool:
        """FSK: True while a carrier is detected (a transmission is arriving)."""
        return bool(lib.cid_rx_carrier(self._rx))


def _run(std: int, raw: bytes, threshold_dbm0: float | None) -> list[CallerId]:
    rx = ffi.gc(lib.cid_rx_new(std), lib.cid_rx_free)
    if rx == ffi.NULL:
        raise MemoryError("cid_rx_new")
    if threshold_dbm0 is not None and lib.cid_rx_set_threshold(rx, threshold_dbm0) < 0:
        raise ValueError(f"threshold {threshold_dbm0} dBm0 outside -70..0")
    n = len(raw) // 2
    samples = ffi.from_buffer("int16_t[]", raw)
    res = ffi.new("cid_result_t *")
    found: list[CallerId] = []
    for at in range(0, n, _BLOCK):
        k = min(_BLOCK, n - at)
        if lib.cid_rx_block(rx, samples + at, k) > 0 and lib.cid_rx_get(rx, res):
            if res.status == lib.CID_UNSUPPORTED:
                continue
            found.append(result_to_caller_id(std, res))
    ffi.release(rx)
    return found


def decode_all(
    pcm: object, standard: str = "auto", threshold_dbm0: float | None = None
) -> list[CallerId]:
    """Every caller ID message in the audio, in time order, including those that failed
    their checksum (valid=False). With 'auto', the Bell 202 and V.23 receivers both run
    (each decodes the other's tones too), one copy of each FSK message is kept and
    labelled by its measured mark frequency (nearer 1200 Hz: bell202, 1300 Hz: v23)."""
    raw = _pcm_bytes(pcm)
    if standard != "auto":
        return _run(_standard(standard), raw, threshold_dbm0)
    fsk: list[CallerId] = []
    for name in ("v23", "bell202"):
        for r in _run(STANDARDS[name], raw, threshold_dbm0):
            twin = next((f for f in fsk if abs(f.start_ms - r.start_ms) < 20), None)
            if twin is not None:
                if twin.valid or not r.valid:
                    continue
                fsk.remove(twin)
            fsk.append(r)
    labelled = [label_fsk(r) for r in fsk]
    found = labelled + _run(lib.CID_DTMF, raw, None)
    return sorted(found, key=lambda r: r.start_ms)


def decode(
    pcm: object, standard: str = "auto", threshold_dbm0: float | None = None
) -> CallerId | None:
    """The first valid caller ID in the audio; else, if a message arrived corrupt, a
    CallerId with valid=False and no fields; else None."""
    found = decode_all(pcm, standard, threshold_dbm0)
    for r in found:
        if r.valid:
            return r
    return found[0] if found else None


# ---- technician tools: WAV in and out -------------------------------------------------


# One reader and writer of 8 kHz mono 16-bit PCM WAV for every tool (native/wavtools.py).
_read_wav = read_pcm
_write_wav = write_pcm


def cid_encode_file(
    standard: str,
    number: str | None,
    path: str | PathLike[str],
    name: str | None = None,
    datetime: str | None = None,
    *,
    absence: str | None = None,
    level_dbm0: float | None = None,
    format: str = "mdmf",
    silence_ms: int = 200,
) -> dict[str, object]:
    """Write the caller ID transmission to an 8 kHz mono 16-bit WAV, with silence_ms of
    silence before and after; returns what was written."""
    if standard not in STANDARDS:
        _standard(standard)
    pcm = encode(
        standard,  # type: ignore[arg-type]
        number=number,
        name=name,
        datetime=datetime,
        absence=absence,
        level_dbm0=level_dbm0,
        format=format,
    )
    pad = array("h", bytes(2 * 8 * max(0, silence_ms)))
    _write_wav(path, pad + pcm + pad)
    return {
        "standard": standard,
        "path": str(path),
        "samples": len(pad) * 2 + len(pcm),
        "duration_ms": (len(pad) * 2 + len(pcm)) // 8,
    }


def cid_decode_file(path: str | PathLike[str], standard: str = "auto") -> dict[str, object]:
    """Decode the caller ID in an 8 kHz mono 16-bit WAV: {"standard", "number", "name",
    "datetime"} plus "absence" and "valid" (False: a message arrived but failed its
    checksum). Every value is None when no caller ID was found."""
    if standard != "auto":
        _standard(standard)
    r = decode(_read_wav(path), standard)
    if r is None:
        return {"standard": None, "number": None, "name": None, "datetime": None,
                "absence": None, "valid": None}  # fmt: skip
    return {
        "standard": r.standard,
        "number": r.number,
        "name": r.name,
        "datetime": r.datetime,
        "absence": r.absence,
        "valid": r.valid,
    }
