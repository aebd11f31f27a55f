"""Legs: one channel's part in a call, and the events a call's script waits for.

A call (firmware.calls.engine.Call) is driven by one asyncio task — its *script* — that
reads like the call flow it implements ("ring the extension; if it is busy, forward;
if nobody answers in 20 s, go to voicemail"). The script waits on the call's inbox,
where the engine puts what happens to the call's legs: a leg answered, was released,
flashed, or sent a digit (DTMF from the media engine or out-of-band digits). If the
*caller's* leg is released the script is cancelled instead: the call is over, and the
script's cleanup releases whatever else is still up.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from typing import Any

from drivers.channel import Cause, Channel


class LegState(enum.StrEnum):
    CALLING = "calling"      # placed on its channel (ringing a phone / dialing a trunk)
    UP = "up"                # answered, or the originating leg of a call
    HELD = "held"
    GONE = "gone"


@dataclass(eq=False, slots=True)
class Leg:
    channel: Channel
    role: str                          # caller | callee | member | consult | ...
    joined_at: float
    state: LegState = LegState.CALLING
    answered_at: float | None = None
    released_at: float | None = None
    cause: Cause | None = None
    number: str = ""                   # the number or extension this leg reached
    digits: str = ""                   # DTMF received from this leg during the call
    recording: str | None = None       # the file this leg's recording tap went to
    voicemail: str | None = None       # "<mailbox>/<message id>" this leg left
    hold_s: float = 0.0                # time this leg spent on hold (the party held)
    held_since: float | None = None    # on hold now, since then
    placing: bool = False              # its port has been told to ring / dial

    @property
    def up(self) -> bool:
        return self.state in (LegState.UP, LegState.HELD)

    @property
    def gone(self) -> bool:
        return self.state is LegState.GONE

    def hold_started(self, now: float) -> None:
        if self.held_since is None:
            self.held_since = now

    def hold_ended(self, now: float) -> None:
        """Off hold (resumed, transferred or released): the time on hold is counted."""
        if self.held_since is not None:
            self.hold_s += max(0.0, now - self.held_since)
            self.held_since = None

    def describe(self) -> dict[str, Any]:
        return {"channel": self.channel.id, "kind": str(self.channel.kind), "role": self.role,
                "number": self.number, "state": str(self.state),
                "joined_at": self.joined_at, "answered_at": self.answered_at,
                "released_at": self.released_at,
                "cause": int(self.cause) if self.cause is not None else None,
                "digits": self.digits, "hold_s": round(self.hold_s, 3),
                **({"recording": self.recording} if self.recording else {}),
                **({"voicemail": self.voicemail} if self.voicemail else {})}


@dataclass(frozen=True, slots=True)
class LegEvent:
    leg: Leg
    kind: str                          # answered | progress | released | flash | digit |
    #                                    retrieved | acd (a queue decision, in data)
    digit: str = ""
    cause: Cause | None = None
    data: Any = None


class LegGone(Exception):
    """A leg the script depends on was released while it waited for something else."""

    def __init__(self, leg: Leg) -> None:
        super().__init__(leg.channel.id)
        self.leg = leg


@dataclass(eq=False, slots=True)
class Inbox:
    """The events of one call's legs, in arrival order."""

    queue: asyncio.Queue[LegEvent] = field(default_factory=asyncio.Queue)

    def put(self, event: LegEvent) -> None:
        self.queue.put_nowait(event)

    async def get(self, timeout: float | None) -> LegEvent | None:
        try:
            if timeout is None:
                return await self.queue.get()
            if timeout <= 0:
                return self.queue.get_nowait() if not self.queue.empty() else None
            return await asyncio.wait_for(self.queue.get(), timeout)
        except (TimeoutError, asyncio.QueueEmpty):
            return None

    def clear(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
