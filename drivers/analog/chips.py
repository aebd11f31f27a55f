"""The chip interfaces the analog port drivers are written against.

A SLIC (subscriber line interface circuit) feeds a phone: it drives the line (open, forward
or reverse battery, ringing) and reports loop closure (the phone off-hook). A DAA (data
access arrangement) sits on a phone-company line: it closes or opens the loop (hook),
reports ringing voltage, loop polarity and loop current. Chip objects report changes through
callbacks that they invoke on the asyncio loop, stamped with the loop's clock.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Protocol


class LineFeed(enum.StrEnum):
    OPEN = "open"          # no battery: open-loop disconnect (disconnect supervision)
    FORWARD = "forward"    # normal battery, idle or talking
    REVERSE = "reverse"    # polarity reversed (answer supervision toward PBX-type phones)
    RINGING = "ringing"    # ringing voltage applied


HookCallback = Callable[[bool, float], None]   # (off_hook, timestamp)


class SlicChip(Protocol):
    def set_linefeed(self, mode: LineFeed) -> None: ...

    @property
    def off_hook(self) -> bool: ...

    def on_hook_change(self, callback: HookCallback) -> None:
        """Register the callback for loop closure changes (one per chip)."""
        ...

    def measure_ren(self) -> float:
        """The line test: the ringer load on the line, in REN (a phone is about 1; nothing
        plugged in, about 0). SLICs measure it with a low-frequency test signal on an idle,
        on-hook line (the "REN test" of ProSLIC-type chips; GR-909's ringer test)."""
        ...


class DaaChip(Protocol):
    def set_hook(self, off_hook: bool) -> None: ...

    @property
    def off_hook(self) -> bool: ...

    def on_ring(self, callback: Callable[[bool, float], None]) -> None:
        """Ringing voltage present (True) / gone (False)."""
        ...

    def on_polarity(self, callback: Callable[[int, float], None]) -> None:
        """Loop polarity changed: +1 normal, -1 reversed."""
        ...

    def on_loop_current(self, callback: Callable[[bool, float], None]) -> None:
        """Loop current present (True) or interrupted (False) while off-hook."""
        ...
