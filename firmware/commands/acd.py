"""`edgepbx acd simulate|staffing`: the ACD's traffic simulator and Erlang C, as JSON.

    edgepbx acd simulate --agents N --calls-per-hour R --aht SECONDS [--hours H]
                         [--strategy NAME] [--patience SECONDS] [--wrap-up SECONDS] [--seed S]
    edgepbx acd staffing --calls-per-hour R --aht SECONDS --target-sl 80/20
                         [--hours H] [--seed S]

Both run the real ACD core (firmware/acd) through the traffic simulator; nothing here
touches a running box or its data directory.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from firmware.commands import CliError


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0 or (isinstance(value, float) and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"{text!r} must be positive")
        return value

    return parse


def _target(text: str) -> tuple[float, float]:
    percent, sep, seconds = text.partition("/")
    try:
        sl, t = float(percent), float(seconds)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected PERCENT/SECONDS like 80/20, got {text!r}"
        ) from None
    if not sep or not 0 < sl < 100 or t < 0:
        raise argparse.ArgumentTypeError(f"expected PERCENT/SECONDS like 80/20, got {text!r}")
    return sl, t


def register(sub: Any) -> None:
    from firmware.acd.strategies import STRATEGIES

    acd = sub.add_parser("acd", help="ACD planning: traffic simulation and staffing")
    actions = acd.add_subparsers(dest="acd_action", required=True, metavar="ACTION")

    sim = actions.add_parser("simulate", help="simulate a day of queue traffic (JSON KPIs)")
    sim.add_argument("--agents", type=_positive(int), required=True)
    sim.add_argument("--calls-per-hour", type=_positive(float), required=True)
    sim.add_argument("--aht", type=_positive(float), required=True,
                     help="mean handle (talk) time, seconds")
    sim.add_argument("--hours", type=_positive(float), default=8.0)
    sim.add_argument("--strategy", choices=sorted(STRATEGIES), default="longest_idle")
    sim.add_argument("--patience", type=_positive(float), default=None,
                     help="mean caller patience, seconds (default: nobody abandons)")
    sim.add_argument("--wrap-up", type=float, default=0.0, help="wrap-up seconds per call")
    sim.add_argument("--seed", type=int, default=1)
    sim.set_defaults(handler=handle_simulate)

    staff = actions.add_parser("staffing", help="agents needed for a service level target")
    staff.add_argument("--calls-per-hour", type=_positive(float), required=True)
    staff.add_argument("--aht", type=_positive(float), required=True)
    staff.add_argument("--target-sl", type=_target, required=True, metavar="PERCENT/SECONDS")
    staff.add_argument("--hours", type=_positive(float), default=24.0,
                       help="simulated hours for the confirmation")
    staff.add_argument("--seed", type=int, default=1)
    staff.set_defaults(handler=handle_staffing)


def handle_simulate(args: argparse.Namespace) -> int:
    from firmware.acd.simulator import Traffic, simulate

    if args.wrap_up < 0:
        raise CliError("--wrap-up must not be negative")
    if args.calls_per_hour * args.hours > 20_000_000:
        raise CliError("too many calls to simulate (calls per hour x hours > 20 million)")
    result = simulate(Traffic(
        agents=args.agents, calls_per_hour=args.calls_per_hour, aht_s=args.aht,
        hours=args.hours, strategy=args.strategy, patience_s=args.patience,
        wrap_up_s=args.wrap_up, seed=args.seed,
    ))
    print(json.dumps(result.summary()))
    return 0


def handle_staffing(args: argparse.Namespace) -> int:
    from firmware.acd import erlang
    from firmware.acd.simulator import Traffic, simulate

    target_pct, t_s = args.target_sl
    load = erlang.offered_load(args.calls_per_hour, args.aht)
    if load > 10_000:
        raise CliError(f"offered load {load:.0f} erlangs is beyond this planner")
    agents = erlang.agents_needed(args.calls_per_hour, args.aht, target_pct / 100.0, t_s)

    def simulated(n: int) -> dict[str, Any]:
        result = simulate(Traffic(
            agents=n, calls_per_hour=args.calls_per_hour, aht_s=args.aht, hours=args.hours,
            seed=args.seed, sl_thresholds=(t_s,), warmup_s=min(3600.0, args.hours * 360.0),
        ))
        total = result.report["total"]
        sl = next(iter(total["sl"].values()))
        return {
            "agents": n,
            "offered": total["offered"],
            "sl": None if sl is None else round(sl, 3),
            "asa_s": None if total["asa_s"] is None else round(total["asa_s"], 3),
            "occupancy": None if total["occupancy"] is None else round(total["occupancy"], 3),
            "meets_target": sl is not None and sl >= target_pct,
        }

    out = {
        "agents": agents,
        "target": {"sl": target_pct, "t_s": t_s},
        "offered_load_erlangs": round(load, 4),
        "erlang_c": {
            "agents": agents,
            "sl": round(100 * erlang.service_level(agents, load, args.aht, t_s), 3),
            "asa_s": round(erlang.asa(agents, load, args.aht), 3),
            "occupancy": round(100 * load / agents, 3),
            "one_fewer_sl": None if agents - 1 <= load else round(
                100 * erlang.service_level(agents - 1, load, args.aht, t_s), 3),
        },
        "simulation": {
            "hours": args.hours,
            "seed": args.seed,
            "with": simulated(agents),
            "one_fewer": simulated(agents - 1) if agents - 1 > load else None,
        },
    }
    print(json.dumps(out))
    return 0
