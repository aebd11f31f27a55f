"""Every distribution strategy through the traffic simulator: a working day of calls.

The unit tests (test_acd_strategies.py) prove each strategy's single choice; here each
runs a whole day of Poisson traffic (5 agents at about 40 % occupancy, so there is
usually a choice to make) through the real core, and the share of calls each agent
answered shows the strategy: a fixed order piles calls on the first agents (linear, and
ring-all, where the first phone rung answers first), the balancing strategies spread them
evenly, skills-based ones follow the skill levels. Every call is answered and the
core's invariants hold at the end of the day.
"""

from __future__ import annotations

import pytest

from firmware.acd.simulator import SimulationResult, Traffic, simulate
from firmware.acd.strategies import STRATEGIES

SKILLS = (1, 2, 3, 4, 5)          # a1 the least qualified, a5 the most


def day(strategy: str, seed: int = 3) -> SimulationResult:
    return simulate(Traffic(agents=5, calls_per_hour=60, aht_s=120, hours=8,
                            strategy=strategy, seed=seed, skills=SKILLS))


def answered(result: SimulationResult) -> list[int]:
    return [result.report["agents"][f"a{i}"]["answered"] for i in range(1, 6)]


def talk_s(result: SimulationResult) -> list[float]:
    agents = result.report["agents"]
    return [agents[f"a{i}"]["att_s"] * agents[f"a{i}"]["handled"] for i in range(1, 6)]


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_answers_every_call_and_keeps_the_invariants(strategy: str) -> None:
    result = day(strategy)
    total = result.report["total"]
    assert total["offered"] > 400
    assert total["answered"] == total["offered"] == sum(answered(result))
    assert 30 < total["occupancy"] < 50
    result.core.check_invariants()


@pytest.mark.parametrize("strategy", ["linear", "ring_all", "skills_least"])
def test_fixed_order_and_least_qualified_first_load_the_first_agents(strategy: str) -> None:
    counts = answered(day(strategy))
    assert counts == sorted(counts, reverse=True)            # a1 ≥ a2 ≥ … ≥ a5
    assert counts[0] > 3 * counts[4]


def test_most_qualified_first_loads_the_most_skilled() -> None:
    counts = answered(day("skills_most"))
    assert counts == sorted(counts)                          # a5 takes the most
    assert counts[4] > 3 * counts[0]


@pytest.mark.parametrize("strategy", ["round_robin", "fewest_calls", "longest_idle",
                                      "uniform_load", "least_talk_time"])
def test_balancing_strategies_spread_the_calls(strategy: str) -> None:
    counts = answered(day(strategy))
    assert max(counts) <= 1.25 * min(counts), counts


def test_fewest_calls_evens_the_counts_and_least_talk_the_talk_time() -> None:
    counts = answered(day("fewest_calls"))
    assert max(counts) - min(counts) <= 2, counts
    talk = talk_s(day("least_talk_time"))
    assert max(talk) - min(talk) < 0.1 * sum(talk) / 5, talk  # within a tenth of a share


@pytest.mark.parametrize("strategy", ["random", "weighted_random"])
def test_random_strategies_spread_the_calls_by_chance(strategy: str) -> None:
    counts = answered(day(strategy))
    assert max(counts) <= 1.5 * min(counts), counts
    assert answered(day(strategy, seed=4)) != counts          # another seed, another day
