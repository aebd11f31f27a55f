"""Predictive pacing: how many numbers to dial now, keeping abandoned-on-answer under a cap.

The abandon rate of a predictive campaign is (live answers no agent was free for) ÷ (live
answers); regulators cap it (3 % is common, and our default). This pacer decides, at each
moment the dialer asks, the largest number of new dials ``d`` such that the *expected*
share of the answers in flight that would find no agent stays under a target derived from
the cap. The model, stated so it can be checked:

- each call in flight (the ``in_flight`` already ringing plus the ``d`` new ones) is
  answered by a person with probability ``p``, so answers ``A ~ Binomial(in_flight + d, p)``;
- agents to take them are the ``free`` ones plus those of the ``busy`` ones who finish
  within the typical answer delay ``D``: with handle times of mean ``H`` (exponential, which
  is memoryless, so the time already spent does not matter) each finishes in time with
  probability ``q = 1 - exp(-D/H)``, so ``V = free + Binomial(busy, q)``;
- the expected overflow is ``E[(A - V)+]``, its share ``E[(A - V)+] / E[A]``; ``d`` is the
  largest with that share at most ``target``. The share grows with ``d``, so a binary search
  finds it; suffix sums make each evaluation linear in the number of calls.

Estimates are honest about their uncertainty. ``p`` is the answer rate of the last
``window`` dials with a prior of ``prior_weight`` pseudo-dials, and the pacer uses its
one-sided 95 % *upper* bound (Wilson), or that of the last ``recent`` dials if higher (a
sudden rise in answers shows there first): over-estimating answers makes it dial less,
never more. ``H`` and ``D`` are means over the same window, seeded by priors. The target starts at
the cap and is lowered as the measured abandon rate approaches it (``target = cap ·
max(0.2, 1 - 0.5·measured/cap)``), a feedback term for what the model leaves out (answer
times spread over the ring time, handle times that are not exponential).

Dials that cannot cause an abandon (no more calls in flight than free agents) are always
allowed, so predictive never does worse than progressive. ``max_lines_per_agent`` bounds the
calls in flight per staffed agent as a last guard against estimates gone wrong.

Pure arithmetic, no I/O, no clock: the dialer feeds observations and asks.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Final

Z_95: Final = 1.645  # one-sided 95 %


def binomial_pmf(n: int, p: float) -> list[float]:
    """P(X = k) for k in 0..n, X ~ Binomial(n, p), by a stable recurrence."""
    if n <= 0:
        return [1.0]
    if p <= 0.0:
        return [1.0] + [0.0] * n
    if p >= 1.0:
        return [0.0] * n + [1.0]
    # Start from the mode in log space and walk both ways: no underflow for large n.
    mode = min(n, int((n + 1) * p))
    log_mode = (math.lgamma(n + 1) - math.lgamma(mode + 1) - math.lgamma(n - mode + 1)
                + mode * math.log(p) + (n - mode) * math.log1p(-p))
    pmf = [0.0] * (n + 1)
    pmf[mode] = math.exp(log_mode)
    ratio = p / (1.0 - p)
    for k in range(mode, n):
        pmf[k + 1] = pmf[k] * (n - k) / (k + 1) * ratio
    for k in range(mode, 0, -1):
        pmf[k - 1] = pmf[k] * k / (n - k + 1) / ratio
    total = sum(pmf)
    return [x / total for x in pmf]


def expected_overflow(answers_pmf: list[float], agents_pmf: list[float], free: int) -> float:
    """E[(A - V)+] with V = free + (the variable of ``agents_pmf``)."""
    n = len(answers_pmf)
    tail_p = [0.0] * (n + 1)   # P(A >= k)
    tail_ap = [0.0] * (n + 1)  # E[A; A >= k]
    for k in range(n - 1, -1, -1):
        tail_p[k] = tail_p[k + 1] + answers_pmf[k]
        tail_ap[k] = tail_ap[k + 1] + k * answers_pmf[k]
    total = 0.0
    for j, pv in enumerate(agents_pmf):
        v = free + j
        if v + 1 >= n or pv == 0.0:
            continue
        total += pv * (tail_ap[v + 1] - v * tail_p[v + 1])
    return total


def wilson_upper(successes: float, trials: float, z: float = Z_95) -> float:
    if trials <= 0:
        return 1.0
    phat = successes / trials
    denom = 1 + z * z / trials
    centre = phat + z * z / (2 * trials)
    margin = z * math.sqrt(phat * (1 - phat) / trials + z * z / (4 * trials * trials))
    return min(1.0, (centre + margin) / denom)


@dataclass(frozen=True)
class PacingDecision:
    dials: int
    answer_rate: float      # the (upper-bound) answer rate used
    target: float           # the overflow share aimed at
    expected_share: float   # the model's overflow share with ``dials`` new calls


class PredictivePacer:
    def __init__(
        self,
        cap: float = 0.03,
        *,
        prior_answer_rate: float = 0.3,
        prior_weight: int = 20,
        prior_handle_s: float = 180.0,
        prior_answer_delay_s: float = 10.0,
        window: int = 500,
        max_lines_per_agent: float = 5.0,
        recent: int = 60,
    ) -> None:
        if not 0.0 <= cap < 1.0:
            raise ValueError(f"abandon cap {cap} must be in [0, 1)")
        self.cap = cap
        self._prior_rate = prior_answer_rate
        self._prior_weight = prior_weight
        self._prior_handle = prior_handle_s
        self._prior_delay = prior_answer_delay_s
        self._dials: deque[bool] = deque(maxlen=window)
        self._delays: deque[float] = deque(maxlen=window)
        self._handles: deque[float] = deque(maxlen=window)
        self.live_answers = 0
        self.abandoned = 0
        self._max_lines = max_lines_per_agent
        self._recent = recent

    # --- observations ------------------------------------------------------------------

    def observe_dial(self, answered: bool, answer_delay_s: float | None = None) -> None:
        """A dial ended: answered by a person (with how long it rang) or not."""
        self._dials.append(answered)
        if answered and answer_delay_s is not None:
            self._delays.append(answer_delay_s)

    def observe_live_answer(self, abandoned: bool) -> None:
        """A person answered: connected to an agent, or abandoned (no agent free)."""
        self.live_answers += 1
        self.abandoned += abandoned

    def observe_handle(self, handle_s: float) -> None:
        """An agent finished a campaign call (talk + hold + wrap-up)."""
        self._handles.append(handle_s)

    # --- estimates -----------------------------------------------------------------------

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.live_answers if self.live_answers else 0.0

    def answer_rate_upper(self) -> float:
        """The larger of the upper bounds over the whole window and over the latest dials:
        a sudden rise in the answer rate shows in the recent dials long before the window
        average moves, and the pacer must react to it at once."""
        prior = self._prior_rate * self._prior_weight
        answered = sum(self._dials) + prior
        trials = len(self._dials) + self._prior_weight
        upper = wilson_upper(answered, trials)
        recent = list(self._dials)[-self._recent:]
        if recent:
            upper = max(upper, wilson_upper(sum(recent), len(recent)))
        return upper

    def mean_handle_s(self) -> float:
        k = 5  # prior pseudo-observations
        return (sum(self._handles) + k * self._prior_handle) / (len(self._handles) + k)

    def mean_answer_delay_s(self) -> float:
        k = 5
        return (sum(self._delays) + k * self._prior_delay) / (len(self._delays) + k)

    def target(self) -> float:
        if self.cap == 0.0:
            return 0.0
        # the measured rate, with a prior of 100 answers at zero abandon
        measured = self.abandoned / (self.live_answers + 100)
        return self.cap * max(0.2, 1.0 - 0.5 * measured / self.cap)

    # --- the decision --------------------------------------------------------------------

    def decide(self, free: int, busy: int, in_flight: int) -> PacingDecision:
        """How many new dials to place now, with ``free`` agents waiting, ``busy`` agents on
        campaign calls and ``in_flight`` calls ringing."""
        p = self.answer_rate_upper()
        target = self.target()
        staffed = free + busy
        if staffed == 0:
            return PacingDecision(0, p, target, 0.0)
        ceiling = max(0, int(self._max_lines * staffed) - in_flight)
        safe = max(0, free - in_flight)  # cannot overflow even if every call answers
        q = 1.0 - math.exp(-self.mean_answer_delay_s() / self.mean_handle_s())
        agents_pmf = binomial_pmf(busy, q)

        def share(d: int) -> float:
            n = in_flight + d
            if n == 0:
                return 0.0
            return expected_overflow(binomial_pmf(n, p), agents_pmf, free) / (n * p)

        lo, hi = min(safe, ceiling), ceiling
        if share(lo) > target:
            return PacingDecision(lo, p, target, share(lo))
        while lo < hi:  # the largest d in [lo, hi] with share(d) <= target
            mid = (lo + hi + 1) // 2
            if share(mid) <= target:
                lo = mid
            else:
                hi = mid - 1
        return PacingDecision(lo, p, target, share(lo))

    def dials_to_place(self, free: int, busy: int, in_flight: int) -> int:
        return self.decide(free, busy, in_flight).dials
