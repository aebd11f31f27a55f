"""Issue #5 coverage: each behaviour it names -> the integration test(s) that prove it.

Every test listed drives the simulated board through its channels (callers on trunks,
phones off-hook / flash / DTMF audio, the far switch's signals) and ends asserting that
every channel is idle and no call is left (``all_idle`` of test_pbx_features.py, or its
twin in test_calls_sim.py). Files are under tests/integration; ``here`` is this module;
a parametrized test covers each of its cases.

1. Calls and CDRs
  legs, bridging, disposition and release cause per leg
      test_calls_sim.py::test_fxo_line_call_answered_and_far_end_clears_by_loop_break
      test_calls_sim.py::test_caller_gives_up_before_answer_is_a_missed_call
      test_calls_sim.py::test_busy_extension_gives_busy_to_the_second_caller
      test_calls_sim.py::test_unanswered_extension_times_out
  one CDR per call, its legs; trunk, caller, called, route, who answered, wait, talk, recording
      test_skeleton.py::test_gsm_call_to_extension_with_dtmf_and_cdr
      test_pbx_features.py::test_blind_transfer_on_ringing
      test_recording.py::test_recorded_route_writes_both_directions_and_the_cdr_names_the_file
  hold with tone; hold time per leg in the CDR (hold_s)
      here::test_hold_plays_tone_and_the_cdr_counts_hold_on_the_held_leg
  hold with music (uploaded hold.wav)
      here::test_held_caller_hears_the_uploaded_hold_music
2. Inbound routing
  by trunk / analog line
      test_calls_sim.py::test_fxo_line_call_answered_and_far_end_clears_by_loop_break
  by GSM SIM
      test_pbx_features.py::test_ring_group_sequential_then_cascading
  by called number (E1), by caller prefix (VIP), numbers written with '+'
      here::test_routes_match_numbers_given_with_plus_in_any_spelling
      test_calls_sim.py::test_e1_call_carries_called_number
  blacklist: rejected
      test_working_hours.py::test_blacklisted_caller_is_rejected
  weekly schedule; override by feature code *28
      test_working_hours.py::test_schedule_override_and_feature_code
      test_working_hours.py::test_open_schedule_goes_to_the_day_destination
  holidays, time zone
      here::test_schedule_follows_the_time_zone_and_holidays_close
  override by the web API (the serial console is a later issue)
      here::test_day_night_override_from_the_web_api
  destination extension / queue / voicemail
      test_calls_sim.py::test_internal_call_between_phones_by_dtmf
      test_queues.py::test_caller_queues_hears_music_and_an_agent_answers
      test_voicemail.py::test_voicemail_destination_busy_extension_short_message_and_full_box
  destination external number over a trunk
      here::test_route_to_an_external_number_over_a_trunk
  destination announcement
      here::test_announcement_then_the_call_ends
  destination busy / hang-up
      here::test_busy_and_hang_up_destinations[busy-busy]
      here::test_busy_and_hang_up_destinations[hangup-rejected]
  reject-and-call-back
      test_callbacks.py::test_reject_and_call_back_route
3. IVR
  DTMF choices, direct dial, timeout to default, invalid-input retries, tones as fallback
      test_pbx_features.py::test_ivr_choice_direct_dial_and_timeout
  uploaded 8 kHz prompt, barge-in on DTMF
      here::test_ivr_prompt_from_a_file_is_interrupted_by_a_key
  nested menus
      here::test_digits_faster_than_prompts_reach_the_nested_menu
4. Ring groups
  ring all
      test_pbx_features.py::test_ring_group_ring_all_first_answer_wins
  sequential, cascading
      test_pbx_features.py::test_ring_group_sequential_then_cascading
  external member over GSM; timeout to failover
      test_pbx_features.py::test_ring_group_reaches_a_mobile_over_gsm_and_fails_over
5. Extensions on FXS ports
  internal dialing plan
      test_calls_sim.py::test_internal_call_between_phones_by_dtmf
  forward always, do-not-disturb
      test_pbx_features.py::test_forward_always_and_dnd_by_feature_code
  forward on busy, on no answer after N s
      here::test_forward_on_busy_and_on_no_answer_by_feature_code
  forward when unreachable (*94/*95, phone unplugged)
      here::test_forward_when_unreachable_rings_the_target_while_the_phone_is_unplugged
  a phone lifted in the instant its call arrives takes the call (glare)
      here::test_phone_lifted_as_its_call_arrives_gets_the_call
  call waiting with tone
      test_call_waiting.py::test_call_waiting_toggle_and_recall
      test_call_waiting.py::test_waiting_call_not_taken_goes_to_voicemail
  flash-hook hold, consultation, attended transfer
      test_pbx_features.py::test_attended_transfer_and_return_to_held
  blind transfer
      test_pbx_features.py::test_blind_transfer_on_ringing
  three-way conference
      test_pbx_features.py::test_three_way_conference
  call park, retrieve from any phone
      test_pbx_features.py::test_park_and_retrieve_from_another_phone
  park timeout back to the parker
      test_pbx_features.py::test_unclaimed_parked_call_rings_the_parker
  group pickup
      test_pbx_features.py::test_group_pickup
  directed pickup
      here::test_directed_pickup_takes_a_named_ringing_extension
  voicemail, MWI by stutter tone / lamp, retrieval by phone
      test_voicemail.py::test_voicemail_on_no_answer_mwi_and_retrieval
      test_message_waiting_lamp.py::test_lamp_on_after_a_message_and_off_once_listened
  caller ID per the country setting
      test_caller_id_sim.py::test_gsm_caller_shown_on_the_phone
  caller ID with name from the directory
      test_caller_id_sim.py::test_name_from_the_directory
6. Outbound
  failover on busy / no free channel
      test_pbx_features.py::test_failover_to_the_next_trunk_and_emergency_without_route
  failover on E1 congestion (to the next trunk, not the next B-channel)
      here::test_e1_congestion_fails_over_to_the_next_trunk
  glare: a call in on the port an outgoing call was about to use is served, the outgoing
  call goes on to the next trunk
      here::test_incoming_call_wins_glare_and_the_outgoing_one_takes_the_next_trunk
  least-cost SIM by operator prefix and remaining minutes
      test_gsm_box.py::test_least_cost_choice_by_operator_prefix
      test_gsm_box.py::test_sim_over_its_daily_minutes_is_skipped_and_comes_back_next_day
  digit manipulation
      test_calls_sim.py::test_outbound_blocked_until_a_route_is_configured_then_live
  caller ID presentation (extension / hidden / a number)
      here::test_outbound_caller_id_presentation
  class of service; concurrent outbound calls
      test_pbx_features.py::test_class_of_service_and_concurrency_limit
  international and premium blocked by default
      test_pbx_features.py::test_toll_fraud_guard_blocks_international_and_premium
  emergency numbers always allowed
      test_emergency_numbers.py::test_emergency_numbers_go_out_whatever_the_class_of_service
  calls per hour per extension and per trunk, alert in the log
      here::test_calls_per_hour_limits_refuse_and_alert
7. Recording
  per route, WAV
      test_recording.py::test_recorded_route_writes_both_directions_and_the_cdr_names_the_file
  compressed
      test_recording.py::test_compressed_recording_is_alaw_wav_half_the_size
  per extension
      here::test_extension_with_record_is_recorded
  per queue
      test_queues.py::test_queue_calls_are_recorded_when_the_queue_says_so
  retention by age and disk quota, after each recording
      here::test_retention_by_age_and_quota_runs_after_each_recording
  no recording below the free-space floor
      test_recording.py::test_no_recording_below_the_free_space_floor
8. Analog line supervision
  far-end hang-up by loop-current break
      test_calls_sim.py::test_fxo_line_call_answered_and_far_end_clears_by_loop_break
  by busy tone (line with no reversal)
      test_calls_sim.py::test_fxo_line_released_when_the_exchange_only_sends_busy_tone
  by polarity reversal (ports.<fxo>.polarity_reversal)
      here::test_line_with_polarity_reversal_answers_and_clears_by_it
  by silence (ports.<fxo>.silence_hangup_s); settings refused on other ports
      here::test_line_that_goes_quiet_is_released_after_the_silence_time
      here::test_line_settings_are_refused_on_other_ports
  maximum call length on every external trunk
      test_pbx_features.py::test_max_call_length_is_the_last_safety_net
      here::test_max_call_length_on_e1_and_analog_lines
Bad input
  route pointing nowhere, IVR with no options, ring-group loop: refused at validation
      test_pbx_features.py::test_bad_routing_is_refused_with_its_path
  forward loop A -> B -> A at run time (the call is not lost)
      here::test_forward_loop_rings_the_last_extension_of_the_chain
  a port driver that fails (raises) while ringing: that leg fails, the call goes on
      here::test_a_port_driver_defect_fails_its_leg_and_the_call_goes_on
  digits arriving faster than prompts
      here::test_digits_faster_than_prompts_reach_the_nested_menu

All channels idle after every scenario: each call scenario above waits for ``all_idle``
after its last call (test_bad_routing_is_refused_with_its_path places none: it checks that
nothing was applied).
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import wave
from array import array
from pathlib import Path
from typing import Any

import pytest

from firmware.calls.recording import MB
from tests.conftest import wait_for
from tests.integration.test_pbx_features import (
    active,
    all_idle,
    answered_call_on_201,
    cdr,
    configure,
    dial,
    far_hears,
    hang_up,
    hears,
    mobile_route,
    phone,
    rings,
    route_to,
    trunk,
)
from tests.integration.test_skeleton import post, signed_in
from tests.integration.test_working_hours import office_hours


def first_route(doc: dict[str, Any], name: str, match: dict[str, Any], target: str) -> None:
    doc["routes"].insert(0, {"name": name, "match": match,
                             "destination": {"type": "extension", "target": target}})


async def talk_and_hang_up(box: Any, port: str, line: str, key: str, reply: str = "",
                          pick_up: bool = True) -> dict[str, Any]:
    """The phone on ``port`` (picks up and) talks with the caller on ``line``: the caller's
    key is heard, the phone's ``reply`` too; the phone hangs up. Returns the call record."""
    if pick_up:
        await box.sim.phone_offhook(port)
    await active(box)
    await box.sim.far_press(line, key)
    await hears(box, port, key)
    if reply:
        await box.sim.phone_press(port, reply)
        await far_hears(box, line, reply)
    await hang_up(box, port)
    return await cdr(box)


async def feature_code(box: Any, port: str, code: str, done: Any) -> None:
    """Dial a feature code from a phone, wait until it took effect, hang up."""
    await box.sim.phone_offhook(port)
    await box.sim.phone_press(port, code)
    await wait_for(done, 5, what=f"{code} to take effect")
    await hang_up(box, port)


def b_channel(box: Any, *states: str) -> int:
    """The E1 B-channel whose far end is in one of ``states`` (0: none)."""
    far = box.board.span.far
    return next((b for b, f in far.items() if f.call_state in states), 0)


# -- 1. calls and CDRs: hold with tone, hold time on the held leg ---------------------------
async def test_hold_plays_tone_and_the_cdr_counts_hold_on_the_held_leg(box):
    await answered_call_on_201(box, "+79161230500")
    await box.sim.phone_flash("fxs1")                    # hold: the caller hears the tone
    await wait_for(lambda: any(c["state"] == "held" for c in box.calls()), 3, what="held")
    await wait_for(lambda: trunk(box, "gsm1")["heard_level_dbm0"] > -30, 3,
                   what="the hold tone on the caller's line")
    await box.sim.far_press("gsm1", "1")                 # on hold: the phone does not hear
    await asyncio.sleep(1.0)
    assert not phone(box, "fxs1")["heard_digits"].endswith("1")
    await box.sim.phone_flash("fxs1")                    # back to the caller
    await active(box)
    await box.sim.far_press("gsm1", "2")
    await hears(box, "fxs1", "2")
    await hang_up(box, "fxs1")
    rec = await cdr(box)
    legs = {leg["channel"]: leg for leg in rec["legs"]}
    assert legs["gsm1"]["hold_s"] >= 0.9, legs
    assert legs["fxs1"]["hold_s"] == 0.0
    assert rec["disposition"] == "answered"
    await all_idle(box)


# -- 2. inbound routes with numbers written with '+' ----------------------------------------
async def test_routes_match_numbers_given_with_plus_in_any_spelling(box):
    def change(d: dict[str, Any]) -> None:
        first_route(d, "DID", {"trunk": "e1", "called": "+74951234567"}, "203")
        first_route(d, "VIP", {"trunk": "gsm1", "caller_prefix": "+7916"}, "204")
    await configure(box, change)
    await box.sim.trunk_call("e1.3", "+74950000001", "84951234567")   # DID, national form
    await rings(box, "fxs3")
    await box.sim.far_hangup("e1.3")
    await all_idle(box)
    await box.sim.trunk_call("gsm1", "89161234567")                  # VIP, national form
    await rings(box, "fxs4")
    await box.sim.far_hangup("gsm1")
    await all_idle(box)
    await box.sim.trunk_call("gsm1", "+74951112233")                 # not VIP: the default
    await rings(box, "fxs1")
    await box.sim.far_hangup("gsm1")
    await all_idle(box)
    routes = [r["route"] for r in box.cdrs()]
    assert routes == ["Inbound gsm1", "VIP", "DID"]


# -- 6. outbound: E1 congestion fails over to the next trunk --------------------------------
async def test_e1_congestion_fails_over_to_the_next_trunk(box):
    await configure(box, lambda d: mobile_route(d, ["e1", "gsm1"]))
    await dial(box, "fxs2", "89161234567")
    bchan = await wait_for(lambda: b_channel(box, "outgoing", "alerting"), 8,
                           what="the call to go out on a B-channel")
    await box.board.span.far_hangup(bchan, 34)           # Q.850 34: no circuit available
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "alerting", 8,
                   what="the call to fail over to gsm1")
    assert b_channel(box, "outgoing", "alerting") == 0   # not the next B-channel of the span
    await box.sim.far_answer("gsm1")
    rec = await talk_and_hang_up(box, "fxs2", "gsm1", "5", pick_up=False)
    assert (rec["trunk"], rec["disposition"]) == ("gsm1", "answered")
    assert [(leg["channel"], leg["cause"]) for leg in rec["legs"][1:]] == [
        (f"e1.{bchan}", 34), ("gsm1", 16)]
    await all_idle(box)


# -- 6. glare on a trunk: a call comes in on the port an outgoing call was about to use ------
class _OnOutboundCall(logging.Handler):
    """Runs ``action(port)`` as the engine picks a port for an outgoing call (the log line
    it writes then), before the port is told to dial."""

    def __init__(self, action: Any) -> None:
        super().__init__(logging.INFO)
        self.action = action

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "outbound call":
            self.action(record.__dict__["port"])


async def test_incoming_call_wins_glare_and_the_outgoing_one_takes_the_next_trunk(box):
    await configure(box, lambda d: mobile_route(d, ["e1", "gsm1"]))
    loop = asyncio.get_running_loop()
    seized: list[tuple[str, asyncio.Task[None]]] = []

    def call_in_on(port: str) -> None:               # the far end seizes that B-channel
        if not seized and port.startswith("e1."):
            seized.append((port, loop.create_task(
                box.sim.trunk_call(port, "+74950000009", "4951234567"))))

    hook = _OnOutboundCall(call_in_on)
    engine_log = logging.getLogger("firmware.calls.engine")
    engine_log.addHandler(hook)
    old_level = engine_log.level
    engine_log.setLevel(logging.INFO)
    try:
        await dial(box, "fxs2", "89161234567")
        await wait_for(lambda: seized and seized[0][1].done(), 8, what="the call in on E1")
    finally:
        engine_log.removeHandler(hook)
        engine_log.setLevel(old_level)
    port = seized[0][0]
    await rings(box, "fxs1", timeout=8)                  # the incoming call is served
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "alerting", 8,
                   what="the outgoing call to go on to gsm1")
    assert b_channel(box, "outgoing", "alerting") == 0   # it never dialled on the span
    await box.sim.far_answer("gsm1")
    out = await talk_and_hang_up(box, "fxs2", "gsm1", "5", pick_up=False)
    assert (out["trunk"], out["disposition"]) == ("gsm1", "answered")
    assert [leg["channel"] for leg in out["legs"][1:]] == [port, "gsm1"]
    assert out["legs"][1]["cause"] == 34                 # no circuit: the line was taken
    inc = await talk_and_hang_up(box, "fxs1", port, "6")
    assert (inc["trunk"], inc["caller"], inc["disposition"]) == (
        "e1", "+74950000009", "answered")
    await all_idle(box)


# -- 8. maximum call length on every kind of external trunk ---------------------------------
@pytest.mark.parametrize("port, caller, called", [
    ("e1.5", "+74950000002", "4951234567"), ("fxo1", None, None)])
async def test_max_call_length_on_e1_and_analog_lines(box, port, caller, called):
    await configure(box, lambda d: d.update(security={"toll_fraud": {"max_call_s": 60}}))
    box.engine.dialplan.toll = type(box.engine.dialplan.toll)(max_call_s=1)
    await box.sim.trunk_call(port, caller, called)
    await rings(box, "fxs1", timeout=8)
    await box.sim.phone_offhook("fxs1")
    await active(box)
    await wait_for(lambda: box.channels[port].state.value == "idle", 8,
                   what=f"{port} cut at the maximum call length")
    await box.sim.phone_onhook("fxs1")
    rec = await cdr(box)
    assert rec["disposition"] == "answered" and 0.9 <= rec["talk_s"] < 5
    await all_idle(box)


# -- 7. recording retention applied after each recording -----------------------------------
def old_recording(root: Path, name: str, size: int, age_days: float) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.truncate(size)
    mtime = path.stat().st_mtime - age_days * 86400
    os.utime(path, (mtime, mtime))
    return path


async def test_retention_by_age_and_quota_runs_after_each_recording(box):
    def change(d: dict[str, Any]) -> None:
        route_to(d, "gsm1", {"type": "extension", "target": "201"})
        next(r for r in d["routes"] if r["match"]["trunk"] == "gsm1")["record"] = True
        d["recording"] = {"keep_days": 30, "max_mb": 10, "min_free_mb": 10}
    await configure(box, change)
    await answered_call_on_201(box, "+79161230510")
    # Written while the call is up, long after the start-up sweep; the next hourly one is
    # an hour away: only the end of this recording can remove them.
    root = box.recordings.directory
    ancient = old_recording(root, "2020/01/01/ancient.wav", 1000, 40)
    big = old_recording(root, "2020/02/01/big.wav", 11 * MB, 2)
    await box.sim.far_press("gsm1", "3")
    await hears(box, "fxs1", "3")
    assert ancient.exists() and big.exists()
    await hang_up(box, "fxs1")
    rec = await cdr(box)
    name = next(leg["recording"] for leg in rec["legs"] if leg.get("recording"))
    await wait_for(lambda: not ancient.exists() and not big.exists(), 8,
                   what="the old (age) and the oldest over quota (size) deleted")
    assert [r["name"] for r in box.recordings.describe()] == [name]
    await all_idle(box)


async def test_extension_with_record_is_recorded(box):
    await configure(box, lambda d: (d["extensions"][1].update(record=True),
                                    d.update(recording={"min_free_mb": 10}),
                                    route_to(d, "gsm2", {"type": "extension",
                                                         "target": "202"})))
    await box.sim.trunk_call("gsm2", "+79161230516")   # the route does not record: 202 does
    await rings(box, "fxs2")
    rec = await talk_and_hang_up(box, "fxs2", "gsm2", "6")
    name = next(leg["recording"] for leg in rec["legs"] if leg.get("recording"))
    assert name.endswith(f"{rec['call_id']}.wav")
    assert [r["name"] for r in box.recordings.describe()] == [name]
    await all_idle(box)


# -- bad input: digits faster than prompts --------------------------------------------------
async def test_digits_faster_than_prompts_reach_the_nested_menu(box):
    def change(d: dict[str, Any]) -> None:
        d["ivrs"] = [
            {"id": "main", "name": "Main", "prompt": None, "timeout_s": 3, "retries": 1,
             "options": {"1": {"type": "ivr", "target": "sales"}},
             "timeout_destination": {"type": "extension", "target": "204"}},
            {"id": "sales", "name": "Sales", "prompt": None, "timeout_s": 3, "retries": 1,
             "options": {"2": {"type": "extension", "target": "203"}},
             "timeout_destination": {"type": "extension", "target": "204"}}]
        route_to(d, "gsm1", {"type": "ivr", "target": "main"})
    await configure(box, change)
    await box.sim.trunk_call("gsm1", "+79161230520")
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "active", 5,
                   what="the IVR to answer")
    await box.sim.far_press("gsm1", "12")                # both during the first prompt
    await rings(box, "fxs3", timeout=8)
    assert box.channels["fxs4"].state.value == "idle"
    rec = await talk_and_hang_up(box, "fxs3", "gsm1", "9")
    assert (rec["extension"], rec["disposition"]) == ("203", "answered")
    await all_idle(box)


# -- bad input: a forwarding loop -----------------------------------------------------------
async def test_forward_loop_rings_the_last_extension_of_the_chain(box):
    for port, code, ext, target in (("fxs1", "*72202#", "201", "202"),
                                    ("fxs2", "*72201#", "202", "201")):
        await feature_code(box, port, code, lambda e=ext, t=target:
                           box.engine.settings.get(e).forward_always == t)
    await all_idle(box)
    await box.sim.trunk_call("gsm1", "+79161230530")     # 201 → 202 → 201: a loop
    await rings(box, "fxs2", timeout=8)
    assert box.channels["fxs1"].state.value == "idle"
    rec = await talk_and_hang_up(box, "fxs2", "gsm1", "6")
    assert rec["disposition"] == "answered" and rec["legs"][-1]["channel"] == "fxs2"
    await all_idle(box)


# -- 5. glare on a phone: lifted in the instant its call arrives ----------------------------
async def test_phone_lifted_as_its_call_arrives_gets_the_call(box):
    """The handset goes off-hook after the engine chose to ring the phone but before the
    port rang (the user was about to dial out): the phone takes the call, it does not get a
    dead line while the caller rings nobody."""
    loop = asyncio.get_running_loop()
    lifted: list[asyncio.Task[None]] = []

    def lift_at_ring(event: dict[str, Any]) -> None:   # runs inside the engine's ring step
        if event["type"] == "call" and event["call"]["state"] == "ringing" and not lifted:
            lifted.append(loop.create_task(box.sim.phone_offhook("fxs1")))

    box.engine.add_listener(lift_at_ring)
    await box.sim.trunk_call("gsm1", "+79161230545")
    await wait_for(lambda: lifted and lifted[0].done(), 5, what="the phone lifted")
    assert phone(box, "fxs1")["ring_bursts"] == 0         # it never rang: it was lifted first
    rec = await talk_and_hang_up(box, "fxs1", "gsm1", "8", reply="3", pick_up=False)
    assert (rec["extension"], rec["disposition"]) == ("201", "answered")
    await all_idle(box)


# -- bad input: a port driver that fails while ringing ---------------------------------------
async def test_a_port_driver_defect_fails_its_leg_and_the_call_goes_on(box, monkeypatch):
    """A defect in one port's driver (an exception, not a refusal) ends that leg with a
    temporary failure; the ring group's other member still gets the call."""
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("driver defect")

    monkeypatch.setattr(box.channels["fxs2"], "place_call", broken)
    await configure(box, lambda d: (d["ring_groups"].append(
        {"id": "sales", "name": "Sales", "strategy": "ringall", "members": ["202", "203"]}),
        route_to(d, "gsm1", {"type": "ring_group", "target": "sales"})))
    await box.sim.trunk_call("gsm1", "+79161230546")
    await rings(box, "fxs3")
    rec = await talk_and_hang_up(box, "fxs3", "gsm1", "9")
    assert (rec["extension"], rec["disposition"]) == ("203", "answered")
    failed = [leg for leg in rec["legs"] if leg["channel"] == "fxs2"]
    assert [leg["cause"] for leg in failed] == [41]     # Q.850 41: temporary failure
    await all_idle(box)


# -- 5. directed pickup ---------------------------------------------------------------------
async def test_directed_pickup_takes_a_named_ringing_extension(box):
    await configure(box, lambda d: d["extensions"][2].update(pickup_group="other"))
    await box.sim.trunk_call("gsm1", "+79161230540")
    await rings(box, "fxs1")
    await box.sim.phone_offhook("fxs3")                  # 203: not in 201's pickup group
    await box.sim.phone_press("fxs3", "**201")
    await wait_for(lambda: box.channels["fxs1"].state.value == "idle", 5,
                   what="201 to stop ringing")
    rec = await talk_and_hang_up(box, "fxs3", "gsm1", "7", reply="4", pick_up=False)
    assert (rec["extension"], rec["disposition"]) == ("203", "answered")
    assert len(box.cdrs()) == 1
    await all_idle(box)


# -- 6. toll-fraud guard: calls per hour, per extension and per trunk -----------------------
async def test_calls_per_hour_limits_refuse_and_alert(box):
    def change(d: dict[str, Any]) -> None:
        mobile_route(d, ["gsm1"])
        d["security"] = {"toll_fraud": {"max_calls_per_hour_extension": 1,
                                        "max_calls_per_hour_trunk": 2}}
    await configure(box, change)

    async def call_out(port: str, number: str) -> bool:
        """Dial; True if the trunk took the call (then the far end refuses it)."""
        await dial(box, port, number)
        went = await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "alerting" or [
            a for a in box.engine.alerts if a.get("number") == number
            or a["message"].startswith("trunk call rate")], 8, what=f"{number} decided")
        if went is True:
            await box.sim.far_hangup("gsm1")
        await hang_up(box, port)
        await all_idle(box)
        return went is True

    assert await call_out("fxs1", "89161234501")
    assert not await call_out("fxs1", "89161234502")     # 201: one an hour
    assert any(a.get("extension") == "201" and "in the last hour" in a["reason"]
               for a in box.engine.alerts)
    assert await call_out("fxs2", "89161234503")
    assert not await call_out("fxs3", "89161234504")     # gsm1: two an hour
    assert any(a["message"] == "trunk call rate limit reached" and a["trunk"] == "gsm1"
               for a in box.engine.alerts)
    assert trunk(box, "gsm1")["call_state"] == "idle"


# -- 2. day/night override by the web API ---------------------------------------------------
async def test_day_night_override_from_the_web_api(aiohttp_client, box, tmp_path):
    client, headers = await signed_in(aiohttp_client, box, tmp_path)
    await configure(box, lambda d: office_hours(d, open_now=False))

    async def lands_on(caller: str, port: str) -> None:
        await box.sim.trunk_call("gsm1", caller)
        await rings(box, port, timeout=8)
        await box.sim.far_hangup("gsm1")
        await all_idle(box)

    await lands_on("+79161230550", "fxs4")                # closed: night destination
    state = await post(client, headers, "/api/v1/daynight", {"mode": "day"})
    assert state["time_conditions"][0]["override"] == "day"
    await lands_on("+79161230551", "fxs1")                # forced open
    await post(client, headers, "/api/v1/daynight", {"mode": "auto"})
    await lands_on("+79161230552", "fxs4")
    resp = await client.post("/api/v1/daynight", json={"mode": "evening"}, headers=headers)
    assert resp.status == 400 and "day, night or auto" in await resp.text()
    assert box.day_night_state()["time_conditions"][0]["override"] == "auto"


# -- 8. analog line supervision: polarity reversal, silence --------------------------------
def line_setting(doc: dict[str, Any], port: str, **settings: Any) -> None:
    doc.setdefault("ports", {}).setdefault(port, {}).update(settings)


async def line_freed(box: Any, line: str, port: str, timeout: float) -> None:
    """The far end of the call on ``line`` is gone: the line is let go (on-hook); the
    phone on ``port`` hangs up; the call is recorded as answered on that line."""
    await wait_for(lambda: box.channels[line].state.value == "idle", timeout,
                   what=f"{line} released")
    assert trunk(box, line)["line_off_hook"] is False
    await hang_up(box, port)
    rec = await cdr(box)
    assert (rec["trunk"], rec["disposition"]) == (line, "answered")
    await all_idle(box)


async def test_line_with_polarity_reversal_answers_and_clears_by_it(box):
    box.board.lines["fxo1"].reverses_polarity = True        # what this exchange does
    await configure(box, lambda d: (mobile_route(d, ["fxo1"]),
                                    line_setting(d, "fxo1", polarity_reversal=True)))
    await dial(box, "fxs2", "89161234567")
    await wait_for(lambda: box.channels["fxo1"].state.value == "alerting", 8,
                   what="the number dialed on the line")
    await asyncio.sleep(0.5)
    assert [c["state"] for c in box.calls()] == ["ringing"]  # no answer before the reversal
    await box.sim.far_answer("fxo1")
    await active(box)
    await box.sim.far_press("fxo1", "8")
    await hears(box, "fxs2", "8")
    await box.sim.far_hangup("fxo1")                        # reversal back: cleared
    await line_freed(box, "fxo1", "fxs2", 5)


async def test_line_that_goes_quiet_is_released_after_the_silence_time(box):
    box.board.lines["fxo2"].clear_down = "silence"          # no CPC, no tone, no reversal
    await configure(box, lambda d: line_setting(d, "fxo2", silence_hangup_s=5))
    await box.sim.trunk_call("fxo2", None)
    await rings(box, "fxs1", timeout=8)
    await box.sim.phone_offhook("fxs1")
    await active(box)
    for key in "1234":                                     # talking: never silent for 5 s
        await asyncio.sleep(1.5)
        await box.sim.far_press("fxo2", key)
        await hears(box, "fxs1", key)
    quiet_from = asyncio.get_running_loop().time()         # the last sound
    assert box.channels["fxo2"].state.value == "active"
    await box.sim.far_hangup("fxo2")
    await line_freed(box, "fxo2", "fxs1", 20)
    assert asyncio.get_running_loop().time() - quiet_from >= 4.5


async def test_line_settings_are_refused_on_other_ports(box):
    from firmware.config import ConfigValidationError

    rev = box.config_revision()
    doc = box.config_current()
    line_setting(doc, "gsm1", polarity_reversal=True)
    line_setting(doc, "fxo1", silence_hangup_s=2)
    with pytest.raises(ConfigValidationError) as err:
        await box.config_commit(doc, author="test")
    paths = {i.path: i.message for i in err.value.issues}
    assert "not an FXO port" in paths["ports.gsm1.polarity_reversal"], paths
    assert "ports.fxo1.silence_hangup_s" in paths, paths
    assert box.config_revision() == rev
    await all_idle(box)


# -- 5. forwarding when unreachable: *94 / *95, the phone unplugged -------------------------
async def test_forward_when_unreachable_rings_the_target_while_the_phone_is_unplugged(box):
    await feature_code(box, "fxs1", "*94204#",
                       lambda: box.engine.settings.get("201").forward_unreachable == "204")
    await box.sim.trunk_call("gsm1", "+79161230560")      # plugged in: 201 rings as usual
    await rings(box, "fxs1")
    await box.sim.far_hangup("gsm1")
    await all_idle(box)

    await box.board.control.phone_unplug("fxs1")           # the cord pulled out...
    await wait_for(lambda: "fxs1" in box.engine.out_of_service, 10,
                   what="the line test to find no phone on fxs1")   # ...and noticed
    await box.sim.trunk_call("gsm1", "+79161230561")
    await rings(box, "fxs4", timeout=8)
    assert box.channels["fxs1"].state.value == "idle"       # not rung into nothing
    rec = await talk_and_hang_up(box, "fxs4", "gsm1", "2")
    assert (rec["extension"], rec["disposition"]) == ("204", "answered")
    assert [leg["channel"] for leg in rec["legs"]] == ["gsm1", "fxs4"]
    await all_idle(box)

    await box.board.control.phone_plug("fxs1")
    await wait_for(lambda: "fxs1" not in box.engine.out_of_service, 10,
                   what="the phone found back on fxs1")
    await feature_code(box, "fxs1", "*95",
                       lambda: box.engine.settings.get("201").forward_unreachable is None)
    await box.sim.trunk_call("gsm1", "+79161230562")
    await rings(box, "fxs1")
    await box.sim.far_hangup("gsm1")
    await all_idle(box)


# -- prompts made of DTMF: what a party hears from a prompt is checkable ---------------------
def dtmf_wav(*parts: str | float) -> bytes:
    """An 8 kHz mono WAV prompt: digits (as DTMF, 80 ms each) and pauses (seconds)."""
    from native.dsp import DtmfGenerator, pcm_to_bytes

    pcm = array("h")
    for part in parts:
        if isinstance(part, str):
            gen = DtmfGenerator()
            gen.queue(part)
            pcm.extend(gen.generate(160 * len(part) * 8))
        else:
            pcm.extend(bytes(2 * int(8000 * part)))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm_to_bytes(pcm))
    return buf.getvalue()


# -- 1. hold with music: the uploaded hold prompt --------------------------------------------
async def test_held_caller_hears_the_uploaded_hold_music(box):
    box.prompt_put("hold.wav", dtmf_wav(0.2, "59", 1.0))
    await answered_call_on_201(box, "+79161230570")
    await box.sim.phone_flash("fxs1")
    await far_hears(box, "gsm1", "59", timeout=5)         # the music, not a tone
    await box.sim.phone_flash("fxs1")
    await active(box)
    await box.sim.far_press("gsm1", "3")
    await hears(box, "fxs1", "3")
    await hang_up(box, "fxs1")
    await all_idle(box)


# -- 3. IVR: an uploaded prompt, interrupted by the caller's key (barge-in) ----------------
async def test_ivr_prompt_from_a_file_is_interrupted_by_a_key(box):
    box.prompt_put("menu.wav", dtmf_wav(0.2, "7", 3.0, "8", 0.5))
    await configure(box, lambda d: (d.update(ivrs=[
        {"id": "main", "name": "Main", "prompt": "menu.wav", "timeout_s": 3,
         "options": {"1": {"type": "extension", "target": "202"}}}]),
        route_to(d, "gsm1", {"type": "ivr", "target": "main"})))
    await box.sim.trunk_call("gsm1", "+79161230580")
    await far_hears(box, "gsm1", "7", timeout=5)          # the prompt has begun
    await box.sim.far_press("gsm1", "1")                  # before it ends
    await rings(box, "fxs2")
    rec = await talk_and_hang_up(box, "fxs2", "gsm1", "4")
    assert "8" not in trunk(box, "gsm1")["heard_digits"]  # the rest was never played
    assert (rec["extension"], rec["disposition"]) == ("202", "answered")
    await all_idle(box)


# -- 2. destinations: external number, announcement, busy, hang-up -------------------------
async def test_route_to_an_external_number_over_a_trunk(box):
    await configure(box, lambda d: (mobile_route(d, ["gsm2"]), route_to(
        d, "gsm1", {"type": "external", "target": "89165550001"})))
    await box.sim.trunk_call("gsm1", "+79161230590")
    await wait_for(lambda: trunk(box, "gsm2")["call_state"] == "alerting", 8,
                   what="the external number dialed over gsm2")
    await box.sim.far_answer("gsm2")
    await active(box)
    for speaker, listener, key in (("gsm1", "gsm2", "1"), ("gsm2", "gsm1", "2")):
        await box.sim.far_press(speaker, key)            # the two outside parties talk
        await far_hears(box, listener, key)
    await box.sim.far_hangup("gsm2")
    rec = await cdr(box)
    assert (rec["trunk"], rec["disposition"]) == ("gsm2", "answered")
    await all_idle(box)


async def test_announcement_then_the_call_ends(box):
    box.prompt_put("closed.wav", dtmf_wav(0.2, "314", 0.3))
    await configure(box, lambda d: route_to(d, "gsm1",
                                            {"type": "announcement", "target": "closed.wav"}))
    await box.sim.trunk_call("gsm1", "+79161230600")
    await far_hears(box, "gsm1", "314", timeout=5)
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "idle", 8,
                   what="the box to hang up after the announcement")
    rec = await cdr(box)
    assert rec["legs"][0]["answered_at"] is not None      # the box answered to play it...
    assert (rec["answer_ts"], rec["extension"]) == (None, None)   # ...no person did
    await all_idle(box)


@pytest.mark.parametrize("dest, disposition", [("busy", "busy"), ("hangup", "rejected")])
async def test_busy_and_hang_up_destinations(box, dest, disposition):
    await configure(box, lambda d: route_to(d, "gsm1", {"type": dest}))
    await box.sim.trunk_call("gsm1", "+79161230610")
    rec = await cdr(box)
    assert (rec["disposition"], rec["answer_ts"]) == (disposition, None)
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "idle", 5,
                   what="the caller released")
    assert all(box.channels[p].state.value == "idle" for p in ("fxs1", "fxs2"))
    await all_idle(box)


# -- 5. forwarding on busy and on no answer after N s --------------------------------------
async def test_forward_on_busy_and_on_no_answer_by_feature_code(box):
    await configure(box, lambda d: d["extensions"][0].update(ring_s=5))
    await feature_code(box, "fxs1", "*90203#",
                       lambda: box.engine.settings.get("201").forward_busy == "203")
    await box.sim.phone_offhook("fxs1")                   # 201 busy (dialing)
    await box.sim.trunk_call("gsm1", "+79161230620")
    await rings(box, "fxs3")
    await box.sim.far_hangup("gsm1")
    await hang_up(box, "fxs1")
    await all_idle(box)

    await feature_code(box, "fxs1", "*92204#",
                       lambda: box.engine.settings.get("201").forward_no_answer == "204")
    await box.sim.trunk_call("gsm1", "+79161230621")
    await rings(box, "fxs1")
    assert box.channels["fxs4"].state.value == "idle"
    await rings(box, "fxs4", timeout=12)                  # after 201's 5 s
    assert box.channels["fxs1"].state.value == "idle"
    rec = await talk_and_hang_up(box, "fxs4", "gsm1", "5")
    assert (rec["extension"], rec["disposition"]) == ("204", "answered")
    await all_idle(box)


# -- 6. caller ID presentation on outbound calls -------------------------------------------
@pytest.mark.parametrize("presentation, shown", [
    ("extension", "202"), ("hidden", None), ("+74951234567", "+74951234567")])
async def test_outbound_caller_id_presentation(box, presentation, shown):
    await configure(box, lambda d: d.update(outbound=[
        {"name": "e1", "pattern": "^8\\d{10}$", "trunks": ["e1"],
         "caller_id": presentation}]))
    await dial(box, "fxs2", "84959876543")
    bchan = await wait_for(lambda: b_channel(box, "outgoing", "alerting"), 8,
                           what="the call on the E1")
    far = box.board.span.far[bchan]
    assert (far.called, far.caller) == ("84959876543", shown)
    await hang_up(box, "fxs2")
    await all_idle(box)


# -- 2. working hours in the box's time zone, and holidays ---------------------------------
def open_around_now(doc: dict[str, Any], tz: str, holidays: list[str]) -> None:
    """Office hours: every day, 40 minutes around now as clocks in ``tz`` show it."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo(tz))
    start, end = now - timedelta(minutes=20), now + timedelta(minutes=20)
    office_hours(doc, open_now=True)
    doc["time_conditions"][0].update(
        weekly=[{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                 "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}],
        holidays=holidays)


async def test_schedule_follows_the_time_zone_and_holidays_close(box):
    async def lands_on(caller: str, port: str) -> None:
        await box.sim.trunk_call("gsm1", caller)
        await rings(box, port, timeout=8)
        await box.sim.far_hangup("gsm1")
        await all_idle(box)

    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    await configure(box, lambda d: (d["system"].update(timezone="Asia/Tokyo"),
                                    open_around_now(d, "Asia/Tokyo", [])))
    await lands_on("+79161230630", "fxs1")                 # open: Tokyo's clock
    await configure(box, lambda d: d["system"].update(timezone="America/New_York"))
    await lands_on("+79161230631", "fxs4")                 # same hours, New York: closed
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    days = [str(today), str(today - timedelta(days=1))]    # the range may start yesterday
    await configure(box, lambda d: (d["system"].update(timezone="Asia/Tokyo"),
                                    open_around_now(d, "Asia/Tokyo", days)))
    await lands_on("+79161230632", "fxs4")                 # a holiday: closed
    assert [r["route"].endswith("(closed)") for r in box.cdrs()] == [True, True, False]
