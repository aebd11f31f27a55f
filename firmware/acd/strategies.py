"""Distribution strategies: which free agent(s) a queue offers a caller to.

A strategy is a function ``(queue, caller, candidates, now, rng) -> chosen`` where
``candidates`` are the queue's members that may take this caller now (available, not
recently tried for this caller, meeting the caller's skill requirement, and — except for
the skills-based strategies — in the lowest penalty tier present), in the queue's member
order, never empty. It returns the members to ring: one, or all of them for ring-all.
Strategies read the counters the core keeps on agents and members; they change nothing
(round robin's memory is updated by the core when the offer is made).

Ties are broken by longest idle, then member order, so every choice is deterministic for
a given state and random seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from firmware.acd.core import Caller, Member, Queue

Strategy = Callable[["Queue", "Caller", "list[Member]", float, random.Random], "Sequence[Member]"]


def ring_all(queue: Queue, caller: Caller, cands: list[Member], now: float,
             rng: random.Random) -> Sequence[Member]:
    return cands


def linear(queue: Queue, caller: Caller, cands: list[Member], now: float,
           rng: random.Random) -> Sequence[Member]:
    return (cands[0],)


def round_robin(queue: Queue, caller: Caller, cands: list[Member], now: float,
                rng: random.Random) -> Sequence[Member]:
    """The next member after the one offered last (memory), wrapping around."""
    last = queue.rr_last
    for member in cands:
        if member.index > last:
            return (member,)
    return (cands[0],)


def longest_idle(queue: Queue, caller: Caller, cands: list[Member], now: float,
                 rng: random.Random) -> Sequence[Member]:
    best = cands[0]
    best_idle = best.agent.idle_since
    for member in cands:
        if member.agent.idle_since < best_idle:
            best, best_idle = member, member.agent.idle_since
    return (best,)


def _least(cands: list[Member], key: Callable[[Member], float]) -> Sequence[Member]:
    best = cands[0]
    best_key = (key(best), best.agent.idle_since)
    for member in cands[1:]:
        k = (key(member), member.agent.idle_since)
        if k < best_key:
            best, best_key = member, k
    return (best,)


def fewest_calls(queue: Queue, caller: Caller, cands: list[Member], now: float,
                 rng: random.Random) -> Sequence[Member]:
    """Fewest calls answered from this queue."""
    return _least(cands, lambda m: m.calls)


def least_talk_time(queue: Queue, caller: Caller, cands: list[Member], now: float,
                    rng: random.Random) -> Sequence[Member]:
    """Least talk time (all queues) since the agent logged in."""
    return _least(cands, lambda m: m.agent.talk_s)


def uniform_load(queue: Queue, caller: Caller, cands: list[Member], now: float,
                 rng: random.Random) -> Sequence[Member]:
    """Lowest share of logged-in time spent busy (talk + hold + wrap-up), all queues."""
    return _least(cands, lambda m: m.agent.busy_s / max(now - m.agent.login_ts, 1.0))


def random_choice(queue: Queue, caller: Caller, cands: list[Member], now: float,
                  rng: random.Random) -> Sequence[Member]:
    return (cands[rng.randrange(len(cands))],)


def weighted_random(queue: Queue, caller: Caller, cands: list[Member], now: float,
                    rng: random.Random) -> Sequence[Member]:
    """Random, a member with weight 3 three times as likely as one with weight 1."""
    return (rng.choices(cands, weights=[m.weight for m in cands])[0],)


def skills_most(queue: Queue, caller: Caller, cands: list[Member], now: float,
                rng: random.Random) -> Sequence[Member]:
    """The most qualified free agent (highest skill level in this queue)."""
    return _least(cands, lambda m: -m.skill)


def skills_least(queue: Queue, caller: Caller, cands: list[Member], now: float,
                 rng: random.Random) -> Sequence[Member]:
    """The least qualified free agent who still meets the requirement (training)."""
    return _least(cands, lambda m: m.skill)


STRATEGIES: Final[dict[str, Strategy]] = {
    "ring_all": ring_all,
    "round_robin": round_robin,
    "linear": linear,
    "longest_idle": longest_idle,
    "fewest_calls": fewest_calls,
    "least_talk_time": least_talk_time,
    "uniform_load": uniform_load,
    "random": random_choice,
    "weighted_random": weighted_random,
    "skills_most": skills_most,
    "skills_least": skills_least,
}
# Strategies that rank by skill level; they ignore the penalty tiers.
SKILLS_STRATEGIES: Final = frozenset({"skills_most", "skills_least"})
