"""The far switch of a simulated E1 span, at the Q.931 call-control primitive level.

Stands in for the network side of the span until the sans-I/O Q.921/Q.931 stack lands:
it implements `drivers.pri.bchannel.PriSpan` and plays the exchange and the callers on
each of the 30 B-channels.
"""

from __future__ import annotations

import asyncio
from typing import Any

from drivers.pri.bchannel import Indication
from drivers.sim.analog import SimError
from drivers.sim.parties import CalleeBook, SimParty, play_callee


class SimPriFarEnd(SimParty):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.call_state = "idle"      # idle | incoming | outgoing | alerting | active
        self.called: str | None = None
        self.caller: str | None = None
        self.cause: int | None = None


class SimPriSpan:
    ALERT_DELAY_S = 0.1

    def __init__(self, name: str = "e1", channels: int = 30) -> None:
        self.name = name
        self.far = {b: SimPriFarEnd(f"{name}.{b}") for b in range(1, channels + 1)}
        self._ind: dict[int, Indication] = {}
        self.callees: CalleeBook | None = None     # called parties with a behaviour
        self._scripts: set[asyncio.Task[None]] = set()

    # -- PriSpan (our side's requests) ----------------------------------------------------
    def setup(self, bchan: int, called: str, caller: str | None) -> None:
        far = self.far[bchan]
        far.call_state, far.called, far.caller = "outgoing", called, caller
        far.reset_ears()
        loop = asyncio.get_running_loop()
        loop.call_later(self.ALERT_DELAY_S, self._alert, bchan)
        callee = self.callees.lookup(called) if self.callees is not None else None
        if callee is not None:
            task = loop.create_task(play_callee(callee, _PriCallee(self, bchan)))
            self._scripts.add(task)
            task.add_done_callback(self._scripts.discard)

    def _alert(self, bchan: int) -> None:
        far = self.far[bchan]
        if far.call_state == "outgoing":
            far.call_state = "alerting"
            self._indicate(bchan, "alerting", {})

    def alerting(self, bchan: int) -> None:
        pass

    def connect(self, bchan: int) -> None:
        far = self.far[bchan]
        if far.call_state == "incoming":
            far.call_state = "active"
            far.active = True

    def disconnect(self, bchan: int, cause: int) -> None:
        far = self.far[bchan]
        far.call_state, far.active, far.cause = "idle", False, cause

    def on_indication(self, bchan: int, callback: Indication) -> None:
        self._ind[bchan] = callback

    def _indicate(self, bchan: int, kind: str, params: dict[str, Any]) -> None:
        cb = self._ind.get(bchan)
        if cb is not None:
            cb(bchan, kind, params)

    # -- the far side's actions -----------------------------------------------------------
    async def incoming_call(self, bchan: int, caller: str | None, called: str | None) -> None:
        far = self.far[bchan]
        if far.call_state != "idle":
            raise SimError(f"{far.name}: B-channel busy ({far.call_state})")
        far.call_state, far.caller, far.called, far.cause = "incoming", caller, called, None
        far.reset_ears()
        self._indicate(bchan, "setup", {"caller": caller, "called": called})

    async def far_answer(self, bchan: int) -> None:
        far = self.far[bchan]
        if far.call_state not in ("outgoing", "alerting"):
            raise SimError(f"{far.name}: no outgoing call to answer ({far.call_state})")
        far.call_state, far.active = "active", True
        self._indicate(bchan, "connect", {})

    async def far_hangup(self, bchan: int, cause: int = 16) -> None:
        far = self.far[bchan]
        if far.call_state == "idle":
            raise SimError(f"{far.name}: no call to hang up")
        far.call_state, far.active = "idle", False
        self._indicate(bchan, "disconnect", {"cause": cause})


class _PriCallee:
    """A B-channel's far end as a callee script drives it (CONNECT, DISCONNECT + cause)."""

    def __init__(self, span: SimPriSpan, bchan: int) -> None:
        self.span, self.bchan = span, bchan
        self.party: SimParty = span.far[bchan]

    async def answer(self) -> None:
        await self.span.far_answer(self.bchan)

    async def refuse(self, kind: str) -> None:
        # Q.850: 17 user busy; 1 unallocated (unassigned) number
        await self.span.far_hangup(self.bchan, 17 if kind == "busy" else 1)

    async def hangup(self) -> None:
        await self.span.far_hangup(self.bchan)

    def in_call(self) -> bool:
        return self.span.far[self.bchan].call_state != "idle"
