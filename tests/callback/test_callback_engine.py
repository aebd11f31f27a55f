"""The callback engine on a fake clock: every source, retries, hours, dedup, limits, KPIs."""

from __future__ import annotations

import pytest
from cbrig import MONDAY_10, Rig, at, dials, make_rig, office_document

from firmware.callback import (
    CallbackRequestError,
    CancelDial,
    ConfigTrunkAdvisor,
    DialCallback,
    EnqueueCallback,
    ReleasePlace,
    callback_kpis,
)

NUMBER = "+79161234567"


def only_dial(commands: list[object]) -> DialCallback:
    found = [c for c in commands if isinstance(c, DialCallback)]
    assert len(found) == 1, commands
    return found[0]


# --- sources -------------------------------------------------------------------------------


def test_missed_call_is_called_back_over_the_matching_sim(rig: Rig) -> None:
    submitted = rig.engine.missed_call("8 916 123-45-67", rig.now, call_id="c1")
    assert submitted.result == "created" and submitted.job is not None
    out = rig.tick()
    # a place in the queue first; the ACD (the rig) reserves agent 101 for it at once
    assert out[0] == EnqueueCallback(submitted.job.id, "sales", NUMBER, 0, rig.now, "",
                                rig.now)
    dial = only_dial(out)
    assert dial.number == NUMBER and dial.national == "89161234567"
    assert dial.target_type == "queue" and dial.target == "sales"
    assert dial.order == "customer_first" and dial.agent == "201"
    assert [c.trunk for c in dial.trunks] == ["gsm1", "fxo1", "e1", "gsm2"]
    assert "operator" in dial.trunks[0].reason
    assert rig.store.callback_job(dial.job_id).state == "dialing"  # type: ignore[union-attr]
    rig.report(dial, "answered", after=12, trunk="gsm1")
    rig.report(dial, "connected", after=20, agent="201")
    job = rig.store.callback_job(dial.job_id)
    assert job is not None and job.state == "connected"
    assert job.answered_ts == MONDAY_10 + 12 and job.connected_ts == MONDAY_10 + 32
    [attempt] = rig.store.callback_attempts(job.id)
    assert (attempt.outcome, attempt.trunk, attempt.agent) == ("connected", "gsm1", "201")


def test_abandoned_in_queue_skips_short_abandons(rig: Rig) -> None:
    short = rig.engine.abandoned_in_queue(NUMBER, "support", rig.now - 3, rig.now)
    assert short.result == "ignored" and "short abandon" in short.reason
    long = rig.engine.abandoned_in_queue(NUMBER, "support", rig.now - 40, rig.now)
    assert long.result == "created" and long.job is not None
    assert long.job.source == "abandoned" and long.job.target == "support"
    assert only_dial(rig.tick()).target == "support"


def test_sources_can_be_switched_off_and_anonymous_callers_are_ignored() -> None:
    rig = make_rig(office_document(missed={"enabled": False}))
    assert rig.engine.missed_call(NUMBER, rig.now).result == "ignored"
    rig = make_rig()
    for anonymous in (None, "", "anonymous", "112"):
        result = rig.engine.missed_call(anonymous, rig.now)
        assert result.result == "ignored" and "no number" in result.reason
    assert rig.tick() == []


def test_callback_in_queue_keeps_the_place_and_dials_with_the_reserved_agent(rig: Rig) -> None:
    rig.acd_agent = None                            # the queue is busy: the place waits
    entered = rig.now - 95
    submitted = rig.engine.offer_in_queue("89161234567", "sales", entered, rig.now, priority=2,
                                          call_id="call-7")
    job = submitted.job
    assert job is not None and job.source == "queue" and job.place_ts == entered
    [enqueue] = rig.tick()
    # the place is the key press's call's place in the ACD (same caller id)
    assert enqueue == EnqueueCallback(job.id, "sales", NUMBER, 2, entered, "call-7", rig.now)
    assert enqueue.caller == "call-7"
    assert rig.tick(rig.now + 10) == []            # the ACD holds it; nothing to resend
    rig.now += 50
    rig.engine.turn_reached(job.id, "201", rig.now)
    dial = only_dial(rig.take())
    assert (dial.agent, dial.target, dial.order) == ("201", "sales", "customer_first")
    # busy: the place is released (agent freed) and offered again after the interval
    assert rig.report(dial, "busy", after=5) == [ReleasePlace(job.id, "sales", "retry")]
    assert rig.tick(rig.now + 119) == []
    assert rig.tick(rig.now + 1) == [EnqueueCallback(job.id, "sales", NUMBER, 2, entered,
                                                     "call-7", MONDAY_10)]
    rig.engine.turn_reached(job.id, "202", rig.now)
    dial = only_dial(rig.take())
    assert dial.attempt == 2 and dial.agent == "202"
    assert rig.report(dial, "connected", after=9) == [ReleasePlace(job.id, "sales", "connected")]


def test_callback_in_queue_is_not_gated_by_working_hours(rig: Rig) -> None:
    rig.now = at(2025, 3, 3, 19)  # after hours, but the queue is still taking calls
    rig.acd_agent = None
    job = rig.engine.offer_in_queue(NUMBER, "sales", rig.now - 10, rig.now).job
    assert job is not None
    assert isinstance(rig.tick()[0], EnqueueCallback)


def test_agent_first_goes_through_the_acd() -> None:
    rig = make_rig(office_document(mode="agent_first"))
    rig.acd_agent = None
    job = rig.engine.missed_call(NUMBER, rig.now).job
    assert job is not None and job.mode == "agent_first" and job.place_ts == rig.now
    [enqueue] = rig.tick()
    assert isinstance(enqueue, EnqueueCallback)
    rig.engine.turn_reached(job.id, "201", rig.now)
    dial = only_dial(rig.take())
    assert dial.order == "agent_first" and dial.agent == "201"
    assert rig.report(dial, "agent_unavailable", after=30) == [
        ReleasePlace(job.id, "sales", "retry")]


def test_turn_for_a_job_that_cannot_be_dialled_releases_the_place(rig: Rig) -> None:
    rig.acd_agent = None
    rig.engine.turn_reached("cb-nope", "201", rig.now)
    assert rig.take() == [ReleasePlace("cb-nope", "", "not_dialable")]
    job = rig.engine.offer_in_queue(NUMBER, "sales", rig.now, rig.now).job
    assert job is not None
    rig.tick()
    rig.engine.cancel(job.id, rig.now)
    assert rig.take() == [ReleasePlace(job.id, "sales", "cancelled")]
    rig.engine.turn_reached(job.id, "201", rig.now)
    assert rig.take() == [ReleasePlace(job.id, "sales", "not_dialable")]


def test_reject_and_call_back_dials_at_once_even_at_night(rig: Rig) -> None:
    rig.now = at(2025, 3, 8, 23)  # Saturday night
    submitted = rig.engine.reject_and_call_back("8 916 1234567", "ring_group", "all", rig.now)
    assert submitted.result == "created"
    dial = only_dial(rig.tick())
    assert (dial.target_type, dial.target, dial.order) == ("ring_group", "all", "customer_first")


def test_web_request_honours_its_window_and_working_hours(rig: Rig) -> None:
    start, end = at(2025, 3, 3, 14), at(2025, 3, 3, 14, 12)
    result = rig.service.request("+7 903 555 12 12", "support", (start, end), "web")
    assert result["result"] == "created"
    assert rig.next_commands(start - 1) == []
    dial = only_dial(rig.next_commands(end))
    assert rig.now == start and dial.trunks[0].trunk == "gsm2"
    rig.report(dial, "no_answer", after=30)        # next try in 600 s, still in the window
    dial = only_dial(rig.next_commands(end))
    assert dial.attempt == 2 and rig.now == start + 630
    rig.report(dial, "busy", after=30)             # next in 120 s: after the window
    assert rig.next_commands(end + 3600) == []
    job = rig.store.callback_job(dial.job_id)
    assert job is not None and job.state == "failed" and job.reason == "window_expired"


def test_a_window_that_ends_before_the_office_opens_fails_the_job(rig: Rig) -> None:
    rig.now = at(2025, 3, 3, 7)
    result = rig.service.request(NUMBER, "sales", (at(2025, 3, 3, 7, 30), at(2025, 3, 3, 8, 30)))
    rig.next_commands(at(2025, 3, 3, 12))
    job = rig.store.callback_job(result["job"]["id"])
    assert job is not None and job.state == "failed" and rig.store.callback_attempts(job.id) == []
    assert "window" in job.reason


def test_customer_calling_in_closes_their_automatic_callback(rig: Rig) -> None:
    rig.now = at(2025, 3, 3, 20)
    job = rig.engine.missed_call(NUMBER, rig.now).job
    assert job is not None
    closed = rig.engine.inbound_answered("89161234567", rig.now + 60)
    assert [j.state for j in closed] == ["done"]
    assert rig.next_commands(at(2025, 3, 4, 12)) == []


# --- retry policy --------------------------------------------------------------------------


def test_retry_timeline_follows_the_policy_per_outcome(rig: Rig) -> None:
    job = rig.engine.missed_call(NUMBER, rig.now).job
    assert job is not None
    timeline = []
    for outcome in ("busy", "busy", "no_answer"):
        dial = only_dial(rig.next_commands(rig.now + 3600))
        timeline.append((round(rig.now - MONDAY_10), dial.attempt))
        rig.report(dial, outcome, after=10)
    # busy -> 120 s, busy -> 300 s, then no attempts left (max 3)
    assert timeline == [(0, 1), (130, 2), (440, 3)]
    final = rig.store.callback_job(job.id)
    assert final is not None and final.state == "failed" and final.attempts == 3
    assert [a.outcome for a in rig.store.callback_attempts(job.id)] == ["busy", "busy",
                                                                        "no_answer"]
    assert rig.next_commands(rig.now + 86400) == []


def test_machine_is_final_when_its_interval_list_is_empty(rig: Rig) -> None:
    rig.engine.missed_call(NUMBER, rig.now)
    dial = only_dial(rig.tick())
    assert dial.detect_machine
    rig.report(dial, "machine", after=8)
    job = rig.store.callback_job(dial.job_id)
    assert job is not None and job.state == "failed" and "machine is final" in job.reason


def test_retry_waits_for_working_hours(rig: Rig) -> None:
    rig.now = at(2025, 3, 7, 17, 58)  # Friday, two minutes before closing
    rig.engine.missed_call(NUMBER, rig.now)
    dial = only_dial(rig.tick())
    rig.report(dial, "busy", after=20)                         # retry at 18:00:20: closed
    dial = only_dial(rig.next_commands(at(2025, 3, 10, 12)))
    assert rig.now == at(2025, 3, 10, 9) and dial.attempt == 2  # Monday at opening


def test_automatic_callback_across_the_dst_change_dials_at_local_opening() -> None:
    rig = make_rig()
    rig.now = at(2025, 3, 28, 19)  # Friday evening CET; clocks go forward on Sunday
    rig.engine.missed_call(NUMBER, rig.now)
    assert rig.tick() == []
    assert rig.engine.next_deadline() == at(2025, 3, 31, 9)   # 09:00 CEST = 07:00 UTC
    dial = only_dial(rig.next_commands(at(2025, 3, 31, 12)))
    assert rig.now == at(2025, 3, 31, 9) and dial.attempt == 1


def test_watchdog_closes_a_dial_nobody_reports_and_ignores_late_reports(rig: Rig) -> None:
    rig.engine.missed_call(NUMBER, rig.now)
    dial = only_dial(rig.tick())
    assert rig.engine.next_deadline() == rig.now + 30 + 60
    out = rig.tick(rig.now + 90)
    assert out == [CancelDial(dial.job_id, 1, "no report in time"),
                   ReleasePlace(dial.job_id, "sales", "retry")]
    [attempt] = rig.store.callback_attempts(dial.job_id)
    assert attempt.outcome == "failed" and "watchdog" in attempt.detail
    rig.report(dial, "connected")                  # too late: ignored
    job = rig.store.callback_job(dial.job_id)
    assert job is not None and job.state == "retry_wait"


def test_cancel_while_dialing(rig: Rig) -> None:
    rig.engine.missed_call(NUMBER, rig.now)
    dial = only_dial(rig.tick())
    job = rig.service.cancel(dial.job_id, actor="supervisor")
    assert job["state"] == "cancelled"
    assert rig.take() == [CancelDial(dial.job_id, 1, "cancelled by supervisor"),
                          ReleasePlace(dial.job_id, "sales", "cancelled")]
    assert rig.store.callback_attempts(dial.job_id)[0].outcome == "cancelled"


def test_concurrency_limit(rig: Rig) -> None:
    for n in range(4):
        rig.engine.missed_call(f"+7916000000{n}", rig.now)
    out = rig.tick()
    first = dials(out)
    assert len(first) == 2                        # max_concurrent, queue places included
    # every job holds its place; the turns reached with both lines busy give it back
    assert len([c for c in out if isinstance(c, EnqueueCallback)]) == 4
    assert len([c for c in out if isinstance(c, ReleasePlace)]) == 2
    assert rig.engine.next_deadline() == rig.now + 90  # only the watchdogs
    rig.report(first[0], "connected", after=5)
    assert len(dials(rig.tick())) == 1
    # a turn reached while every line is busy gives the place back until one is free
    rig.acd_agent = None
    rig.engine.missed_call("+79160000009", rig.now)
    [third] = [j for j in rig.store.callback_open_jobs() if j.state == "pending"][:1]
    rig.engine.turn_reached(third.id, "202", rig.now)
    assert rig.take() == [ReleasePlace(third.id, "sales", "retry")]


# --- de-duplication, blacklist, daily limits ----------------------------------------------


def test_pending_number_is_merged_not_duplicated(rig: Rig) -> None:
    rig.now = at(2025, 3, 3, 20)
    a = rig.engine.missed_call(NUMBER, rig.now)
    b = rig.engine.missed_call("89161234567", rig.now + 60)
    c = rig.service.request("+7 916 123 45 67", "sales", None, priority=3)
    assert (a.result, b.result, c["result"]) == ("created", "merged", "merged")
    [job] = rig.store.callback_jobs()
    assert job.merged == 2 and job.priority == 3
    assert len(dials(rig.next_commands(at(2025, 3, 4, 9, 30)))) == 1


def test_dedup_window_after_a_successful_callback(rig: Rig) -> None:
    rig.engine.missed_call(NUMBER, rig.now)
    rig.report(only_dial(rig.tick()), "connected", after=30)
    rig.now += 600
    again = rig.engine.missed_call(NUMBER, rig.now)
    assert again.result == "suppressed"
    assert rig.tick() == []
    rig.now += 3600
    assert rig.engine.missed_call(NUMBER, rig.now).result == "created"
    # explicit requests are never suppressed by the window
    rig2 = make_rig()
    rig2.engine.missed_call(NUMBER, rig2.now)
    rig2.report(only_dial(rig2.tick()), "connected", after=30)
    assert rig2.service.request(NUMBER, "sales")["result"] == "created"


def test_after_a_failed_job_a_new_missed_call_starts_a_new_one(rig: Rig) -> None:
    rig.engine.missed_call(NUMBER, rig.now)
    rig.report(only_dial(rig.tick()), "machine", after=10)     # final: failed
    assert rig.engine.missed_call(NUMBER, rig.now + 60).result == "created"


def test_one_open_job_per_number_is_enforced_by_the_database(rig: Rig) -> None:
    from firmware.store import DuplicateOpenJob

    job = rig.engine.missed_call(NUMBER, rig.now).job
    assert job is not None
    with pytest.raises(DuplicateOpenJob):
        rig.store.callback_insert(job.__class__(**{**job.to_json(), "id": "other"}))


def test_blacklisted_numbers_are_never_called(rig: Rig) -> None:
    assert rig.engine.missed_call("+79160000666", rig.now).result == "ignored"
    assert rig.engine.missed_call("8 809 123 45 67", rig.now).result == "ignored"
    with pytest.raises(CallbackRequestError, match="blacklisted"):
        rig.engine.offer_in_queue("+78091234567", "sales", rig.now, rig.now)
    # blacklisted after the job was made: it fails instead of dialling
    rig.now = at(2025, 3, 3, 20)
    job = rig.engine.missed_call(NUMBER, rig.now).job
    assert job is not None
    doc = office_document()
    doc["blacklist"].append({"number": NUMBER})
    rig.reconfigure(doc)
    assert rig.next_commands(at(2025, 3, 4, 12)) == []
    closed = rig.store.callback_job(job.id)
    assert closed is not None and closed.state == "failed" and closed.reason == "blacklisted"


def test_daily_limit_moves_dials_to_the_next_day() -> None:
    rig = make_rig(office_document(daily_limit=2, retry={"max_attempts": 5, "busy": [60]}))
    rig.now = at(2025, 3, 3, 17)
    rig.engine.missed_call(NUMBER, rig.now)
    starts = []
    for _ in range(4):
        dial = only_dial(rig.next_commands(rig.now + 3 * 86400))
        starts.append(rig.now)
        rig.report(dial, "busy", after=5)
    assert starts[:2] == [at(2025, 3, 3, 17), at(2025, 3, 3, 17, 1, 5)]
    assert starts[2:] == [at(2025, 3, 4, 9), at(2025, 3, 4, 9, 1, 5)]  # Tuesday at opening


# --- trunks, KPIs, outbox ------------------------------------------------------------------


def test_trunk_advisor_ranks_on_net_sims_then_fixed_lines_then_off_net() -> None:
    doc = office_document()
    minutes = {"gsm1": 0.0, "gsm2": 42.0}
    advisor = ConfigTrunkAdvisor(doc, minutes_left=minutes.get)
    # gsm1 matches +7916 but has no minutes left: not a candidate at all
    assert [c.trunk for c in advisor.candidates("+79161234567")] == ["fxo1", "e1", "gsm2"]
    ranked = advisor.candidates("+79055550000")   # gsm2's prefix written nationally (8905)
    assert [c.trunk for c in ranked] == ["gsm2", "fxo1", "e1"]
    assert ranked[0].reason.startswith("SIM of the number's operator (prefix +7905), 42 min")
    doc["trunks"][2]["enabled"] = False
    assert [c.trunk for c in ConfigTrunkAdvisor(doc).candidates("1234567")] == [
        "e1", "gsm1", "gsm2"]


def test_no_trunk_at_all_is_a_failed_attempt_not_a_dial() -> None:
    doc = office_document()
    doc["trunks"] = []
    rig = make_rig(doc)
    job = rig.engine.missed_call(NUMBER, rig.now).job
    assert job is not None
    assert dials(rig.tick()) == []
    assert rig.store.callback_job(job.id).state == "retry_wait"  # type: ignore[union-attr]
    [attempt] = rig.store.callback_attempts()
    assert attempt.outcome == "failed" and attempt.detail == "no trunk can reach the number"


def test_kpis_from_a_scripted_day(rig: Rig) -> None:
    # job 1: answered after 40 s, connected; job 2: busy, then answered at +160 s and
    # connected; job 3: machine (final); job 4: cancelled before dialling.
    rig.engine.missed_call("+79160000001", rig.now)
    rig.engine.missed_call("+79160000002", rig.now)
    d1, d2 = dials(rig.tick())
    rig.report(d1, "answered", after=40)
    rig.report(d1, "connected", after=10)
    rig.report(d2, "busy", after=0)               # at +50: retry at +170
    rig.engine.missed_call("+79160000003", rig.now)
    d3 = only_dial(rig.tick())
    rig.report(d3, "machine", after=5)            # +55
    d2 = only_dial(rig.next_commands(MONDAY_10 + 170))
    rig.report(d2, "answered", after=0)           # answered at +170
    rig.report(d2, "connected", after=20)
    late = rig.engine.missed_call("+79160000004", rig.now).job
    assert late is not None
    rig.engine.cancel(late.id, rig.now)
    kpis = rig.service.kpis(MONDAY_10, MONDAY_10 + 86400)
    assert (kpis.scheduled, kpis.connected, kpis.answered) == (4, 2, 2)
    assert kpis.success_pct == 50.0
    assert kpis.time_to_callback_s == pytest.approx((40 + 170) / 2)
    assert kpis.by_state == {"connected": 2, "failed": 1, "cancelled": 1}
    assert callback_kpis([]).success_pct is None


def test_every_change_has_its_outbox_message(rig: Rig) -> None:
    rig.engine.missed_call(NUMBER, rig.now)
    dial = only_dial(rig.tick())
    rig.report(dial, "busy", after=5)
    events = [(m.topic, m.payload["event"], m.payload["job"]["state"])
              for m in rig.store.outbox_pending()]
    assert events == [("callback", "created", "pending"),
                      ("callback", "attempt", "retry_wait")]
    last = rig.store.outbox_pending()[-1].payload
    assert last["attempt"]["outcome"] == "busy" and last["attempt"]["attempt"] == 1


# --- persistence in one process -----------------------------------------------------------


def test_restart_during_a_dial_marks_it_interrupted_and_waits_the_interval(tmp_path) -> None:
    path = str(tmp_path / "events.db")
    rig = make_rig(path=path)
    rig.engine.missed_call(NUMBER, rig.now)
    dial = only_dial(rig.tick())
    rig.store.close()  # the box dies here, mid-call
    rig = make_rig(path=path)
    rig.now = MONDAY_10 + 45
    rig.engine.recover(rig.now)
    assert dials(rig.tick()) == []
    [attempt] = rig.store.callback_attempts(dial.job_id)
    assert attempt.outcome == "interrupted" and attempt.ended_ts == MONDAY_10 + 45
    assert rig.engine.next_deadline() == MONDAY_10 + 45 + 300
    redial = only_dial(rig.next_commands(MONDAY_10 + 3600))
    assert redial.job_id == dial.job_id and redial.attempt == 2
    assert rig.now == MONDAY_10 + 345
    rig.store.close()


def test_a_queue_place_is_offered_again_after_a_restart(tmp_path) -> None:
    path = str(tmp_path / "events.db")
    rig = make_rig(path=path)
    rig.acd_agent = None
    job = rig.engine.offer_in_queue(NUMBER, "sales", MONDAY_10 - 30, rig.now, priority=1).job
    assert job is not None and isinstance(rig.tick()[0], EnqueueCallback)
    rig.store.close()
    rig = make_rig(path=path)
    rig.acd_agent = None
    rig.engine.recover(rig.now + 5)
    assert rig.tick(rig.now + 5) == [EnqueueCallback(job.id, "sales", NUMBER, 1, MONDAY_10 - 30,
                                                     "", MONDAY_10)]
    rig.store.close()


def test_duplicate_claim_is_refused(rig: Rig) -> None:
    from dataclasses import replace

    from firmware.store import CallbackAttempt

    job = rig.engine.missed_call(NUMBER, rig.now).job
    assert job is not None
    attempt = CallbackAttempt(job.id, 1, NUMBER, rig.now)
    claimed = replace(job, state="dialing", attempts=1)
    assert rig.store.callback_claim(job, attempt, claimed)
    assert not rig.store.callback_claim(job, attempt, claimed)   # the row moved on
    assert len(rig.store.callback_attempts(job.id)) == 1
    assert rig.tick() == []                                     # and the engine sees it
