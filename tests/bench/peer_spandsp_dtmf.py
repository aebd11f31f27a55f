"""spandsp's DTMF receiver and G.711 block coder as a measuring peer (cffi ABI mode).

Debian's libspandsp (0.0.6) is opened with ``ffi.dlopen("libspandsp.so.2")``: nothing is
compiled, and nothing of spandsp is copied into edgepbx (it is GPL; we only call the
installed library to compare against it). ``available()`` says whether it could be
loaded; callers skip cleanly when it cannot, with ``reason()`` saying why.
"""

from __future__ import annotations

from array import array
from typing import Any

from cffi import FFI

_CDEF = """
typedef struct dtmf_rx_state_s dtmf_rx_state_t;
typedef void (*digits_rx_callback_t)(void *user_data, const char *digits, int len);
dtmf_rx_state_t *dtmf_rx_init(dtmf_rx_state_t *s, digits_rx_callback_t callback,
                              void *user_data);
void dtmf_rx_parms(dtmf_rx_state_t *s, int filter_dialtone, int twist, int reverse_twist,
                   int threshold);
int dtmf_rx(dtmf_rx_state_t *s, const int16_t amp[], int samples);
size_t dtmf_rx_get(dtmf_rx_state_t *s, char *digits, int max);
int dtmf_rx_free(dtmf_rx_state_t *s);

typedef struct g711_state_s g711_state_t;
g711_state_t *g711_init(g711_state_t *s, int mode);
int g711_encode(g711_state_t *s, uint8_t g711_data[], const int16_t amp[], int len);
int g711_decode(g711_state_t *s, int16_t amp[], const uint8_t g711_data[], int g711_bytes);
int g711_free(g711_state_t *s);
"""

ffi = FFI()
ffi.cdef(_CDEF)
_lib: Any = None
_why = ""
try:
    _lib = ffi.dlopen("libspandsp.so.2")
except OSError as exc:  # not installed: the peer is simply absent
    _why = f"libspandsp.so.2 not loadable ({exc}); install libspandsp2 / libspandsp-dev"

G711_ALAW = 0


def available() -> bool:
    return _lib is not None


def reason() -> str:
    return _why


def lib() -> Any:
    if _lib is None:
        raise RuntimeError(_why)
    return _lib


class SpandspDtmfRx:
    """spandsp dtmf_rx with its default parameters; digits collected with dtmf_rx_get."""

    def __init__(self) -> None:
        s = lib().dtmf_rx_init(ffi.NULL, ffi.NULL, ffi.NULL)
        if s == ffi.NULL:
            raise MemoryError("dtmf_rx_init")
        self._s = ffi.gc(s, lib().dtmf_rx_free)
        self._buf = ffi.new("char[]", 129)

    def process(self, pcm: array, chunk: int = 160) -> str:
        """Feed PCM in blocks of `chunk` samples; the digits it reported."""
        raw = ffi.from_buffer("int16_t[]", pcm)
        out = []
        for i in range(0, len(pcm), chunk):
            lib().dtmf_rx(self._s, raw + i, min(chunk, len(pcm) - i))
            k = lib().dtmf_rx_get(self._s, self._buf, 128)
            if k:
                out.append(ffi.string(self._buf, k).decode("ascii"))
        return "".join(out)

    @property
    def state(self) -> Any:
        return self._s


def g711_coder(mode: int = G711_ALAW) -> Any:
    s = lib().g711_init(ffi.NULL, mode)
    if s == ffi.NULL:
        raise MemoryError("g711_init")
    return ffi.gc(s, lib().g711_free)
