"""Line echo canceller of the native core (ITU-T G.168 style), and its technician tool.

`EchoCanceller` wraps native/csrc/echo.h: one instance per channel, fed with blocks of the
far end (the reference, what was sent towards the hybrid) and the near end (what came back
in the same block); it returns the near end with the echo removed. Any block length works
and adds no delay (blocks of 64 samples, or the 160-sample tick, are cheapest). Audio is
16-bit linear PCM at 8 kHz as `array('h')` (or bytes in native byte order). The C state
is one allocation made at construction (31.2 KB at 128 ms); processing allocates nothing
in C. Use an instance from one thread at a time; its memory
is freed with the object or by `close()`.

`cancel_files()` is the core of `edgepbx dsp echo-cancel`: WAV files in, WAV file out,
ERLE and convergence time out.

ERLE here is measured as G.168 does: 10 log10 of near-end power over output power, in
windows where the far end is active (the near end then carries only echo, when the caller
made it so). `erle_profile()` gives it per window, `erle_db()` its steady-state value.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from native._native import ffi, lib
from native.wavtools import read_pcm, write_pcm

__all__ = [
    "DEFAULT_TAIL_MS",
    "MAX_TAIL_MS",
    "MIN_TAIL_MS",
    "EchoCanceller",
    "EchoStats",
    "cancel_files",
    "convergence_ms",
    "erle_db",
    "erle_profile",
    "read_wav_8k",
    "state_bytes",
]

if TYPE_CHECKING:
    PcmArray: TypeAlias = array[int]
else:
    PcmArray = array
Pcm: TypeAlias = bytes | bytearray | memoryview | PcmArray

RATE = 8000
MIN_TAIL_MS: int = lib.ECHO_TAIL_MIN_MS
MAX_TAIL_MS: int = lib.ECHO_TAIL_MAX_MS
DEFAULT_TAIL_MS: int = lib.ECHO_TAIL_DEFAULT_MS
DBM0_POWER = 22827.0**2 / 2  # mean power of a 0 dBm0 sine, PCM units squared


@dataclass(frozen=True)
class EchoStats:
    erle_db: float  # linear canceller, long-term estimate (far end active)
    erl_db: float
    noise_dbm0: float  # comfort-noise level
    double_talk: bool
    nlp_active: bool
    fg_updates: int  # background filter copied to the foreground
    bg_resets: int  # diverged background restored from the foreground


def state_bytes(tail_ms: int = DEFAULT_TAIL_MS) -> int:
    """Bytes of C memory one canceller of this tail uses (0 if the tail is out of range)."""
    return int(lib.echo_can_state_bytes(tail_ms))


def _pcm_bytes(pcm: Pcm, what: str) -> bytes:
    if isinstance(pcm, array):
        if pcm.typecode != "h":
            raise ValueError(f"{what}: PCM array must have typecode 'h', not {pcm.typecode!r}")
        return pcm.tobytes()
    data = bytes(pcm)
    if len(data) % 2:
        raise ValueError(f"{what}: PCM bytes must have an even length, got {len(data)}")
    return data


class EchoCanceller:
    """One channel's echo canceller.

    tail_ms: 64..256 (rounded up to whole 8 ms partitions). nlp: non-linear processor on
    the output; cng: comfort noise where the NLP suppresses; adapt=False freezes the filter;
    portable=True forces the portable C kernel (else a SIMD build where the CPU has one).
    """

    def __init__(self, tail_ms: int = DEFAULT_TAIL_MS, *, nlp: bool = True, cng: bool = True,
                 adapt: bool = True, portable: bool = False) -> None:  # fmt: skip
        if not MIN_TAIL_MS <= tail_ms <= MAX_TAIL_MS:
            raise ValueError(f"tail_ms must be {MIN_TAIL_MS}..{MAX_TAIL_MS}, got {tail_ms}")
        s = lib.echo_can_new(tail_ms, self._opts(nlp, cng, adapt, portable))
        if s == ffi.NULL:
            raise MemoryError("echo_can_new failed")
        self._s = ffi.gc(s, lib.echo_can_free)
        self.tail_ms = tail_ms

    @staticmethod
    def _opts(nlp: bool, cng: bool, adapt: bool, portable: bool) -> int:
        return ((lib.ECHO_OPT_NLP if nlp else 0) | (lib.ECHO_OPT_CNG if cng else 0)
                | (0 if adapt else lib.ECHO_OPT_FREEZE)
                | (lib.ECHO_OPT_PORTABLE if portable else 0))  # fmt: skip

    def _state(self):  # type: ignore[no-untyped-def]
        if self._s is None:
            raise ValueError("echo canceller is closed")
        return self._s

    def close(self) -> None:
        """Free the C state now (otherwise with the object)."""
        if self._s is not None:
            ffi.release(self._s)  # runs echo_can_free now
            self._s = None

    def __enter__(self) -> EchoCanceller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_options(self, *, nlp: bool | None = None, cng: bool | None = None,
                    adapt: bool | None = None, portable: bool | None = None) -> None:  # fmt: skip
        """Change some options, keeping the others (and the learnt echo path)."""
        o = lib.echo_can_options(self._state())
        cur = {"nlp": bool(o & lib.ECHO_OPT_NLP), "cng": bool(o & lib.ECHO_OPT_CNG),
               "adapt": not o & lib.ECHO_OPT_FREEZE,
               "portable": bool(o & lib.ECHO_OPT_PORTABLE)}  # fmt: skip
        for k, v in (("nlp", nlp), ("cng", cng), ("adapt", adapt), ("portable", portable)):
            if v is not None:
                cur[k] = v
        lib.echo_can_set_options(self._state(), self._opts(**cur))

    @property
    def taps(self) -> int:
        return int(lib.echo_can_taps(self._state()))

    @property
    def kernel(self) -> str:
        """"portable" or "avx2-fma"."""
        return ffi.string(lib.echo_can_kernel(self._state())).decode()

    def reset(self) -> None:
        """Forget the echo path and all state (options kept)."""
        lib.echo_can_reset(self._state())

    def process(self, far: Pcm, near: Pcm, *, linear: bool = False
                ) -> PcmArray | tuple[PcmArray, PcmArray]:  # fmt: skip
        """The near end with the echo of far removed (same length; far and near must have the
        same length). With linear=True, (output, linear canceller output before NLP/CNG)."""
        f, d = _pcm_bytes(far, "far"), _pcm_bytes(near, "near")
        if len(f) != len(d):
            raise ValueError(f"far and near differ in length: {len(f) // 2} and {len(d) // 2}")
        n = len(d) // 2
        out = array("h", bytes(len(d)))
        lin = array("h", bytes(len(d))) if linear else None
        with ffi.from_buffer("int16_t[]", out, require_writable=True) as po:
            plin = (ffi.from_buffer("int16_t[]", lin, require_writable=True)
                    if lin is not None else ffi.NULL)  # fmt: skip
            lib.echo_can_process_ex(self._state(), ffi.from_buffer("int16_t[]", f),
                                    ffi.from_buffer("int16_t[]", d), po, plin, n)  # fmt: skip
        return (out, lin) if lin is not None else out

    def stats(self) -> EchoStats:
        st = ffi.new("echo_can_stats_t *")
        lib.echo_can_get_stats(self._state(), st)
        return EchoStats(st.erle_db, st.erl_db, st.noise_dbm0, bool(st.double_talk),
                         bool(st.nlp_active), st.fg_updates, st.bg_resets)  # fmt: skip

    def impulse(self) -> list[float]:
        """The learnt echo path (foreground filter), h[k] for a delay of k samples."""
        n = self.taps
        h = ffi.new("float[]", n)
        lib.echo_can_get_impulse(self._state(), h, n)
        return list(h)


# ---- measuring ------------------------------------------------------------------------

def erle_profile(near: Sequence[int], out: Sequence[int], far: Sequence[int], *,
                 window_ms: int = 50, far_active_dbm0: float = -40.0
                 ) -> list[tuple[int, float | None]]:  # fmt: skip
    """Per window of window_ms: (start_ms, ERLE dB), None where the far end is not active
    (mean power below far_active_dbm0) or the near end is silent."""
    w = window_ms * RATE // 1000
    thr = DBM0_POWER * 10 ** (far_active_dbm0 / 10) * w
    res: list[tuple[int, float | None]] = []
    for i in range(0, len(near) - w + 1, w):
        px = math.fsum(v * v for v in far[i:i + w])
        pd = math.fsum(v * v for v in near[i:i + w])
        pe = math.fsum(v * v for v in out[i:i + w])
        if px < thr or pd <= 0:
            res.append((i * 1000 // RATE, None))
        else:
            res.append((i * 1000 // RATE, 10 * math.log10(pd / max(pe, 1e-3))))
    return res


def erle_db(near: Sequence[int], out: Sequence[int], far: Sequence[int], *,
            start_ms: int = 0, end_ms: int | None = None, window_ms: int = 50) -> float:
    """ERLE over [start_ms, end_ms): total near power over total output power, counting only
    the windows where the far end is active. nan if there is none."""
    prof = erle_profile(near, out, far, window_ms=window_ms)
    w = window_ms * RATE // 1000
    pd = pe = 0.0
    for t, v in prof:
        if v is None or t < start_ms or (end_ms is not None and t + window_ms > end_ms):
            continue
        i = t * RATE // 1000
        pd += math.fsum(s * s for s in near[i:i + w])
        pe += math.fsum(s * s for s in out[i:i + w])
    if pd == 0:
        return math.nan
    return 10 * math.log10(pd / max(pe, 1e-3))


def convergence_ms(near: Sequence[int], out: Sequence[int], far: Sequence[int], *,
                   target_db: float = 20.0, window_ms: int = 50) -> int | None:
    """Far-end-active time (ms) until the ERLE of a window first reaches target_db and the
    next active window holds it too; None if it never does."""
    active_ms = 0
    prof = erle_profile(near, out, far, window_ms=window_ms)
    act = [(t, v) for t, v in prof if v is not None]
    for k, (_t, v) in enumerate(act):
        if v >= target_db and (k + 1 == len(act) or act[k + 1][1] >= target_db):  # type: ignore[operator]
            return active_ms
        active_ms += window_ms
    return None


# ---- WAV files --------------------------------------------------------------------------

# The one reader and writer of 8 kHz mono 16-bit PCM WAV (native/wavtools.py).
read_wav_8k = read_pcm
write_wav_8k = write_pcm


def cancel_files(far_path: str | Path, near_path: str | Path, out_path: str | Path,
                 tail_ms: int = DEFAULT_TAIL_MS, nlp: bool = True
                 ) -> dict[str, float | int | None]:  # fmt: skip
    """Cancel the echo of far_path in near_path, write out_path (8 kHz mono 16-bit WAV).

    Returns {"erle_db", "convergence_ms"}: the ERLE of the written output over the second
    half of the far-end-active time (steady state; None if the far end is never active),
    and the far-end-active time until it first reached 20 dB (None if never). Files must be
    8 kHz mono 16-bit PCM WAV (ValueError naming the file otherwise); if they differ in
    length, the shorter one is padded with silence.
    """
    far = read_wav_8k(far_path)
    near = read_wav_8k(near_path)
    n = max(len(far), len(near))
    far.extend(array("h", [0]) * (n - len(far)))
    near.extend(array("h", [0]) * (n - len(near)))
    with EchoCanceller(tail_ms, nlp=nlp, cng=nlp) as ec:
        out = ec.process(far, near)
    assert isinstance(out, array)
    write_wav_8k(out_path, out)
    prof = [(t, v) for t, v in erle_profile(near, out, far) if v is not None]
    erle: float | None = None
    if prof:
        start = prof[len(prof) // 2][0]
        e = erle_db(near, out, far, start_ms=start)
        erle = None if math.isnan(e) else round(e, 2)
    return {"erle_db": erle, "convergence_ms": convergence_ms(near, out, far)}
