"""Benchmark of the DTMF receiver, the call-progress tone detector and G.711, ours beside
spandsp's (Debian libspandsp, opened in cffi ABI mode) in the same run, plus talk-off on
the espeak-ng speech corpus (tests/native/talkoff.py) for both receivers.

``bench(seconds)`` returns rows ``{"block", "impl", "ns_per_sample", "channels_per_core"}``
(channels one core sustains in real time at 8 kHz) and ``{"block": "dtmf talk-off",
"impl", "talkoff_per_hour", "false_digits", "speech_minutes"}``. ``python -m
tests.bench.dtmf [seconds]`` prints them as a table. Each figure is the best of several
timed passes over the same 10 s signal (speech-like noise with digits), fed to each C
function in one call, so Python's per-call cost does not count.
"""

from __future__ import annotations

import math
import random
import sys
import time
from array import array
from collections.abc import Callable
from typing import Any

from native._native import ffi, lib

from native.cpt import CptDetector
from native.dsp import DtmfGenerator

from . import peer_spandsp_dtmf as peer

RATE = 8000


def _signal(seconds: float = 10.0) -> array:
    """Noise at about -20 dBm0 shaped a little like speech, with a digit every 0.5 s."""
    rng = random.Random(42)
    n = int(seconds * RATE)
    gen = DtmfGenerator(level_dbm0=-12.0, on_ms=80, off_ms=420)
    gen.queue("".join(rng.choice("0123456789*#ABCD") for _ in range(int(seconds * 2))))
    digits = gen.generate(n)
    out = array("h", bytes(2 * n))
    y = 0.0
    for i in range(n):
        y = 0.9 * y + rng.gauss(0.0, 900.0)  # low-pass noise
        out[i] = max(-32768, min(32767, int(y + digits[i])))
    return out


def _time(fn: Callable[[], None], n: int, seconds: float) -> float:
    """Best ns per sample of fn() (which processes n samples) over `seconds` of repeats."""
    fn()
    best = math.inf
    end = time.perf_counter() + seconds
    while True:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() > end:
            break
    return best * 1e9 / n


def _row(block: str, impl: str, ns: float) -> dict[str, Any]:
    return {"block": block, "impl": impl, "ns_per_sample": round(ns, 2),
            "channels_per_core": int(1e9 / (ns * RATE))}  # fmt: skip


def bench(seconds: float = 2.0, talkoff_minutes: float = 30.0) -> list[dict[str, Any]]:
    pcm = _signal()
    n = len(pcm)
    buf = ffi.from_buffer("int16_t[]", pcm)
    each = max(seconds / 6, 0.05)
    rows: list[dict[str, Any]] = []

    det = ffi.gc(lib.dtmf_det_new(), lib.dtmf_det_free)
    ev = ffi.new("dtmf_event_t[]", 2 * (n // lib.DTMF_DET_BLOCK + 2))
    rows.append(_row("dtmf detect", "edgepbx", _time(
        lambda: lib.dtmf_det_rx(det, buf, n, ev, len(ev)), n, each)))  # fmt: skip
    if peer.available():
        sp = peer.SpandspDtmfRx()
        digits = ffi.new("char[]", 129)

        def spandsp_rx() -> None:
            peer.lib().dtmf_rx(sp.state, buf, n)
            peer.lib().dtmf_rx_get(sp.state, digits, 128)

        rows.append(_row("dtmf detect", "spandsp", _time(spandsp_rx, n, each)))

    for country in ("EU", "UK"):
        cpt = CptDetector(country)
        cev = ffi.new("cpt_event_t[]", 64 * (n // lib.CPT_BLOCK + 2))
        rows.append(_row(f"cpt detect ({country} plan)", "edgepbx", _time(
            lambda c=cpt, e=cev: lib.cpt_det_rx(c._s, buf, n, e, len(e)), n, each)))  # fmt: skip

    codes = ffi.new("uint8_t[]", n)
    out = ffi.new("int16_t[]", n)
    lib.g711_encode(lib.G711_ALAW, codes, buf, n)
    rows.append(_row("g711 a-law encode", "edgepbx", _time(
        lambda: lib.g711_encode(lib.G711_ALAW, codes, buf, n), n, each)))  # fmt: skip
    rows.append(_row("g711 a-law decode", "edgepbx", _time(
        lambda: lib.g711_decode(lib.G711_ALAW, out, codes, n), n, each)))  # fmt: skip
    if peer.available():
        g = peer.g711_coder(peer.G711_ALAW)
        rows.append(_row("g711 a-law encode", "spandsp", _time(
            lambda: peer.lib().g711_encode(g, codes, buf, n), n, each)))  # fmt: skip
        rows.append(_row("g711 a-law decode", "spandsp", _time(
            lambda: peer.lib().g711_decode(g, out, codes, n), n, each)))  # fmt: skip

    rows += talkoff(talkoff_minutes)
    return rows


def talkoff(minutes: float = 30.0) -> list[dict[str, Any]]:
    """False digits per hour of espeak-ng speech, ours and spandsp's, on the same audio."""
    from tests.native import talkoff as corpus_mod

    if minutes <= 0 or corpus_mod.tools_missing():
        return []
    pcm, secs = corpus_mod.corpus(minutes)
    from native.dsp import DtmfDetector

    det = DtmfDetector()
    ours = [e for i in range(0, len(pcm), 160) for e in det.process(pcm[i : i + 160])
            if e.kind == "start"]  # fmt: skip
    rows = [{"block": "dtmf talk-off", "impl": "edgepbx", "false_digits": len(ours),
             "speech_minutes": round(secs / 60, 1),
             "talkoff_per_hour": round(len(ours) * 3600 / secs, 2)}]  # fmt: skip
    if peer.available():
        theirs = peer.SpandspDtmfRx().process(pcm)
        rows.append({"block": "dtmf talk-off", "impl": "spandsp", "false_digits": len(theirs),
                     "speech_minutes": round(secs / 60, 1),
                     "talkoff_per_hour": round(len(theirs) * 3600 / secs, 2)})  # fmt: skip
    return rows


def main(argv: list[str]) -> int:
    seconds = float(argv[1]) if len(argv) > 1 else 2.0
    rows = bench(seconds)
    print(f"{'block':<26} {'impl':<9} {'ns/sample':>10} {'channels/core':>14} {'talk-off/h':>11}")
    for r in rows:
        ns = f"{r['ns_per_sample']:.2f}" if "ns_per_sample" in r else ""
        ch = f"{r['channels_per_core']}" if "channels_per_core" in r else ""
        to = (f"{r['talkoff_per_hour']:.2f} ({r['false_digits']} in {r['speech_minutes']} min)"
              if "talkoff_per_hour" in r else "")  # fmt: skip
        print(f"{r['block']:<26} {r['impl']:<9} {ns:>10} {ch:>14} {to:>11}")
    if not peer.available():
        print(f"spandsp not measured: {peer.reason()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
