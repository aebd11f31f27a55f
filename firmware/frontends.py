"""Front ends the `edgepbx run` process starts beside the box (the web UI, later others).

The firmware never imports webui/ (layers import downward only). A front end registers
itself as an entry point in the ``edgepbx.frontends`` group instead, and `run` loads what
is installed: the dependency points from the web UI to the firmware, never back.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol


class FrontendError(Exception):
    """A front end could not start (port in use, bad address); str() is one line."""


@dataclass(frozen=True, slots=True)
class FrontendSettings:
    data_dir: Path
    http_host: str = "127.0.0.1"
    http_port: int = 8080


class Frontend(Protocol):
    name: str

    async def start(self, box: Any, settings: FrontendSettings) -> None: ...

    async def stop(self) -> None: ...


def installed_frontends() -> list[Frontend]:
    found: list[Frontend] = []
    for ep in sorted(entry_points(group="edgepbx.frontends"), key=lambda e: e.name):
        factory = ep.load()
        found.append(factory())
    return found
