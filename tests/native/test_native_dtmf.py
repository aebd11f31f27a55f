"""DTMF generator and detector."""

from __future__ import annotations

import math
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from native_signals import DIGITS, dual_tone, freqs, peak, sequence, to_pcm, white_noise

from native.dsp import DtmfDetector, DtmfEvent, DtmfGenerator

TOL_MS = 15


def detect(pcm: array, chunk: int = 160, det: DtmfDetector | None = None) -> list[DtmfEvent]:
    det = det or DtmfDetector()
    events: list[DtmfEvent] = []
    for i in range(0, len(pcm), chunk):
        events += det.process(pcm[i : i + chunk])
    return events


def check_against_truth(events: list[DtmfEvent], truth: list[tuple[str, int, int]]) -> None:
    assert [(e.digit, e.kind) for e in events] == [
        (d, k) for d, _, _ in truth for k in ("start", "end")
    ]
    for i, (_, start, end) in enumerate(truth):
        assert abs(events[2 * i].time_ms - start) <= TOL_MS, (events[2 * i], start)
        assert abs(events[2 * i + 1].time_ms - end) <= TOL_MS, (events[2 * i + 1], end)


# -- generator ------------------------------------------------------------------------


def test_generator_timing_and_busy() -> None:
    gen = DtmfGenerator(on_ms=50, off_ms=30)
    assert not gen.busy
    gen.queue("12")
    assert gen.busy
    pcm = gen.generate(2 * 80 * 8 + 100)
    assert not gen.busy
    on = [any(pcm[i : i + 8]) for i in range(0, len(pcm), 8)]  # per ms
    assert on[:50] == [True] * 50 and on[50:80] == [False] * 30
    assert on[80:130] == [True] * 50 and not any(on[130:])


def test_generator_level_and_twist() -> None:
    gen = DtmfGenerator(level_dbm0=-10.0, twist_db=2.0, on_ms=1000, off_ms=0)
    gen.queue("5")
    pcm = gen.generate(8000)
    ms = sum(x * x for x in pcm) / len(pcm)
    expected = (peak(-10.0) ** 2 + peak(-8.0) ** 2) / 2
    assert abs(10 * math.log10(ms / expected)) < 0.05


def test_generator_frequencies() -> None:
    """DFT power (Hann window) at the digit's two frequencies dominates the others."""
    gen = DtmfGenerator(on_ms=100, off_ms=0)
    for d in DIGITS:
        gen.queue(d)
        raw = gen.generate(800)
        pcm = [v * (0.5 - 0.5 * math.cos(2 * math.pi * i / 800)) for i, v in enumerate(raw)]
        f1, f2 = freqs(d)

        def power(f: float, x: list[float] = pcm) -> float:
            re = sum(v * math.cos(2 * math.pi * f * i / 8000) for i, v in enumerate(x))
            im = sum(v * math.sin(2 * math.pi * f * i / 8000) for i, v in enumerate(x))
            return re * re + im * im

        p1, p2 = power(f1), power(f2)
        assert p1 > 0 and abs(10 * math.log10(p1 / p2)) < 0.2
        for other in (697, 770, 852, 941, 1209, 1336, 1477, 1633):
            if other not in (f1, f2):
                assert power(other) < p1 / 1000


def test_generator_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        DtmfGenerator(level_dbm0=10.0)
    with pytest.raises(ValueError):
        DtmfGenerator(on_ms=0)
    gen = DtmfGenerator()
    with pytest.raises(ValueError, match="not DTMF"):
        gen.queue("12x")
    with pytest.raises(ValueError, match="full"):
        gen.queue("1" * 200)
    assert not gen.busy
    with pytest.raises(ValueError):
        gen.generate(-1)


# -- generator -> detector ------------------------------------------------------------


@pytest.mark.parametrize("chunk", [160, 37, 1000])
def test_all_digits_generated_then_detected(chunk: int) -> None:
    gen = DtmfGenerator(level_dbm0=-10.0, on_ms=50, off_ms=50)
    gen.queue(DIGITS)
    pcm = gen.generate(16 * 100 * 8 + 400)
    truth = [(d, 100 * i, 100 * i + 50) for i, d in enumerate(DIGITS)]
    check_against_truth(detect(pcm, chunk), truth)


@pytest.mark.parametrize("level", [-3.0, -10.0, -25.0, -30.0])
@pytest.mark.parametrize("offset", [-0.015, 0.0, 0.015])
def test_level_range_and_frequency_offset(level: float, offset: float) -> None:
    pcm, truth = sequence(DIGITS, 50, 50, level_dbm0=level, offset=offset)
    check_against_truth(detect(pcm), truth)


# Coarse check of the default limits (4 dB forward, 8 dB reverse); the exact edges are in
# test_native_dtmf_q24.py.
@pytest.mark.parametrize("twist", [-6.0, 2.0])
def test_twist_within_limits_accepted(twist: float) -> None:
    pcm, truth = sequence(DIGITS, 60, 60, level_dbm0=-12.0, twist_db=twist)
    check_against_truth(detect(pcm), truth)


@pytest.mark.parametrize("twist", [-10.0, 6.0])
def test_twist_beyond_limits_rejected(twist: float) -> None:
    pcm, _ = sequence(DIGITS, 60, 60, level_dbm0=-12.0, twist_db=twist)
    assert detect(pcm) == []


def test_below_threshold_rejected() -> None:
    pcm, _ = sequence("123", 100, 100, level_dbm0=-45.0)
    assert detect(pcm) == []


@pytest.mark.parametrize("lead", range(0, 102, 7))
def test_20ms_tone_rejected_at_any_alignment(lead: int) -> None:
    f1, f2 = freqs("5")
    pcm = to_pcm([0.0] * lead + dual_tone(f1, f2, 160, -6.0) + [0.0] * 800)
    assert detect(pcm) == []


@pytest.mark.parametrize("lead", range(0, 102, 7))
def test_40ms_tone_accepted_at_any_alignment(lead: int) -> None:
    f1, f2 = freqs("5")
    pcm = to_pcm([0.0] * lead + dual_tone(f1, f2, 320, -20.0) + [0.0] * 800)
    events = detect(pcm)
    assert [(e.digit, e.kind) for e in events] == [("5", "start"), ("5", "end")]


def test_silence_and_noise_give_no_digits() -> None:
    assert detect(array("h", bytes(2 * 8000))) == []
    for seed in range(3):
        noise = white_noise(8000 * 10, rms=peak(-10.0), seed=seed)
        assert detect(to_pcm(noise)) == []


def test_digits_in_noise() -> None:
    pcm, truth = sequence("7#", 60, 60, level_dbm0=-15.0)
    noise = white_noise(len(pcm), rms=peak(-15.0) / math.sqrt(2) / 10 ** (18 / 20))  # 18 dB SNR
    noisy = to_pcm([s + n for s, n in zip(pcm, noise, strict=True)])
    check_against_truth(detect(noisy), truth)


def test_continuous_tone_is_one_digit_and_current() -> None:
    f1, f2 = freqs("0")
    det = DtmfDetector()
    events = det.process(to_pcm(dual_tone(f1, f2, 8000, -10.0)))
    assert [(e.digit, e.kind) for e in events] == [("0", "start")]
    assert det.current == "0"
    events = det.process(array("h", bytes(800)))
    assert [(e.digit, e.kind) for e in events] == [("0", "end")]
    assert det.current is None
    assert abs(events[0].time_ms - 1000) <= TOL_MS


def test_detector_rejects_bad_configuration() -> None:
    with pytest.raises(ValueError):
        DtmfDetector(threshold_dbm0=5.0)
    with pytest.raises(ValueError):
        DtmfDetector(fwd_twist_db=-1.0)


# -- properties (hypothesis) ------------------------------------------------------------

_SIGNAL, _ = sequence("1#9", 45, 45, level_dbm0=-18.0)
_WHOLE = detect(_SIGNAL, chunk=len(_SIGNAL))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 700), min_size=1, max_size=20))
def test_events_do_not_depend_on_how_the_stream_is_cut(cuts: list[int]) -> None:
    det = DtmfDetector()
    events: list[DtmfEvent] = []
    pos, i = 0, 0
    while pos < len(_SIGNAL):
        n = cuts[i % len(cuts)]
        events += det.process(_SIGNAL[pos : pos + n])
        pos += n
        i += 1
    assert events == _WHOLE
    assert [e.digit for e in events if e.kind == "start"] == ["1", "#", "9"]
