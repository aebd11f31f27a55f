"""Call recording on the simulated board, and the retention of recordings (fake clock)."""

from __future__ import annotations

import asyncio
import os
import wave
from array import array
from pathlib import Path
from typing import Any

from firmware.calls.recording import MB, RecordingArchive, RetentionPolicy
from native.dsp import DtmfDetector
from tests.conftest import wait_for
from tests.integration.test_pbx_features import (
    active,
    all_idle,
    cdr,
    configure,
    far_hears,
    hang_up,
    hears,
    rings,
    route_to,
    trunk,
)


def digits_in(pcm: array) -> str:
    return "".join(ev.digit for ev in DtmfDetector().process(pcm) if ev.kind == "start")


async def test_recorded_route_writes_both_directions_and_the_cdr_names_the_file(box):
    def change(d: dict[str, Any]) -> None:
        route_to(d, "gsm1", {"type": "extension", "target": "201"})
        next(r for r in d["routes"] if r["match"]["trunk"] == "gsm1")["record"] = True
        d["recording"] = {"beep": True, "min_free_mb": 10}
    await configure(box, change)
    await box.sim.trunk_call("gsm1", "+79161230200")
    await rings(box, "fxs1")
    await box.sim.phone_offhook("fxs1")
    await active(box)
    await wait_for(lambda: trunk(box, "gsm1")["heard_level_dbm0"] > -25, 3,
                   what="the recording beep")
    await asyncio.sleep(0.6)                     # the beep is over
    await box.sim.far_press("gsm1", "123")
    await hears(box, "fxs1", "123")
    await box.sim.phone_press("fxs1", "98")
    await far_hears(box, "gsm1", "98")
    await hang_up(box, "fxs1")
    rec = await cdr(box)
    name = next(leg["recording"] for leg in rec["legs"] if leg.get("recording"))
    path = box.recordings.directory / name
    assert name.endswith(f"{rec['call_id']}.wav") and name.count("/") == 3   # YYYY/MM/DD/
    await all_idle(box)
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (2, 8000, 2)
        frames = array("h", w.readframes(w.getnframes()))
    assert digits_in(frames[0::2]) == "123"      # left: what the caller said
    assert digits_in(frames[1::2]) == "98"       # right: what the caller heard
    assert box.recordings.describe()[0]["name"] == name


async def test_no_recording_below_the_free_space_floor(box):
    await configure(box, lambda d: (
        d["extensions"][0].update(record=True),
        route_to(d, "gsm1", {"type": "extension", "target": "201"})))
    box.recordings._free_bytes = lambda p: 5 * MB            # partition almost full
    await box.sim.trunk_call("gsm1", "+79161230201")
    await rings(box, "fxs1")
    await box.sim.phone_offhook("fxs1")
    await active(box)
    await wait_for(lambda: any("free-space" in a["message"] for a in box.engine.alerts), 3,
                   what="an alert")
    await hang_up(box, "fxs1")
    rec = await cdr(box)
    assert not any(leg.get("recording") for leg in rec["legs"])
    assert box.recordings.files() == []
    await all_idle(box)


def _file(root: Path, name: str, size: int, mtime: float) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    os.utime(path, (mtime, mtime))
    return path


def test_janitor_deletes_by_age_then_by_quota_oldest_first(tmp_path: Path) -> None:
    day = 86400.0
    now = 100 * day
    archive = RecordingArchive(tmp_path, RetentionPolicy(keep_days=30, max_mb=1),
                               clock=lambda: now)
    ancient = _file(tmp_path, "2024/01/01/a.wav", 1000, now - 40 * day)
    old = _file(tmp_path, "2024/02/01/b.wav", 600_000, now - 10 * day)
    mid = _file(tmp_path, "2024/02/05/c.wav", 300_000, now - 5 * day)
    new = _file(tmp_path, "2024/02/09/d.wav", 300_000, now - 1 * day)
    assert archive.sweep() == [ancient, old]                 # age, then 1 MB quota
    assert not (tmp_path / "2024/01").exists()               # empty day dirs go too
    assert {p for _, _, p in archive.files()} == {mid, new}
    archive.active.add(mid)                                  # being written: kept
    archive.policy = RetentionPolicy(keep_days=30, max_mb=0.1)
    assert archive.sweep() == [new]
    assert archive.sweep(now + 60 * day) == []               # still busy
    archive.active.clear()
    assert archive.sweep(now + 60 * day) == [mid]


def test_free_space_floor(tmp_path: Path) -> None:
    archive = RecordingArchive(tmp_path, RetentionPolicy(min_free_mb=100),
                               free_bytes=lambda p: 99 * MB)
    assert not archive.may_record()
    archive.policy = RetentionPolicy(min_free_mb=50)
    assert archive.may_record()


async def test_compressed_recording_is_alaw_wav_half_the_size(box):
    from firmware.calls.recording import read_alaw_wav

    def change(d: dict[str, Any]) -> None:
        route_to(d, "gsm1", {"type": "extension", "target": "201"})
        next(r for r in d["routes"] if r["match"]["trunk"] == "gsm1")["record"] = True
        d["recording"] = {"format": "alaw", "min_free_mb": 10}
    await configure(box, change)
    await box.sim.trunk_call("gsm1", "+79161230210")
    await rings(box, "fxs1")
    await box.sim.phone_offhook("fxs1")
    await active(box)
    await box.sim.far_press("gsm1", "47")
    await hears(box, "fxs1", "47")
    await box.sim.phone_press("fxs1", "0")
    await far_hears(box, "gsm1", "0")
    await hang_up(box, "fxs1")
    rec = await cdr(box)
    name = next(leg["recording"] for leg in rec["legs"] if leg.get("recording"))
    path = box.recordings.directory / name
    await all_idle(box)
    channels, samples = read_alaw_wav(path)
    assert channels == 2
    assert path.stat().st_size < 44 + len(samples) * 2 // 2 + 100   # 1 byte a sample
    assert digits_in(samples[0::2]) == "47" and digits_in(samples[1::2]) == "0"
