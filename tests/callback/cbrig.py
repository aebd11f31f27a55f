"""Test rig: a callback engine on an in-memory event store, a fake clock, an office config.

Imported by the callback tests (``from cbrig import ...``) and the config tests.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from firmware.callback import (
    CallbackEngine,
    CallbackService,
    CallbackSettings,
    Command,
    ConfigTrunkAdvisor,
    DialCallback,
    DialOutcome,
    EnqueueCallback,
)
from firmware.store import EventStore

TZ = "Europe/Berlin"


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(TZ)).timestamp()


MONDAY_10 = at(2025, 3, 3, 10)  # open (Mon-Fri 09:00-18:00)


def office_document(**callback: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "enabled": True,
        "mode": "customer_first",
        "max_concurrent": 2,
        "ring_timeout_s": 30,
        "working_hours": "office",
        "dedup_window_s": 3600,
        "daily_limit": 5,
        "retry": {"max_attempts": 3, "busy": [120, 300], "no_answer": [600],
                  "failed": [60], "machine": [], "customer_hangup": [120],
                  "agent_unavailable": [30], "interrupted": [300]},
        "missed": {"enabled": True, "queue": "sales"},
        "abandoned": {"enabled": True, "min_wait_s": 5},
        "trunks": [{"trunk": "gsm1", "prefixes": ["+7916"]},
                   {"trunk": "gsm2", "prefixes": ["+7903", "8905"]}],
    }
    section.update(callback)
    return {
        "schema": 1,
        "system": {"name": "office", "country": "RU", "timezone": TZ, "language": "en"},
        "extensions": [{"number": "201", "name": "Anna", "port": "fxs1", "enabled": True},
                       {"number": "202", "name": "Boris", "port": "fxs2", "enabled": True}],
        "trunks": [
            {"id": "gsm1", "port": "gsm1", "enabled": True, "max_concurrent": 1},
            {"id": "gsm2", "port": "gsm2", "enabled": True, "max_concurrent": 1},
            {"id": "fxo1", "port": "fxo1", "enabled": True, "max_concurrent": 1},
            {"id": "e1", "port": "e1", "enabled": True, "max_concurrent": 30},
        ],
        "routes": [],
        "outbound": [],
        "queues": [{"id": "sales", "name": "Sales", "members": ["201"]},
                   {"id": "support", "name": "Support", "members": ["202"]}],
        "ring_groups": [{"id": "all", "name": "All", "strategy": "ringall",
                         "members": ["201", "202"]}],
        "time_conditions": [{
            "id": "office",
            "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"],
                        "start": "09:00", "end": "18:00"}],
            "holidays": ["2025-05-01"],
        }],
        "blacklist": [{"number": "+79160000666", "note": "asked not to be called"},
                      {"number": "+7809*", "note": "premium rate"}],
        "callback": section,
    }


@dataclass
class Rig:
    """The engine under test with its store, a fake clock and the commands it emitted.

    It plays the ACD too: a queue place (``EnqueueCallback``) reaches its turn at once
    with the free agent ``acd_agent`` (``turn_reached``), as in a queue with nobody
    waiting; with ``acd_agent = None`` the places wait (tests of the ACD hand-off).
    """

    store: EventStore
    engine: CallbackEngine
    doc: dict[str, Any]
    now: float = MONDAY_10
    emitted: list[Command] = field(default_factory=list)
    acd_agent: str | None = "201"

    def clock(self) -> float:
        return self.now

    @property
    def service(self) -> CallbackService:
        return CallbackService(self.engine, self.store, self.clock)

    def tick(self, to: float | None = None) -> list[Command]:
        """Advance the clock (to ``to``) and run the timer; the commands it produced."""
        if to is not None:
            assert to >= self.now
            self.now = to
        self.engine.on_timer(self.now)
        return self.take()

    def take(self) -> list[Command]:
        out = self.engine.drain()
        if self.acd_agent is not None:
            for cmd in [c for c in out if isinstance(c, EnqueueCallback)]:
                self.engine.turn_reached(cmd.job_id, self.acd_agent, self.now)
                out += self.engine.drain()
        self.emitted += out
        return out

    def run_until(self, until: float) -> list[Command]:
        """Follow next_deadline() up to ``until``, as the live driver loop does."""
        out: list[Command] = []
        for _ in range(10_000):
            deadline = self.engine.next_deadline()
            if deadline is None or deadline > until:
                break
            out += self.tick(max(self.now, deadline))
        self.now = max(self.now, until)
        out += self.tick()
        return out

    def next_commands(self, until: float) -> list[Command]:
        """Follow next_deadline() until a tick emits something, or to ``until``."""
        for _ in range(10_000):
            deadline = self.engine.next_deadline()
            if deadline is None or deadline > until:
                break
            out = self.tick(max(self.now, deadline))
            if out:
                return out
        self.now = max(self.now, until)
        return self.tick()

    def report(self, dial: DialCallback, kind: str, after: float = 0.0, **kw: Any) -> list[Command]:
        self.now += after
        self.engine.on_outcome(DialOutcome(dial.job_id, dial.attempt, kind, self.now,  # type: ignore[arg-type]
                                           **kw))
        return self.take()

    def reconfigure(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.engine.reconfigure(CallbackSettings.from_document(doc), ConfigTrunkAdvisor(doc))


def dials(commands: list[Command]) -> list[DialCallback]:
    return [c for c in commands if isinstance(c, DialCallback)]


def make_rig(doc: dict[str, Any] | None = None, path: str = ":memory:") -> Rig:
    doc = copy.deepcopy(doc) if doc is not None else office_document()
    store = EventStore.open(path)
    counter = itertools.count(1)
    engine = CallbackEngine(
        store, CallbackSettings.from_document(doc), ConfigTrunkAdvisor(doc),
        new_id=lambda: f"cb-{next(counter)}",
    )
    return Rig(store, engine, doc)
