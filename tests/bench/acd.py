"""ACD benchmarks: routing decision latency and simulated calls per second.

    python -m tests.bench.acd              # both, printed as JSON lines
    python -m tests.bench.acd --million    # the simulator on a full million calls

Routing decision: 200 agents, 20 queues (each agent a member of 3, penalties 0-2),
1,000 callers waiting, every agent busy. The timed step is the event that frees an agent
(``CallEnded``, no wrap-up) up to the ``RingAgent`` it produces: the agent state change,
its log records, and the choice of the best waiting caller across the agent's queues and
of the agent by the queue's strategy. The call is then answered and a new caller queued
(untimed) so every decision sees the same load. Target: p99 < 1 ms.

Simulator: M/M/N traffic through the real core (50 agents, 90 % occupancy, no abandons),
KPIs folded from the log as it is written. Target: a million calls in under a minute on
one core.
"""

from __future__ import annotations

import json
import random
import sys
import time
from typing import Any

from firmware.acd import messages as m
from firmware.acd.core import AcdCore, AgentSettings, MemberSettings, QueueSettings
from firmware.acd.simulator import Traffic, simulate


def _percentile(sorted_values: list[float], p: float) -> float:
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def routing_latency(strategy: str = "longest_idle", decisions: int = 5000,
                    seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    agents = [AgentSettings(f"a{i}") for i in range(200)]
    members: dict[str, list[MemberSettings]] = {f"q{j}": [] for j in range(20)}
    for a in agents:
        for j in rng.sample(range(20), 3):
            members[f"q{j}"].append(MemberSettings(a.id, penalty=rng.randrange(3),
                                                   skill=rng.randrange(1, 10)))
    queues = [QueueSettings(q, strategy=strategy, members=tuple(ms), ring_timeout_s=30)
              for q, ms in members.items()]
    discarded: list[Any] = []
    core = AcdCore(queues, agents, log=discarded.append, rng=random.Random(seed))
    now = 0.0
    n = 0
    talking: dict[str, str] = {}  # agent -> caller

    def arrive() -> list[Any]:
        nonlocal n
        n += 1
        return core.handle(m.CallerArrived(f"c{n}", f"q{rng.randrange(20)}", f"+{n}",
                                           rng.randrange(3)), now)

    def answer(out: list[Any]) -> None:
        answered: set[str] = set()
        for cmd in out:
            if isinstance(cmd, m.RingAgent) and cmd.caller not in answered:
                answered.add(cmd.caller)  # ring-all: the first agent rung answers
                core.handle(m.AgentAnswered(cmd.caller, cmd.agent), now)
                talking[cmd.agent] = cmd.caller

    while len(talking) < 200:  # every agent busy
        answer(arrive())
    while len(core.callers) - len(talking) < 1000:  # and 1,000 waiting
        arrive()
    timings: list[float] = []
    clock = time.perf_counter
    for _ in range(decisions):
        now += 1.0
        discarded.clear()
        agent = rng.choice(list(talking))
        caller = talking.pop(agent)
        event = m.CallEnded(caller)
        t0 = clock()
        out = core.handle(event, now)
        timings.append(clock() - t0)
        rung = [c for c in out if isinstance(c, m.RingAgent)]
        assert len(rung) == 1 and rung[0].agent == agent, out
        answer(out)
        arrive()
    waiting = len(core.callers) - len(talking)
    timings.sort()
    return {
        "bench": "acd_routing_decision",
        "strategy": strategy,
        "agents": 200,
        "queues": 20,
        "waiting_callers": waiting,
        "decisions": decisions,
        "p50_us": round(_percentile(timings, 50) * 1e6, 1),
        "p99_us": round(_percentile(timings, 99) * 1e6, 1),
        "max_us": round(timings[-1] * 1e6, 1),
        "target_p99_us": 1000,
    }


def simulator_throughput(calls: int = 200_000, seed: int = 1) -> dict[str, Any]:
    agents, rho, aht = 50, 0.9, 180.0
    cph = rho * agents * 3600 / aht
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = simulate(Traffic(agents=agents, calls_per_hour=cph, aht_s=aht,
                              hours=calls / cph, seed=seed))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {
        "bench": "acd_simulator",
        "calls": result.calls,
        "agents": agents,
        "occupancy_pct": round(result.report["total"]["occupancy"], 2),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "calls_per_s_cpu": round(result.calls / cpu),
        "calls_per_s_wall": round(result.calls / wall),
        "million_calls_cpu_s": round(1e6 * cpu / result.calls, 1),
        "target_million_calls_s": 60,
    }


def bench() -> list[dict[str, Any]]:
    return [
        routing_latency("longest_idle"),
        routing_latency("skills_most", decisions=2000),
        routing_latency("ring_all", decisions=2000),
        simulator_throughput(),
    ]


if __name__ == "__main__":
    if "--million" in sys.argv:
        print(json.dumps(simulator_throughput(1_000_000)))
    else:
        for row in bench():
            print(json.dumps(row))
