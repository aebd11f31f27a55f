"""ACD follow-ups of issue #6 on the simulated board: state races at the edges of a call.

- a caller who hangs up in the very instant an agent is being rung leaves no phone ringing,
  no channel seized and no agent reserved;
- a callback dial cancelled in the same turn of the loop as it starts (before its call's
  script has run) is ended all the same: the agent's phone stops, the agent is free;
- an agent a campaign holds for the contact it dials is ``reserved_outbound``: offered no
  inbound caller, rung for the contact once they answer, never counted as paused;
- an agent whose phone is unplugged (found by the FXS line test), or a remote agent whose
  GSM trunk is unregistered, is ``unreachable`` and gets no calls until the device is back.

The instants are caught with a listener on the box's live events (what the wallboard
sees); everything else is done by the people on the lines and the web actions.
"""

from __future__ import annotations

import asyncio
from typing import Any

from drivers.sim.parties import Callee
from tests.conftest import wait_for
from tests.integration.queue_rig import (
    AGENT_PORT,
    agent_state,
    feature,
    queue_callback,
    queued,
    takes_callback,
)
from tests.integration.test_campaigns_live import PERSON, campaign_doc
from tests.integration.test_campaigns_live import trunk as campaign_trunk
from tests.integration.test_pbx_features import (
    active,
    all_idle,
    configure,
    hang_up,
    hears,
    mobile_route,
    rings,
    route_to,
    trunk,
)

INBOUND = "+79031230077"
REMOTE = "+79161112233"


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


# -- campaign agents are reserved for outbound, not paused ------------------------------------


async def test_campaign_agent_is_held_for_outbound_and_offered_no_inbound_call(box):
    """a0 serves the inbound queue ``sales`` (E1 callers) and the progressive campaign's
    queue ``out``. While the campaign dials a0's contact, a0 is ``reserved_outbound``: an
    inbound caller waits; the contact answers and a0's phone rings for the contact; after
    that call the inbound caller is a0's. No second of it is paused time."""
    ports: list[str] = []

    def change(doc: dict[str, Any]) -> None:
        ports.extend(campaign_doc(doc, "progressive", ring_timeout_s=60))
        doc["queues"].append({"id": "sales", "name": "Sales", "strategy": "linear",
                              "members": [{"agent": "a0"}], "wrap_up_s": 0,
                              "ring_timeout_s": 8})
        route_to(doc, "e1", {"type": "queue", "target": "sales"})

    await configure(box, change)
    agent_port = ports[0]
    box.board.control.callee(PERSON, Callee("no_answer"))
    assert box.campaign_import("c1", f"number,name\n{PERSON},Ann\n".encode())["imported"] == 1
    box.campaign_control("c1", "start")
    await wait_for(lambda: campaign_trunk(box, "e1.1").get("call_state") == "alerting", 8,
                   what="the contact to ring on e1.1")
    assert agent_state(box, "a0") == "reserved_outbound"
    await box.sim.trunk_call("e1.5", INBOUND, "100")                # an inbound caller
    await wait_for(lambda: box.queues()["queues"]["sales"]["waiting"] == 1, 5,
                   what="the inbound caller to queue")
    await asyncio.sleep(1.0)          # were a0 offered to the inbound caller, it would ring
    assert not box.channels[agent_port].ringing
    assert agent_state(box, "a0") == "reserved_outbound"
    await box.sim.far_answer("e1.1")                                 # the contact answers
    await rings(box, agent_port, 8)
    await box.sim.phone_offhook(agent_port)
    await box.sim.far_press("e1.1", "7")                             # it is the contact
    await hears(box, agent_port, "7")
    assert box.queues()["queues"]["sales"]["waiting"] == 1
    await box.sim.phone_onhook(agent_port)
    await wait_for(lambda: campaign_trunk(box, "e1.1").get("call_state") in (None, "idle"),
                   5, what="the contact's call to end")
    await rings(box, agent_port, 8)                                  # now the inbound caller
    await box.sim.phone_offhook(agent_port)
    await box.sim.far_press("e1.5", "3")
    await hears(box, agent_port, "3")
    await hang_up(box, agent_port)
    await all_idle(box)
    box.campaign_control("c1", "stop")
    result = box.campaign_results("c1")[0]
    assert [a["outcome"] for a in result["attempts_log"]] == ["connected"]
    agent = await wait_for(lambda: box.queue_kpis()["agents"].get("a0", {}).get("handled")
                           == 2 and box.queue_kpis()["agents"]["a0"], 5, what="a0's KPIs")
    assert agent["paused_s"] == 0.0 and agent["outbound_reserved_s"] > 0.5
    box.engine.queues.core.check_invariants()


# -- unreachable agents: a phone unplugged, a remote agent's trunk unregistered ---------------


async def test_agent_whose_phone_is_unplugged_is_unreachable_until_plugged_in(box):
    await configure(box, two_agents)
    await box.board.control.phone_unplug("fxs2")           # Ann's phone cord is pulled
    await wait_for(lambda: agent_state(box, "ann") == "unreachable", 6,
                   what="the line test to find no phone on Ann's line")
    assert box.channels["fxs2"].describe()["phone_present"] is False
    await box.sim.trunk_call("gsm1", "+79161230102")
    await rings(box, "fxs3", timeout=8)                    # linear, but Ann is unreachable
    assert box.channels["fxs2"].state.value == "idle"
    await box.sim.far_hangup("gsm1")
    await all_idle(box)
    await box.board.control.phone_plug("fxs2")
    await wait_for(lambda: agent_state(box, "ann") == "available", 6,
                   what="Ann available once her phone is back")
    await box.sim.trunk_call("gsm1", "+79161230103")
    await rings(box, "fxs2", timeout=8)                    # Ann first again
    await box.sim.phone_offhook("fxs2")
    await box.sim.far_press("gsm1", "6")
    await hears(box, "fxs2", "6")
    await hang_up(box, "fxs2")
    await all_idle(box)
    box.engine.queues.core.check_invariants()


async def test_phone_unplugged_while_it_rings_for_a_caller_passes_the_caller_on(box):
    await configure(box, two_agents)
    await box.sim.trunk_call("gsm1", "+79161230104")
    await rings(box, "fxs2", timeout=8)                    # Ann rings...
    await box.board.control.phone_unplug("fxs2")           # ...and her cord is pulled
    # (a line that rings is not tested: the ring times out, then the test finds no phone)
    await rings(box, "fxs3", timeout=14)
    await wait_for(lambda: agent_state(box, "ann") == "unreachable", 8, what="ann unreachable")
    await box.sim.far_hangup("gsm1")
    await all_idle(box)
    box.engine.queues.core.check_invariants()


def remote_agent(doc: dict[str, Any]) -> None:
    """Rita is a remote agent on her mobile, reached over gsm1; callers come in on the E1."""
    doc["agents"] = [{"id": "rita", "name": "Rita", "number": REMOTE}]
    doc["queues"] = [{"id": "sales", "name": "Sales", "members": [{"agent": "rita"}],
                      "wrap_up_s": 0, "ring_timeout_s": 10}]
    mobile_route(doc, ["gsm1"])
    route_to(doc, "e1", {"type": "queue", "target": "sales"})


async def test_remote_agent_is_unreachable_while_her_trunk_is_unregistered(box):
    await configure(box, remote_agent)
    modem = box.board.gsm["gsm1"].modem
    modem.set_registration(0)                              # gsm1 loses the network
    await wait_for(lambda: agent_state(box, "rita") == "unreachable", 8,
                   what="Rita unreachable with her trunk out of service")
    await box.sim.trunk_call("e1.3", INBOUND, "100")
    await wait_for(lambda: box.queues()["queues"]["sales"]["waiting"] == 1, 5,
                   what="the caller to wait")
    await asyncio.sleep(1.0)                               # nobody is dialled for them
    assert str(getattr(modem.call_state, "value", modem.call_state)) == "idle"
    modem.set_registration(1)                              # back on the network
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "alerting", 10,
                   what="Rita's mobile to be dialled for the waiting caller")
    assert trunk(box, "gsm1")["dialed"] == REMOTE
    await box.sim.far_answer("gsm1")                       # Rita answers on her mobile
    await active(box)
    await box.sim.far_press("e1.3", "8")
    await wait_for(lambda: trunk(box, "gsm1")["heard_digits"].endswith("8"),
                   5, what="Rita to hear the caller")
    await box.sim.far_hangup("e1.3")
    await all_idle(box)
    box.engine.queues.core.check_invariants()
