"""In-memory stand-ins for the service façade (firmware.service), for the web UI tests.

They keep what a test needs to assert on (calls made, audit entries, subscribers) and
raise the same error types as the real box.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass
from typing import Any

from firmware.service import NotFound, SimulatorControl


@dataclass(frozen=True)
class Issue:
    path: str
    message: str


class FakeConfigValidationError(ValueError):
    """Shaped like firmware.config.ConfigValidationError: ``.issues`` with path/message."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("\n".join(f"{i.path}: {i.message}" for i in issues))
        self.issues = issues


PORTS = [
    {"id": "fxs1", "kind": "fxs", "slot": 0, "state": "idle"},
    {"id": "fxs2", "kind": "fxs", "slot": 1, "state": "idle"},
    {"id": "fxo1", "kind": "fxo", "slot": 4, "state": "idle"},
    {"id": "gsm1", "kind": "gsm", "slot": 6, "state": "idle", "signal": -71},
]


class FakeSim:
    def __init__(self) -> None:
        self.actions: list[tuple[Any, ...]] = []

    def _port(self, port: str) -> None:
        if port not in {p["id"] for p in PORTS}:
            raise NotFound(f"no port {port}")

    def state(self) -> dict[str, Any]:
        return {"phones": {"fxs1": {"hook": "on", "ringing": False}},
                "far_ends": {"fxo1": {"state": "idle"}}}

    async def trunk_call(self, port: str, caller: str | None, called: str | None = None) -> None:
        self._port(port)
        self.actions.append(("trunk_call", port, caller, called))

    async def far_answer(self, port: str) -> None:
        self._port(port)
        self.actions.append(("far_answer", port))

    async def far_hangup(self, port: str) -> None:
        self._port(port)
        self.actions.append(("far_hangup", port))

    async def far_press(self, port: str, digits: str) -> None:
        self._port(port)
        self.actions.append(("far_press", port, digits))

    async def phone_offhook(self, port: str) -> None:
        self._port(port)
        self.actions.append(("phone_offhook", port))

    async def phone_onhook(self, port: str) -> None:
        self._port(port)
        self.actions.append(("phone_onhook", port))

    async def phone_flash(self, port: str) -> None:
        self._port(port)
        self.actions.append(("phone_flash", port))

    async def phone_press(self, port: str, digits: str) -> None:
        self._port(port)
        self.actions.append(("phone_press", port, digits))


class FakeBox:
    """A BoxService in memory. ``fail_info`` makes info() raise (the 500 path)."""

    def __init__(self, sim: SimulatorControl | None = None) -> None:
        self._sim = sim
        self.fail_info: Exception | None = None
        self.document: dict[str, Any] = {"system": {"name": "office"}, "extensions": []}
        self.revisions: list[dict[str, Any]] = [
            {"revision": 1, "author": "factory", "time": 1_700_000_000.0, "comment": "initial"}
        ]
        self.history: dict[int, dict[str, Any]] = {1: copy.deepcopy(self.document)}
        self.records = [
            {"id": f"c{i}", "start": 1_700_000_000.0 + i, "caller": "100", "called": "200",
             "duration": i} for i in range(50)
        ][::-1]
        self.cdr_calls: list[dict[str, Any]] = []
        self.audits: list[tuple[str, str, dict[str, Any]]] = []
        self.queues: list[asyncio.Queue[dict[str, Any]]] = []

    def info(self) -> dict[str, Any]:
        if self.fail_info is not None:
            raise self.fail_info
        return {"name": "office", "version": "0.1.0", "board": "sim",
                "simulated": self._sim is not None, "uptime_s": 12.5,
                "config_revision": self.config_revision()}

    def ports(self) -> list[dict[str, Any]]:
        return copy.deepcopy(PORTS)

    def calls(self) -> list[dict[str, Any]]:
        return [{"id": "k1", "state": "active", "caller": "0601", "called": "100", "legs": [],
                 "start": 1_700_000_100.0}]

    def cdrs(self, limit: int = 100, offset: int = 0, since: float | None = None,
             until: float | None = None) -> list[dict[str, Any]]:
        self.cdr_calls.append({"limit": limit, "offset": offset, "since": since,
                               "until": until})
        return self.records[offset:offset + limit]

    def config_current(self) -> dict[str, Any]:
        return copy.deepcopy(self.document)

    def config_revision(self) -> int:
        return int(self.revisions[-1]["revision"])

    def config_revisions(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.revisions)

    def config_validate(self, document: dict[str, Any]) -> None:
        issues = []
        if not isinstance(document.get("system"), dict):
            issues.append(Issue("system", "required"))
        for i, ext in enumerate(document.get("extensions", [])):
            if not isinstance(ext, dict) or "number" not in ext:
                issues.append(Issue(f"extensions/{i}/number", "required"))
        if issues:
            raise FakeConfigValidationError(issues)

    async def config_commit(self, document: dict[str, Any], author: str,
                            comment: str = "") -> int:
        self.config_validate(document)
        rev = self.config_revision() + 1
        self.document = copy.deepcopy(document)
        self.history[rev] = copy.deepcopy(document)
        self.revisions.append({"revision": rev, "author": author, "time": 1_700_000_500.0,
                               "comment": comment})
        return rev

    async def config_rollback(self, rev: int, author: str) -> int:
        if rev not in self.history:
            raise NotFound(f"no revision {rev}")
        return await self.config_commit(self.history[rev], author, f"rollback to {rev}")

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.queues.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self.queues.remove(queue)

    def publish(self, event: dict[str, Any]) -> None:
        for queue in self.queues:
            queue.put_nowait(event)

    def audit(self, actor: str, action: str, detail: dict[str, Any]) -> None:
        self.audits.append((actor, action, detail))

    @property
    def sim(self) -> SimulatorControl | None:
        return self._sim
