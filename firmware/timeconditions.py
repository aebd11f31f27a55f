"""Working hours: a weekly schedule plus holidays in the box's timezone, with a manual override.

Owns the question "is it day (open) or night (closed) at instant ``t``, and when does that
change next?". Shared by the callback engine (automatic callbacks only in working hours) and,
later, the inbound router (day/night destinations). It knows nothing of calls or queues and
does no I/O: instants are UNIX epoch seconds passed in by the caller (time is an input).

Semantics, chosen to match what an office means by "we work 09:00-18:00":

- a ``WeeklyRange`` opens at ``start`` local wall time on each of its ``days`` and closes at
  ``end``; ``end`` of ``24:00`` is midnight; ``end`` earlier than ``start`` crosses midnight
  (22:00-06:00 on Friday runs into Saturday morning). Intervals are half-open ``[start, end)``.
- a holiday (a date, or a yearly ``MM-DD``) closes every range that *starts* on that date;
  a night shift that started the evening before runs to its end.
- daylight saving time: ranges are wall-clock times. A wall time that does not exist
  (spring forward, 02:30 in Europe/Berlin on the last Sunday of March) opens at the
  first instant after the gap (03:30 wall clock equals that instant's UTC offset rule in
  zoneinfo, ``fold=0``); a wall time that happens twice (fall back) means its first
  occurrence. So a 09:00-18:00 office is 9 hours long on every day, including the DST days,
  and a range over the gap is an hour shorter, over the fold an hour longer.
- a manual override (``"day"`` or ``"night"``) wins over the schedule until it is cleared or
  until its optional ``until`` instant.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

Override = Literal["auto", "day", "night"]
OVERRIDES: Final = ("auto", "day", "night")

DAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM: Final = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$")
_YEARLY: Final = re.compile(r"^(\d{2})-(\d{2})$")

# How far next_open()/next_change() look ahead before answering "never".
HORIZON_DAYS: Final = 400


class TimeConditionError(ValueError):
    """A schedule that cannot be built; ``path`` names the offending setting."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


def parse_hhmm(text: str, path: str = "") -> int:
    """``"09:30"`` -> minutes after midnight (``"24:00"`` -> 1440)."""
    if not isinstance(text, str) or not _HHMM.match(text):
        raise TimeConditionError(path, f"time {text!r} is not HH:MM (00:00-24:00)")
    if text == "24:00":
        return 24 * 60
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True, slots=True)
class WeeklyRange:
    """Open from ``start`` to ``end`` (minutes after local midnight) on ``days`` (0 = Monday)."""

    days: frozenset[int]
    start: int
    end: int

    def __post_init__(self) -> None:
        if not self.days or not all(0 <= d <= 6 for d in self.days):
            raise TimeConditionError("days", f"weekdays must be 0..6, got {sorted(self.days)}")
        if not 0 <= self.start < 24 * 60 or not 0 < self.end <= 24 * 60:
            raise TimeConditionError("", f"range {self.start}-{self.end} is out of the day")
        if self.start == self.end:
            raise TimeConditionError("end", "a range must not start and end at the same time")

    @property
    def overnight(self) -> bool:
        return self.end < self.start


@dataclass(frozen=True, slots=True)
class Holidays:
    """Closed dates: exact dates and yearly ``(month, day)`` dates."""

    dates: frozenset[dt.date] = frozenset()
    yearly: frozenset[tuple[int, int]] = frozenset()

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, dt.date):
            return False
        return day in self.dates or (day.month, day.day) in self.yearly


@dataclass(frozen=True)
class TimeCondition:
    """A weekly schedule, holidays and an override, in one timezone. See the module doc."""

    timezone: ZoneInfo
    ranges: tuple[WeeklyRange, ...]
    holidays: Holidays = field(default_factory=Holidays)
    override: Override = "auto"
    override_until: float | None = None

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def always(cls, timezone: str | ZoneInfo = "UTC") -> TimeCondition:
        """Open around the clock (no schedule configured)."""
        zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
        return cls(zone, (WeeklyRange(frozenset(range(7)), 0, 24 * 60),))

    @classmethod
    def from_config(cls, doc: Mapping[str, Any], timezone: str) -> TimeCondition:
        """Build from a configuration entry::

            {"weekly": [{"days": ["mon", "fri"], "start": "09:00", "end": "18:00"}],
             "holidays": ["2025-01-01", "12-31"], "override": "auto"}

        Errors name the setting (``weekly[0].start``); the config schema's semantic pass
        uses this same constructor so both agree on what is valid.
        """
        try:
            zone = ZoneInfo(timezone)
        except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise TimeConditionError("timezone", f"unknown time zone {timezone!r}") from exc
        ranges: list[WeeklyRange] = []
        for i, entry in enumerate(doc.get("weekly", [])):
            days: set[int] = set()
            for j, name in enumerate(entry.get("days", [])):
                if name not in DAY_NAMES:
                    raise TimeConditionError(f"weekly[{i}].days[{j}]", f"unknown day {name!r}")
                days.add(DAY_NAMES.index(name))
            if not days:
                raise TimeConditionError(f"weekly[{i}].days", "no days given")
            start = parse_hhmm(entry.get("start", ""), f"weekly[{i}].start")
            end = parse_hhmm(entry.get("end", ""), f"weekly[{i}].end")
            if start == 24 * 60:
                raise TimeConditionError(f"weekly[{i}].start", "a range cannot start at 24:00")
            if start == end:
                raise TimeConditionError(f"weekly[{i}].end", "a range must not be empty")
            ranges.append(WeeklyRange(frozenset(days), start, end))
        dates: set[dt.date] = set()
        yearly: set[tuple[int, int]] = set()
        for i, text in enumerate(doc.get("holidays", [])):
            dates_or_yearly = _parse_holiday(text, f"holidays[{i}]")
            if isinstance(dates_or_yearly, dt.date):
                dates.add(dates_or_yearly)
            else:
                yearly.add(dates_or_yearly)
        override = doc.get("override", "auto")
        if override not in OVERRIDES:
            raise TimeConditionError("override", f"override must be one of {OVERRIDES}")
        return cls(zone, tuple(ranges), Holidays(frozenset(dates), frozenset(yearly)), override)

    def with_override(self, override: Override, until: float | None = None) -> TimeCondition:
        """The same schedule with a manual day/night override (``"auto"`` clears it)."""
        if override not in OVERRIDES:
            raise TimeConditionError("override", f"override must be one of {OVERRIDES}")
        return TimeCondition(self.timezone, self.ranges, self.holidays, override, until)

    # --- queries ---------------------------------------------------------------------------

    def is_open(self, now: float) -> bool:
        """Day (open) or night (closed) at ``now``."""
        forced = self._forced(now)
        if forced is not None:
            return forced
        return self._scheduled_open(now)

    def next_open(self, now: float) -> float | None:
        """``now`` if open, else the next instant it opens; None if never within the horizon."""
        if self.is_open(now):
            return now
        return self.next_change(now)

    def next_change(self, now: float) -> float | None:
        """The next instant after ``now`` where ``is_open`` flips; None if none in the horizon."""
        state = self.is_open(now)
        for edge in self._edges(now):
            if self.is_open(edge) != state:
                return edge
        return None

    # --- internals -------------------------------------------------------------------------

    def _forced(self, now: float) -> bool | None:
        if self.override == "auto":
            return None
        if self.override_until is not None and now >= self.override_until:
            return None
        return self.override == "day"

    def _local_date(self, now: float) -> dt.date:
        return dt.datetime.fromtimestamp(now, self.timezone).date()

    def _instant(self, day: dt.date, minutes: int) -> float:
        """Epoch of local wall time ``minutes`` after midnight of ``day`` (DST: module doc)."""
        day = day + dt.timedelta(days=minutes // (24 * 60))
        minutes %= 24 * 60
        wall = dt.datetime(day.year, day.month, day.day, minutes // 60, minutes % 60,
                           tzinfo=self.timezone)
        return wall.timestamp()

    def _intervals_starting(self, day: dt.date) -> Iterator[tuple[float, float]]:
        if day in self.holidays:
            return
        for r in self.ranges:
            if day.weekday() in r.days:
                end = r.end + (24 * 60 if r.overnight else 0)
                yield self._instant(day, r.start), self._instant(day, end)

    def _scheduled_open(self, now: float) -> bool:
        today = self._local_date(now)
        for day in (today - dt.timedelta(days=1), today):
            for start, end in self._intervals_starting(day):
                if start <= now < end:
                    return True
        return False

    def _edges(self, now: float) -> Iterator[float]:
        """Every instant after ``now`` where the state may change, in order."""
        edges: set[float] = set()
        if self.override != "auto" and self.override_until is not None:
            if self.override_until > now:
                edges.add(self.override_until)
        elif self.override != "auto":
            return  # forced for good: nothing ever changes
        today = self._local_date(now)
        pending: list[float] = sorted(edges)
        for offset in range(-1, HORIZON_DAYS):
            day = today + dt.timedelta(days=offset)
            for start, end in self._intervals_starting(day):
                pending.extend(t for t in (start, end) if t > now)
            # Intervals starting on later days begin after this day's end, so every edge
            # before the next local midnight is final.
            horizon = self._instant(day, 24 * 60)
            pending.sort()
            while pending and pending[0] <= horizon:
                yield pending.pop(0)
        yield from pending


def _parse_holiday(text: object, path: str) -> dt.date | tuple[int, int]:
    if not isinstance(text, str):
        raise TimeConditionError(path, f"holiday {text!r} is not a date")
    yearly = _YEARLY.match(text)
    try:
        if yearly:
            month, day = int(yearly.group(1)), int(yearly.group(2))
            dt.date(2000, month, day)  # a leap year, so 02-29 is allowed
            return month, day
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise TimeConditionError(
            path, f"holiday {text!r} is not a date (YYYY-MM-DD or MM-DD)"
        ) from exc


def weekly(days: Iterable[str], start: str, end: str) -> WeeklyRange:
    """A convenience for code and tests: ``weekly(["mon", "tue"], "09:00", "18:00")``."""
    return WeeklyRange(
        frozenset(DAY_NAMES.index(d) for d in days), parse_hhmm(start), parse_hhmm(end)
    )
