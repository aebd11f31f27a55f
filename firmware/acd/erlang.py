"""Erlang B and Erlang C, with the service level and ASA of DOMAIN.md, for checking the
ACD against queueing theory and for staffing.

M/M/N: Poisson arrivals at rate λ, exponential handle times of mean 1/μ, N agents, FIFO,
no abandonment; offered load A = λ/μ erlangs. DOMAIN.md writes

    C(N, A) = (A^N/N!)·N/(N−A) / (Σ_{k<N} A^k/k! + (A^N/N!)·N/(N−A))
    SL(T)   = 1 − C(N, A)·e^{−(N−A)·μ·T}
    ASA     = C(N, A) / (N·μ − λ)

C is computed here through the Erlang B recursion B(0) = 1,
B(k) = A·B(k−1) / (k + A·B(k−1)), and C = N·B / (N − A·(1 − B)), which is the same
quantity (divide numerator and denominator of the formula above by Σ_{k≤N} A^k/k!) but
never forms A^N or N!: it is exact to rounding for hundreds of agents, where the textbook
form overflows a float.
"""

from __future__ import annotations

import math


def erlang_b(n: int, a: float) -> float:
    """Blocking probability of N servers offered A erlangs (Erlang B)."""
    if n < 0 or a < 0:
        raise ValueError("erlang_b needs n >= 0 and a >= 0")
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(n: int, a: float) -> float:
    """Probability that a call waits, C(N, A); 1.0 when the load is not below N."""
    if n <= 0 or a >= n:
        return 1.0
    if a <= 0:
        return 0.0
    b = erlang_b(n, a)
    return n * b / (n - a * (1.0 - b))


def service_level(n: int, a: float, aht_s: float, t_s: float) -> float:
    """SL(T) as a fraction: 1 − C(N, A)·e^{−(N−A)·T/AHT}."""
    if a >= n:
        return 0.0
    return 1.0 - erlang_c(n, a) * math.exp(-(n - a) * t_s / aht_s)


def asa(n: int, a: float, aht_s: float) -> float:
    """Average speed of answer, C(N, A)/(N·μ − λ), in seconds (inf when overloaded)."""
    if a >= n:
        return math.inf
    mu = 1.0 / aht_s
    lam = a * mu
    return erlang_c(n, a) / (n * mu - lam)


def offered_load(calls_per_hour: float, aht_s: float) -> float:
    """A = λ/μ in erlangs."""
    return calls_per_hour * aht_s / 3600.0


def agents_needed(calls_per_hour: float, aht_s: float, target_sl: float, t_s: float,
                  max_agents: int = 100_000) -> int:
    """The fewest agents with SL(T) ≥ ``target_sl`` (a fraction), by Erlang C."""
    if not 0 < target_sl < 1:
        raise ValueError("target service level must be between 0 and 1 (exclusive)")
    a = offered_load(calls_per_hour, aht_s)
    n = max(1, math.floor(a) + 1)
    while service_level(n, a, aht_s, t_s) < target_sl:
        n += 1
        if n > max_agents:
            raise ValueError("no staffing within the limit meets the target")
    return n
