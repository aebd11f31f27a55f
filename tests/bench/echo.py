"""Echo canceller benchmark: edgepbx beside speexdsp and spandsp, same run, same signals.

For each signal (speech: espeak-ng voices; white noise) the far end goes through the
G.168 Annex D model D2 at 6 dB ERL with 5 ms bulk delay, and each canceller (128 ms /
1024 taps; speexdsp frame 160) processes it. Reported per row: ns per sample (wall time of
the processing / samples; spandsp is called once per sample from Python, so the same loop
around a no-work spandsp call is measured and subtracted), channels one core sustains in
real time (125,000 ns per sample period / ns_per_sample), and the steady-state ERLE of the
linear output (second half). Ours and speexdsp are called per 160-sample frame (the media
engine's tick), each call including its Python overhead; for ours the overhead of slicing
is included too. Peers whose library is missing are skipped.

Run: .venv/bin/python -m tests.bench.echo [seconds]
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from array import array
from collections.abc import Iterator

from native.echo import EchoCanceller, erle_db
from tests.bench import peer_echo as peers
from tests.native import echo_signals as es

SAMPLE_PERIOD_NS = 1e9 / 8000


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Debian's spandsp prints debug lines on stdout per sample: send fd 1 to /dev/null."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _signals(seconds: float) -> dict[str, tuple[array, array]]:
    h = es.echo_path(es.load_g168_models()["D2"], 6.0, 40)
    out = {}
    if es.have_tools() is None:
        x = es.to_pcm(es.far_speech(seconds, -16.0))
        out["speech"] = (x, es.hybrid(x, h))
    x = es.to_pcm(es.white_noise(seconds, -16.0, seed=5))
    out["noise"] = (x, es.hybrid(x, h))
    return out


def _row(block: str, impl: str, ns: float, far: array, near: array, out: array) -> dict:
    n = len(out)
    e = erle_db(near[:n], out, far[:n], start_ms=n * 1000 // 8000 // 2)
    return {"block": block, "impl": impl, "ns_per_sample": round(ns, 1),
            "channels_per_core": int(SAMPLE_PERIOD_NS / ns) if ns > 0 else None,
            "erle_db": round(e, 1)}  # fmt: skip


def bench(seconds: float = 2.0) -> list[dict]:
    """Rows {"block", "impl", "ns_per_sample", "channels_per_core", "erle_db"}."""
    rows = []
    for sig, (far, near) in _signals(max(seconds, 2.0)).items():
        block = f"echo 128 ms ({sig})"
        ec = EchoCanceller(128, nlp=False)
        out = array("h")
        t = time.perf_counter()
        for i in range(0, len(far), 160):  # the media engine's tick, as speexdsp's frame
            out.extend(ec.process(far[i:i + 160], near[i:i + 160]))  # type: ignore[arg-type]
        ns = (time.perf_counter() - t) * 1e9 / len(far)
        rows.append(_row(block, "edgepbx", ns, far, near, out))  # type: ignore[arg-type]
        if peers.speex_available():
            sp = peers.SpeexEcho(160, 1024)
            t = time.perf_counter()
            out = sp.process(far, near)
            ns = (time.perf_counter() - t) * 1e9 / len(out)
            rows.append(_row(block, "speexdsp", ns, far, near, out))
        if peers.spandsp_available():
            sd = peers.SpandspEcho(1024)
            with _quiet_stdout():
                overhead = sd.call_overhead_ns(far, near)
                t = time.perf_counter()
                out = sd.process(far, near)
                ns = (time.perf_counter() - t) * 1e9 / len(far) - overhead
            rows.append(_row(block, "spandsp", ns, far, near, out))
    return rows


def ratios(rows: list[dict], ours: str = "edgepbx") -> list[dict]:
    """Per block and peer: how many times faster ours is (peer ns / our ns)."""
    res = []
    for r in rows:
        if r["impl"] == ours:
            continue
        mine = next(m for m in rows if m["block"] == r["block"] and m["impl"] == ours)
        res.append({"block": r["block"], "peer": r["impl"],
                    "speedup": round(r["ns_per_sample"] / mine["ns_per_sample"], 2),
                    "erle_db_ours": mine["erle_db"], "erle_db_peer": r["erle_db"]})  # fmt: skip
    return res


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    rows = bench(float(args[0]) if args else 4.0)
    print(f"{'block':24} {'impl':9} {'ns/sample':>10} {'ch/core':>8} {'ERLE dB':>8}")
    for r in rows:
        print(f"{r['block']:24} {r['impl']:9} {r['ns_per_sample']:10.1f} "
              f"{r['channels_per_core']!s:>8} {r['erle_db']:8.1f}")
    for q in ratios(rows):
        print(f"{q['block']}: edgepbx is {q['speedup']}x {q['peer']}")


if __name__ == "__main__":
    main()
