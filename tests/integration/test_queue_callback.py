"""Callback in queue on the simulated board: the caller presses the key and hangs up, keeps
their place, and is called back when an agent is reserved for them; callback jobs from the
web keep a place in the queue too; a restart neither loses nor repeats a place.

The rig (callers on gsm2, callbacks out on gsm1, Ann on fxs2) is tests/integration/queue_rig.py.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.conftest import wait_for
from tests.integration.queue_rig import (
    AGENT_PORT,
    CUSTOMER,
    OTHER,
    agent_state,
    callback_connects,
    dialled_back,
    feature,
    job,
    queue_callback,
    queued,
    running_box,
    sales,
    takes_callback,
    they_talk,
)
from tests.integration.test_pbx_features import (
    active,
    all_idle,
    configure,
    hang_up,
    hears,
    phone,
    rings,
    trunk,
)


async def test_key_press_keeps_the_place_and_the_customer_is_called_first(box):
    await configure(box, queue_callback)
    await feature(box, "*47", "paused")
    await queued(box)
    taken = await takes_callback(box)
    assert (taken["source"], taken["target"], taken["number"]) == ("queue", "sales", CUSTOMER)
    assert taken["mode"] == "customer_first" and taken["state"] == "pending"
    await asyncio.sleep(0.5)
    assert trunk(box, "gsm1")["call_state"] == "idle"       # nobody free: nothing dialled
    await feature(box, "*48", "reserved")                   # Ann is free: reserved for it
    await dialled_back(box)
    assert phone(box, AGENT_PORT)["ring_bursts"] == 0        # the customer first
    await box.sim.far_answer("gsm1")
    await rings(box, AGENT_PORT, 6)
    await box.sim.phone_offhook(AGENT_PORT)
    await they_talk(box)
    await wait_for(lambda: job(box, taken["id"])["state"] == "connected", 5, what="connected")
    assert agent_state(box) == "on_call"
    await hang_up(box, AGENT_PORT)
    await all_idle(box)
    await wait_for(lambda: agent_state(box) == "available", 5, what="ann free again")
    done = job(box, taken["id"])
    assert done["attempts"] == 1 and done["attempts_log"][0]["trunk"] == "gsm1"
    assert sales(box)["callbacks"] == 0
    # KPIs as DOMAIN.md defines them: a callback taken is not answered, not in SL's base
    report = await wait_for(
        lambda: (box.queue_kpis()["queues"].get("sales") or {}).get("callbacks_connected")
        and box.queue_kpis()["queues"]["sales"], 5, what="callback KPIs")
    assert (report["offered"], report["answered"], report["abandoned"]) == (1, 0, 0)
    assert report["callbacks_requested"] == 1 and report["callbacks_scheduled"] == 1
    assert report["callback_success"] == 100.0 and report["sl"]["20"] is None
    assert report["time_to_callback_s"] > 0


async def test_agent_first_rings_the_agent_then_dials_the_customer(box):
    await configure(box, lambda d: queue_callback(d, "agent_first"))
    await feature(box, "*47", "paused")
    await queued(box)
    taken = await takes_callback(box)
    assert taken["mode"] == "agent_first"
    await feature(box, "*48", "reserved")
    await rings(box, AGENT_PORT, 6)                           # the agent first
    assert trunk(box, "gsm1")["call_state"] == "idle"
    await box.sim.phone_offhook(AGENT_PORT)
    await dialled_back(box)
    await wait_for(lambda: phone(box, AGENT_PORT)["heard_level_dbm0"] > -40, 5,
                   what="Ann to hear ringback")
    await box.sim.far_answer("gsm1")
    await they_talk(box)
    await wait_for(lambda: job(box, taken["id"])["state"] == "connected", 5, what="connected")
    await box.sim.far_hangup("gsm1")                          # the customer ends the call
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "idle", 5, what="gsm1 idle")
    await hang_up(box, AGENT_PORT)
    await all_idle(box)
    await wait_for(lambda: agent_state(box) == "available", 5, what="ann free again")


async def test_unanswered_callback_is_retried_by_the_policy_then_connected(box):
    await configure(box, queue_callback)
    await feature(box, "*47", "paused")
    await queued(box)
    taken = await takes_callback(box)
    await feature(box, "*48", "reserved")
    await dialled_back(box)                                    # nobody answers (5 s)
    await wait_for(lambda: job(box, taken["id"])["state"] == "retry_wait", 8,
                   what="the attempt to end unanswered")
    assert job(box, taken["id"])["last_outcome"] == "no_answer"
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "idle", 5, what="gsm1 idle")
    assert agent_state(box) in ("available", "reserved")      # released, or reserved again
    await dialled_back(box)                                    # 1 s later, the second try
    await callback_connects(box)
    done = job(box, taken["id"])
    assert done["state"] == "connected"
    assert [a["outcome"] for a in done["attempts_log"]] == ["no_answer", "connected"]
    report = box.queue_kpis()["queues"]["sales"]
    assert report["callbacks_scheduled"] == 1 and report["callbacks_connected"] == 1


async def test_a_newer_caller_is_answered_after_the_callback(box):
    await configure(box, lambda d: queue_callback(d, wrap_up_s=2))
    await feature(box, "*47", "paused")
    await queued(box)
    taken = await takes_callback(box)
    await queued(box, "gsm2", OTHER)                          # arrives after the key press
    assert sales(box)["waiting"] == 1
    await feature(box, "*48", "reserved")
    await dialled_back(box)                                   # the callback goes first
    assert sales(box)["waiting"] == 1 and trunk(box, "gsm2")["call_state"] == "active"
    await box.sim.far_answer("gsm1")
    await rings(box, AGENT_PORT, 6)
    await box.sim.phone_offhook(AGENT_PORT)
    await they_talk(box)
    await hang_up(box, AGENT_PORT)
    await wait_for(lambda: job(box, taken["id"])["state"] == "connected", 5, what="connected")
    await rings(box, AGENT_PORT, 8)                           # now the newer caller
    await box.sim.phone_offhook(AGENT_PORT)
    await active(box)
    await box.sim.far_press("gsm2", "3")
    await hears(box, AGENT_PORT, "3")
    await hang_up(box, AGENT_PORT)
    await all_idle(box)
    report = box.queue_kpis()["queues"]["sales"]
    assert (report["offered"], report["answered"], report["callbacks_requested"]) == (2, 1, 1)


async def test_a_withheld_caller_keys_the_number_and_a_blacklisted_one_is_refused(box):
    await configure(box, queue_callback)
    await feature(box, "*47", "paused")
    await queued(box, caller=None)
    await box.sim.far_press("gsm2", "1")                       # no caller ID: asked for one
    await asyncio.sleep(0.3)
    await box.sim.far_press("gsm2", "89169999999#")            # blacklisted: refused
    await asyncio.sleep(1.5)
    assert trunk(box, "gsm2")["call_state"] == "active" and box.callback_jobs() == []
    assert sales(box)["waiting"] == 1
    await box.sim.far_press("gsm2", "1")
    await asyncio.sleep(0.3)
    await box.sim.far_press("gsm2", "89161234567#")
    await wait_for(lambda: trunk(box, "gsm2")["call_state"] == "idle", 5,
                   what="the box to hang the caller up")
    [taken] = box.callback_jobs()
    assert taken["number"] == CUSTOMER and sales(box)["callbacks"] == 1
    box.callback_cancel(taken["id"])                           # the supervisor calls it off
    await wait_for(lambda: sales(box)["callbacks"] == 0, 5, what="the place released")
    await feature(box, "*48", "available")
    await asyncio.sleep(0.5)
    assert trunk(box, "gsm1")["call_state"] == "idle"
    await all_idle(box)


async def test_web_request_takes_a_place_behind_an_earlier_caller(box):
    await configure(box, queue_callback)
    await feature(box, "*47", "paused")
    await queued(box, "gsm2", OTHER)                          # waiting since before
    created = box.callback_request(CUSTOMER, "sales")
    assert created["result"] == "created"
    await wait_for(lambda: sales(box)["callbacks"] == 1, 5, what="the web request's place")
    # Ann unpauses from the web UI with her phone on-hook (keying *48 she would be
    # off-hook when the earlier caller is offered to her, and that ring would fail)
    box.agent_action("ann", "unpause")
    await rings(box, AGENT_PORT, 6)                           # the earlier caller first
    assert trunk(box, "gsm1")["call_state"] == "idle"
    await box.sim.phone_offhook(AGENT_PORT)
    await active(box)
    await box.sim.far_press("gsm2", "4")
    await hears(box, AGENT_PORT, "4")
    await hang_up(box, AGENT_PORT)
    await dialled_back(box)                                   # then the web request
    await callback_connects(box)
    assert job(box, created["job"]["id"])["state"] == "connected"
    report = box.queue_kpis()["queues"]["sales"]
    # the web request is a scheduled callback, not an offered call
    assert (report["offered"], report["callbacks_requested"]) == (1, 0)
    assert (report["callbacks_scheduled"], report["callbacks_connected"]) == (1, 1)


async def test_a_restart_keeps_the_place_and_dials_it_exactly_once(tmp_path: Path):
    data = tmp_path / "data"
    async with running_box(data) as box:  # power cut with the place held
        await configure(box, queue_callback)
        await feature(box, "*47", "paused")
        await queued(box)
        taken = await takes_callback(box)
        await all_idle(box)
    async with running_box(data) as box:
        assert job(box, taken["id"])["state"] == "pending"
        # Ann is a static agent, free after the restart: the place is dialled at once
        await dialled_back(box)
        await callback_connects(box)
        started = time.monotonic()
        while time.monotonic() - started < 2.5:               # and never again
            assert trunk(box, "gsm1")["call_state"] == "idle"
            await asyncio.sleep(0.1)
        done = job(box, taken["id"])
        assert done["state"] == "connected" and done["attempts"] == 1
        assert len(box.callback_jobs()) == 1 and sales(box)["callbacks"] == 0
        await all_idle(box)


async def test_a_queue_holding_its_maximum_of_callbacks_refuses_the_next_key(box):
    await configure(box, lambda d: queue_callback(d, callback_max=1))
    await feature(box, "*47", "paused")
    await queued(box)
    taken = await takes_callback(box)                          # the one place allowed
    await queued(box, "gsm2", OTHER)
    await box.sim.far_press("gsm2", "1")                       # a second: refused
    await asyncio.sleep(1.5)
    assert trunk(box, "gsm2")["call_state"] == "active"        # keeps waiting on the line
    assert [j["id"] for j in box.callback_jobs()] == [taken["id"]]
    assert sales(box)["callbacks"] == 1 and sales(box)["waiting"] == 1
    await box.sim.far_hangup("gsm2")
    box.callback_cancel(taken["id"])
    await wait_for(lambda: sales(box)["callbacks"] == 0, 5, what="the place released")
    await all_idle(box)
