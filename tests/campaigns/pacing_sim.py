"""A small discrete-event simulator of an outbound campaign, for testing the pacers.

Agents take live answers; a person answers with probability ``answer_rate`` after a ring of
3-15 s (uniform), else the dial ends as busy (2 s) or no answer (25 s). A live answer with
no free agent is abandoned. Handle times are exponential (mean ``aht_s``) plus a fixed
wrap-up. The dialer decides after every event (nothing changes between events).
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass

from firmware.campaigns.pacing import PredictivePacer


@dataclass(frozen=True)
class SimResult:
    dials: int
    live_answers: int
    abandoned: int
    occupancy: float          # agent busy time / (agents x duration)

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.live_answers if self.live_answers else 0.0


def simulate(
    mode: str,
    *,
    agents: int,
    answer_rate: float | list[tuple[float, float]],
    aht_s: float,
    wrap_s: float = 5.0,
    hours: float = 2.0,
    cap: float = 0.03,
    busy_share: float = 0.15,
    seed: int = 1,
) -> SimResult:
    """``answer_rate`` may change over time: ``[(from_s, rate), ...]``."""
    rng = random.Random(seed)
    schedule = answer_rate if isinstance(answer_rate, list) else [(0.0, answer_rate)]
    pacer = PredictivePacer(cap)
    end = hours * 3600.0
    events: list[tuple[float, int, str, float]] = []
    seq = 0
    free, busy, in_flight = agents, 0, 0
    dials = live = abandoned = 0
    busy_time = 0.0

    def push(t: float, kind: str, value: float = 0.0) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, seq, kind, value))

    def rate_at(t: float) -> float:
        return [r for start, r in schedule if start <= t][-1]

    def dial(t: float) -> None:
        nonlocal in_flight, dials
        in_flight += 1
        dials += 1
        r = rng.random()
        p = rate_at(t)
        if r < p:
            delay = rng.uniform(3.0, 15.0)
            push(t + delay, "answer", delay)
        elif r < p + (1 - p) * busy_share:
            push(t + 2.0, "unanswered")
        else:
            push(t + 25.0, "unanswered")

    def decide(t: float) -> None:
        if t >= end:
            return
        if mode == "progressive":
            n = max(0, free - in_flight)   # one reserved agent per call
        else:
            n = pacer.dials_to_place(free, busy, in_flight)
        for _ in range(n):
            dial(t)

    decide(0.0)
    while events:
        t, _, kind, value = heapq.heappop(events)
        if kind == "answer":
            in_flight -= 1
            pacer.observe_dial(True, value)
            live += 1
            if free > 0:
                free -= 1
                busy += 1
                handle = rng.expovariate(1.0 / aht_s) + wrap_s
                busy_time += min(handle, max(0.0, end - t))
                push(t + handle, "agent_free", handle)
                pacer.observe_live_answer(False)
            else:
                abandoned += 1
                pacer.observe_live_answer(True)
        elif kind == "unanswered":
            in_flight -= 1
            pacer.observe_dial(False)
        elif kind == "agent_free":
            busy -= 1
            free += 1
            pacer.observe_handle(value)
        decide(t)
    return SimResult(dials, live, abandoned, busy_time / (agents * end))
