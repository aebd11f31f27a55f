"""Predictive pacing keeps abandoned-on-answer under the cap while agents stay busy.

Each case simulates hours of a campaign (pacing_sim.py) and compares the predictive pacer
with progressive dialing (one reserved agent per call: never an abandon, agents idle while
numbers ring out) on the same traffic.
"""

from __future__ import annotations

import math

import pytest
from pacing_sim import simulate

from firmware.campaigns.pacing import (
    PredictivePacer,
    binomial_pmf,
    expected_overflow,
    wilson_upper,
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("answer_rate", "min_gain"),
    [(0.15, 0.20), (0.3, 0.10), (0.6, 0.0)],
)
def test_cap_holds_and_utilisation_beats_progressive(answer_rate: float, min_gain: float) -> None:
    for seed in (11, 12):
        predictive = simulate("predictive", agents=20, answer_rate=answer_rate, aht_s=120,
                              hours=2, seed=seed)
        progressive = simulate("progressive", agents=20, answer_rate=answer_rate, aht_s=120,
                               hours=2, seed=seed)
        assert predictive.live_answers > 500
        assert predictive.abandon_rate <= 0.03, predictive
        assert predictive.occupancy >= 0.75, predictive
        assert predictive.occupancy >= progressive.occupancy + min_gain, (
            predictive, progressive)
        assert progressive.abandoned == 0


@pytest.mark.slow
@pytest.mark.parametrize("rates", [[(0.0, 0.15), (3600.0, 0.6)], [(0.0, 0.6), (3600.0, 0.15)]])
def test_cap_holds_when_the_answer_rate_jumps(rates: list[tuple[float, float]]) -> None:
    result = simulate("predictive", agents=20, answer_rate=rates, aht_s=120, hours=2, seed=5)
    assert result.abandon_rate <= 0.03, result
    assert result.occupancy >= 0.75, result


@pytest.mark.slow
def test_a_stricter_cap_and_a_small_team() -> None:
    strict = simulate("predictive", agents=20, answer_rate=0.3, aht_s=120, hours=2, cap=0.01,
                      seed=7)
    assert strict.abandon_rate <= 0.01 and strict.occupancy >= 0.7, strict
    small = simulate("predictive", agents=3, answer_rate=0.3, aht_s=90, hours=4, seed=8)
    progressive = simulate("progressive", agents=3, answer_rate=0.3, aht_s=90, hours=4, seed=8)
    assert small.abandon_rate <= 0.03 and small.occupancy >= progressive.occupancy, small


def test_zero_cap_dials_only_what_cannot_overflow() -> None:
    pacer = PredictivePacer(0.0)
    assert pacer.dials_to_place(free=5, busy=10, in_flight=2) == 3
    assert pacer.dials_to_place(free=0, busy=10, in_flight=0) == 0


def test_no_agents_no_dials() -> None:
    assert PredictivePacer().dials_to_place(free=0, busy=0, in_flight=0) == 0


def test_more_answers_observed_means_fewer_dials() -> None:
    low, high = PredictivePacer(), PredictivePacer()
    for i in range(400):
        low.observe_dial(i % 10 == 0, 8.0)     # 10 % answer
        high.observe_dial(i % 2 == 0, 8.0)     # 50 % answer
    assert low.dials_to_place(10, 10, 0) > high.dials_to_place(10, 10, 0) >= 10


def test_model_arithmetic() -> None:
    pmf = binomial_pmf(30, 0.2)
    assert math.isclose(sum(pmf), 1.0) and math.isclose(sum(k * x for k, x in enumerate(pmf)), 6)
    assert binomial_pmf(3, 0.0) == [1.0, 0.0, 0.0, 0.0]
    assert binomial_pmf(2000, 0.5)[1000] > 0          # no underflow for large n
    # E[(A - 2)+] for A ~ Bin(4, 0.5), V = 2 exactly: 1*P(3) + 2*P(4) = 4/16 + 2/16
    assert math.isclose(expected_overflow(binomial_pmf(4, 0.5), [1.0], 2), 6 / 16)
    assert wilson_upper(30, 100) > 0.3 and wilson_upper(0, 0) == 1.0
