"""`edgepbx bench dsp [--seconds S] [--json]`: the DSP benchmark, ours beside the peers.

Measures, in one run on this machine, the cost per channel of each block (DTMF receiver,
call-progress detector, G.711, line echo canceller on speech and on noise) and of the full
per-channel pipeline, the channels one core sustains in real time, and the same figures
for spandsp (libspandsp) and speexdsp (libspeexdsp) when their libraries are installed,
with the ratios. The benchmark code lives beside the tests (tests/bench/), so this command
runs from a source checkout; the appliance image carries no tests.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from firmware.commands import CliError


def register(sub: Any) -> None:
    bench = sub.add_parser("bench", help="benchmarks (from a source checkout)")
    which = bench.add_subparsers(dest="bench", required=True, metavar="WHAT")
    p = which.add_parser("dsp", help="DSP blocks and the per-channel pipeline vs peers")
    p.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.add_argument("--talkoff-minutes", type=float, default=0.0,
                   help="also measure DTMF talk-off on this much synthesized speech")
    p.set_defaults(handler=_dsp)


def _source_tree() -> Path:
    import native

    root = Path(native.__file__).resolve().parents[1]
    if not (root / "tests" / "bench" / "dtmf.py").exists():
        raise CliError("the benchmark runs from a source checkout (tests/bench/ not found "
                       f"next to {root / 'native'})")
    return root


def _dsp(args: argparse.Namespace) -> int:
    if not 0.2 <= args.seconds <= 60:
        raise CliError(f"--seconds {args.seconds}: use 0.2 to 60")
    root = _source_tree()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    # Imported by name: the benchmark code is test code, outside the packages type-checked
    # with the firmware.
    dtmf, echo, pipeline = (importlib.import_module(f"tests.bench.{m}")
                            for m in ("dtmf", "echo", "pipeline"))

    rows: list[dict[str, Any]] = []
    rows += dtmf.bench(args.seconds, talkoff_minutes=args.talkoff_minutes)
    rows += echo.bench(args.seconds)
    rows += pipeline.bench(args.seconds)
    rows = [r for r in rows if "ns_per_sample" in r or "false_digits" in r]
    _add_ratios(rows)
    _add_peer_pipelines(rows)
    if args.json:
        print(json.dumps({"rows": rows}, indent=1))
    else:
        _print_table(rows)
    return 0


def _add_ratios(rows: list[dict[str, Any]]) -> None:
    ours = {r["block"]: r for r in rows if r.get("impl") == "edgepbx" and "ns_per_sample" in r}
    for r in rows:
        mine = ours.get(r["block"])
        if r.get("impl") != "edgepbx" and mine and r.get("ns_per_sample"):
            r["edgepbx_speedup"] = round(r["ns_per_sample"] / mine["ns_per_sample"], 2)


def _add_peer_pipelines(rows: list[dict[str, Any]]) -> None:
    """The peers' pipeline as the sum of their blocks measured in this run."""
    def cost(block_prefix: str, impl: str) -> float | None:
        for r in rows:
            if r.get("impl") == impl and str(r["block"]).startswith(block_prefix) \
                    and r.get("ns_per_sample"):
                return float(r["ns_per_sample"])
        return None

    ours = next((r for r in rows if str(r["block"]).startswith("full pipeline")), None)
    if ours is None:
        return
    for impl in ("spandsp", "speexdsp"):
        echo_ns = cost("echo 128 ms (speech)", impl) or cost("echo", impl)
        if echo_ns is None:
            continue
        parts = [echo_ns]
        for prefix in ("dtmf detect", "g711 a-law encode", "g711 a-law decode"):
            parts.append(cost(prefix, impl) or cost(prefix, "edgepbx") or 0.0)
        total = sum(parts)
        rows.append({"block": ours["block"], "impl": f"{impl} (sum of its blocks)",
                     "ns_per_sample": round(total, 1),
                     "channels_per_core": int(1e9 / (total * 8000)),
                     "edgepbx_speedup": round(total / ours["ns_per_sample"], 2)})


def _print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'block':52} {'impl':26} {'ns/sample':>10} {'ch/core':>8} {'ours x':>7} "
          f"{'ERLE dB':>8}")
    for r in rows:
        if "false_digits" in r:
            print(f"{r['block']:52} {r['impl']:26} {'':>10} {'':>8} {'':>7} "
                  f"  {r.get('false_digits')} false digits in {r.get('speech_minutes', '?')} "
                  f"min of speech ({r.get('talkoff_per_hour', '?')}/h)")
            continue
        speed = r.get("edgepbx_speedup", "")
        erle = r.get("erle_db", "")
        print(f"{r['block']:52} {r['impl']:26} {r['ns_per_sample']:>10} "
              f"{r.get('channels_per_core', ''):>8} {speed!s:>7} {erle!s:>8}")
