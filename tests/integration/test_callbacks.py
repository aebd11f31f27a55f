"""Callbacks on the simulated board: missed calls called back, web requests, the blacklist,
reject-and-call-back, and a restart that neither loses nor repeats a waiting job.

The callers are the SimModems' far ends; the box's dial is seen as the module's ATD, the
customer answers with ``far_answer``, and the agent is the phone on fxs1 (ext 201).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from firmware.callback import CallbackRequestError
from tests.conftest import wait_for
from tests.integration.queue_rig import running_box
from tests.integration.test_pbx_features import (
    active,
    all_idle,
    configure,
    hang_up,
    rings,
    route_to,
    trunk,
)

CUSTOMER = "+79161234567"


def callback_policy(doc: dict[str, Any], **extra: Any) -> None:
    doc["time_conditions"] = [{"id": "open", "weekly": [{
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": "00:00", "end": "24:00"}]}]
    doc["agents"] = [{"id": "ann", "name": "Ann", "extension": "201"}]
    doc["queues"] = [{"id": "sales", "name": "Sales", "members": [{"agent": "ann"}],
                      "strategy": "linear", "wrap_up_s": 0, "ring_timeout_s": 5}]
    doc["blacklist"] = [{"number": "+79169999999"}]
    doc["callback"] = {
        "working_hours": "open", "ring_timeout_s": 5, "detect_machine": False,
        "missed": {"enabled": True, "queue": "sales"},
        "retry": {"max_attempts": 3, "no_answer": [1], "busy": [1], "failed": [1],
                  "interrupted": [1]},
        # the customer's operator is gsm1's: the on-net SIM is the first choice
        "trunks": [{"trunk": "gsm1", "prefixes": ["+7916"]}],
        **extra,
    }


async def dialled_back(box: Any, port: str = "gsm1", number: str = CUSTOMER) -> None:
    await wait_for(lambda: trunk(box, port)["call_state"] == "alerting"
                   and trunk(box, port)["dialed"] == number, 8,
                   what=f"the box to dial {number} on {port}")


async def connect_to_ann(box: Any, port: str = "gsm1") -> None:
    await box.sim.far_answer(port)
    await rings(box, "fxs1", 6)
    await box.sim.phone_offhook("fxs1")
    await active(box)


def job_state(box: Any, job_id: str) -> str:
    return str(box.callback_job(job_id)["state"])


async def test_missed_call_is_called_back_and_connected(box):
    await configure(box, callback_policy)
    await box.sim.trunk_call("gsm1", CUSTOMER)
    await rings(box, "fxs1")
    await box.sim.far_hangup("gsm1")                 # nobody answered: a missed call
    jobs = await wait_for(lambda: box.callback_jobs(), 5, what="a callback job")
    assert jobs[0]["number"] == CUSTOMER and jobs[0]["source"] == "missed"
    assert jobs[0]["target"] == "sales"
    await dialled_back(box)
    await connect_to_ann(box)
    job_id = jobs[0]["id"]
    await wait_for(lambda: job_state(box, job_id) == "connected", 5, what="connected")
    await hang_up(box, "fxs1")
    await all_idle(box)
    job = box.callback_job(job_id)
    assert job["attempts"] == 1
    attempt = job["attempts_log"][0]
    assert attempt["outcome"] == "connected" and attempt["trunk"] == "gsm1"
    assert attempt["agent"] == "201"
    cdrs = await wait_for(lambda: len(box.cdrs()) >= 2 and box.cdrs(), 5, what="2 CDRs")
    back = next(c for c in cdrs if c["route"] == "callback")
    assert back["direction"] == "outbound" and back["disposition"] == "answered"
    assert back["trunk"] == "gsm1" and back["extension"] == "201"
    assert back["called"] == CUSTOMER
    missed = next(c for c in cdrs if c["route"] != "callback")
    assert missed["direction"] == "inbound" and missed["answer_ts"] is None


async def test_web_request_is_dialled_and_blacklist_refused(box):
    await configure(box, callback_policy)
    with pytest.raises(CallbackRequestError) as err:
        box.callback_request("+79169999999", "sales")
    assert [i.field for i in err.value.issues] == ["number"]
    with pytest.raises(CallbackRequestError) as err:
        box.callback_request("12", "nope")
    assert {i.field for i in err.value.issues} == {"number", "queue"}
    assert box.callback_jobs() == []
    created = box.callback_request(CUSTOMER, "sales")
    assert created["result"] == "created"
    await dialled_back(box)
    await box.sim.far_hangup("gsm1")                 # the customer declines
    job_id = created["job"]["id"]
    await wait_for(lambda: job_state(box, job_id) == "retry_wait", 5, what="a retry")
    await all_idle(box)
    await dialled_back(box)                           # 1 s later, the second attempt
    box.callback_cancel(job_id)
    await all_idle(box)
    job = box.callback_job(job_id)
    assert job["state"] == "cancelled" and job["attempts"] == 2


async def test_reject_and_call_back_route(box):
    await configure(box, lambda d: (callback_policy(d),
                                    route_to(d, "gsm1", {"type": "callback",
                                                         "target": "201"})))
    await box.sim.trunk_call("gsm1", CUSTOMER)
    jobs = await wait_for(lambda: box.callback_jobs(), 5, what="a callback job")
    assert jobs[0]["source"] == "reject" and jobs[0]["target_type"] == "extension"
    await dialled_back(box)
    await connect_to_ann(box)
    await wait_for(lambda: job_state(box, jobs[0]["id"]) == "connected", 5, what="connected")
    await hang_up(box, "fxs1")
    await all_idle(box)
    rejected = next(c for c in box.cdrs() if c["route"] != "callback")
    assert rejected["disposition"] == "rejected"


async def test_a_waiting_job_survives_a_restart_and_is_dialled_once(tmp_path: Path):
    data = tmp_path / "data"
    async with running_box(data) as box:
        await configure(box, lambda d: callback_policy(d, working_hours=None))
        # a window opening in 2 s: the job waits, and the box stops meanwhile
        import time
        now = time.time()
        job_id = box.callback_request(CUSTOMER, "sales", (now + 2, now + 600))["job"]["id"]
        assert job_state(box, job_id) == "pending"
    async with running_box(data) as box:
        await dialled_back(box)
        await connect_to_ann(box)
        await wait_for(lambda: job_state(box, job_id) == "connected", 5, what="connected")
        await hang_up(box, "fxs1")
        await all_idle(box)
        assert box.callback_job(job_id)["attempts"] == 1
        assert len(box.callback_jobs()) == 1


async def test_a_restart_during_a_dial_settles_it_and_dials_again_once(tmp_path: Path):
    data = tmp_path / "data"
    async with running_box(data) as box:
        await configure(box, callback_policy)
        job_id = box.callback_request(CUSTOMER, "sales")["job"]["id"]
        await dialled_back(box)                      # ringing the customer: power cut
        assert job_state(box, job_id) == "dialing"
    async with running_box(data) as box:
        job = box.callback_job(job_id)
        assert job["state"] == "retry_wait" and job["last_outcome"] == "interrupted"
        await dialled_back(box)                      # after the 1 s "interrupted" interval
        await connect_to_ann(box)
        await wait_for(lambda: job_state(box, job_id) == "connected", 5, what="connected")
        await hang_up(box, "fxs1")
        await all_idle(box)
        outcomes = [a["outcome"] for a in box.callback_job(job_id)["attempts_log"]]
        assert outcomes == ["interrupted", "connected"]


async def test_abandoned_in_queue_is_called_back(box):
    def abandon_policy(doc: dict[str, Any]) -> None:
        callback_policy(doc, missed={"enabled": False},
                        abandoned={"enabled": True, "queue": "sales"})
        route_to(doc, "gsm2", {"type": "queue", "target": "sales"})
        doc["callback"]["working_hours"] = None

    await configure(box, abandon_policy)
    await box.sim.phone_offhook("fxs1")              # ann is busy: the caller waits
    await box.sim.trunk_call("gsm2", CUSTOMER)
    await wait_for(lambda: trunk(box, "gsm2")["call_state"] == "active", 5,
                   what="the queue to answer")
    await box.sim.far_hangup("gsm2")                 # ...and gives up
    jobs = await wait_for(lambda: box.callback_jobs(), 5, what="a callback job")
    assert jobs[0]["source"] == "abandoned" and jobs[0]["target"] == "sales"
    await hang_up(box, "fxs1")
    await dialled_back(box)
    await connect_to_ann(box)
    await wait_for(lambda: job_state(box, jobs[0]["id"]) == "connected", 5, what="connected")
    await hang_up(box, "fxs1")
    await all_idle(box)
