"""The media runtime: the thread that ticks the native media engine against the highway.

Once per frame (20 ms) it takes one block of G.711 from the highway (what the ports
received), runs the native engine over every slot at once — decode, detectors, mixing,
playback, encode — with the GIL released, hands the result back to the highway, and posts
the engine's events (DTMF digits, end of playback) to the asyncio loop. Python never loops
over samples here.

The highway paces the clock: on hardware its reads block on the TDM frame sync; on the
simulated board `SimHighway.wait_tick` sleeps to the next frame boundary.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Protocol

from native.media import MediaEngine, MediaEvent

log = logging.getLogger(__name__)


class Highway(Protocol):
    nslots: int
    block: int

    def wait_tick(self) -> None: ...

    def exchange(self, tx: bytes) -> bytes: ...


class MediaRuntime:
    def __init__(self, engine: MediaEngine, highway: Highway, loop: asyncio.AbstractEventLoop,
                 on_event: Callable[[MediaEvent], None]) -> None:
        self.engine = engine
        self.highway = highway
        self._loop = loop
        self._on_event = on_event
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ticks = 0
        self.errors = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="media", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def _run(self) -> None:
        tx = bytes(self.highway.nslots * self.highway.block)
        while not self._stop.is_set():
            try:
                self.highway.wait_tick()
                rx = self.highway.exchange(tx)
                tx = self.engine.tick(rx)
                self.ticks += 1
                events = self.engine.poll_events()
            except Exception:  # keep the media plane alive; one bad tick must not end it
                self.errors += 1
                log.exception("media tick failed")
                continue
            if events and not self._loop.is_closed():
                try:
                    self._loop.call_soon_threadsafe(self._deliver, events)
                except RuntimeError:   # loop closed during shutdown
                    return

    def _deliver(self, events: list[MediaEvent]) -> None:
        for ev in events:
            try:
                self._on_event(ev)
            except Exception:
                log.exception("media event handler failed", extra={"event": repr(ev)})
