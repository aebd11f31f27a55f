"""SimTrunkPolicy: least-cost order among SIMs, leaving out a disabled SIM, permits and
their caps, accounting, re-enabling at the period's end (injected clock); and the SIM
limits read from the configuration."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from firmware.store import EventStore
from firmware.trunks import SimLimits, SimTrunkPolicy, SimTrunks, limits_from_document
from firmware.trunks.policy import UNACCOUNTED

SIMS = {"gsm1": "8970100000000000001", "gsm2": "8970100000000000002"}
START = dt.datetime(2024, 5, 17, 10, 0, tzinfo=dt.UTC).timestamp()


@pytest.fixture
def clock() -> list[float]:
    return [START]


@pytest.fixture
def policy(tmp_path: Path, clock: list[float]) -> SimTrunkPolicy:
    store = EventStore.open(tmp_path / "events.sqlite")
    trunks = SimTrunks(store, clock=lambda: clock[0], tz=dt.UTC)
    p = SimTrunkPolicy(trunks, SIMS.get)
    p.configure({"gsm1": SimLimits(minutes_per_day=10, prefixes=("+7903",), cost_on_net=0.1),
                 "gsm2": SimLimits(prefixes=("+7916",), cost_on_net=0.1,
                                   max_call_seconds=600)})
    return p


def test_order_by_operator_prefix_keeps_other_ports_in_place(policy: SimTrunkPolicy) -> None:
    assert policy.order(["fxo1", "gsm1", "gsm2"], "+79161234567") == ["fxo1", "gsm2", "gsm1"]
    assert policy.order(["gsm1", "fxo1", "gsm2"], "+79031234567") == ["gsm1", "fxo1", "gsm2"]
    assert policy.permit("fxo1", "+7") is UNACCOUNTED


def test_permit_caps_and_quota_disables_then_period_end_enables(policy: SimTrunkPolicy,
                                                               clock: list[float]) -> None:
    changes: list[tuple[str, bool]] = []
    policy.trunks.on_change(lambda iccid, enabled, why: changes.append((iccid, enabled)))
    permit = policy.permit("gsm1", "+79031234567")
    assert permit is not None and permit.max_seconds == 600.0  # 10 minutes left today
    assert policy.permit("gsm1", "+79031234567") is None      # one call at a time
    policy.finished("gsm1", permit, 599.9, failed=False)      # cut at the cap: all spent
    assert changes == [(SIMS["gsm1"], False)]
    assert policy.order(["gsm1", "gsm2"], "+79031234567") == ["gsm2"]
    assert policy.permit("gsm1", "+79031234567") is None
    p2 = policy.permit("gsm2", "+79031234567")
    assert p2 is not None and p2.max_seconds == 600.0          # its max call length
    policy.finished("gsm2", p2, 0.0, failed=True)
    assert policy.trunks.stats(SIMS["gsm2"])["today"]["failed"] == 1
    clock[0] = START + 14 * 3600                                # midnight passed
    assert policy.trunks.tick() == [SIMS["gsm1"]]
    assert changes[-1] == (SIMS["gsm1"], True)
    assert policy.order(["gsm1", "gsm2"], "+79031234567") == ["gsm1", "gsm2"]


def test_unidentified_module_is_not_accounted(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path / "e.sqlite")
    p = SimTrunkPolicy(SimTrunks(store), lambda port: None)
    p.configure({"gsm1": SimLimits()})
    assert p.order(["gsm1"], "+7") == ["gsm1"]
    assert p.permit("gsm1", "+7") is UNACCOUNTED


def test_limits_from_document() -> None:
    doc = {"trunks": [
        {"id": "gsm1", "port": "gsm1", "enabled": True, "max_concurrent": 1,
         "sim": {"minutes_per_day": 30, "sms_per_month": 100.0, "max_call_s": 900,
                 "prefixes": ["+7916"], "cost_on_net": 0.5, "balance_code": "*100#"}},
        {"id": "gsm2", "port": "gsm2", "enabled": True, "max_concurrent": 1},
        {"id": "gsm3", "port": "gsm3", "enabled": False, "max_concurrent": 1},
        {"id": "fxo1", "port": "fxo1", "enabled": True, "max_concurrent": 1}]}
    limits = limits_from_document(doc)
    assert set(limits) == {"gsm1", "gsm2"}
    assert limits["gsm1"] == SimLimits(minutes_per_day=30.0, sms_per_month=100,
                                       max_call_seconds=900.0, prefixes=("+7916",),
                                       cost_on_net=0.5, balance_code="*100#")
    assert limits["gsm2"] == SimLimits()
