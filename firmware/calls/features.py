"""What each extension's user has set from their phone: forwarding and do-not-disturb.

These change by feature code (``*72…``) many times a day, so they are not configuration
revisions: they live in a small JSON file in the data directory, written atomically, and
survive a reboot.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from firmware.config.storage import atomic_write_bytes

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UserSettings:
    dnd: bool = False
    forward_always: str | None = None
    forward_busy: str | None = None
    forward_no_answer: str | None = None
    forward_unreachable: str | None = None   # the phone fails its line test (unplugged)


class ExtensionSettings:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._by_ext: dict[str, UserSettings] = {}
        if path is not None and path.exists():
            try:
                raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
                for ext, values in raw.items():
                    self._by_ext[ext] = UserSettings(**{
                        k: v for k, v in values.items() if k in UserSettings.__slots__})
            except (ValueError, TypeError, OSError) as exc:
                # Losing forwarding settings must not stop the box: start clean, keep the
                # damaged file aside for the technician.
                log.error("extension settings unreadable, starting clean",
                          extra={"file": str(path), "error": str(exc)})
                path.replace(path.with_suffix(".damaged"))

    def get(self, ext: str) -> UserSettings:
        return self._by_ext.get(ext, UserSettings())

    def update(self, ext: str, **changes: Any) -> UserSettings:
        new = replace(self.get(ext), **changes)
        self._by_ext[ext] = new
        if self.path is not None:
            data = {e: asdict(s) for e, s in self._by_ext.items() if s != UserSettings()}
            atomic_write_bytes(self.path, json.dumps(data, indent=1).encode())
        return new

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {e: asdict(s) for e, s in self._by_ext.items()}
