"""Working hours, the manual day/night override and the inbound blacklist, through calls."""

from __future__ import annotations

from typing import Any

from tests.conftest import wait_for
from tests.integration.test_pbx_features import all_idle, configure, hang_up, rings


def office_hours(doc: dict[str, Any], open_now: bool) -> None:
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    doc["time_conditions"] = [{
        "id": "office", "name": "Office hours",
        "weekly": [{"days": days, "start": "00:00", "end": "23:59"}] if open_now else [],
    }]
    for r in doc["routes"]:
        if r["match"]["trunk"] == "gsm1":
            r["time_condition"] = "office"
            r["night_destination"] = {"type": "extension", "target": "204"}


async def call_rings(box: Any, caller: str, port: str) -> None:
    await box.sim.trunk_call("gsm1", caller)
    await rings(box, port, timeout=8)
    await box.sim.far_hangup("gsm1")
    await all_idle(box)


async def test_schedule_override_and_feature_code(box):
    await configure(box, lambda d: office_hours(d, open_now=False))
    await call_rings(box, "+79161230300", "fxs4")            # closed: the night destination
    assert box.cdrs()[0]["route"].endswith("(closed)")
    await box.day_night("day", author="test")               # manual override: open
    await call_rings(box, "+79161230301", "fxs1")
    assert box.day_night_state()["time_conditions"][0]["override"] == "day"
    # *28 from a phone: overridden → back to the schedule (closed)
    await box.sim.phone_offhook("fxs2")
    await box.sim.phone_press("fxs2", "*28")
    await wait_for(lambda: box.day_night_state()["time_conditions"][0]["override"] == "auto",
                   5, what="*28 to clear the override")
    await hang_up(box, "fxs2")
    await call_rings(box, "+79161230302", "fxs4")
    revisions = box.config_revisions()
    assert revisions[0]["author"] == "ext 202"               # who changed it, in the history


async def test_open_schedule_goes_to_the_day_destination(box):
    await configure(box, lambda d: office_hours(d, open_now=True))
    await call_rings(box, "+79161230303", "fxs1")


async def test_blacklisted_caller_is_rejected(box):
    await configure(box, lambda d: d.update(blacklist=[{"number": "+79161239999"},
                                                       {"number": "+7495*"}]))
    for caller in ("+79161239999", "84951234567"):
        await box.sim.trunk_call("gsm1", caller)
        rec = await wait_for(lambda c=caller: [r for r in box.cdrs() if r["caller"] == c], 5,
                             what=f"{caller} rejected")
        assert rec[0]["disposition"] == "rejected"
        assert box.channels["fxs1"].state.value == "idle"
        await all_idle(box)
    await call_rings(box, "+79161230304", "fxs1")            # others still get through
