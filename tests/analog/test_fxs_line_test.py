"""The FXS line test: a port finds out that its phone was unplugged, and plugged back.

Driven through the simulated SLIC and the phone on it (drivers/sim/analog.py): the port
measures the ringer load of an idle line every ``line_test_s`` and reports a change as
``ChannelStatus``; a line that rings or is off-hook is not tested.
"""

from __future__ import annotations

import asyncio

from drivers.analog.fxs import FxsPort
from drivers.channel import ChannelEvent, ChannelStatus
from drivers.sim.analog import SimPhone, SimSlic
from tests.conftest import wait_for

PERIOD_S = 0.05


async def port_with_phone() -> tuple[FxsPort, SimPhone, list[ChannelEvent]]:
    slic = SimSlic()
    phone = SimPhone("fxs1", slic)
    port = FxsPort("fxs1", 0, slic, "DE", line_test_s=PERIOD_S)
    events: list[ChannelEvent] = []
    port.bind(events.append)
    await port.start()
    return port, phone, events


def statuses(events: list[ChannelEvent]) -> list[bool]:
    return [e.in_service for e in events if isinstance(e, ChannelStatus)]


async def test_unplugged_phone_is_reported_once_and_plugging_it_back_too() -> None:
    port, phone, events = await port_with_phone()
    try:
        await wait_for(lambda: port.phone_present is True, 2, what="the first line test")
        assert statuses(events) == []                      # a phone, as expected: silent
        phone.unplug()
        await wait_for(lambda: statuses(events) == [False], 2, what="no phone reported")
        status = next(e for e in events if isinstance(e, ChannelStatus))
        assert "no phone on the line" in status.detail
        await asyncio.sleep(PERIOD_S * 4)
        assert statuses(events) == [False]                 # reported once, not every test
        phone.plug()
        await wait_for(lambda: statuses(events) == [False, True], 2, what="phone back")
        assert port.describe()["phone_present"] is True
    finally:
        await port.stop()


async def test_going_off_hook_proves_a_phone_at_once_and_a_busy_line_is_not_tested() -> None:
    port, phone, events = await port_with_phone()
    try:
        phone.unplug()
        await wait_for(lambda: statuses(events) == [False], 2, what="no phone reported")
        phone.plug()
        phone.offhook()                                    # only a phone closes the loop
        assert statuses(events) == [False, True]
        slic = phone.slic
        slic.ren_load = 0.0                                # were it tested now: "no phone"
        await asyncio.sleep(PERIOD_S * 4)
        assert statuses(events) == [False, True] and port.phone_present is True
    finally:
        await port.stop()
