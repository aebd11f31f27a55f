"""Technician tools over WAV files: DTMF decode/encode, tone generation, call-progress
detection. The cores the `edgepbx dsp ...` commands call.

Files are 8 kHz mono 16-bit PCM WAV, read and written with the stdlib `wave` module. Any
other file (another rate, stereo, 8-bit, compressed, not a WAV at all) raises ValueError
naming the file and what is wrong.
"""

from __future__ import annotations

import os
import sys
import wave
from array import array
from typing import Any

from native.cpt import CptDetector, plan
from native.cpt import tone as cpt_tone
from native.dsp import DtmfDetector, DtmfGenerator, ToneGenerator

__all__ = ["cpd_file", "dtmf_decode_file", "dtmf_encode_file", "read_pcm", "tone_gen_file",
           "write_pcm"]  # fmt: skip

RATE = 8000
_PathLike = str | os.PathLike[str]


def read_pcm(path: _PathLike) -> array:
    """Samples of an 8 kHz mono 16-bit PCM WAV file; ValueError for anything else."""
    try:
        w = wave.open(os.fspath(path), "rb")
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path}: not a PCM WAV file ({exc})") from None
    with w:
        problems = []
        if w.getcomptype() != "NONE":
            problems.append(f"compression {w.getcompname()!r}")
        if w.getnchannels() != 1:
            problems.append(f"{w.getnchannels()} channels")
        if w.getsampwidth() != 2:
            problems.append(f"{8 * w.getsampwidth()}-bit samples")
        if w.getframerate() != RATE:
            problems.append(f"{w.getframerate()} Hz")
        if problems:
            raise ValueError(f"{path}: need 8000 Hz mono 16-bit PCM, got {', '.join(problems)}")
        try:
            data = w.readframes(w.getnframes())
        except (wave.Error, EOFError) as exc:
            raise ValueError(f"{path}: truncated WAV file ({exc})") from None
        pcm = array("h", data[: len(data) - len(data) % 2])
    if sys.byteorder == "big":
        pcm.byteswap()
    return pcm


def write_pcm(path: _PathLike, pcm: array) -> None:
    """Write samples as an 8 kHz mono 16-bit PCM WAV file."""
    data = array("h", pcm)
    if sys.byteorder == "big":
        data.byteswap()
    with wave.open(os.fspath(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data.tobytes())


def dtmf_decode_file(path: _PathLike) -> dict[str, Any]:
    """Digits in a recording: {"digits": "...", "events": [{"digit", "start_ms", "end_ms"}]}.
    A digit still held at the end of the file ends at the file's end."""
    pcm = read_pcm(path)
    det = DtmfDetector()
    events = det.process(pcm)
    out: list[dict[str, Any]] = []
    for e in events:
        if e.kind == "start":
            out.append({"digit": e.digit, "start_ms": e.time_ms, "end_ms": None})
        elif out and out[-1]["end_ms"] is None:
            out[-1]["end_ms"] = e.time_ms
    if out and out[-1]["end_ms"] is None:
        out[-1]["end_ms"] = len(pcm) * 1000 // RATE
    return {"digits": "".join(d["digit"] for d in out), "events": out}


def dtmf_encode_file(digits: str, path: _PathLike, on_ms: int = 80, off_ms: int = 80,
                     level_dbm0: float = -10.0, twist_db: float = 0.0) -> None:
    """Write digits as DTMF (each on_ms of tone, then off_ms of silence)."""
    gen = DtmfGenerator(level_dbm0=level_dbm0, twist_db=twist_db, on_ms=on_ms, off_ms=off_ms)
    pcm = array("h")
    for i in range(0, len(digits), 64):
        gen.queue(digits[i : i + 64])
        while gen.busy:
            pcm += gen.generate(RATE // 10)
    # trim the tail of the last block past the last gap
    n = len(digits) * (on_ms + off_ms) * RATE // 1000
    write_pcm(path, pcm[:n])


def tone_gen_file(country: str, tone: str, seconds: float, path: _PathLike,
                  level_dbm0: float = -13.0) -> None:
    """Write `seconds` of a country's call-progress tone (dial, ringback, busy, congestion,
    sit, ...)."""
    p = plan(country)
    if tone not in p:
        raise ValueError(f"unknown tone {tone!r} for {country}; known: {', '.join(sorted(p))}")
    if not 0 < seconds <= 3600:
        raise ValueError(f"seconds must be in (0, 3600], got {seconds}")
    gen = ToneGenerator(cpt_tone(country, tone, level_dbm0))
    write_pcm(path, gen.generate(round(seconds * RATE)))


def cpd_file(path: _PathLike, country: str) -> dict[str, Any]:
    """Call-progress tones in a recording: {"tones": [{"tone", "start_ms", "end_ms"}]}; a
    tone still on at the end of the file ends at the file's end."""
    pcm = read_pcm(path)
    det = CptDetector(country)
    tones: list[dict[str, Any]] = []
    open_: dict[str, dict[str, Any]] = {}
    for e in det.process(pcm):
        if e.kind == "detected":
            entry = {"tone": e.tone, "start_ms": e.start_ms, "end_ms": None}
            tones.append(entry)
            open_[e.tone] = entry
        elif e.kind == "ended" and e.tone in open_:
            open_.pop(e.tone)["end_ms"] = e.end_ms
    for entry in open_.values():
        entry["end_ms"] = len(pcm) * 1000 // RATE
    return {"tones": tones}
