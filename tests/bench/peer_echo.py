"""The peers' echo cancellers through cffi in ABI mode (no compiler at bench time).

- speexdsp (libspeexdsp.so.1): speex_echo_cancellation() on frames of 160, filter 1024.
- spandsp (libspandsp.so.2): echo_can_update() is called once per sample, so a Python-side
  loop pays a cffi call per sample; `SpandspEcho.call_overhead_ns()` measures the same
  loop around spandsp's trivial echo_can_hpf_tx() (same kind of call, no work) so the
  benchmark can report spandsp's own cost with that overhead subtracted.

Each peer is None when its library cannot be loaded (the benchmark then skips it).
"""

from __future__ import annotations

import time
from array import array

from cffi import FFI

_ffi = FFI()
_ffi.cdef("""
typedef struct SpeexEchoState_ SpeexEchoState;
SpeexEchoState *speex_echo_state_init(int frame_size, int filter_length);
void speex_echo_state_destroy(SpeexEchoState *st);
void speex_echo_cancellation(SpeexEchoState *st, const int16_t *rec, const int16_t *play,
                             int16_t *out);
int speex_echo_ctl(SpeexEchoState *st, int request, void *ptr);
typedef struct echo_can_state_s echo_can_state_t;
echo_can_state_t *echo_can_init(int len, int adaption_mode);
int echo_can_free(echo_can_state_t *ec);
int16_t echo_can_update(echo_can_state_t *ec, int16_t tx, int16_t rx);
int16_t echo_can_hpf_tx(echo_can_state_t *ec, int16_t tx);
""")
SPEEX_ECHO_SET_SAMPLING_RATE = 24
ECHO_CAN_USE_ADAPTION = 0x01
ECHO_CAN_USE_NLP = 0x02
ECHO_CAN_USE_CNG = 0x04


def _load(name: str):  # type: ignore[no-untyped-def]
    try:
        return _ffi.dlopen(name)
    except OSError:
        return None


_speex = _load("libspeexdsp.so.1")
_spandsp = _load("libspandsp.so.2")


def speex_available() -> bool:
    return _speex is not None


def spandsp_available() -> bool:
    return _spandsp is not None


class SpeexEcho:
    """speexdsp's MDF echo canceller; process() takes whole signals, frame by frame."""

    def __init__(self, frame: int = 160, taps: int = 1024) -> None:
        assert _speex is not None
        self.frame = frame
        self._s = _ffi.gc(_speex.speex_echo_state_init(frame, taps),
                          _speex.speex_echo_state_destroy)  # fmt: skip
        rate = _ffi.new("int *", 8000)
        _speex.speex_echo_ctl(self._s, SPEEX_ECHO_SET_SAMPLING_RATE, rate)

    def process(self, far: array, near: array) -> array:
        n = len(near) // self.frame * self.frame
        out = array("h", bytes(2 * n))
        pf = _ffi.from_buffer("int16_t[]", far)
        pn = _ffi.from_buffer("int16_t[]", near)
        po = _ffi.from_buffer("int16_t[]", out)
        f = self.frame
        canc = _speex.speex_echo_cancellation
        s = self._s
        for i in range(0, n, f):
            canc(s, pn + i, pf + i, po + i)
        return out


class SpandspEcho:
    """spandsp's echo_can (adaption on; NLP/CNG as asked), one call per sample."""

    def __init__(self, taps: int = 1024, nlp: bool = False) -> None:
        assert _spandsp is not None
        mode = ECHO_CAN_USE_ADAPTION | ((ECHO_CAN_USE_NLP | ECHO_CAN_USE_CNG) if nlp else 0)
        self._s = _ffi.gc(_spandsp.echo_can_init(taps, mode), _spandsp.echo_can_free)

    def process(self, far: array, near: array) -> array:
        upd = _spandsp.echo_can_update
        s = self._s
        return array("h", [upd(s, x, d) for x, d in zip(far, near, strict=True)])

    def call_overhead_ns(self, far: array, near: array) -> float:
        """ns per sample of the same Python loop around a call that does no work."""
        hpf = _spandsp.echo_can_hpf_tx
        s = self._s
        t = time.perf_counter()
        array("h", [hpf(s, x) for x, _d in zip(far, near, strict=True)])
        return (time.perf_counter() - t) * 1e9 / max(len(far), 1)
