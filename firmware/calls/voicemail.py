"""Voicemail boxes: the messages callers leave for an extension, kept under the data dir.

What it owns: the files of ``<data dir>/voicemail/<ext>/`` — one 8 kHz mono 16-bit WAV per
message and an ``index.json`` listing them (caller, time, duration, new/saved). The index is
rewritten atomically (temporary file, fsync, rename), so a power cut leaves either the old
index or the new one. What it must not touch: calls and media (the engine records a message
with a :class:`firmware.calls.recording.Tap` and hands the samples here), configuration.

A mailbox is an extension number; the store never trusts a name it is given (digits only),
so a path from the web UI cannot leave the voicemail directory.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
import uuid
import wave
from array import array
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAILBOX = re.compile(r"^[0-9]{1,8}$")
MESSAGE_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
RATE = 8000


class VoicemailError(ValueError):
    """A bad mailbox or message name, or a full mailbox."""


@dataclass(slots=True)
class Message:
    id: str
    mailbox: str
    caller: str
    ts: float
    duration_s: float
    status: str = "new"               # new | saved

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def write_wav(path: Path, pcm: array, channels: int = 1) -> None:
    """Samples (interleaved if ``channels`` > 1) as 8 kHz 16-bit PCM, written atomically."""
    tmp = path.with_name(path.name + ".part")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    os.replace(tmp, path)


def _atomic_json(path: Path, data: object) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class VoicemailStore:
    def __init__(self, directory: Path, max_messages: int = 100) -> None:
        self.directory = directory
        self.max_messages = max_messages

    def _box(self, mailbox: str) -> Path:
        if not MAILBOX.match(mailbox):
            raise VoicemailError(f"no mailbox {mailbox!r}")
        return self.directory / mailbox

    def messages(self, mailbox: str) -> list[Message]:
        """New messages first, then saved ones, oldest first within each."""
        index = self._box(mailbox) / "index.json"
        try:
            rows = json.loads(index.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.error("voicemail index unreadable", extra={"mailbox": mailbox,
                                                           "error": str(exc)})
            return []
        msgs = [Message(**r) for r in rows if isinstance(r, dict)]
        return sorted(msgs, key=lambda m: (m.status != "new", m.ts))

    def new_count(self, mailbox: str) -> int:
        try:
            return sum(1 for m in self.messages(mailbox) if m.status == "new")
        except VoicemailError:
            return 0

    def full(self, mailbox: str) -> bool:
        return len(self.messages(mailbox)) >= self.max_messages

    def path(self, mailbox: str, message_id: str) -> Path:
        if not MESSAGE_ID.match(message_id):
            raise VoicemailError(f"no message {message_id!r}")
        return self._box(mailbox) / f"{message_id}.wav"

    def add(self, mailbox: str, pcm: array, caller: str, ts: float | None = None) -> Message:
        """Store a message (mono samples); VoicemailError when the mailbox is full."""
        if self.full(mailbox):
            raise VoicemailError(f"mailbox {mailbox} is full ({self.max_messages} messages)")
        ts = time.time() if ts is None else ts
        box = self._box(mailbox)
        box.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(ts))
        msg = Message(f"{stamp}-{uuid.uuid4().hex[:6]}", mailbox, caller, ts,
                      round(len(pcm) / RATE, 2))
        write_wav(self.path(mailbox, msg.id), pcm)
        self._save(mailbox, [*self.messages(mailbox), msg])
        return msg

    def mark(self, mailbox: str, message_id: str, status: str) -> None:
        msgs = self.messages(mailbox)
        for m in msgs:
            if m.id == message_id:
                m.status = status
        self._save(mailbox, msgs)

    def delete(self, mailbox: str, message_id: str) -> bool:
        path = self.path(mailbox, message_id)
        msgs = self.messages(mailbox)
        kept = [m for m in msgs if m.id != message_id]
        if len(kept) == len(msgs):
            return False
        self._save(mailbox, kept)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return True

    def _save(self, mailbox: str, msgs: list[Message]) -> None:
        box = self._box(mailbox)
        box.mkdir(parents=True, exist_ok=True)
        _atomic_json(box / "index.json", [m.to_json() for m in msgs])
