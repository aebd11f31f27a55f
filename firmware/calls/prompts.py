"""Voice prompts: 8 kHz mono 16-bit WAV files the admin uploads, kept under the data dir.

A prompt that is missing or unreadable is not an error for the caller: the engine falls
back to a tone, and the problem is logged once for the admin.
"""

from __future__ import annotations

import logging
import re
import wave
from array import array
from pathlib import Path

log = logging.getLogger(__name__)

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class PromptError(ValueError):
    pass


def read_wav_8k(path: Path) -> array:
    """Samples of an 8 kHz mono 16-bit PCM WAV; PromptError naming what is wrong."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2 or w.getframerate() != 8000:
                raise PromptError(
                    f"{path.name}: need 8 kHz mono 16-bit PCM, got {w.getframerate()} Hz, "
                    f"{w.getnchannels()} channel(s), {8 * w.getsampwidth()}-bit")
            pcm = array("h")
            pcm.frombytes(w.readframes(w.getnframes()))
            return pcm
    except (wave.Error, EOFError) as exc:
        raise PromptError(f"{path.name}: not a PCM WAV file ({exc})") from None


class PromptStore:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._cache: dict[str, array | None] = {}

    def load(self, name: str | None) -> array | None:
        if not name or self.directory is None:
            return None
        if name in self._cache:
            return self._cache[name]
        pcm: array | None = None
        if NAME.match(name):
            try:
                pcm = read_wav_8k(self.directory / name)
            except FileNotFoundError:
                log.warning("prompt missing, playing a tone instead", extra={"prompt": name})
            except (PromptError, OSError) as exc:
                log.warning("prompt unusable, playing a tone instead",
                            extra={"prompt": name, "error": str(exc)})
        self._cache[name] = pcm
        return pcm

    def forget(self, name: str) -> None:
        self._cache.pop(name, None)
