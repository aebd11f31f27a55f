"""Fixtures for the GSM tests: a simulated module on a pty and a driver over it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable

import pytest

from drivers.gsm.atengine import AtEngine
from drivers.gsm.modem import GsmModem
from drivers.gsm.simulator import SIM800, SimModem, SimProfile


@pytest.fixture
async def leak_check() -> AsyncIterator[None]:
    """Fail a test that leaves tasks running or file descriptors open."""
    fds = set(os.listdir("/proc/self/fd"))
    yield
    await asyncio.sleep(0.02)
    current = asyncio.current_task()
    assert [t for t in asyncio.all_tasks() if t is not current and not t.done()] == []
    assert set(os.listdir("/proc/self/fd")) - fds == set()


async def wait_until(predicate: Callable[[], object], timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


class Rig:
    """A simulated module and the driver's modem over its pty."""

    def __init__(self, sim: SimModem, modem: GsmModem) -> None:
        self.sim = sim
        self.modem = modem

    @classmethod
    async def open(cls, profile: SimProfile = SIM800, name: str = "gsm1",
                   sim_args: dict[str, object] | None = None,
                   **modem_args: object) -> Rig:
        sim = SimModem(profile=profile, **(sim_args or {}))  # type: ignore[arg-type]
        await sim.start()
        engine = await AtEngine.open_serial(sim.device_path, name=name)
        modem = GsmModem(engine, name, **modem_args)  # type: ignore[arg-type]
        await modem.initialise()
        await wait_until(lambda: modem.sms.sweeps > 0)
        return cls(sim, modem)

    async def close(self) -> None:
        await self.modem.close()
        await self.sim.stop()


@pytest.fixture
async def rig(leak_check: None) -> AsyncIterator[Rig]:
    r = await Rig.open()
    yield r
    await r.close()
