"""Per-SIM limits, usage counters and least-cost choice (see the package docstring)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from firmware.store import EventStore

log = logging.getLogger(__name__)


class TrunkRefused(Exception):
    """A SIM may not take this call or SMS now; ``str()`` says which limit."""


@dataclass(frozen=True, slots=True)
class SimLimits:
    """Limits of one SIM; ``None`` means no limit."""

    concurrent_calls: int = 1
    minutes_per_day: float | None = None
    minutes_per_month: float | None = None
    sms_per_day: int | None = None
    sms_per_month: int | None = None
    recipients_per_day: int | None = None
    recipients_per_month: int | None = None
    max_call_seconds: float | None = None
    # Least-cost routing: numbers this SIM's operator serves cheaply ("+7916", "8916"...),
    # and what a minute costs to them (cheaper first) and elsewhere.
    prefixes: tuple[str, ...] = ()
    cost_on_net: float = 0.0
    cost_off_net: float = 1.0
    balance_code: str | None = None  # USSD code of the balance check ("*100#")


@dataclass(frozen=True, slots=True)
class CallPermit:
    """A call may go out on ``iccid``; it must end within ``max_seconds`` (None: no cap)."""

    iccid: str
    max_seconds: float | None


@dataclass(slots=True)
class _Sim:
    port: str
    limits: SimLimits
    active_calls: int = 0


@dataclass(slots=True)
class _Change:
    iccid: str
    enabled: bool
    reason: str


ChangeListener = Callable[[str, bool, str], None]


@dataclass
class SimTrunks:
    store: EventStore
    clock: Callable[[], float] = time.time
    tz: dt.tzinfo | None = None  # None: the box's local zone
    _sims: dict[str, _Sim] = field(default_factory=dict)
    _listeners: list[ChangeListener] = field(default_factory=list)

    # -- configuration --------------------------------------------------------------------
    def add_sim(self, iccid: str, port: str, limits: SimLimits | None = None) -> None:
        """Register (or update) a SIM found in ``port``."""
        sim = self._sims.get(iccid)
        if sim is None:
            self._sims[iccid] = _Sim(port, limits or SimLimits())
        else:
            sim.port, sim.limits = port, limits or sim.limits

    def on_change(self, listener: ChangeListener) -> None:
        """``listener(iccid, enabled, reason)`` when a SIM is disabled or enabled again."""
        self._listeners.append(listener)

    # -- periods --------------------------------------------------------------------------
    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), self.tz or dt.datetime.now().astimezone()
                                         .tzinfo)

    def periods(self) -> tuple[str, str]:
        now = self._now()
        return f"D:{now:%Y-%m-%d}", f"M:{now:%Y-%m}"

    def _period_end(self, monthly: bool) -> float:
        now = self._now()
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if monthly:
            start = start.replace(day=1)
            year, month = (start.year + 1, 1) if start.month == 12 else (start.year,
                                                                         start.month + 1)
            end = start.replace(year=year, month=month)
        else:
            end = (start + dt.timedelta(days=1)).replace(hour=0)
        return end.timestamp()

    # -- state ----------------------------------------------------------------------------
    def _sim(self, iccid: str) -> _Sim:
        sim = self._sims.get(iccid)
        if sim is None:
            raise TrunkRefused(f"SIM {iccid} is not known")
        return sim

    def enabled(self, iccid: str) -> tuple[bool, str]:
        self.tick()
        state = self.store.sim_state(iccid)
        until = state.get("disabled_until")
        if until is not None and until > self.clock():
            return False, f"disabled until {dt.datetime.fromtimestamp(until).isoformat()}: " \
                          f"{state.get('disabled_why')}"
        return True, "enabled"

    def _disable(self, iccid: str, monthly: bool, why: str) -> None:
        until = self._period_end(monthly)
        self.store.set_sim_state(iccid, disabled_until=until, disabled_why=why)
        log.warning("SIM %s disabled until %s: %s", iccid,
                    dt.datetime.fromtimestamp(until).isoformat(), why)
        self._notify(_Change(iccid, False, why))

    def tick(self) -> list[str]:
        """Re-enable SIMs whose period ended; returns their ICCIDs (call it every minute)."""
        back = []
        now = self.clock()
        for iccid in self._sims:
            state = self.store.sim_state(iccid)
            until = state.get("disabled_until")
            if until is not None and until <= now:
                self.store.set_sim_state(iccid, disabled_until=None, disabled_why=None)
                back.append(iccid)
                self._notify(_Change(iccid, True, "new period"))
        return back

    def _notify(self, change: _Change) -> None:
        for listener in list(self._listeners):
            try:
                listener(change.iccid, change.enabled, change.reason)
            except Exception:
                log.exception("SIM change listener failed")

    def _check_quota(self, iccid: str) -> None:
        """Disable the SIM if a counter reached its limit.  The unique-recipient limits do
        not disable it (known recipients may still be written to): :meth:`check_sms`
        refuses new recipients."""
        limits = self._sim(iccid).limits
        day, month = self.periods()
        d, m = self.store.sim_usage(iccid, day), self.store.sim_usage(iccid, month)
        checks = [
            (limits.minutes_per_month, m.seconds / 60, True, "minutes per month"),
            (limits.sms_per_month, m.sms, True, "SMS per month"),
            (limits.minutes_per_day, d.seconds / 60, False, "minutes per day"),
            (limits.sms_per_day, d.sms, False, "SMS per day"),
        ]
        for limit, used, monthly, what in checks:
            if limit is not None and used >= limit:
                self._disable(iccid, monthly, f"{what} spent ({used:g} of {limit:g})")
                return

    def minutes_left(self, iccid: str) -> float | None:
        """The minutes the SIM may still talk in this period: the lesser of what is left of
        its daily and monthly allowances (0 when disabled); None when it has neither."""
        ok, _ = self.enabled(iccid)
        if not ok:
            return 0.0
        limits = self._sim(iccid).limits
        day, month = self.periods()
        left = [cap - self.store.sim_usage(iccid, period).seconds / 60
                for cap, period in ((limits.minutes_per_day, day),
                                    (limits.minutes_per_month, month)) if cap is not None]
        return max(0.0, min(left)) if left else None

    # -- calls ----------------------------------------------------------------------------
    def start_call(self, iccid: str) -> CallPermit:
        """Take a call slot on a SIM; raises :class:`TrunkRefused`."""
        sim = self._sim(iccid)
        ok, why = self.enabled(iccid)
        if not ok:
            raise TrunkRefused(f"SIM {iccid}: {why}")
        if sim.active_calls >= sim.limits.concurrent_calls:
            raise TrunkRefused(f"SIM {iccid}: {sim.active_calls} call(s) already")
        day, month = self.periods()
        limits = sim.limits
        caps = [limits.max_call_seconds]
        if limits.minutes_per_day is not None:
            caps.append(limits.minutes_per_day * 60 - self.store.sim_usage(iccid, day).seconds)
        if limits.minutes_per_month is not None:
            caps.append(limits.minutes_per_month * 60
                        - self.store.sim_usage(iccid, month).seconds)
        known = [c for c in caps if c is not None]
        sim.active_calls += 1
        return CallPermit(iccid, max(0.0, min(known)) if known else None)

    def end_call(self, iccid: str, seconds: float, *, failed: bool = False) -> None:
        """A call on the SIM ended after ``seconds`` of talk (0 if never answered)."""
        sim = self._sim(iccid)
        sim.active_calls = max(0, sim.active_calls - 1)
        self.store.add_sim_usage(iccid, self.periods(), calls=1, failed=int(failed),
                                 seconds=max(0.0, seconds))
        self._check_quota(iccid)

    # -- SMS ------------------------------------------------------------------------------
    def check_sms(self, iccid: str, recipient: str) -> None:
        """Raise :class:`TrunkRefused` if an SMS to ``recipient`` would break a limit."""
        limits = self._sim(iccid).limits
        ok, why = self.enabled(iccid)
        if not ok:
            raise TrunkRefused(f"SIM {iccid}: {why}")
        day, month = self.periods()
        for period, limit in ((day, limits.recipients_per_day),
                              (month, limits.recipients_per_month)):
            if limit is None or self.store.sim_known_recipient(iccid, period, recipient):
                continue
            if self.store.sim_usage(iccid, period).recipients >= limit:
                raise TrunkRefused(f"SIM {iccid}: new SMS recipients limit ({limit}) reached")

    def sms_sent(self, iccid: str, recipient: str) -> None:
        self.store.add_sim_usage(iccid, self.periods(), sms=1, recipient=recipient)
        self._check_quota(iccid)

    # -- balance --------------------------------------------------------------------------
    async def check_balance(self, iccid: str,
                            ussd: Callable[[str], Awaitable[str]]) -> str | None:
        """Ask the balance with the SIM's USSD code through ``ussd(code) -> text``."""
        code = self._sim(iccid).limits.balance_code
        if code is None:
            return None
        text = await ussd(code)
        self.store.set_sim_state(iccid, balance=text, balance_ts=self.clock())
        return text

    # -- choice ---------------------------------------------------------------------------
    def choose(self, number: str, candidates: Sequence[str] | None = None) -> str | None:
        """The most advantageous SIM for a call to ``number``: enabled, a call slot free,
        then the operator's own numbers first (longest matching prefix), the lowest cost,
        the most minutes left this month.  ``None`` when no SIM may take it."""
        scored: list[tuple[tuple[float, ...], str]] = []
        _, month = self.periods()
        for iccid in candidates if candidates is not None else list(self._sims):
            sim = self._sims.get(iccid)
            if sim is None or sim.active_calls >= sim.limits.concurrent_calls:
                continue
            if not self.enabled(iccid)[0]:
                continue
            match = max((len(p) for p in sim.limits.prefixes if number.startswith(p)),
                        default=0)
            cost = sim.limits.cost_on_net if match else sim.limits.cost_off_net
            left = float("inf")
            if sim.limits.minutes_per_month is not None:
                left = sim.limits.minutes_per_month - \
                    self.store.sim_usage(iccid, month).seconds / 60
            scored.append(((-match, cost, -left), iccid))
        return min(scored)[1] if scored else None

    # -- statistics -----------------------------------------------------------------------
    def stats(self, iccid: str) -> dict[str, Any]:
        day, month = self.periods()
        sim = self._sim(iccid)
        d, m = self.store.sim_usage(iccid, day), self.store.sim_usage(iccid, month)
        enabled, why = self.enabled(iccid)
        state = self.store.sim_state(iccid)
        return {
            "iccid": iccid,
            "port": sim.port,
            "enabled": enabled,
            "detail": why,
            "active_calls": sim.active_calls,
            "today": {"calls": d.calls, "failed": d.failed, "minutes": round(d.seconds / 60, 2),
                      "sms": d.sms, "recipients": d.recipients},
            "month": {"calls": m.calls, "failed": m.failed, "minutes": round(m.seconds / 60, 2),
                      "sms": m.sms, "recipients": m.recipients},
            "balance": state.get("balance"),
            "balance_ts": state.get("balance_ts"),
        }
