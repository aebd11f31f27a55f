"""Call waiting on the simulated board: the waiting tone, flash to take and toggle, recall
on hang-up with a party on hold, and busy handling when the waiting call is not taken."""

from __future__ import annotations

import asyncio
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


def both_to_201(d: dict[str, Any]) -> None:
    route_to(d, "gsm1", {"type": "extension", "target": "201"})
    route_to(d, "gsm2", {"type": "extension", "target": "201"})
    d["extensions"][0].update(ring_s=5)


async def first_call(box: Any) -> None:
    await box.sim.trunk_call("gsm1", "+79161230300")
    await rings(box, "fxs1")
    await box.sim.phone_offhook("fxs1")
    await active(box)
    await asyncio.sleep(0.3)


async def waiting_offered(box: Any) -> None:
    await box.sim.trunk_call("gsm2", "+79161230301")
    await wait_for(lambda: [c for c in box.calls() if c["state"] == "waiting"], 5,
                   what="the second call waiting")
    await wait_for(lambda: phone(box, "fxs1")["heard_level_dbm0"] > -30, 3,
                   what="the waiting tone on 201")


async def test_call_waiting_toggle_and_recall(box):
    await configure(box, both_to_201)
    await first_call(box)
    await waiting_offered(box)
    assert box.channels["fxs1"].state.value == "active"      # not rung: a tone in the call
    await box.sim.phone_flash("fxs1")                        # take the waiting call
    await wait_for(lambda: trunk(box, "gsm2")["call_state"] == "active", 5,
                   what="the waiting call answered")
    await box.sim.far_press("gsm2", "2")
    await hears(box, "fxs1", "2")
    await box.sim.far_press("gsm1", "1")                     # on hold: not heard
    await asyncio.sleep(0.6)
    assert not phone(box, "fxs1")["heard_digits"].endswith("1")
    await box.sim.phone_flash("fxs1")                        # toggle back to the first
    await asyncio.sleep(0.3)
    await box.sim.far_press("gsm1", "3")
    await hears(box, "fxs1", "3")
    # Hang up with gsm2 on hold: gsm1 is released and the phone rings back for gsm2.
    await box.sim.phone_onhook("fxs1")
    await wait_for(lambda: trunk(box, "gsm1")["call_state"] == "idle", 5,
                   what="the talking party released")
    await rings(box, "fxs1", timeout=8)
    await box.sim.phone_offhook("fxs1")
    await active(box)
    await asyncio.sleep(0.3)
    await box.sim.far_press("gsm2", "4")
    await hears(box, "fxs1", "4")
    await hang_up(box, "fxs1")
    await all_idle(box)


async def test_waiting_call_not_taken_goes_to_voicemail(box):
    await configure(box, both_to_201)
    await first_call(box)
    await waiting_offered(box)
    await wait_for(lambda: [c for c in box.calls() if c["state"] == "voicemail"], 8,
                   what="the waiting call to reach voicemail")
    await box.sim.far_hangup("gsm2")
    await box.sim.far_press("gsm1", "5")                     # the first call goes on
    await hears(box, "fxs1", "5")
    await hang_up(box, "fxs1")
    await all_idle(box)
