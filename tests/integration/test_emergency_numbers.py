"""Emergency numbers always go out (issue #5), driven through the phones on the simulated
board: in RU 101 is the fire service, so a phone dialing 101 reaches a trunk with the
number 101, never an extension, whatever its class of service and even when a stored
configuration from before validation refused it still holds an extension 101 (or "10",
the start of 101). Every scenario ends with every channel idle.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.integration.test_pbx_features import all_idle, configure, dial, phone


def far_number(box: Any, port: str) -> str:
    """The number the far end on trunk port ``port`` is being called with."""
    far = box.sim.state()["trunks"].get(port, {})
    return str(far.get("dialed") or far.get("called") or far.get("heard_digits") or "")


async def goes_out(box: Any, number: str) -> str:
    """Wait for a live call to ``number`` on a trunk whose far end sees ``number``;
    returns the trunk port."""
    def out() -> str | None:
        for c in box.calls():
            if c["called"] == number and c["trunk"]:
                port = next((leg["channel"] for leg in c.get("legs", [])
                             if leg["channel"] not in box.sim.state()["phones"]), None)
                if port is not None and far_number(box, port) == number:
                    return str(port)
        return None
    return str(await wait_for(out, 10, what=f"{number} to go out on a trunk"))


async def far_answers(box: Any, port: str) -> None:
    await wait_for(lambda: box.sim.state()["trunks"][port]["call_state"] == "alerting", 5,
                   what=f"{port} to ring the far end")
    await box.sim.far_answer(port)
    await wait_for(lambda: box.channels[port].state.value == "active", 5,
                   what=f"the far end on {port} to answer")


async def test_emergency_numbers_go_out_whatever_the_class_of_service(box):
    """The normal case: RU, an extension allowed internal calls only, no outbound route for
    112, then a route (its own trunk) for 101: both reach a trunk as dialed."""
    doc = box.config_current()
    assert doc["system"]["country"] == "RU"
    caller = doc["extensions"][0]
    await configure(box, lambda d: d["extensions"][0].update(cos="internal"))
    await dial(box, caller["port"], "112")
    await goes_out(box, "112")
    await box.sim.phone_onhook(caller["port"])
    await all_idle(box)

    await configure(box, lambda d: d.update(outbound=[
        {"name": "city", "pattern": "^[0-9]{3,11}$", "trunks": ["gsm2"]}]))
    await dial(box, caller["port"], "101")
    assert await goes_out(box, "101") == "gsm2"
    assert not any(phone(box, p["port"])["ringing"] for p in doc["extensions"][1:])
    await far_answers(box, "gsm2")
    await box.sim.far_hangup("gsm2")
    await box.sim.phone_onhook(caller["port"])
    recs = await wait_for(lambda: [c for c in box.cdrs() if c["called"] == "101"], 5,
                          what="the emergency call's record")
    assert (recs[0]["direction"], recs[0]["trunk"]) == ("outbound", "gsm2")
    assert not [a for a in box.engine.alerts if a.get("number") in ("101", "112")]
    await all_idle(box)


async def test_a_country_change_that_would_shadow_101_is_refused_whole(box):
    from firmware.config import ConfigValidationError

    await configure(box, lambda d: (d["system"].update(country="US"),
                                    d["extensions"][0].update(number="101"),
                                    [r.update(destination={"type": "extension", "target": "101"})
                                     for r in d["routes"]]))
    rev, before = box.config_revision(), box.config_current()
    doc = box.config_current()
    doc["system"]["country"] = "RU"
    with pytest.raises(ConfigValidationError) as err:
        await box.config_commit(doc, author="test")
    assert str(err.value) == ('extensions[0].number: "101" is an emergency number in RU '
                              '(fire service); choose another number')
    assert (box.config_revision(), box.config_current()) == (rev, before)
    assert box.engine.dialplan.country == "US"
    await all_idle(box)


def _make_stale(data_dir: Path, change: Any) -> None:
    """Edit the stored current revision in place, as a configuration written by firmware
    from before the emergency-number check would hold it (validation would refuse it)."""
    path = data_dir / "config.json"
    db = json.loads(path.read_text())
    current = str(db["meta"]["1"]["current"])
    change(db["revisions"][current]["document"])
    path.write_text(json.dumps(db))


@pytest.mark.parametrize("stale, dialed, warnings", [
    (("101", "1011"), ("101",), ('"101" is an emergency number in RU (fire service)',
                                 '"1011" begins with the emergency number 101')),
    (("10", "11"), ("101", "112"), ('"10" is the start of the emergency number 101',
                                    '"11" is the start of the emergency number 112')),
], ids=["same-and-longer", "prefixes"])
async def test_stale_configuration_still_calls_the_emergency_services(
        tmp_path, caplog, stale, dialed, warnings):
    from firmware.app import Box, Settings

    settings = Settings(data_dir=tmp_path / "data", simulated=True)
    box = Box(settings)
    await box.start()
    ports = [e["port"] for e in box.config_current()["extensions"]]
    me = box.config_current()["extensions"][0]["number"]
    await box.stop()

    def make_stale(doc: dict[str, Any]) -> None:
        doc["system"]["country"] = "RU"
        doc["extensions"][0].update(cos="internal")
        doc["extensions"][1].update(number=stale[0])
        doc["extensions"][2].update(number=stale[1])
        doc["outbound"] = []
        for t in doc["trunks"]:
            t["enabled"] = t["id"] in ("gsm1", "gsm2")
        doc["routes"] = [r for r in doc["routes"] if r["match"]["trunk"] == "gsm1"]
    _make_stale(settings.data_dir, make_stale)

    caplog.set_level(logging.WARNING, logger="firmware.calls.engine")
    box = Box(settings)
    await box.start()
    try:
        assert {i.path for i in box.config.check()} == {"extensions[1].number",
                                                        "extensions[2].number"}
        warned = [str(getattr(r, "clash", "")) for r in caplog.records]
        assert all(any(w in line for line in warned) for w in warnings), warned

        for number in dialed:
            await dial(box, ports[0], number)
            assert await goes_out(box, number) == "gsm1"
            assert box.channels[ports[1]].state.value == "idle"
            assert box.channels[ports[2]].state.value == "idle"
            await far_answers(box, "gsm1")
            await box.sim.far_hangup("gsm1")
            await box.sim.phone_onhook(ports[0])
            await all_idle(box)
        recs = [c for c in box.cdrs() if c["called"] in dialed]
        assert sorted(c["called"] for c in recs) == sorted(dialed)
        assert all((c["trunk"], c["direction"], c["extension"]) == ("gsm1", "outbound", me)
                   for c in recs)

        # In a call, flash and dial 101: the consultation goes to the fire service too.
        await box.sim.trunk_call("gsm1", "+79161230501")
        await wait_for(lambda: phone(box, ports[0])["ringing"], 5, what="the call to ring")
        await box.sim.phone_offhook(ports[0])
        await wait_for(lambda: [c for c in box.calls() if c["state"] == "active"], 5,
                       what="the inbound call answered")
        await box.sim.phone_flash(ports[0])
        await wait_for(lambda: any(c["state"] == "held" for c in box.calls()), 3, what="held")
        await box.sim.phone_press(ports[0], "101")
        await wait_for(lambda: far_number(box, "gsm2") == "101", 10,
                       what="the consultation to go out to 101 on gsm2")
        assert box.channels[ports[1]].state.value == "idle"
        assert box.channels[ports[2]].state.value == "idle"
        await far_answers(box, "gsm2")
        await box.sim.far_hangup("gsm1")             # the held caller gives up
        await box.sim.far_press("gsm2", "5")
        await wait_for(lambda: phone(box, ports[0])["heard_digits"].endswith("5"), 5,
                       what="the phone and the fire service to hear each other")
        await box.sim.far_hangup("gsm2")
        await box.sim.phone_onhook(ports[0])
        await all_idle(box)
    finally:
        await box.stop()
