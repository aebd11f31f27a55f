"""Working hours: weekly ranges, overnight ranges, holidays, overrides, and DST changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from firmware.timeconditions import TimeCondition, TimeConditionError

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = {
    "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00"}],
    "holidays": ["2025-05-01", "12-25"],
}


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
       tz: ZoneInfo = BERLIN, fold: int = 0) -> float:
    return dt.datetime(year, month, day, hour, minute, tzinfo=tz, fold=fold).timestamp()


def local(ts: float, tz: ZoneInfo = BERLIN) -> str:
    return dt.datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M %Z")


@pytest.fixture
def office() -> TimeCondition:
    return TimeCondition.from_config(OFFICE, "Europe/Berlin")


def test_weekday_hours(office: TimeCondition) -> None:
    assert not office.is_open(at(2025, 3, 3, 8, 59))   # Monday
    assert office.is_open(at(2025, 3, 3, 9, 0))        # start is inclusive
    assert office.is_open(at(2025, 3, 3, 17, 59))
    assert not office.is_open(at(2025, 3, 3, 18, 0))   # end is exclusive
    assert not office.is_open(at(2025, 3, 8, 12))      # Saturday


def test_next_open_over_the_weekend(office: TimeCondition) -> None:
    friday_evening = at(2025, 3, 7, 18, 30)
    assert local(office.next_open(friday_evening) or 0) == "2025-03-10 09:00 CET"
    noon = at(2025, 3, 4, 12)
    assert office.next_open(noon) == noon
    assert local(office.next_change(noon) or 0) == "2025-03-04 18:00 CET"


def test_holidays_exact_and_yearly(office: TimeCondition) -> None:
    assert not office.is_open(at(2025, 5, 1, 12))       # Thursday, Labour Day
    assert office.is_open(at(2025, 5, 2, 12))
    assert not office.is_open(at(2026, 12, 25, 12))     # yearly, a Friday
    eve = at(2025, 4, 30, 19)
    assert local(office.next_open(eve) or 0) == "2025-05-02 09:00 CEST"


def test_office_day_is_nine_hours_across_both_dst_changes(office: TimeCondition) -> None:
    # Europe/Berlin: CET -> CEST on Sunday 2025-03-30, back on Sunday 2025-10-26.
    for friday, monday in ((at(2025, 3, 28, 20), "2025-03-31"), (at(2025, 10, 24, 20),
                                                                   "2025-10-27")):
        opens = office.next_open(friday)
        assert opens is not None and local(opens).startswith(monday + " 09:00")
        closes = office.next_change(opens)
        assert closes is not None and closes - opens == 9 * 3600


def test_range_over_the_spring_gap_is_an_hour_shorter() -> None:
    # Sunday night shift 01:00-05:00: the clock jumps 02:00 -> 03:00 on 2025-03-30.
    tc = TimeCondition.from_config(
        {"weekly": [{"days": ["sun"], "start": "01:00", "end": "05:00"}]}, "Europe/Berlin")
    opens = tc.next_open(at(2025, 3, 29, 12))
    assert opens is not None and local(opens) == "2025-03-30 01:00 CET"
    closes = tc.next_change(opens)
    assert closes is not None and closes - opens == 3 * 3600


def test_start_inside_the_spring_gap_opens_after_it() -> None:
    tc = TimeCondition.from_config(
        {"weekly": [{"days": ["sun"], "start": "02:30", "end": "06:00"}]}, "Europe/Berlin")
    opens = tc.next_open(at(2025, 3, 29, 12))
    assert opens is not None and local(opens) == "2025-03-30 03:30 CEST"
    assert not tc.is_open(at(2025, 3, 30, 1, 59))


def test_range_over_the_autumn_fold_is_an_hour_longer() -> None:
    tc = TimeCondition.from_config(
        {"weekly": [{"days": ["sun"], "start": "01:00", "end": "05:00"}]}, "Europe/Berlin")
    opens = tc.next_open(at(2025, 10, 25, 12))
    assert opens is not None
    closes = tc.next_change(opens)
    assert closes is not None and closes - opens == 5 * 3600
    # both 02:30s (summer time, then winter time) are inside
    assert tc.is_open(at(2025, 10, 26, 2, 30, fold=0))
    assert tc.is_open(at(2025, 10, 26, 2, 30, fold=1))


def test_overnight_range_and_holiday_on_its_start_day() -> None:
    tc = TimeCondition.from_config(
        {"weekly": [{"days": ["fri"], "start": "22:00", "end": "06:00"}],
         "holidays": ["2025-03-14"]}, "UTC")
    utc = ZoneInfo("UTC")
    assert tc.is_open(at(2025, 3, 7, 23, tz=utc))
    assert tc.is_open(at(2025, 3, 8, 5, 59, tz=utc))     # Saturday morning, same shift
    assert not tc.is_open(at(2025, 3, 8, 6, tz=utc))
    assert not tc.is_open(at(2025, 3, 14, 23, tz=utc))   # the holiday cancels that shift
    assert tc.is_open(at(2025, 3, 21, 23, tz=utc))


def test_manual_override(office: TimeCondition) -> None:
    noon = at(2025, 3, 4, 12)
    night = office.with_override("night")
    assert not night.is_open(noon)
    assert night.next_open(noon) is None              # forced for good
    until = at(2025, 3, 4, 14)
    brief = office.with_override("night", until=until)
    assert not brief.is_open(noon)
    assert brief.next_open(noon) == until             # back to the schedule at 14:00
    assert office.with_override("day").is_open(at(2025, 3, 8, 3))  # Saturday, forced day


def test_always_and_empty_schedule() -> None:
    assert TimeCondition.always().is_open(0.0)
    never = TimeCondition.from_config({"weekly": []}, "UTC")
    assert not never.is_open(0.0)
    assert never.next_open(0.0) is None


@pytest.mark.parametrize(
    ("doc", "path", "message"),
    [
        ({"weekly": [{"days": ["mon"], "start": "9:00", "end": "18:00"}]},
         "weekly[0].start", "is not HH:MM"),
        ({"weekly": [{"days": ["mon"], "start": "09:00", "end": "25:00"}]},
         "weekly[0].end", "is not HH:MM"),
        ({"weekly": [{"days": ["mon"], "start": "09:00", "end": "09:00"}]},
         "weekly[0].end", "must not be empty"),
        ({"weekly": [{"days": ["funday"], "start": "09:00", "end": "10:00"}]},
         "weekly[0].days[0]", "unknown day"),
        ({"weekly": [{"days": [], "start": "09:00", "end": "10:00"}]},
         "weekly[0].days", "no days"),
        ({"holidays": ["2025-02-30"]}, "holidays[0]", "is not a date"),
        ({"holidays": ["13-01"]}, "holidays[0]", "is not a date"),
        ({"override": "maybe"}, "override", "must be one of"),
    ],
)
def test_bad_schedules_name_the_setting(doc: dict[str, object], path: str, message: str) -> None:
    with pytest.raises(TimeConditionError, match=message) as info:
        TimeCondition.from_config(doc, "UTC")
    assert info.value.path == path


def test_unknown_timezone() -> None:
    with pytest.raises(TimeConditionError, match="unknown time zone"):
        TimeCondition.from_config({}, "Mars/Olympus")
