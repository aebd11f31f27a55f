"""Benchmark: 8 simulated GSM modules on one host — the AT engine's CPU cost and command
latency, quiet and under a storm of unsolicited codes.

Each module is a :class:`~drivers.gsm.simulator.SimModem` on its own pty; the driver's
:class:`~drivers.gsm.atengine.AtEngine` talks to it through pyserial exactly as to a USB
module.  Both sides run in this one process and loop, so the CPU figure is an upper bound
for the engine (it includes the simulators' own work).

Run:  ``.venv/bin/python -m tests.bench.gsm`` (prints a table and one JSON line per case).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from typing import Any

from drivers.gsm.atengine import AtEngine
from drivers.gsm.simulator import SimModem

MODEMS = 8
DURATION = 5.0  # seconds per case: long enough for the storm to cost what it costs
PACE = 0.02  # one AT+CSQ per module every 20 ms (50/s each), as a busy box polls
STORM_RATE = 1000.0  # URCs per second per module


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _case(storm: bool) -> dict[str, Any]:
    sims = [SimModem() for _ in range(MODEMS)]
    for sim in sims:
        await sim.start()
    engines = [await AtEngine.open_serial(s.device_path, name=f"gsm{i}")
               for i, s in enumerate(sims)]
    latencies: list[float] = []
    try:
        for engine in engines:
            await engine.command("ATE0")
        if storm:
            for sim in sims:  # enough URCs to last the whole run
                sim.flood(100_000, rate=STORM_RATE)
            await asyncio.sleep(0.2)

        async def drive(engine: AtEngine) -> None:
            loop = asyncio.get_running_loop()
            end = loop.time() + DURATION
            while loop.time() < end:
                due = loop.time() + PACE
                start = time.perf_counter()
                result = await engine.command("AT+CSQ", 5.0)
                latencies.append(time.perf_counter() - start)
                assert result.ok and result.lines == ["+CSQ: 20,0"]
                await asyncio.sleep(max(0.0, due - loop.time()))

        urcs_before = sum(e.urc_count for e in engines)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(drive(e) for e in engines))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        urcs = sum(e.urc_count for e in engines) - urcs_before
    finally:
        for engine in engines:
            await engine.close()
        for sim in sims:
            await sim.stop()
    return {
        "name": "gsm_at_engine_storm" if storm else "gsm_at_engine_quiet",
        "modems": MODEMS,
        "commands": len(latencies),
        "urcs_per_s": round(urcs / wall) if wall else 0,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "cpu_percent": round(100 * cpu / wall, 1) if wall else 0.0,
        "cpu_us_per_command": round(1e6 * cpu / len(latencies), 1),
        "latency_p50_ms": round(1e3 * statistics.median(latencies), 2),
        "latency_p99_ms": round(1e3 * _pct(latencies, 0.99), 2),
        "latency_max_ms": round(1e3 * max(latencies), 2),
    }


def bench() -> list[dict[str, Any]]:
    """Quiet and storm cases; one dict of figures each."""
    quiet, storm = asyncio.run(_case(False)), asyncio.run(_case(True))
    # What the storm itself costs, per URC (both ends: simulator writing, engine routing).
    extra_cpu = storm["cpu_s"] - quiet["cpu_s"]
    urcs = storm["urcs_per_s"] * storm["wall_s"]
    storm["cpu_us_per_urc_both_ends"] = round(1e6 * extra_cpu / urcs, 1) if urcs else None
    return [quiet, storm]


def main() -> int:
    results = bench()
    print(f"{MODEMS} modems, AT+CSQ every {PACE * 1e3:g} ms each for {DURATION:g} s, "
          f"storm {STORM_RATE:g} URC/s per "
          f"module; python {sys.version.split()[0]}, {os.cpu_count()} CPUs", file=sys.stderr)
    for r in results:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
