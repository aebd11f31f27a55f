"""Call recording: recording taps drained into WAV files, and their retention on disk.

What it owns: the media engine's recording tap of a slot while a call is recorded (drained
every 0.5 s by an asyncio task, well inside the tap's 2 s ring), the files under
``<data dir>/recordings/YYYY/MM/DD/<call id>.wav`` (8 kHz 16-bit stereo: left = what the
tapped party said (rx), right = what they heard (tx)), and the retention of those files:
by age (``keep_days``), by total size (``max_mb``), and a free-space floor below which no
new recording starts, so the data partition never fills. What it must not touch: calls
(the engine decides what is recorded), the CDR store.

Retention is a pure function of the files and a clock (``sweep(now)``), so it is tested
with a fake clock and tiny quotas; the composition root runs it at start and hourly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import struct
import time
import wave
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from native.dsp import alaw_decode, alaw_encode

log = logging.getLogger(__name__)

RATE = 8000
DRAIN_S = 0.5                   # the tap's ring holds 2 s: drain well before it wraps
MB = 1024 * 1024


class RecordingTapMedia(Protocol):
    def record(self, slot: int, on: bool = True) -> None: ...

    def read_recording(self, slot: int, max_frames: int = 16000) -> array: ...

    def recording_dropped(self, slot: int) -> int: ...


class Tap:
    """The recording tap of one slot, drained every ``DRAIN_S`` into ``sink`` (stereo
    frames, rx and tx interleaved) until :meth:`stop`."""

    def __init__(self, media: RecordingTapMedia, slot: int,
                 sink: Callable[[array], None]) -> None:
        self.media = media
        self.slot = slot
        self.sink = sink
        self.frames = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.media.record(self.slot, True)
        self._task = asyncio.get_running_loop().create_task(self._drain_forever(),
                                                             name=f"tap-{self.slot}")

    def _drain(self) -> None:
        while True:
            chunk = self.media.read_recording(self.slot)
            if not len(chunk):
                return
            self.frames += len(chunk) // 2
            self.sink(chunk)
            if len(chunk) < 2 * 16000:
                return

    async def _drain_forever(self) -> None:
        while True:
            await asyncio.sleep(DRAIN_S)
            try:
                self._drain()
            except Exception:
                log.exception("recording tap drain failed", extra={"slot": self.slot})
                return

    async def stop(self) -> int:
        """Stop the tap after a last drain; returns the frames lost to overruns."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            self._drain()
            dropped = self.media.recording_dropped(self.slot)
        finally:
            self.media.record(self.slot, False)
        return dropped


class WavRecording:
    """A call recording being written, finished by :meth:`close`: stereo (left: what the
    recorded party said, right: what they heard), 16-bit PCM WAV, or — ``compressed`` —
    G.711 A-law WAV (format tag 6, 8 bits a sample: half the size, the line's own quality,
    readable by every player and by sox), with no dependency."""

    def __init__(self, path: Path, compressed: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.compressed = compressed
        self._w: wave.Wave_write | None = None
        self._f: BinaryIO | None = None
        self._frames = 0
        if compressed:
            self._f = open(path, "wb")
            self._f.write(self._alaw_header(0))
        else:
            self._w = wave.open(str(path), "wb")
            self._w.setnchannels(2)
            self._w.setsampwidth(2)
            self._w.setframerate(RATE)

    @staticmethod
    def _alaw_header(frames: int) -> bytes:
        data = frames * 2                              # 2 channels x 1 byte
        fmt = struct.pack("<HHIIHHH", 6, 2, RATE, RATE * 2, 2, 8, 0)  # WAVE_FORMAT_ALAW
        fact = struct.pack("<I", frames)
        body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
                + b"fact" + struct.pack("<I", len(fact)) + fact
                + b"data" + struct.pack("<I", data))
        return b"RIFF" + struct.pack("<I", len(body) + data) + body

    def write(self, frames: array) -> None:
        if self._w is not None:
            self._w.writeframes(frames.tobytes())
        elif self._f is not None:
            self._f.write(alaw_encode(frames))
            self._frames += len(frames) // 2

    def close(self) -> None:
        if self._w is not None:
            self._w.close()
            self._w = None
        if self._f is not None:
            self._f.seek(0)
            self._f.write(self._alaw_header(self._frames))
            self._f.close()
            self._f = None


def read_alaw_wav(path: Path) -> tuple[int, array]:
    """(channels, interleaved linear samples) of an A-law WAV written by WavRecording."""
    raw = path.read_bytes()
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError(f"{path.name}: not a WAV file")
    pos, channels, data = 12, 0, b""
    while pos + 8 <= len(raw):
        cid, size = raw[pos:pos + 4], struct.unpack("<I", raw[pos + 4:pos + 8])[0]
        chunk = raw[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            tag, channels = struct.unpack("<HH", chunk[:4])
            if tag != 6:
                raise ValueError(f"{path.name}: format tag {tag}, not A-law (6)")
        elif cid == b"data":
            data = chunk
        pos += 8 + size + (size & 1)
    return channels, alaw_decode(data)


@dataclass(slots=True)
class RetentionPolicy:
    keep_days: float = 90
    max_mb: float = 2048
    min_free_mb: float = 200          # never start a recording below this free space
    compressed: bool = False          # G.711 A-law WAV instead of 16-bit PCM


class RecordingArchive:
    """The recordings directory and its retention."""

    def __init__(self, directory: Path, policy: RetentionPolicy | None = None,
                 clock: Callable[[], float] = time.time,
                 free_bytes: Callable[[Path], int] | None = None) -> None:
        self.directory = directory
        self.policy = policy or RetentionPolicy()
        self.clock = clock
        self._free_bytes = free_bytes or (lambda p: shutil.disk_usage(p).free)
        self.active: set[Path] = set()   # being written: never swept

    def path_for(self, call_id: str, ts: float) -> Path:
        day = time.strftime("%Y/%m/%d", time.localtime(ts))
        return self.directory / day / f"{call_id}.wav"

    def free_bytes(self) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        return int(self._free_bytes(self.directory))

    def may_record(self) -> bool:
        """False (and an alert in the log) when the partition is below the floor."""
        free = self.free_bytes()
        if free < self.policy.min_free_mb * MB:
            log.error("recording refused: data partition almost full",
                      extra={"free_mb": round(free / MB, 1),
                             "floor_mb": self.policy.min_free_mb})
            return False
        return True

    def files(self) -> list[tuple[float, int, Path]]:
        """(mtime, size, path) of every recording, oldest first."""
        out: list[tuple[float, int, Path]] = []
        if not self.directory.exists():
            return out
        for path in self.directory.rglob("*.wav"):
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            out.append((st.st_mtime, st.st_size, path))
        out.sort()
        return out

    def describe(self) -> list[dict[str, Any]]:
        return [{"name": str(p.relative_to(self.directory)), "size": size, "mtime": mtime}
                for mtime, size, p in reversed(self.files())]

    def resolve(self, name: str) -> Path | None:
        """The file of a recording named as :meth:`describe` names it, or None."""
        candidate = (self.directory / name).resolve()
        root = self.directory.resolve()
        if root not in candidate.parents or candidate.suffix != ".wav":
            return None
        return candidate if candidate.is_file() else None

    def sweep(self, now: float | None = None, busy: set[Path] | None = None) -> list[Path]:
        """Delete recordings older than ``keep_days``, then the oldest ones until the total
        is under ``max_mb``; files being written (``busy``) are kept. Returns what went."""
        now = self.clock() if now is None else now
        busy = self.active | (busy or set())
        files = [f for f in self.files() if f[2] not in busy]
        total = sum(size for _, size, _ in self.files())
        cutoff = now - self.policy.keep_days * 86400
        limit = self.policy.max_mb * MB
        deleted: list[Path] = []
        for mtime, size, path in files:
            if mtime >= cutoff and total <= limit:
                break
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            total -= size
            deleted.append(path)
        for path in deleted:
            for parent in (path.parent, path.parent.parent, path.parent.parent.parent):
                if parent == self.directory:
                    break
                with contextlib.suppress(OSError):
                    os.rmdir(parent)               # only when empty
        if deleted:
            log.info("old recordings deleted", extra={"count": len(deleted)})
        return deleted
