"""Supervisor modes (listen / whisper / barge) and recording taps of the media engine.

Slots: 0 customer, 1 agent, 2 supervisor, each speaking a distinct tone; what each one
hears is identified by measuring the power of each tone in its tx audio.
"""

from __future__ import annotations

import math
from array import array

import pytest

from native.dsp import alaw_decode, alaw_encode
from native.media import MediaEngine

B = 160
FREQS = {0: 500.0, 1: 1000.0, 2: 1700.0}   # customer, agent, supervisor


def tone_block(slot: int, t0: int) -> array:
    f = FREQS[slot]
    return array("h", (round(6000 * math.sin(2 * math.pi * f * (t0 + i) / 8000))
                       for i in range(B)))


def power_at(pcm: array, f: float) -> float:
    """Goertzel power of frequency f in the block, relative to a full 6000-amplitude tone."""
    w = 2 * math.pi * f / 8000
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for x in pcm:
        s1, s2 = x + c * s1 - s2, s1
    p = s1 * s1 + s2 * s2 - c * s1 * s2
    return p / ((6000 * B / 2) ** 2)


def heard(engine: MediaEngine, ticks: int = 3) -> dict[int, set[int]]:
    """Run a few ticks with everyone talking; return who each slot hears."""
    result: dict[int, set[int]] = {}
    for t in range(ticks):
        rx = b"".join(alaw_encode(tone_block(s, t * B)) for s in range(3))
        tx = engine.tick(rx)
    for s in range(3):
        pcm = alaw_decode(tx[s * B:(s + 1) * B])
        result[s] = {o for o, f in FREQS.items() if power_at(pcm, f) > 0.1}
    return result


@pytest.fixture
def engine() -> MediaEngine:
    e = MediaEngine(3, B)
    for s in range(3):
        e.configure_slot(s, dtmf_detect=False)
    conf = e.connect(0, 1)
    e.conf = conf  # type: ignore[attr-defined]
    return e


def test_call_without_supervisor(engine: MediaEngine) -> None:
    assert heard(engine) == {0: {1}, 1: {0}, 2: set()}


def test_listen(engine: MediaEngine) -> None:
    engine.supervise(2, engine.conf, "listen")  # type: ignore[attr-defined]
    assert heard(engine) == {0: {1}, 1: {0}, 2: {0, 1}}


def test_whisper_reaches_the_agent_only(engine: MediaEngine) -> None:
    engine.supervise(2, engine.conf, "whisper", agent=1)  # type: ignore[attr-defined]
    assert heard(engine) == {0: {1}, 1: {0, 2}, 2: {0, 1}}


def test_barge_is_heard_by_both(engine: MediaEngine) -> None:
    engine.supervise(2, engine.conf, "whisper", agent=1)  # type: ignore[attr-defined]
    engine.supervise(2, engine.conf, "barge")  # type: ignore[attr-defined]
    assert heard(engine) == {0: {1, 2}, 1: {0, 2}, 2: {0, 1}}


def test_supervisor_leaves(engine: MediaEngine) -> None:
    engine.supervise(2, engine.conf, "whisper", agent=1)  # type: ignore[attr-defined]
    engine.leave(2)
    engine.whisper(2, None)
    assert heard(engine) == {0: {1}, 1: {0}, 2: set()}


def test_bad_supervision_arguments(engine: MediaEngine) -> None:
    with pytest.raises(ValueError, match="itself"):
        engine.whisper(1, 1)
    with pytest.raises(ValueError, match="mode"):
        engine.supervise(2, 1, "spy")
    with pytest.raises(ValueError, match="agent"):
        engine.supervise(2, 1, "whisper")
    with pytest.raises(ValueError, match="slot"):
        engine.whisper(1, 7)


def test_recording_tap_holds_both_directions(engine: MediaEngine) -> None:
    engine.record(1)
    heard(engine, ticks=5)
    frames = engine.read_recording(1)
    assert len(frames) == 2 * 5 * B
    rx = array("h", frames[0::2])
    tx = array("h", frames[1::2])
    # rx is the agent's own voice (1000 Hz), tx what the agent heard (the customer, 500 Hz)
    assert power_at(rx[-B:], FREQS[1]) > 0.5 and power_at(rx[-B:], FREQS[0]) < 0.01
    assert power_at(tx[-B:], FREQS[0]) > 0.5 and power_at(tx[-B:], FREQS[1]) < 0.01
    assert len(engine.read_recording(1)) == 0          # drained
    assert engine.recording_dropped(1) == 0


def test_recording_ring_drops_oldest_when_not_drained(engine: MediaEngine) -> None:
    engine.record(0)
    ticks = 2 * 8000 // B + 10                        # 10 ticks more than the 2 s ring
    heard(engine, ticks=ticks)
    assert engine.recording_dropped(0) == 10 * B
    first = engine.read_recording(0, max_frames=16000)
    assert len(first) == 2 * 16000
    engine.record(0, on=False)
    assert len(engine.read_recording(0)) == 0
