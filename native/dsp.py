"""Signal-processing blocks of the native core: G.711, DTMF, tones.

Thin typed wrappers over native/csrc (g711.h, dtmf.h, tone.h). Audio is 16-bit linear PCM
at 8 kHz, as `array('h')` (or bytes in native byte order); levels are dBm0 per tone, where
0 dBm0 is a sine of peak 22827 (so +3.14 dBm0 is the G.711 overload point).

The generator and detector objects hold C state: use each from one thread at a time.
Their C memory is freed with the object (cffi `ffi.gc`).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

from native._native import ffi, lib

__all__ = [
    "DtmfDetector",
    "DtmfEvent",
    "DtmfGenerator",
    "ToneGenerator",
    "ToneSegment",
    "alaw_decode",
    "alaw_encode",
    "bytes_to_pcm",
    "pcm_to_bytes",
    "silence_code",
    "ulaw_decode",
    "ulaw_encode",
]

if TYPE_CHECKING:
    PcmArray: TypeAlias = array[int]
else:
    PcmArray = array
Pcm: TypeAlias = bytes | bytearray | memoryview | PcmArray

DTMF_DIGITS = frozenset("0123456789*#ABCD")
MAX_TONE_SEGMENTS: int = lib.TONE_MAX_SEGMENTS


def pcm_to_bytes(pcm: Pcm) -> bytes:
    """16-bit PCM samples as bytes in native byte order (what the C core reads)."""
    if isinstance(pcm, array):
        if pcm.typecode != "h":
            raise ValueError(f"PCM array must have typecode 'h', not {pcm.typecode!r}")
        return pcm.tobytes()
    data = bytes(pcm)
    if len(data) % 2:
        raise ValueError(f"PCM bytes must have an even length, got {len(data)}")
    return data


def bytes_to_pcm(data: bytes | bytearray | memoryview) -> PcmArray:
    """Bytes of 16-bit native-order samples as `array('h')`."""
    out = array("h")
    out.frombytes(bytes(data))
    return out


def _encode(codec: int, pcm: Pcm) -> bytes:
    raw = pcm_to_bytes(pcm)
    n = len(raw) // 2
    src = ffi.from_buffer("int16_t[]", raw)
    dst = ffi.new("uint8_t[]", max(n, 1))
    lib.g711_encode(codec, dst, src, n)
    return bytes(ffi.buffer(dst, n))


def _decode(codec: int, codes: bytes | bytearray | memoryview) -> PcmArray:
    raw = bytes(codes)
    n = len(raw)
    dst = ffi.new("int16_t[]", max(n, 1))
    lib.g711_decode(codec, dst, ffi.from_buffer("uint8_t[]", raw), n)
    return bytes_to_pcm(ffi.buffer(dst, 2 * n))


def alaw_encode(pcm: Pcm) -> bytes:
    """Encode 16-bit linear PCM to G.711 A-law codes (bit-exact with ITU-T G.711/G.191)."""
    return _encode(lib.G711_ALAW, pcm)


def alaw_decode(codes: bytes | bytearray | memoryview) -> PcmArray:
    """Decode G.711 A-law codes to 16-bit linear PCM."""
    return _decode(lib.G711_ALAW, codes)


def ulaw_encode(pcm: Pcm) -> bytes:
    """Encode 16-bit linear PCM to G.711 mu-law codes (bit-exact with ITU-T G.711/G.191)."""
    return _encode(lib.G711_ULAW, pcm)


def ulaw_decode(codes: bytes | bytearray | memoryview) -> PcmArray:
    """Decode G.711 mu-law codes to 16-bit linear PCM."""
    return _decode(lib.G711_ULAW, codes)


def silence_code(codec: int) -> int:
    """The G.711 code of linear 0: 0xD5 for A-law (codec 0), 0xFF for mu-law (codec 1)."""
    code = lib.g711_silence_code(int(codec))
    if code < 0:
        raise ValueError(f"unknown codec {codec!r}")
    return int(code)


def _check_count(n: int) -> int:
    if not isinstance(n, int) or n < 0 or n > 2**31 - 1:
        raise ValueError(f"sample count must be a non-negative int, got {n!r}")
    return n


def _block_to_array(buf: object, n: int) -> PcmArray:
    return bytes_to_pcm(ffi.buffer(buf, 2 * n))


class DtmfGenerator:
    """DTMF digits as PCM: each digit is on_ms of its two tones, then off_ms of silence.

    level_dbm0 is the low-group tone's level; the high-group tone is at
    level_dbm0 + twist_db.
    """

    def __init__(
        self,
        level_dbm0: float = -10.0,
        twist_db: float = 0.0,
        on_ms: int = 80,
        off_ms: int = 80,
    ) -> None:
        self._s = ffi.gc(lib.dtmf_gen_new(), lib.dtmf_gen_free)
        if self._s == ffi.NULL:
            raise MemoryError("dtmf_gen_new")
        if lib.dtmf_gen_set(self._s, level_dbm0, twist_db, on_ms, off_ms) < 0:
            raise ValueError(
                "DTMF generator: level must be -60..+3.14 dBm0, twist -20..+20 dB, "
                f"on 1..10000 ms, off 0..10000 ms; got level={level_dbm0}, "
                f"twist={twist_db}, on={on_ms}, off={off_ms}"
            )

    def queue(self, digits: str) -> None:
        """Queue digits (0-9 * # A-D) after those already queued."""
        bad = sorted(set(digits) - DTMF_DIGITS)
        if bad:
            raise ValueError(f"not DTMF digits: {''.join(bad)!r}")
        rc = lib.dtmf_gen_put(self._s, digits.encode("ascii"))
        if rc == lib.DTMF_EFULL:
            raise ValueError(f"DTMF queue full (at most {lib.DTMF_GEN_QUEUE_LEN} digits)")
        if rc < 0:
            raise ValueError(f"cannot queue {digits!r}")

    def generate(self, n: int) -> PcmArray:
        """The next n samples; silence once every queued digit (and its gap) is out."""
        n = _check_count(n)
        buf = ffi.new("int16_t[]", max(n, 1))
        lib.dtmf_gen_block(self._s, buf, n)
        return _block_to_array(buf, n)

    def reset(self) -> None:
        """Drop the queue and the digit in progress."""
        lib.dtmf_gen_reset(self._s)

    @property
    def busy(self) -> bool:
        """True while digits or their gaps remain to be generated."""
        return bool(lib.dtmf_gen_busy(self._s))


@dataclass(frozen=True)
class DtmfEvent:
    """A digit began or ended; time_ms counts from the start of the detector's stream."""

    digit: str
    kind: Literal["start", "end"]
    time_ms: int


class DtmfDetector:
    """Two-stage DTMF detector to ITU-T Q.24 limits (see native/csrc/dtmf.h): Hann-windowed
    Goertzel bins over 16 ms windows every 8 ms, frequency measured from the phase advance
    (accepts +-1.5 %, rejects +-3.5 %), twist measured to ~0.3 dB.

    threshold_dbm0 is the minimum level per tone; fwd_twist_db bounds how far the high
    tone may be above the low one, rev_twist_db how far the low may be above the high.
    """

    def __init__(
        self,
        threshold_dbm0: float = -38.0,
        fwd_twist_db: float = 4.0,
        rev_twist_db: float = 8.0,
    ) -> None:
        self._s = ffi.gc(lib.dtmf_det_new(), lib.dtmf_det_free)
        if self._s == ffi.NULL:
            raise MemoryError("dtmf_det_new")
        if lib.dtmf_det_set(self._s, threshold_dbm0, fwd_twist_db, rev_twist_db) < 0:
            raise ValueError(
                "DTMF detector: threshold must be -60..0 dBm0, twists 0..20 dB; got "
                f"{threshold_dbm0}, {fwd_twist_db}, {rev_twist_db}"
            )

    def process(self, pcm: Pcm) -> list[DtmfEvent]:
        """Feed PCM (any length; blocks straddle calls) and return the events it completed."""
        raw = pcm_to_bytes(pcm)
        n = len(raw) // 2
        if n == 0:
            return []
        cap = 2 * (n // lib.DTMF_DET_BLOCK + 2)
        ev = ffi.new("dtmf_event_t[]", cap)
        k = lib.dtmf_det_rx(self._s, ffi.from_buffer("int16_t[]", raw), n, ev, cap)
        if k < 0:
            raise ValueError("dtmf_det_rx rejected its arguments")
        return [
            DtmfEvent(
                digit=ev[i].digit.decode("ascii"),
                kind="start" if ev[i].type == lib.DTMF_DIGIT_START else "end",
                time_ms=int(ev[i].time_ms),
            )
            for i in range(k)
        ]

    def reset(self) -> None:
        """Restart the stream at time 0 with no digit held."""
        lib.dtmf_det_reset(self._s)

    @property
    def current(self) -> str | None:
        """The digit held down now, if any."""
        c = lib.dtmf_det_current(self._s)
        return c.decode("ascii") if c != b"\x00" else None


@dataclass(frozen=True)
class ToneSegment:
    """One cadence step: f1 (and f2 if not 0) Hz at level_dbm0 each, for duration_ms
    (0 = continuous). f1 = f2 = 0 is a silent step."""

    f1: float
    f2: float = 0.0
    level_dbm0: float = -13.0
    duration_ms: int = 0


def tone_segments_to_c(segments: Sequence[ToneSegment]) -> object:
    """A cdata `tone_segment_t[]` for the C API; ValueError for a bad cadence."""
    if not 1 <= len(segments) <= MAX_TONE_SEGMENTS:
        raise ValueError(f"a tone has 1..{MAX_TONE_SEGMENTS} segments, got {len(segments)}")
    arr = ffi.new("tone_segment_t[]", len(segments))
    for i, seg in enumerate(segments):
        if not isinstance(seg, ToneSegment):
            raise ValueError(f"segment {i} is not a ToneSegment: {seg!r}")
        for name in ("f1", "f2"):
            f = getattr(seg, name)
            if not 0.0 <= f < 4000.0:
                raise ValueError(f"segment {i}: {name}={f} Hz outside 0..4000")
        if not -100.0 <= seg.level_dbm0 <= 3.14:
            raise ValueError(f"segment {i}: level {seg.level_dbm0} dBm0 outside -100..+3.14")
        if not isinstance(seg.duration_ms, int) or not 0 <= seg.duration_ms <= 86_400_000:
            raise ValueError(f"segment {i}: duration {seg.duration_ms!r} ms outside 0..1 day")
        arr[i].f1_hz = seg.f1
        arr[i].f2_hz = seg.f2
        arr[i].level_dbm0 = seg.level_dbm0
        arr[i].duration_ms = seg.duration_ms
    return arr


class ToneGenerator:
    """A cadenced tone (dial tone, ringback, busy ...), phase-continuous.

    Without repeat the tone ends after its last segment and `active` turns False.
    """

    def __init__(self, segments: Sequence[ToneSegment], repeat: bool = True) -> None:
        arr = tone_segments_to_c(segments)
        self._s = ffi.gc(lib.tone_gen_new(), lib.tone_gen_free)
        if self._s == ffi.NULL:
            raise MemoryError("tone_gen_new")
        if lib.tone_gen_set(self._s, arr, len(segments), int(bool(repeat))) < 0:
            raise ValueError(f"invalid tone cadence: {segments!r}")

    def generate(self, n: int) -> PcmArray:
        """The next n samples (zeros after a non-repeating cadence has ended)."""
        n = _check_count(n)
        buf = ffi.new("int16_t[]", max(n, 1))
        lib.tone_gen_block(self._s, buf, n)
        return _block_to_array(buf, n)

    @property
    def active(self) -> bool:
        """True while the tone still has samples to produce."""
        return bool(lib.tone_gen_active(self._s))
