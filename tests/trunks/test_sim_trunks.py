"""SIM-as-trunk accounting with a fake clock: limits, quota disabling and re-enabling at
the period's end, unique recipients, balance, least-cost choice, persistence."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from firmware.store import EventStore
from firmware.trunks import SimLimits, SimTrunks, TrunkRefused

UTC = dt.UTC
START = dt.datetime(2024, 5, 31, 22, 0, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def trunks(tmp_path: Path) -> tuple[SimTrunks, Clock]:
    clock = Clock()
    store = EventStore.open(tmp_path / "events.db", clock=clock)
    t = SimTrunks(store, clock=clock, tz=UTC)
    yield t, clock  # type: ignore[misc]
    store.close()


def test_concurrent_calls_and_call_length_cap(trunks: tuple[SimTrunks, Clock]) -> None:
    t, _ = trunks
    t.add_sim("A", "gsm1", SimLimits(concurrent_calls=1, max_call_seconds=600,
                                     minutes_per_day=5))
    permit = t.start_call("A")
    assert permit.max_seconds == 300  # the day's 5 minutes are shorter than the 600 s cap
    with pytest.raises(TrunkRefused, match="already"):
        t.start_call("A")
    t.end_call("A", 120)
    assert t.start_call("A").max_seconds == 180


def test_minutes_quota_disables_until_the_day_ends(trunks: tuple[SimTrunks, Clock]) -> None:
    t, clock = trunks
    changes: list[tuple[str, bool, str]] = []
    t.on_change(lambda *c: changes.append(c))
    t.add_sim("A", "gsm1", SimLimits(minutes_per_day=2))
    t.start_call("A")
    t.end_call("A", 125)
    assert not t.enabled("A")[0] and changes[0][:2] == ("A", False)
    assert "minutes per day" in changes[0][2]
    with pytest.raises(TrunkRefused, match="disabled"):
        t.start_call("A")
    clock.now += 2 * 3600  # past midnight: a new day
    assert t.tick() == ["A"] and t.enabled("A")[0]
    assert changes[-1] == ("A", True, "new period")


def test_minutes_left_is_the_lesser_allowance_and_zero_once_disabled(
        trunks: tuple[SimTrunks, Clock]) -> None:
    t, clock = trunks
    t.add_sim("A", "gsm1", SimLimits(minutes_per_day=10, minutes_per_month=12))
    t.add_sim("B", "gsm2", SimLimits())
    assert t.minutes_left("A") == 10 and t.minutes_left("B") is None
    t.start_call("A")
    t.end_call("A", 240)                          # 4 minutes today, 4 this month
    assert t.minutes_left("A") == pytest.approx(6)
    clock.now += 2 * 3600                         # a new day (and month: 1 June)
    t.tick()
    assert t.minutes_left("A") == pytest.approx(10)
    t.start_call("A")
    t.end_call("A", 600)                          # the day's 10 minutes spent
    assert not t.enabled("A")[0] and t.minutes_left("A") == 0.0


def test_monthly_sms_and_unique_recipients(trunks: tuple[SimTrunks, Clock]) -> None:
    t, clock = trunks
    t.add_sim("A", "gsm1", SimLimits(recipients_per_day=2, sms_per_month=4))
    t.check_sms("A", "+1")
    t.sms_sent("A", "+1")
    t.sms_sent("A", "+2")
    t.check_sms("A", "+1")  # a known recipient is fine
    with pytest.raises(TrunkRefused, match="recipients"):
        t.check_sms("A", "+3")
    t.sms_sent("A", "+1")
    t.sms_sent("A", "+2")  # the 4th SMS this month: disabled until June
    assert not t.enabled("A")[0]
    clock.now += 1 * 3600  # 23:00 on the 31st: still May
    assert not t.enabled("A")[0]
    clock.now += 2 * 3600  # June
    assert t.enabled("A")[0]
    assert t.stats("A")["month"]["sms"] == 0


def test_least_cost_choice(trunks: tuple[SimTrunks, Clock]) -> None:
    t, _ = trunks
    t.add_sim("MTS", "gsm1", SimLimits(prefixes=("+7916", "+7917"), cost_on_net=0.0,
                                       cost_off_net=2.0))
    t.add_sim("BEE", "gsm2", SimLimits(prefixes=("+7903",), cost_on_net=0.0,
                                       cost_off_net=1.5, minutes_per_month=100))
    assert t.choose("+79161234567") == "MTS"
    assert t.choose("+79031234567") == "BEE"
    assert t.choose("+74951234567") == "BEE"  # cheaper off-net
    t.start_call("BEE")
    assert t.choose("+79031234567") == "MTS"  # BEE is busy
    assert t.choose("+1", candidates=["BEE"]) is None


async def test_balance_by_ussd_is_kept(trunks: tuple[SimTrunks, Clock]) -> None:
    t, _ = trunks
    t.add_sim("A", "gsm1", SimLimits(balance_code="*100#"))

    async def ussd(code: str) -> str:
        assert code == "*100#"
        return "Balance: 12.34"

    assert await t.check_balance("A", ussd) == "Balance: 12.34"
    assert t.stats("A")["balance"] == "Balance: 12.34"


def test_counters_survive_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    with EventStore.open(tmp_path / "e.db", clock=clock) as store:
        t = SimTrunks(store, clock=clock, tz=UTC)
        t.add_sim("A", "gsm1", SimLimits(minutes_per_month=1))
        t.start_call("A")
        t.end_call("A", 90, failed=False)
    with EventStore.open(tmp_path / "e.db", clock=clock) as store:
        t = SimTrunks(store, clock=clock, tz=UTC)
        t.add_sim("A", "gsm2")  # moved to another slot: same SIM, same counters
        assert not t.enabled("A")[0]
        assert t.stats("A")["month"]["minutes"] == 1.5 and t.stats("A")["port"] == "gsm2"
