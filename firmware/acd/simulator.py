"""Traffic simulator: plays a day of calls through the real ACD core in seconds.

Owns a discrete-event loop that stands in for the call engine and the people: Poisson
arrivals, agents who answer (after an optional delay), handle times (exponential or
drawn from an empirical sample), callers who abandon after an exponential patience, and
the core's own timers (ring timeouts, wrap-up, max wait…) through ``next_deadline()`` /
``on_timer()``. Every decision is the core's: the simulator only carries out its
commands the way the call engine would, so what it measures is what the box would do.
The KPIs come from the queue event log, folded by ``firmware.acd.kpi`` as it is written.

Deterministic for a given seed. Arrivals stop at ``hours``; calls already in the queue
are served to the end (the KPI period is ``[warmup_s, hours)`` by entry time).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from firmware.acd import messages as m
from firmware.acd.core import AcdCore, AgentSettings, MemberSettings, QueueSettings
from firmware.acd.kpi import DEFAULT_SHORT_ABANDON_S, KpiCollector
from firmware.acd.log import QueueEvent

_ARRIVE = 0
_ANSWER = 1
_END = 2
_ABANDON = 3


@dataclass(frozen=True)
class Traffic:
    """What to simulate."""

    agents: int
    calls_per_hour: float
    aht_s: float  # mean talk time (exponential), unless ``handle_times`` is given
    hours: float = 8.0
    strategy: str = "longest_idle"
    patience_s: float | None = None  # mean patience (exponential); None: nobody abandons
    wrap_up_s: float = 0.0
    handle_times: Sequence[float] | None = None  # empirical sample of talk times
    answer_delay_s: float = 0.0
    ring_timeout_s: float = 20.0
    seed: int = 0
    warmup_s: float = 0.0
    short_abandon_s: float = DEFAULT_SHORT_ABANDON_S
    sl_thresholds: tuple[float, ...] = (10.0, 20.0, 30.0)
    skills: Sequence[int] = field(default_factory=tuple)  # per agent, for skills strategies

    def check(self) -> None:
        if self.agents < 1:
            raise ValueError("at least one agent")
        if self.calls_per_hour <= 0 or self.aht_s <= 0 or self.hours <= 0:
            raise ValueError("calls per hour, AHT and hours must be positive")
        if self.patience_s is not None and self.patience_s <= 0:
            raise ValueError("patience must be positive")
        if self.handle_times is not None and not self.handle_times:
            raise ValueError("empirical handle times: an empty sample")


@dataclass
class SimulationResult:
    traffic: Traffic
    report: dict[str, Any]  # firmware.acd.kpi report
    calls: int
    end_time: float
    core: AcdCore

    def summary(self) -> dict[str, Any]:
        """The figures of ``edgepbx acd simulate``."""
        t = self.report["total"]
        return {
            "offered": t["offered"],
            "answered": t["answered"],
            "abandoned": t["abandoned"],
            "sl": {k: _round(v) for k, v in t["sl"].items()},
            "asa_s": _round(t["asa_s"]),
            "awt_s": _round(t["awt_s"]),
            "ata_s": _round(t["ata_s"]),
            "abandon_rate": _round(t["abandon_rate"]),
            "occupancy": _round(t["occupancy"]),
            "max_queue_len": t["max_queue_len"],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def simulate(traffic: Traffic, *, tap: Callable[[QueueEvent], object] | None = None
             ) -> SimulationResult:
    """Run the traffic through a fresh core; ``tap`` also receives every log record."""
    traffic.check()
    horizon = traffic.hours * 3600.0
    collector = KpiCollector(traffic.warmup_s, horizon,
                             short_abandon_s=traffic.short_abandon_s,
                             sl_thresholds=traffic.sl_thresholds)
    if tap is None:
        sink: Callable[[QueueEvent], object] = collector.add
    else:
        add = collector.add

        def sink(ev: QueueEvent) -> None:
            add(ev)
            tap(ev)

    skills = list(traffic.skills) or [0] * traffic.agents
    agents = [AgentSettings(f"a{i + 1}") for i in range(traffic.agents)]
    queue = QueueSettings(
        "sim", strategy=traffic.strategy,
        members=tuple(MemberSettings(a.id, skill=skills[i % len(skills)])
                      for i, a in enumerate(agents)),
        wrap_up_s=traffic.wrap_up_s, ring_timeout_s=traffic.ring_timeout_s,
        aht_s=traffic.aht_s,
    )
    rng = random.Random(traffic.seed)
    core = AcdCore([queue], agents, now=0.0, log=sink, rng=random.Random(traffic.seed + 1))

    lam = traffic.calls_per_hour / 3600.0
    mean_talk = traffic.aht_s
    empirical = list(traffic.handle_times) if traffic.handle_times is not None else None
    patience = traffic.patience_s
    delay = traffic.answer_delay_s
    expo = rng.expovariate
    rand = rng.random

    heap: list[tuple[float, int, int, Any]] = []
    push, pop = heapq.heappush, heapq.heappop
    seq = 0
    answering: dict[str, str] = {}  # caller -> the agent whose answer is scheduled
    waiting: set[str] = set()
    handle = core.handle
    on_timer = core.on_timer
    next_deadline = core.next_deadline
    ring_t, cancel_t, bridge_t, overflow_t = m.RingAgent, m.CancelRing, m.Bridge, m.Overflow
    answered_ev, hung_up_ev, ended_ev = m.AgentAnswered, m.CallerHungUp, m.CallEnded
    arrived_ev = m.CallerArrived

    calls = 0
    t = expo(lam)
    if t < horizon:
        push(heap, (t, 0, _ARRIVE, None))
    now = 0.0
    while True:
        deadline = next_deadline()
        if heap and (deadline is None or heap[0][0] <= deadline):
            now, _, kind, data = pop(heap)
            if kind == _ARRIVE:
                calls += 1
                cid = f"c{calls}"
                waiting.add(cid)
                out = handle(arrived_ev(cid, "sim", cid), now)
                if patience is not None:
                    seq += 1
                    push(heap, (now + expo(1.0 / patience), seq, _ABANDON, cid))
                nxt = now + expo(lam)
                if nxt < horizon:
                    seq += 1
                    push(heap, (nxt, seq, _ARRIVE, None))
            elif kind == _ANSWER:
                cid, agent = data
                if answering.get(cid) != agent:
                    continue
                del answering[cid]
                out = handle(answered_ev(cid, agent), now)
            elif kind == _END:
                out = handle(ended_ev(data), now)
            else:  # _ABANDON
                if data not in waiting:
                    continue
                waiting.discard(data)
                answering.pop(data, None)
                out = handle(hung_up_ev(data), now)
        elif deadline is not None:
            now = deadline
            out = on_timer(deadline)
        else:
            break
        for cmd in out:
            ct = type(cmd)
            if ct is ring_t:
                cid = cmd[0]
                if cid not in answering:
                    answering[cid] = cmd[1]
                    seq += 1
                    push(heap, (now + delay, seq, _ANSWER, (cid, cmd[1])))
            elif ct is cancel_t:
                if answering.get(cmd[0]) == cmd[1]:
                    del answering[cmd[0]]
            elif ct is bridge_t:
                waiting.discard(cmd[0])
                if empirical is not None:
                    talk = empirical[int(rand() * len(empirical))]
                else:
                    talk = expo(1.0 / mean_talk)
                seq += 1
                push(heap, (now + talk, seq, _END, cmd[0]))
            elif ct is overflow_t:
                waiting.discard(cmd[0])
                answering.pop(cmd[0], None)
    report = collector.report(now=max(now, horizon))
    return SimulationResult(traffic, report, calls, now, core)

