"""Erlang C as DOMAIN.md writes it, and the simulator against it (M/M/N, FIFO)."""

from __future__ import annotations

import math
import statistics

import pytest

from firmware.acd import erlang
from firmware.acd.log import QueueEvent
from firmware.acd.simulator import Traffic, simulate


def textbook_c(n: int, a: float) -> float:
    top = a**n / math.factorial(n) * n / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


@pytest.mark.parametrize(("n", "a"), [(1, 0.5), (2, 1.0), (5, 4.2), (10, 8.0), (30, 29.5),
                                      (50, 45.0), (80, 70.0)])
def test_erlang_c_equals_the_domain_formula(n: int, a: float) -> None:
    assert erlang.erlang_c(n, a) == pytest.approx(textbook_c(n, a), rel=1e-12)


def test_erlang_c_is_stable_for_hundreds_of_agents() -> None:
    # The textbook form overflows a float here (A^N); the recursion does not.
    c = erlang.erlang_c(500, 480.0)
    assert 0 < c < 1 and math.isfinite(c)
    assert erlang.erlang_c(1000, 0.0) == 0.0 and erlang.erlang_c(3, 3.0) == 1.0


def test_service_level_asa_and_staffing() -> None:
    # M/M/1 at 50 %: C = rho; ASA = rho / (mu - lambda); SL(T) = 1 - rho e^{-(1-rho) T/AHT}.
    assert erlang.asa(1, 0.5, 180) == pytest.approx(180.0)
    assert erlang.service_level(1, 0.5, 180, 20) == pytest.approx(1 - 0.5 * math.exp(-10 / 180))
    # 360 calls/h of 180 s = 18 erlangs; 80/20 needs 22 agents (21 give less).
    n = erlang.agents_needed(360, 180, 0.8, 20)
    assert n == 22
    assert erlang.service_level(21, 18, 180, 20) < 0.8 <= erlang.service_level(22, 18, 180, 20)


# --- the ACD reproduces Erlang C --------------------------------------------------------------

AHT = 180.0
BATCHES = 20
# (agents, occupancy, calls): more calls where the queue's memory is longer (heavy load).
CASES = [(2, 0.5, 20_000), (5, 0.75, 30_000), (10, 0.85, 50_000), (20, 0.9, 80_000),
         (50, 0.8, 40_000), (50, 0.95, 200_000)]


@pytest.mark.parametrize(("agents", "rho", "calls"), CASES)
def test_simulated_sl_and_asa_match_erlang_c(agents: int, rho: float, calls: int) -> None:
    """FIFO, exponential talk, Poisson arrivals, no abandonment, no wrap-up.

    Tolerance from batch means: the answered calls (in answer order, which is arrival
    order under FIFO) after a 5 % warm-up are cut into 20 consecutive batches; the
    standard error of the mean is the batch means' standard deviation / sqrt(20). Each
    batch holds many times the queue's relaxation length (about rho/(1-sqrt(rho))^2
    calls), so batches are nearly independent. The simulated figure must lie within
    4 standard errors (t with 19 d.f.: p < 0.001), with a floor for cases where every
    batch agrees (SL ~ 100 %).
    """
    a = rho * agents
    cph = a * 3600.0 / AHT
    hours = calls / cph
    waits: list[float] = []

    def tap(ev: QueueEvent) -> None:
        if ev.kind == "connect":
            waits.append(ev.value)

    result = simulate(Traffic(agents=agents, calls_per_hour=cph, aht_s=AHT, hours=hours,
                              seed=agents * 100 + int(rho * 100)), tap=tap)
    assert result.report["total"]["abandoned"] == 0
    waits = waits[len(waits) // 20:]
    size = len(waits) // BATCHES
    batches = [waits[i * size:(i + 1) * size] for i in range(BATCHES)]
    sl = [100.0 * sum(w <= 20.0 for w in b) / len(b) for b in batches]
    asa = [statistics.fmean(b) for b in batches]
    sl_mean, asa_mean = statistics.fmean(sl), statistics.fmean(asa)
    sl_tol = max(4 * statistics.stdev(sl) / math.sqrt(BATCHES), 0.5)
    asa_tol = max(4 * statistics.stdev(asa) / math.sqrt(BATCHES), 0.5)
    sl_theory = 100.0 * erlang.service_level(agents, a, AHT, 20.0)
    asa_theory = erlang.asa(agents, a, AHT)
    assert abs(sl_mean - sl_theory) <= sl_tol, (sl_mean, sl_theory, sl_tol)
    assert abs(asa_mean - asa_theory) <= asa_tol, (asa_mean, asa_theory, asa_tol)
    # The KPI fold of the whole log agrees with the tap, and occupancy is the load.
    total = result.report["total"]
    assert total["answered"] == total["offered"]
    assert abs(total["occupancy"] - 100 * rho) < 3.0


def test_empirical_handle_times_wrap_up_and_patience_in_the_simulator() -> None:
    sample = [60.0, 120.0, 300.0]
    result = simulate(Traffic(agents=4, calls_per_hour=40, aht_s=160, hours=50,
                              handle_times=sample, wrap_up_s=20, patience_s=90, seed=5))
    total = result.report["total"]
    assert total["offered"] > 1500 and total["abandoned"] > 0
    assert total["att_s"] == pytest.approx(160, rel=0.06)  # the sample's mean
    assert total["avg_wrap_s"] == pytest.approx(20)
    assert total["aht_s"] == pytest.approx(total["att_s"] + 20)
    assert result.core.callers == {}  # drained
