"""The shared rig of the live queue tests: one queue with callback in queue, Ann on fxs2.

The callers are the SimModems' far ends (the caller on gsm2, the callback leaves on gsm1:
the customer's operator), the agent is Ann on the phone on fxs2, pausing and unpausing
with the feature codes *47 / *48. Extension numbers come from the box's configuration.
Used by test_queue_callback.py, test_queue_features.py and test_acd_followups.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.conftest import wait_for
from tests.integration.test_pbx_features import (
    active,
    all_idle,
    far_hears,
    hang_up,
    hears,
    rings,
    route_to,
    trunk,
)


@asynccontextmanager
async def running_box(data: Path) -> AsyncIterator[Any]:
    """A box on the simulated board over ``data`` (a restart test opens it twice); stopped
    at the end of the block, as a power cut would (nothing is settled beforehand)."""
    from firmware.app import Box, Settings

    box = Box(Settings(data_dir=data, simulated=True))
    await box.start()
    try:
        yield box
    finally:
        await box.stop()


CUSTOMER = "+79161234567"
OTHER = "+79031234500"
AGENT_PORT = "fxs2"


def extension_on(doc: dict[str, Any], port: str) -> str:
    return str(next(e["number"] for e in doc["extensions"] if e.get("port") == port))


def queue_callback(doc: dict[str, Any], dial: str = "customer_first", **queue: Any) -> None:
    doc["time_conditions"] = [{"id": "open", "weekly": [{
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": "00:00", "end": "24:00"}]}]
    doc["agents"] = [{"id": "ann", "name": "Ann", "extension": extension_on(doc, AGENT_PORT)}]
    doc["queues"] = [{"id": "sales", "name": "Sales", "members": [{"agent": "ann"}],
                      "strategy": "linear", "wrap_up_s": 0, "ring_timeout_s": 5,
                      "callback_key": "1", "callback_dial": dial, **queue}]
    doc["blacklist"] = [{"number": "+79169999999"}]
    doc["callback"] = {
        "working_hours": "open", "ring_timeout_s": 5, "detect_machine": False,
        "retry": {"max_attempts": 2, "no_answer": [1], "busy": [1], "failed": [1],
                  "agent_unavailable": [1], "interrupted": [1]},
        "trunks": [{"trunk": "gsm1", "prefixes": ["+7916"]}],
    }
    route_to(doc, "gsm2", {"type": "queue", "target": "sales"})


def agent_state(box: Any, agent: str = "ann") -> str:
    return str(box.queues()["agents"][agent]["state"])


def sales(box: Any) -> dict[str, Any]:
    return dict(box.queues()["queues"]["sales"])


async def feature(box: Any, code: str, state: str) -> None:
    """Ann keys a feature code on her phone (pause *47, unpause *48)."""
    await box.sim.phone_offhook(AGENT_PORT)
    await box.sim.phone_press(AGENT_PORT, code)
    await wait_for(lambda: agent_state(box) == state, 5, what=f"ann {state}")
    await hang_up(box, AGENT_PORT)


async def queued(box: Any, port: str = "gsm2", caller: str | None = CUSTOMER) -> None:
    await box.sim.trunk_call(port, caller)
    await wait_for(lambda: trunk(box, port)["call_state"] == "active", 5,
                   what="the queue to answer the caller")
    await wait_for(lambda: trunk(box, port)["heard_level_dbm0"] > -40, 5,
                   what="music on hold")


async def takes_callback(box: Any, port: str = "gsm2") -> dict[str, Any]:
    """The caller presses 1; the box confirms and hangs up; the job keeps the place."""
    await box.sim.far_press(port, "1")
    await wait_for(lambda: trunk(box, port)["call_state"] == "idle", 5,
                   what="the box to hang the caller up")
    jobs = await wait_for(lambda: box.callback_jobs(), 3, what="the callback job")
    assert sales(box)["callbacks"] == 1 and sales(box)["waiting"] == 0
    return dict(jobs[0])


async def dialled_back(box: Any, number: str = CUSTOMER, timeout: float = 8) -> None:
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "alerting"
                   and trunk(box, "gsm1")["dialed"] == number, timeout,
                   what=f"the box to dial {number} on gsm1")


async def they_talk(box: Any) -> None:
    """The customer (gsm1) and Ann hear each other."""
    await active(box)
    await box.sim.far_press("gsm1", "5")
    await hears(box, AGENT_PORT, "5")
    await box.sim.phone_press(AGENT_PORT, "7")
    await far_hears(box, "gsm1", "7")


def job(box: Any, job_id: str) -> dict[str, Any]:
    return dict(box.callback_job(job_id))


async def answers(box: Any, port: str, timeout: float = 6) -> None:
    """The phone on ``port`` rings and is picked up: a call is active."""
    await wait_for(lambda: box.channels[port].state.value == "alerting", timeout,
                   what=f"{port} to ring")
    await box.sim.phone_offhook(port)
    await active(box)


async def callback_connects(box: Any) -> None:
    """The customer answers the callback on gsm1, Ann's phone rings, she answers, they
    talk, she hangs up and every channel is idle again."""
    await box.sim.far_answer("gsm1")
    await rings(box, AGENT_PORT, 6)
    await box.sim.phone_offhook(AGENT_PORT)
    await they_talk(box)
    await hang_up(box, AGENT_PORT)
    await all_idle(box)
