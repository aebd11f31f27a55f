"""ACD queues on the simulated board: callers queue, agents' phones ring, KPIs are right.

Driven only through the people on the lines and the agents' feature codes; the KPIs are
recomputed from the queue log stored in the event store.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import wait_for
from tests.integration.test_pbx_features import (
    active,
    all_idle,
    configure,
    hang_up,
    hears,
    phone,
    rings,
    route_to,
    trunk,
)


def sales_queue(doc: dict[str, Any], **extra: Any) -> None:
    doc["agents"] = [{"id": "ann", "name": "Ann", "extension": "202"},
                     {"id": "bob", "name": "Bob", "extension": "203"}]
    doc["queues"] = [{"id": "sales", "name": "Sales", "members": [{"agent": "ann"},
                                                                 {"agent": "bob"}],
                      "strategy": "longest_idle", "wrap_up_s": 1, "ring_timeout_s": 4,
                      **extra}]
    route_to(doc, "gsm1", {"type": "queue", "target": "sales"})
    route_to(doc, "gsm2", {"type": "queue", "target": "sales"})


async def test_caller_queues_hears_music_and_an_agent_answers(box):
    await configure(box, sales_queue)
    await box.sim.trunk_call("gsm1", "+79161230100")
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "active", 5,
                   what="the queue to answer the caller")
    await wait_for(lambda: trunk(box, "gsm1")["heard_level_dbm0"] > -40, 5,
                   what="music on hold")
    ringing = await wait_for(lambda: [p for p in ("fxs2", "fxs3")
                                      if box.channels[p].state.value == "alerting"], 6,
                             what="an agent's phone to ring")
    await box.sim.phone_offhook(ringing[0])
    await active(box)
    await box.sim.far_press("gsm1", "5")
    await hears(box, ringing[0], "5")
    await hang_up(box, ringing[0])
    await all_idle(box)
    rec = box.cdrs()[0]
    assert rec["disposition"] == "answered" and rec["route"] == "Inbound gsm1"
    assert rec["extension"] == {"fxs2": "202", "fxs3": "203"}[ringing[0]]
    k = await wait_for(lambda: box.queue_kpis()["queues"].get("sales", {}).get("answered"),
                       5, what="KPIs from the stored log")
    report = box.queue_kpis()["queues"]["sales"]
    assert (report["offered"], report["answered"], report["abandoned"]) == (1, 1, 0)
    assert k == 1


async def test_abandon_is_counted_and_agents_stop_ringing(box):
    await configure(box, sales_queue)
    await box.sim.trunk_call("gsm2", "+79161230101")
    await wait_for(lambda: any(box.channels[p].state.value == "alerting"
                               for p in ("fxs2", "fxs3")), 6, what="an agent rings")
    await box.sim.far_hangup("gsm2")                  # the caller gives up
    await wait_for(lambda: all(box.channels[p].state.value == "idle"
                               for p in ("fxs2", "fxs3")), 5, what="agents stop ringing")
    await all_idle(box)
    snap = box.queues()
    assert snap["queues"]["sales"]["waiting"] == 0
    assert all(a["state"] != "ringing" for a in snap["agents"].values())
    report = await wait_for(lambda: box.queue_kpis()["queues"].get("sales"), 5, what="kpis")
    assert (report["offered"], report["answered"], report["abandoned"]) == (1, 0, 1)


async def test_agents_log_out_by_feature_code_and_the_queue_overflows(box):
    await configure(box, lambda d: sales_queue(
        d, join_empty="always", max_wait_s=3,
        overflow={"type": "extension", "target": "204"}))
    for port in ("fxs2", "fxs3"):                     # both agents log out with *46
        await box.sim.phone_offhook(port)
        await box.sim.phone_press(port, "*46")
        agent = {"fxs2": "ann", "fxs3": "bob"}[port]
        await wait_for(lambda a=agent: box.queues()["agents"][a]["state"] == "logged_out", 5,
                       what=f"{port} logged out")
        await hang_up(box, port)
    await box.sim.trunk_call("gsm1", "+79161230102")
    await rings(box, "fxs4", timeout=8)               # nobody to take it: overflow to 204
    assert box.channels["fxs2"].state.value == "idle"
    await box.sim.phone_offhook("fxs4")
    await active(box)
    await hang_up(box, "fxs4")
    await all_idle(box)
    # Ann logs back in with *45 and takes the next call.
    await box.sim.phone_offhook("fxs2")
    await box.sim.phone_press("fxs2", "*45")
    await wait_for(lambda: box.queues()["agents"]["ann"]["state"] == "available", 5,
                   what="ann logged in")
    await hang_up(box, "fxs2")
    await box.sim.trunk_call("gsm2", "+79161230103")
    await rings(box, "fxs2", timeout=8)
    assert phone(box, "fxs3")["ring_bursts"] == 0
    await box.sim.far_hangup("gsm2")
    await all_idle(box)


async def test_queue_calls_are_recorded_when_the_queue_says_so(box):
    await configure(box, lambda d: (sales_queue(d, record=True),
                                    d.update(recording={"min_free_mb": 10})))
    await box.sim.trunk_call("gsm1", "+79161230104")
    ringing = await wait_for(lambda: [p for p in ("fxs2", "fxs3")
                                      if box.channels[p].state.value == "alerting"], 6,
                             what="an agent's phone to ring")
    await box.sim.phone_offhook(ringing[0])
    await active(box)
    await hang_up(box, ringing[0])
    await all_idle(box)
    rec = box.cdrs()[0]
    assert any(leg.get("recording") for leg in rec["legs"])
    assert len(box.recordings.files()) == 1
