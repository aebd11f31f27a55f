"""Callback policies live on the simulated board: working hours, the de-duplication window,
the per-number daily limit with the retry policy, the blacklist, the most advantageous
trunk, and each job's outcome as the store and the web API show it.

The rig is test_callbacks.py's: a customer calls in on a SimModem's far end and nobody
answers (a missed call); the box's dial-back is the module's ATD; the customer answers
with ``far_answer``, is busy or does not answer through the simulated module; Ann is the
phone on fxs1 (ext 201). The office is closed by a schedule that opens two hours from now,
and opens by the box's own day/night switch (``Box.day_night``), so nobody sleeps for it.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import wait_for
from tests.integration.test_callbacks import (
    CUSTOMER,
    callback_policy,
    connect_to_ann,
    dialled_back,
    job_state,
)
from tests.integration.test_pbx_features import all_idle, configure, hang_up, rings, trunk
from tests.integration.test_skeleton import get, signed_in

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
NO_ANSWER_RETRIES = {"max_attempts": 5, "no_answer": [1, 2], "busy": [1], "failed": [1],
                     "interrupted": [1]}


def opening_later(timezone: str, ahead: dt.timedelta = dt.timedelta(hours=2)
                  ) -> tuple[dict[str, Any], float]:
    """A working-hours condition closed now that opens on the first whole minute at least
    ``ahead`` from now (every day, for an hour), and the instant it opens."""
    earliest = dt.datetime.now(ZoneInfo(timezone)) + ahead
    start = earliest.replace(second=0, microsecond=0)
    if start < earliest:
        start += dt.timedelta(minutes=1)
    end = start + dt.timedelta(hours=1)
    end_text = "24:00" if end.date() != start.date() else f"{end:%H:%M}"
    condition = {"id": "open", "weekly": [{"days": ALL_DAYS, "start": f"{start:%H:%M}",
                                           "end": end_text}]}
    return condition, start.timestamp()


async def office_closed(box: Any, ahead: dt.timedelta = dt.timedelta(hours=2),
                        **extra: Any) -> float:
    """The callback policy with the office closed now; returns when its schedule opens."""
    condition, opening = opening_later(box.config_current()["system"]["timezone"], ahead)
    await configure(box, lambda d: (callback_policy(d, **extra),
                                    d.update(time_conditions=[condition])))
    return opening


async def missed_call(box: Any, caller: str = CUSTOMER, port: str = "gsm1") -> None:
    """``caller`` rings Ann and hangs up before she answers; returns once it is recorded
    (the record is what turns into a callback)."""
    known = len(box.cdrs())
    await box.sim.trunk_call(port, caller)
    await rings(box, "fxs1")
    await box.sim.far_hangup(port)
    await wait_for(lambda: len(box.cdrs()) > known, 5, what=f"the record of {caller}'s call")


def job_of(box: Any, number: str) -> dict[str, Any]:
    """The newest job for ``number``."""
    jobs = [j for j in box.callback_jobs() if j["number"] == number]
    assert jobs, f"no callback job for {number}"
    return dict(max(jobs, key=lambda j: j["created_ts"]))


async def dial_back_connects(box: Any, job_id: str, port: str = "gsm1",
                             number: str = CUSTOMER) -> None:
    """The box dials ``number`` on ``port``, the customer answers, Ann talks to them and
    hangs up: the job is connected and every channel idle."""
    await dialled_back(box, port, number)
    await connect_to_ann(box, port)
    await wait_for(lambda: job_state(box, job_id) == "connected", 5, what="connected")
    await hang_up(box, "fxs1")
    await all_idle(box)


def callback_cdrs(box: Any) -> list[dict[str, Any]]:
    return [c for c in box.cdrs() if c["route"] == "callback"]


def next_local_midnight(ts: float, timezone: str) -> float:
    tz = ZoneInfo(timezone)
    day = dt.datetime.fromtimestamp(ts, tz).date() + dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


# -- 1. working hours ------------------------------------------------------------------------
async def test_a_call_missed_at_night_is_dialled_back_when_the_office_opens(box):
    opening = await office_closed(box)
    await missed_call(box)
    await all_idle(box)
    [job] = box.callback_jobs()
    assert job["source"] == "missed" and job["state"] == "pending" and job["attempts"] == 0
    assert job["due_ts"] == pytest.approx(opening, abs=1)    # not before the office opens
    assert trunk(box, "gsm1")["call_state"] == "idle" and callback_cdrs(box) == []
    opened_at = time.time()
    await box.day_night("day", author="test")                # the office opens
    await dial_back_connects(box, job["id"])
    done = box.callback_job(job["id"])
    assert done["attempts"] == 1 and done["due_ts"] is None
    assert done["attempts_log"][0]["started_ts"] >= opened_at
    assert len(callback_cdrs(box)) == 1


async def test_the_schedule_opening_by_itself_dials_the_night_miss_not_before(box):
    # The schedule opens on the next whole minute at least 10 s away (under 70 s).
    opening = await office_closed(box, ahead=dt.timedelta(seconds=10))
    await missed_call(box)
    await all_idle(box)
    job = job_of(box, CUSTOMER)
    assert job["state"] == "pending" and job["due_ts"] == pytest.approx(opening, abs=1)
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "alerting",
                   opening - time.time() + 10, what="the dial-back when the office opens")
    assert time.time() >= opening and trunk(box, "gsm1")["dialed"] == CUSTOMER
    await connect_to_ann(box)
    await wait_for(lambda: job_state(box, job["id"]) == "connected", 5, what="connected")
    await hang_up(box, "fxs1")
    await all_idle(box)
    assert box.callback_job(job["id"])["attempts_log"][0]["started_ts"] >= opening


# -- 2. de-duplication window -----------------------------------------------------------------
DEDUP_WINDOW_S = 20.0


async def test_two_misses_in_the_window_make_one_job_and_one_dial_a_later_one_a_new_job(box):
    await office_closed(box, dedup_window_s=DEDUP_WINDOW_S)
    await missed_call(box)
    await missed_call(box)                 # the same number again, before the office opens
    await all_idle(box)
    [job] = box.callback_jobs()
    assert job["merged"] == 1 and job["state"] == "pending"
    await box.day_night("day", author="test")
    await dial_back_connects(box, job["id"])
    # A third miss inside the window of a job that reached the customer: no new job.
    await missed_call(box)
    assert time.time() < job["created_ts"] + DEDUP_WINDOW_S, "too slow for the window"
    await all_idle(box)
    assert [j["id"] for j in box.callback_jobs()] == [job["id"]]
    assert box.callback_job(job["id"])["merged"] == 2
    assert box.callback_jobs(open_only=True) == [] and len(callback_cdrs(box)) == 1
    # After the window a miss is news: a new job, dialled back.
    await wait_for(lambda: time.time() > job["created_ts"] + DEDUP_WINDOW_S + 0.5,
                   DEDUP_WINDOW_S + 5, what="the de-duplication window to pass")
    await missed_call(box)
    fresh = job_of(box, CUSTOMER)
    assert fresh["id"] != job["id"] and fresh["source"] == "missed"
    await dial_back_connects(box, fresh["id"])
    assert len(box.callback_jobs()) == 2 and len(callback_cdrs(box)) == 2


# -- 3. per-number daily limit and the retry policy -----------------------------------------
async def nobody_answers(box: Any, job_id: str, attempt: int) -> None:
    """The ``attempt``-th dial of the job reaches the module; the network reports NO ANSWER."""
    await wait_for(lambda: box.callback_job(job_id)["attempts"] == attempt
                   and trunk(box, "gsm1")["call_state"] == "alerting", 10,
                   what=f"dial {attempt}")
    assert trunk(box, "gsm1")["dialed"] == CUSTOMER
    box.board.gsm["gsm1"].modem.far_no_answer()
    await wait_for(lambda: job_state(box, job_id) != "dialing", 5,
                   what=f"the outcome of dial {attempt}")


async def test_a_number_is_dialled_at_most_the_daily_limit_then_waits_for_tomorrow(box):
    await configure(box, lambda d: callback_policy(d, daily_limit=2, retry=NO_ANSWER_RETRIES))
    await missed_call(box)
    job_id = job_of(box, CUSTOMER)["id"]
    await nobody_answers(box, job_id, 1)
    await nobody_answers(box, job_id, 2)
    await all_idle(box)
    job = box.callback_job(job_id)
    first, second = job["attempts_log"]
    assert job["state"] == "retry_wait" and job["last_outcome"] == "no_answer"
    assert first["outcome"] == second["outcome"] == "no_answer"
    assert second["started_ts"] - first["ended_ts"] >= 1.0 - 1e-6   # the 1st interval
    assert second["started_ts"] - first["ended_ts"] < 6              # ...and not much more
    assert job["next_ts"] == pytest.approx(second["ended_ts"] + 2.0, abs=1e-3)  # the 2nd
    tz = box.config_current()["system"]["timezone"]
    assert job["due_ts"] == pytest.approx(next_local_midnight(second["started_ts"], tz))
    # The retry policy's time passes: the limit holds, no third dial today.
    await wait_for(lambda: time.time() > job["next_ts"] + 1.5, 10,
                   what="the retry interval to pass")
    assert trunk(box, "gsm1")["call_state"] == "idle"
    again = box.callback_job(job_id)
    assert again["attempts"] == 2 and again["state"] == "retry_wait"
    assert len(callback_cdrs(box)) == 2
    await all_idle(box)


# -- 4. blacklist --------------------------------------------------------------------------------
async def test_blacklisted_numbers_are_never_called_back(box):
    await office_closed(box)
    await configure(box, lambda d: d["blacklist"].append({"number": "+7915*"}))
    for caller in ("+79169999999", "+79151112233"):        # a number, and a prefix
        known = len(box.cdrs())
        await box.sim.trunk_call("gsm1", caller)
        rec = await wait_for(lambda k=known: len(box.cdrs()) > k and box.cdrs()[0], 5,
                             what=f"{caller}'s call")
        assert rec["caller"] == caller and rec["disposition"] == "rejected"
        await all_idle(box)
    assert box.callback_jobs() == []
    # A job made before its number was blacklisted is not dialled when the office opens.
    await missed_call(box)
    job_id = job_of(box, CUSTOMER)["id"]
    assert box.callback_job(job_id)["due_ts"] is not None
    await configure(box, lambda d: d["blacklist"].append({"number": CUSTOMER}))
    assert box.callback_job(job_id)["due_ts"] is None          # it will not be dialled
    await box.day_night("day", author="test")
    await wait_for(lambda: job_state(box, job_id) == "failed", 5, what="the job refused")
    job = box.callback_job(job_id)
    assert job["reason"] == "blacklisted" and job["attempts"] == 0
    await all_idle(box)
    assert callback_cdrs(box) == []


# -- 5. the most advantageous trunk ------------------------------------------------------------
OTHER_NET = "+79031234567"      # gsm1's operator


def two_sims(doc: dict[str, Any], **extra: Any) -> None:
    """gsm1 is an MTS SIM (+7903), gsm2 a MegaFon one (+7916); no fixed line is in use."""
    callback_policy(doc, trunks=[{"trunk": "gsm1", "prefixes": ["+7903"]},
                                 {"trunk": "gsm2", "prefixes": ["+7916"]}], **extra)
    for entry in doc["trunks"]:
        if not entry["port"].startswith("gsm"):
            entry["enabled"] = False


def gsm2(doc: dict[str, Any], **changes: Any) -> None:
    next(t for t in doc["trunks"] if t["id"] == "gsm2").update(changes)


async def test_the_callback_goes_out_on_the_sim_of_the_numbers_operator(box):
    await configure(box, two_sims)
    await missed_call(box, CUSTOMER, "gsm1")            # came in on gsm1; +7916 is gsm2's
    job = job_of(box, CUSTOMER)
    await dial_back_connects(box, job["id"], "gsm2", CUSTOMER)
    attempt = box.callback_job(job["id"])["attempts_log"][0]
    assert attempt["trunk"] == "gsm2" and attempt["trunks"] == ["gsm2", "gsm1"]
    await missed_call(box, OTHER_NET, "gsm2")           # came in on gsm2; +7903 is gsm1's
    other = job_of(box, OTHER_NET)
    await dial_back_connects(box, other["id"], "gsm1", OTHER_NET)
    assert box.callback_job(other["id"])["attempts_log"][0]["trunk"] == "gsm1"


async def test_the_callback_falls_back_when_the_operators_sim_has_no_minutes_left(box):
    await configure(box, lambda d: (two_sims(d), gsm2(d, sim={"minutes_per_day": 0.025}),
                                    d.update(outbound=[{"name": "mobile", "pattern": "^8\\d{10}$",
                                                        "trunks": ["gsm2"], "strip": 1,
                                                        "prepend": "+7"}])))
    # Ext 202 spends gsm2's 1.5 minutes-a-day allowance: the call is cut at the quota.
    await box.sim.phone_offhook("fxs2")
    await box.sim.phone_press("fxs2", "89161110000")
    await wait_for(lambda: trunk(box, "gsm2")["call_state"] == "alerting", 8,
                   what="ext 202's call on gsm2")
    await box.sim.far_answer("gsm2")
    await wait_for(lambda: trunk(box, "gsm2")["call_state"] == "idle", 8,
                   what="the call cut at gsm2's quota")
    await hang_up(box, "fxs2")
    await all_idle(box)
    await wait_for(lambda: any(a["message"] == "SIM disabled" and a["port"] == "gsm2"
                               for a in box.engine.alerts), 5, what="gsm2 disabled")
    await missed_call(box, CUSTOMER, "gsm1")
    job = job_of(box, CUSTOMER)
    await dial_back_connects(box, job["id"], "gsm1", CUSTOMER)   # off-net, but it goes out
    attempt = box.callback_job(job["id"])["attempts_log"][0]
    assert attempt["trunk"] == "gsm1" and attempt["trunks"] == ["gsm1"]   # gsm2 not a candidate
    assert trunk(box, "gsm2")["call_state"] == "idle"


async def test_the_callback_falls_back_when_the_operators_sim_is_disabled(box):
    await configure(box, lambda d: (two_sims(d), gsm2(d, enabled=False)))
    await missed_call(box, CUSTOMER, "gsm1")
    job = job_of(box, CUSTOMER)
    await dial_back_connects(box, job["id"], "gsm1", CUSTOMER)
    attempt = box.callback_job(job["id"])["attempts_log"][0]
    assert attempt["trunk"] == "gsm1" and attempt["trunks"] == ["gsm1"]


# -- 6. outcomes ---------------------------------------------------------------------------------
async def test_each_jobs_outcome_is_recorded_in_the_store_and_the_api(aiohttp_client, box,
                                                                      tmp_path):
    await configure(box, lambda d: callback_policy(d, retry={"max_attempts": 1}))
    client, _ = await signed_in(aiohttp_client, box, tmp_path)
    answers, busy, silent = "+79161110001", "+79161110002", "+79161110003"

    await missed_call(box, answers)
    await dial_back_connects(box, job_of(box, answers)["id"], "gsm1", answers)

    await missed_call(box, busy)
    await dialled_back(box, "gsm1", busy)
    box.board.gsm["gsm1"].modem.far_busy()                  # the customer is on another call
    await wait_for(lambda: job_of(box, busy)["state"] == "failed", 5, what="busy recorded")
    await all_idle(box)

    await missed_call(box, silent)
    await dialled_back(box, "gsm1", silent)                  # rings past the box's 5 s timeout
    await wait_for(lambda: job_of(box, silent)["state"] == "failed", 12,
                   what="no answer recorded")
    await all_idle(box)

    listed = await get(client, "/api/v1/callbacks")
    api = {j["number"]: j for j in (listed if isinstance(listed, list) else listed["jobs"])}
    for number, outcome, state in ((answers, "connected", "connected"),
                                   (busy, "busy", "failed"), (silent, "no_answer", "failed")):
        stored = box.store.callback_job(api[number]["id"])
        [attempt] = box.store.callback_attempts(stored.id)
        assert api[number]["last_outcome"] == stored.last_outcome == attempt.outcome == outcome
        assert api[number]["state"] == stored.state == state
        assert (attempt.answered_ts is not None) == (outcome == "connected")
        if state == "failed":                     # one attempt allowed: none is retried
            assert stored.reason == f"no attempts left after {outcome}"
    assert "Q.850 cause 17" in box.store.callback_attempts(api[busy]["id"])[0].detail
    assert "Q.850 cause 19" in box.store.callback_attempts(api[silent]["id"])[0].detail


async def test_of_two_sims_of_the_numbers_operator_the_one_with_more_minutes_left_dials(box):
    """Both SIMs serve +7916; gsm1 comes first in the configuration, but gsm2 has more of
    its daily allowance left, so the callback goes out on gsm2."""
    def setup(doc: dict[str, Any]) -> None:
        callback_policy(doc, trunks=[{"trunk": "gsm1", "prefixes": ["+7916"]},
                                     {"trunk": "gsm2", "prefixes": ["+7916"]}])
        for entry in doc["trunks"]:
            if not entry["port"].startswith("gsm"):
                entry["enabled"] = False
        next(t for t in doc["trunks"] if t["id"] == "gsm1")["sim"] = {"minutes_per_day": 100}
        gsm2(doc, sim={"minutes_per_day": 500})
    await configure(box, setup)
    await missed_call(box, CUSTOMER, "gsm1")
    job = job_of(box, CUSTOMER)
    await dial_back_connects(box, job["id"], "gsm2", CUSTOMER)
    attempt = box.callback_job(job["id"])["attempts_log"][0]
    assert attempt["trunk"] == "gsm2" and attempt["trunks"] == ["gsm2", "gsm1"]
