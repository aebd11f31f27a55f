"""Benchmark of the full per-channel media pipeline, as the box runs it.

One media engine with N slots, every slot enabled with G.711 (A-law) decode and encode,
a 128 ms line echo canceller, DTMF detection and call-progress tone detection, slots
cross-connected in pairs (so mixing runs too), fed with noise at a speech-like level. The
cost of one tick divided by the number of slots is the cost of one channel; the channels
one core sustains in real time is the tick period (20 ms) divided by it.

The peers' "pipeline" is the sum of their block costs measured in the same run (spandsp's
G.711 + echo_can + dtmf_rx; speexdsp has no DTMF or G.711, so its echo canceller plus our
own other blocks): an estimate in their favour, since it omits any glue.
"""

from __future__ import annotations

import random
import sys
import time
from array import array
from typing import Any

from native.dsp import alaw_encode
from native.media import MediaEngine

B = 160


def _highway(nslots: int, ticks: int, seed: int = 3) -> list[bytes]:
    rng = random.Random(seed)
    blocks = []
    for _ in range(ticks):
        out = bytearray()
        for _s in range(nslots):
            pcm = array("h", (max(-32768, min(32767, int(rng.gauss(0, 2500))))
                              for _ in range(B)))
            out += alaw_encode(pcm)
        blocks.append(bytes(out))
    return blocks


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def bench(seconds: float = 2.0, nslots: int = 64) -> list[dict[str, Any]]:
    rss0 = _rss_bytes()
    e = MediaEngine(nslots, B)
    for s in range(nslots):
        e.configure_slot(s, dtmf_detect=True)
        e.configure_echo(s, 128)
        e.configure_cpd(s, "EU")
    per_channel_kb = (_rss_bytes() - rss0) / nslots / 1024
    for s in range(0, nslots - 1, 2):
        e.connect(s, s + 1)
    rx = _highway(nslots, 50)
    # warm up (the canceller's kernels, caches)
    for block in rx[:10]:
        e.tick(block)
    ticks = 0
    start = time.perf_counter()
    cpu0 = time.process_time()
    while time.perf_counter() - start < seconds:
        e.tick(rx[ticks % len(rx)])
        e.poll_events()
        ticks += 1
    cpu = time.process_time() - cpu0
    ns_per_sample = cpu / (ticks * nslots * B) * 1e9
    e.close()
    return [{"block": "full pipeline (G.711 + echo 128 ms + DTMF + tones)", "impl": "edgepbx",
             "ns_per_sample": round(ns_per_sample, 1),
             "channels_per_core": int(1e9 / (ns_per_sample * 8000)),
             "memory_per_channel_kb": round(per_channel_kb, 1)}]


def main(argv: list[str]) -> int:
    for row in bench(float(argv[0]) if argv else 2.0):
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
