"""ACD follow-ups of issue #6 on the simulated board: state races at the edges of a call.

- a caller who hangs up in the very instant an agent is being rung leaves no phone ringing,
  no channel seized and no agent reserved;
- a callback dial cancelled in the same turn of the loop as it starts (before its call's
  script has run) is ended all the same: the agent's phone stops, the agent is free.

The instants are caught with a listener on the box's live events (what the wallboard
sees); everything else is done by the people on the lines and the web actions.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import wait_for
from tests.integration.queue_rig import (
    AGENT_PORT,
    agent_state,
    feature,
    queue_callback,
    queued,
    takes_callback,
)
from tests.integration.test_pbx_features import all_idle, configure, rings, route_to


def two_agents(doc: dict[str, Any]) -> None:
    doc["agents"] = [{"id": "ann", "name": "Ann", "extension": "202"},
                     {"id": "bob", "name": "Bob", "extension": "203"}]
    doc["queues"] = [{"id": "sales", "name": "Sales", "strategy": "linear",
                      "members": [{"agent": "ann"}, {"agent": "bob"}],
                      "wrap_up_s": 0, "ring_timeout_s": 6}]
    route_to(doc, "gsm1", {"type": "queue", "target": "sales"})


async def test_caller_hangs_up_the_instant_an_agent_is_rung(box):
    await configure(box, two_agents)
    hung_up: list[str] = []
    tasks: list[asyncio.Task[None]] = []

    def on_event(event: dict[str, Any]) -> None:
        # The ACD has just reserved Ann and placed the leg to her phone (not yet seized):
        # the caller hangs up now.
        if event.get("type") == "agent" and event.get("state") == "reserved" and not hung_up:
            hung_up.append(str(event["agent"]))
            tasks.append(asyncio.get_running_loop().create_task(box.sim.far_hangup("gsm1")))

    box.engine.add_listener(on_event)
    await box.sim.trunk_call("gsm1", "+79161230100")
    await wait_for(lambda: hung_up, 8, what="an agent to be reserved")
    await asyncio.gather(*tasks)
    assert hung_up == ["ann"]                               # linear: Ann first
    await all_idle(box)
    await wait_for(lambda: agent_state(box, "ann") == "available", 5, what="ann free")
    assert agent_state(box, "bob") == "available"
    assert box.channels["fxs2"].state.value == "idle" and not box.channels["fxs2"].ringing
    box.engine.queues.core.check_invariants()
    report = await wait_for(lambda: box.queue_kpis()["queues"].get("sales"), 5, what="kpis")
    assert (report["offered"], report["answered"], report["abandoned"]) == (1, 0, 1)
    # The next caller is served normally: nothing was left reserved or seized.
    await box.sim.trunk_call("gsm1", "+79161230101")
    await rings(box, "fxs2", timeout=8)
    await box.sim.far_hangup("gsm1")
    await all_idle(box)


async def test_callback_cancelled_as_its_dial_starts_frees_the_agent(box):
    await configure(box, lambda d: queue_callback(d, "agent_first"))
    await feature(box, "*47", "paused")
    await queued(box)
    taken = await takes_callback(box)
    cancelled: list[str] = []

    def on_event(event: dict[str, Any]) -> None:
        # The callback's call was just originated (its script not yet started): the
        # supervisor cancels the job in the same instant.
        call = event.get("call") if event.get("type") == "call" else None
        if isinstance(call, dict) and call.get("route") == "callback" and not cancelled:
            cancelled.append(str(call["id"]))
            box.callback_cancel(taken["id"], "web")

    box.engine.add_listener(on_event)
    await feature(box, "*48", "reserved")                    # Ann free: reserved, dialled
    await wait_for(lambda: cancelled, 8, what="the callback dial to start")
    # Well before the 5 s ring timeout: the agent's phone is released by the cancel.
    await wait_for(lambda: box.channels[AGENT_PORT].state.value == "idle"
                   and not box.channels[AGENT_PORT].ringing, 3,
                   what="Ann's phone released at once")
    await wait_for(lambda: agent_state(box) == "available", 3, what="ann free")
    await all_idle(box)
    assert box.callback_job(taken["id"])["state"] == "cancelled"
    assert box.queues()["queues"]["sales"]["callbacks"] == 0
    box.engine.queues.core.check_invariants()
