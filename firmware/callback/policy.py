"""Callback settings as the engine uses them: retry policy, limits, blacklist, working hours.

Built from the configuration document (``callback``, ``blacklist``, ``time_conditions`` and
``system.timezone``) by ``CallbackSettings.from_document``; the configuration schema checks
the same sections first, so building from a committed document does not fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from firmware.numbers import normalize_number, normalize_prefix
from firmware.store.callbacks import DialOrder
from firmware.timeconditions import TimeCondition

__all__ = ["Blacklist", "CallbackSettings", "RetryPolicy", "SourceRule", "normalize_prefix"]

# Seconds to wait before the next attempt, by the outcome of the last one; the n-th retry
# uses the n-th interval (the last one repeats). An empty list: that outcome is final.
DEFAULT_INTERVALS: Final[dict[str, tuple[float, ...]]] = {
    "busy": (120.0, 300.0, 600.0),
    "no_answer": (300.0, 900.0, 1800.0),
    "failed": (60.0, 300.0),
    "machine": (1800.0,),
    "customer_hangup": (120.0, 600.0),
    "agent_unavailable": (30.0, 60.0),
    # the box restarted while the attempt was in flight: it may have rung the customer
    "interrupted": (300.0,),
}
RETRY_OUTCOMES: Final = frozenset(DEFAULT_INTERVALS)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    intervals: Mapping[str, tuple[float, ...]] = field(
        default_factory=lambda: dict(DEFAULT_INTERVALS)
    )

    def delay_after(self, outcome: str, attempts_made: int) -> float | None:
        """Seconds until the next attempt after ``attempts_made`` attempts, the last ending
        with ``outcome``; None if the job should not be tried again."""
        if attempts_made >= self.max_attempts:
            return None
        steps = self.intervals.get(outcome, DEFAULT_INTERVALS.get(outcome, ()))
        if not steps:
            return None
        return float(steps[min(attempts_made, len(steps)) - 1])


@dataclass(frozen=True)
class Blacklist:
    """Numbers never called back: canonical numbers, and prefixes written ``+7809*``."""

    numbers: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    @classmethod
    def from_entries(cls, entries: Iterable[Mapping[str, Any]], country: str) -> Blacklist:
        numbers: set[str] = set()
        prefixes: list[str] = []
        for entry in entries:
            raw = str(entry.get("number", ""))
            if raw.endswith("*"):
                prefixes.append(normalize_prefix(raw[:-1], country))
            else:
                numbers.add(normalize_number(raw, country))
        return cls(frozenset(numbers), tuple(prefixes))

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, str):
            return False
        return number in self.numbers or any(number.startswith(p) for p in self.prefixes)


@dataclass(frozen=True)
class SourceRule:
    enabled: bool = False
    queue: str | None = None      # where the callback connects; None: the call's own queue
    min_wait_s: float = 0.0       # abandoned: ignore short abandons


@dataclass(frozen=True)
class CallbackSettings:
    enabled: bool = True
    country: str = "RU"
    timezone: str = "UTC"
    mode: DialOrder = "customer_first"
    max_concurrent: int = 2
    ring_timeout_s: float = 30.0
    connect_timeout_s: float = 1800.0   # watchdog after answer (customer waiting in queue)
    dedup_window_s: float = 3600.0
    daily_limit: int = 5                # dials per number per local day (0: no limit)
    max_window_days: int = 30
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    hours: TimeCondition = field(default_factory=TimeCondition.always)
    missed: SourceRule = field(default_factory=SourceRule)
    abandoned: SourceRule = field(default_factory=SourceRule)
    blacklist: Blacklist = field(default_factory=Blacklist)
    detect_machine: bool = True
    caller_id: str | None = None
    announcement: str | None = None
    queues: frozenset[str] = frozenset()
    # A queue's own dial order (its ``callback_dial``) for the jobs connected to it.
    queue_modes: Mapping[str, DialOrder] = field(default_factory=dict)
    extensions: frozenset[str] = frozenset()
    ring_groups: frozenset[str] = frozenset()

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> CallbackSettings:
        system = doc.get("system", {})
        country = str(system.get("country", "RU"))
        timezone = str(system.get("timezone", "UTC"))
        section: Mapping[str, Any] = doc.get("callback") or {}
        conditions = {c["id"]: c for c in doc.get("time_conditions", [])}
        hours_ref = section.get("working_hours")
        hours = (
            TimeCondition.from_config(conditions[hours_ref], timezone)
            if hours_ref is not None
            else TimeCondition.always(timezone)
        )
        retry_doc: Mapping[str, Any] = section.get("retry") or {}
        intervals = dict(DEFAULT_INTERVALS)
        for outcome in RETRY_OUTCOMES:
            if outcome in retry_doc:
                intervals[outcome] = tuple(float(x) for x in retry_doc[outcome])

        def rule(name: str) -> SourceRule:
            entry: Mapping[str, Any] = section.get(name) or {}
            return SourceRule(
                bool(entry.get("enabled", False)),
                entry.get("queue"),
                float(entry.get("min_wait_s", 0)),
            )

        return cls(
            enabled=bool(section.get("enabled", True)),
            country=country,
            timezone=timezone,
            mode=section.get("mode", "customer_first"),
            max_concurrent=int(section.get("max_concurrent", 2)),
            ring_timeout_s=float(section.get("ring_timeout_s", 30)),
            dedup_window_s=float(section.get("dedup_window_s", 3600)),
            daily_limit=int(section.get("daily_limit", 5)),
            retry=RetryPolicy(int(retry_doc.get("max_attempts", 3)), intervals),
            hours=hours,
            missed=rule("missed"),
            abandoned=rule("abandoned"),
            blacklist=Blacklist.from_entries(doc.get("blacklist", []), country),
            detect_machine=bool(section.get("detect_machine", True)),
            caller_id=section.get("caller_id"),
            announcement=section.get("announcement"),
            queues=frozenset(q["id"] for q in doc.get("queues", [])),
            queue_modes={q["id"]: q["callback_dial"] for q in doc.get("queues", [])
                         if q.get("callback_dial")},
            extensions=frozenset(e["number"] for e in doc.get("extensions", [])),
            ring_groups=frozenset(g["id"] for g in doc.get("ring_groups", [])),
        )
