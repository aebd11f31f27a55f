"""Small builders for ACD tests."""

from __future__ import annotations

import random
from typing import Any

from firmware.acd.core import AcdCore, AgentSettings, MemberSettings, QueueSettings


def core_with(
    queues: dict[str, dict[str, Any]] | None = None,
    agents: list[str] | None = None,
    *,
    static: bool = True,
    seed: int = 0,
) -> AcdCore:
    """A core; ``queues`` maps id -> QueueSettings keywords, ``members`` as agent ids
    (or (id, penalty, skill, weight) tuples)."""
    agents = agents if agents is not None else ["a1", "a2", "a3"]
    queues = queues if queues is not None else {"q": {}}
    settings = []
    for qid, kw in queues.items():
        kw = dict(kw)
        members = kw.pop("members", agents)
        ms = tuple(
            MemberSettings(m) if isinstance(m, str) else MemberSettings(*m) for m in members
        )
        settings.append(QueueSettings(qid, members=ms, **kw))
    return AcdCore(
        settings,
        [AgentSettings(a, static=static) for a in agents],
        rng=random.Random(seed),
    )


def of(kind: type, out: list[Any]) -> list[Any]:
    return [c for c in out if isinstance(c, kind)]


def states(core: AcdCore) -> dict[str, str]:
    return {a.id: a.state for a in core.agents.values()}
