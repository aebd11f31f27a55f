"""A supervisor joins a call in progress from their own phone: listen, whisper, barge.

What each party hears is checked with DTMF pressed by the others (audio through the
media engine's conference), never with metadata.
"""

from __future__ import annotations

import pytest

from tests.conftest import wait_for
from tests.integration.test_pbx_features import (
    active,
    all_idle,
    hang_up,
    hears,
    phone,
    rings,
    trunk,
)


async def test_listen_whisper_barge(box):
    await box.sim.trunk_call("gsm1", "+79161230200")        # the customer
    await rings(box, "fxs1")
    await box.sim.phone_offhook("fxs1")                      # the agent, ext 201
    call = await active(box)
    box.supervise(call["id"], "204", "listen")
    await rings(box, "fxs4")
    await box.sim.phone_offhook("fxs4")                      # the supervisor answers
    await wait_for(lambda: box.channels["fxs4"].state.value == "active", 3, what="answer")

    await box.sim.far_press("gsm1", "3")                     # the supervisor hears both
    await hears(box, "fxs4", "3")
    await box.sim.phone_press("fxs1", "4")
    await hears(box, "fxs4", "4")
    await box.sim.phone_press("fxs4", "9")                   # ...and is heard by nobody
    await box.sim.far_press("gsm1", "1")                     # (a marker after the 9)
    await hears(box, "fxs1", "1")
    assert "9" not in phone(box, "fxs1")["heard_digits"]
    assert "9" not in trunk(box, "gsm1")["heard_digits"]

    box.set_supervision(call["id"], "whisper")               # coaching: the agent only
    await box.sim.phone_press("fxs4", "8")
    await hears(box, "fxs1", "8")
    await box.sim.phone_press("fxs1", "2")                   # a marker heard by the customer
    await wait_for(lambda: trunk(box, "gsm1")["heard_digits"].endswith("2"), 5,
                   what="the customer to hear the agent")
    assert "8" not in trunk(box, "gsm1")["heard_digits"]

    box.set_supervision(call["id"], "barge")                 # three-way
    await box.sim.phone_press("fxs4", "7")
    await hears(box, "fxs1", "7")
    await wait_for(lambda: trunk(box, "gsm1")["heard_digits"].endswith("7"), 5,
                   what="the customer to hear the supervisor")

    await hang_up(box, "fxs4")                               # the supervisor leaves
    await box.sim.far_press("gsm1", "6")
    await hears(box, "fxs1", "6")                            # the call goes on
    await hang_up(box, "fxs1")
    await all_idle(box)


async def test_supervision_refused_for_bad_requests(box):
    from firmware.service import BadRequest

    with pytest.raises(BadRequest, match="not a call in progress"):
        box.supervise("nope", "204", "listen")
    await box.sim.trunk_call("gsm1", "+79161230201")
    await rings(box, "fxs1")
    await box.sim.phone_offhook("fxs1")
    call = await active(box)
    with pytest.raises(BadRequest, match="busy"):
        box.supervise(call["id"], "201", "listen")           # the agent's own phone
    with pytest.raises(BadRequest, match="mode"):
        box.supervise(call["id"], "204", "spy")
    with pytest.raises(BadRequest, match="no supervisor"):
        box.set_supervision(call["id"], "barge")
    await hang_up(box, "fxs1")
    await all_idle(box)
