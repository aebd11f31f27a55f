"""Cadenced tone generator."""

from __future__ import annotations

import math
from array import array

import pytest
from native_signals import peak

from native.dsp import ToneGenerator, ToneSegment


def runs(pcm: array) -> list[tuple[bool, int]]:
    """(on, duration_ms) runs, deciding on/off per 1 ms (8 samples)."""
    out: list[tuple[bool, int]] = []
    for i in range(0, len(pcm), 8):
        on = any(pcm[i : i + 8])
        if out and out[-1][0] == on:
            out[-1] = (on, out[-1][1] + 1)
        else:
            out.append((on, 1))
    return out


def zero_crossings(pcm: array) -> int:
    return sum(1 for a, b in zip(pcm, pcm[1:], strict=False) if (a < 0) != (b < 0))


def test_ringback_cadence() -> None:
    gen = ToneGenerator([ToneSegment(425, 0, -13, 1000), ToneSegment(0, 0, 0, 4000)], True)
    pcm = array("h")
    for _ in range(12 * 50):  # 12 s in 20 ms blocks
        pcm += gen.generate(160)
    assert runs(pcm) == [
        (True, 1000),
        (False, 4000),
        (True, 1000),
        (False, 4000),
        (True, 1000),
        (False, 1000),
    ]
    assert gen.active


def test_busy_cadence_and_frequency_and_level() -> None:
    gen = ToneGenerator([ToneSegment(425, 0, -13, 500), ToneSegment(0, 0, 0, 500)])
    pcm = gen.generate(8000 * 3)
    assert runs(pcm) == [(True, 500), (False, 500)] * 3
    burst = pcm[:4000]
    assert abs(zero_crossings(burst) / 2 / 0.5 - 425) <= 2
    rms = math.sqrt(sum(x * x for x in burst) / len(burst))
    assert abs(20 * math.log10(rms / (peak(-13) / math.sqrt(2)))) < 0.05


def test_continuous_dual_tone_is_phase_continuous_across_blocks() -> None:
    segs = [ToneSegment(350, 440, -13, 0)]
    whole = ToneGenerator(segs).generate(8000)
    gen = ToneGenerator(segs)
    pieces = array("h")
    for n in (1, 159, 160, 3000, 4680):
        pieces += gen.generate(n)
    assert pieces == whole
    # smooth: no sample-to-sample jump beyond what the two sines allow
    bound = 2 * math.pi * (350 + 440) / 8000 * peak(-13) + 2
    assert max(abs(a - b) for a, b in zip(whole, whole[1:], strict=False)) < bound


def test_phase_continuous_between_segments_of_the_same_frequency() -> None:
    pcm = ToneGenerator([ToneSegment(425, 0, -13, 10), ToneSegment(425, 0, -13, 10)]).generate(160)
    ref = ToneGenerator([ToneSegment(425, 0, -13, 20)]).generate(160)
    assert pcm == ref


def test_non_repeating_ends() -> None:
    gen = ToneGenerator([ToneSegment(1000, 0, -10, 30), ToneSegment(0, 0, 0, 20)], repeat=False)
    pcm = gen.generate(1000)
    assert not gen.active
    assert runs(pcm) == [(True, 30), (False, 95)]
    assert not any(gen.generate(100))


@pytest.mark.parametrize(
    "segments",
    [
        [],
        [ToneSegment(425, 0, -13, 100)] * 5,
        [ToneSegment(4000)],
        [ToneSegment(-1)],
        [ToneSegment(425, 0, 5.0)],
        [ToneSegment(425, 0, -13, -5)],
    ],
)
def test_bad_cadences_rejected(segments: list[ToneSegment]) -> None:
    with pytest.raises(ValueError):
        ToneGenerator(segments)
