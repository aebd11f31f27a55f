"""Voicemail boxes: the messages callers leave for an extension, kept under the data dir.

What it owns: the files of ``<data dir>/voicemail/<ext>/`` — one 8 kHz mono 16-bit WAV per
message and an ``index.json`` listing them (caller, time, duration, new/saved). The index is
rewritten atomically (temporary file, fsync, rename), so a power cut leaves either the old
index or the new one. What it must not touch: calls and media (the engine records a message
with a :class:`firmware.calls.recording.Tap` and hands the samples here), configuration.

A mailbox is an extension number; the store never trusts a name it is given (digits only),
so a path from the web UI cannot leave the voicemail directory.

It also owns the message waiting *lamps* (:class:`MessageWaitingLamps`): which phone's
lamp should be lit, and when to tell the phone. Extensions with ``message_waiting``
"lamp" or "both" (the default; "stutter" leaves the lamp alone and keeps only the
stutter dial tone the call engine plays) get the state of their mailbox sent to their
FXS port when the count of new messages goes from 0 to more or back to 0, for every one
at box start (a phone cannot ask), and again every ``MWI_REFRESH_S``. The port sends it
on-hook when its line is quiet (drivers/analog/fxs.py), never during ringing or a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import time
import uuid
import wave
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from firmware.calls.dialplan import Extension

log = logging.getLogger(__name__)

MAILBOX = re.compile(r"^[0-9]{1,8}$")
MESSAGE_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
RATE = 8000
# Every lamp again this often. A phone that was unplugged (or lost power) forgets its
# lamp and cannot ask for it; the standards leave the refresh to the network. Four hours
# brings it back within a working morning or afternoon, and costs each phone about six
# seconds of on-hook signalling a day — each a line reversal that an answering machine
# or a modem on the same line may notice, which is why it is not every few minutes.
MWI_REFRESH_S = 4 * 3600.0


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


class MessageWaitingLamp(Protocol):
    """A port that can set its phone's lamp (drivers.analog.fxs.FxsPort fits)."""

    def set_message_waiting(self, messages: int) -> None: ...


class MessageWaitingLamps:
    """The lamp of each lamp extension's phone follows its mailbox (module docstring).

    Fed by the call engine's ``mwi`` notifications (:meth:`on_event`) and by the dial
    plan (:meth:`configure`); ``start`` sends every lamp and starts the refresh."""

    def __init__(self, store: VoicemailStore, ports: Mapping[str, MessageWaitingLamp],
                 refresh_s: float = MWI_REFRESH_S) -> None:
        self.store = store
        self.ports = ports
        self.refresh_s = refresh_s
        self._port_of: dict[str, str] = {}      # mailbox -> the port whose lamp it lights
        self._sent: dict[str, int] = {}         # mailbox -> messages last told its phone
        self._task: asyncio.Task[None] | None = None

    def configure(self, extensions: Iterable[Extension]) -> None:
        """Which extensions have a lamp; one that gains it is told its state at once, a
        port that loses it is turned off."""
        wanted = {e.number: e.port for e in extensions
                  if e.voicemail and e.message_waiting in ("lamp", "both")
                  and e.port in self.ports}
        for mailbox, port in self._port_of.items():
            if wanted.get(mailbox) != port and self._sent.pop(mailbox, 0):
                self.ports[port].set_message_waiting(0)
        old, self._port_of = self._port_of, wanted
        for mailbox, port in wanted.items():
            if old.get(mailbox) != port and self._task is not None:
                self._send(mailbox, self.store.new_count(mailbox))

    def on_event(self, event: dict[str, Any]) -> None:
        """A call engine notification; ``mwi`` ones carry a mailbox's new count."""
        if event.get("type") == "mwi":
            self.changed(str(event["extension"]), int(event["messages_waiting"]))

    def changed(self, mailbox: str, messages: int) -> None:
        """Tell the phone when its lamp changes (0 -> some, some -> 0)."""
        if mailbox in self._port_of and (messages > 0) != (self._sent.get(mailbox, 0) > 0):
            self._send(mailbox, messages)

    def send_all(self) -> None:
        for mailbox in self._port_of:
            self._send(mailbox, self.store.new_count(mailbox))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._refresh(), name="mwi-lamps")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _send(self, mailbox: str, messages: int) -> None:
        self._sent[mailbox] = messages
        self.ports[self._port_of[mailbox]].set_message_waiting(messages)

    async def _refresh(self) -> None:
        while True:
            self.send_all()
            await asyncio.sleep(self.refresh_s)
