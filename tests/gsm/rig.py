"""The GSM tests' rig: a simulated module on a pty and the driver's modem over it.

A module of its own (not conftest.py) so tests import it by one unambiguous name."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from drivers.gsm.atengine import AtEngine
from drivers.gsm.modem import GsmModem
from drivers.gsm.simulator import SIM800, SimModem, SimProfile


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
