"""DTMF receiver against ITU-T Q.24 / Telcordia GR-506 limits: acceptance AND rejection.

Signals are synthesised here (native_signals, pure Python), not by our generator. Each
case sweeps all 16 digits, random phases, levels and alignments (seeded). The talk-off
test uses the espeak-ng corpus of talkoff.py and compares with spandsp's dtmf_rx on the
same audio.
"""

from __future__ import annotations

import math
import random
import sys
from array import array

import pytest
from native_signals import DIGITS, RATE, freqs, peak, to_pcm

from native.dsp import DtmfDetector, DtmfGenerator

LEVELS = (-3.0, -10.0, -20.0, -30.0)


def tone_pair(
    f1: float, f2: float, n: int, l1: float, l2: float, rng: random.Random
) -> list[float]:
    a1, a2 = peak(l1), peak(l2)
    p1, p2 = rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)
    w1, w2 = 2 * math.pi * f1 / RATE, 2 * math.pi * f2 / RATE
    return [a1 * math.sin(w1 * i + p1) + a2 * math.sin(w2 * i + p2) for i in range(n)]


def starts(pcm: array, chunk: int = 160) -> list[str]:
    det = DtmfDetector()
    out = []
    for i in range(0, len(pcm), chunk):
        out += [e.digit for e in det.process(pcm[i : i + chunk]) if e.kind == "start"]
    return out


def one_digit(digit: str, rng: random.Random, ms: int = 60, lo_scale: float = 1.0,
              hi_scale: float = 1.0, level: float | None = None, twist: float = 0.0) -> array:
    f1, f2 = freqs(digit)
    lvl = rng.uniform(-30.0, -3.0 - max(twist, 0.0)) if level is None else level
    lead = [0.0] * rng.randrange(0, 128)
    return to_pcm(lead + tone_pair(f1 * lo_scale, f2 * hi_scale, ms * 8, lvl, lvl + twist, rng)
                  + [0.0] * 600)  # fmt: skip


# -- frequency tolerance: 100 % at +-1.5 %, 0 % at +-3.5 % and beyond, either tone ---------


@pytest.mark.parametrize("offset", [-0.015, -0.01, 0.0, 0.01, 0.015])
@pytest.mark.parametrize("which", ["low", "high", "both"])
def test_frequency_within_1_5_percent_always_accepted(offset: float, which: str) -> None:
    rng = random.Random(f"{offset}{which}")
    for d in DIGITS:
        for _ in range(4):
            lo = 1 + offset if which in ("low", "both") else 1.0
            hi = 1 + (offset if which == "high" else -offset) if which != "low" else 1.0
            assert starts(one_digit(d, rng, lo_scale=lo, hi_scale=hi)) == [d], (d, lo, hi)


@pytest.mark.parametrize("offset", [-0.2, -0.1, -0.06, -0.045, -0.035, 0.035, 0.045, 0.06, 0.1])
@pytest.mark.parametrize("which", ["low", "high"])
def test_frequency_3_5_percent_and_beyond_never_accepted(offset: float, which: str) -> None:
    rng = random.Random(f"{offset}{which}")
    for d in DIGITS:
        f1, f2 = freqs(d)
        moved = f1 * (1 + offset) if which == "low" else f2 * (1 + offset)
        # a tone moved onto another DTMF frequency is that digit, not an error
        if any(abs(moved / f - 1) < 0.035 for f in (697, 770, 852, 941, 1209, 1336, 1477, 1633)):
            continue
        for _ in range(3):
            pcm = one_digit(d, rng, ms=100, lo_scale=1 + offset if which == "low" else 1.0,
                            hi_scale=1 + offset if which == "high" else 1.0)  # fmt: skip
            assert starts(pcm) == [], (d, which, offset)


# -- duration, pause --------------------------------------------------------------------


@pytest.mark.parametrize("ms", [40, 45, 60])
def test_tones_of_40_ms_and_more_accepted(ms: int) -> None:
    rng = random.Random(ms)
    for d in DIGITS:
        for _ in range(4):
            assert starts(one_digit(d, rng, ms=ms)) == [d]


@pytest.mark.parametrize("ms", [10, 15, 20, 22])
def test_tones_shorter_than_23_ms_rejected(ms: int) -> None:
    rng = random.Random(ms)
    for d in DIGITS:
        for _ in range(4):
            assert starts(one_digit(d, rng, ms=ms)) == []


def test_40_ms_pauses_separate_digits() -> None:
    rng = random.Random(7)
    for trial in range(8):
        seq = "".join(rng.choice(DIGITS) for _ in range(12)) + "55"
        x: list[float] = [0.0] * rng.randrange(128)
        for d in seq:
            x += tone_pair(*freqs(d), 40 * 8, -12.0, -12.0, rng) + [0.0] * (40 * 8)
        assert starts(to_pcm(x)) == list(seq), trial


# -- twist --------------------------------------------------------------------------------


@pytest.mark.parametrize("twist", [-8.0, -6.0, 0.0, 2.0, 4.0])
def test_twist_within_limits_accepted(twist: float) -> None:
    """Forward twist (high above low) up to 4 dB, reverse up to 8 dB, also at +-1.5 %."""
    rng = random.Random(f"t{twist}")
    for d in DIGITS:
        for off in (-0.015, 0.0, 0.015):
            level = rng.uniform(-25.0, -6.0)
            pcm = one_digit(d, rng, level=level, twist=twist, lo_scale=1 + off, hi_scale=1 - off)
            assert starts(pcm) == [d], (d, twist, off)


@pytest.mark.parametrize("twist", [-12.0, -9.0, 5.0, 8.0])
def test_twist_beyond_limits_rejected(twist: float) -> None:
    rng = random.Random(f"r{twist}")
    for d in DIGITS:
        for _ in range(3):
            assert starts(one_digit(d, rng, level=rng.uniform(-22.0, -8.0), twist=twist)) == []


def test_twist_limits_are_configurable() -> None:
    rng = random.Random(3)
    pcm = one_digit("5", rng, level=-15.0, twist=6.0)
    assert starts(pcm) == []
    det = DtmfDetector(fwd_twist_db=6.0)
    assert [e.digit for e in det.process(pcm) if e.kind == "start"] == ["5"]
    pcm = one_digit("5", rng, level=-10.0, twist=-11.0)
    det = DtmfDetector(rev_twist_db=12.0)
    assert [e.digit for e in det.process(pcm) if e.kind == "start"] == ["5"]


# -- level range, noise, timing -----------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_level_range(level: float) -> None:
    rng = random.Random(level)
    for d in DIGITS:
        assert starts(one_digit(d, rng, level=level)) == [d]


def test_below_threshold_rejected() -> None:
    rng = random.Random(1)
    for d in DIGITS:
        assert starts(one_digit(d, rng, level=-45.0, ms=100)) == []


@pytest.mark.parametrize("level", [-10.0, -25.0])
def test_15_db_snr_white_noise(level: float) -> None:
    """Noise 15 dB below each tone (the stricter reading of 15 dB SNR)."""
    rng = random.Random(level)
    rms = peak(level) / math.sqrt(2) / 10 ** (15 / 20)
    for d in DIGITS:
        for _ in range(3):
            x = [0.0] * 400 + tone_pair(*freqs(d), 60 * 8, level, level, rng) + [0.0] * 600
            pcm = to_pcm([v + rng.gauss(0.0, rms) for v in x])
            assert starts(pcm) == [d]
    noise = to_pcm([rng.gauss(0.0, rms * 4) for _ in range(8000 * 20)])
    assert starts(noise) == []


def test_start_and_end_times_within_6_ms() -> None:
    rng = random.Random(11)
    for _ in range(48):
        lead, dur = rng.randrange(200, 600), rng.choice([40, 60, 100, 250])
        d = rng.choice(DIGITS)
        x = [0.0] * lead + tone_pair(*freqs(d), dur * 8, -15.0, -15.0, rng) + [0.0] * 800
        det = DtmfDetector()
        ev = det.process(to_pcm(x))
        assert [(e.digit, e.kind) for e in ev] == [(d, "start"), (d, "end")]
        assert abs(ev[0].time_ms - lead / 8) <= 6, (ev, lead)
        assert abs(ev[1].time_ms - (lead / 8 + dur)) <= 6, (ev, lead, dur)


# -- generator: levels and twist measured ---------------------------------------------------


@pytest.mark.parametrize(
    ("level", "twist"), [(-3.0, 0.0), (-10.0, 4.0), (-20.0, -8.0), (-30.0, 2.0)]
)
def test_generator_level_and_twist_measured(level: float, twist: float) -> None:
    """Each tone's level, from a 1 s DFT at its exact frequency."""
    gen = DtmfGenerator(level_dbm0=level, twist_db=twist, on_ms=1000, off_ms=0)
    gen.queue("8")
    pcm = gen.generate(8000)
    f1, f2 = freqs("8")

    def level_of(f: float) -> float:
        re = sum(v * math.cos(2 * math.pi * f * i / RATE) for i, v in enumerate(pcm))
        im = sum(v * math.sin(2 * math.pi * f * i / RATE) for i, v in enumerate(pcm))
        amp = 2 * math.hypot(re, im) / len(pcm)
        return 20 * math.log10(amp / peak(0.0))

    assert abs(level_of(f1) - level) < 0.1
    assert abs(level_of(f2) - (level + twist)) < 0.1
    assert starts(pcm + array("h", bytes(1600))) == (["8"] if -8 <= twist <= 4 else [])


# -- talk-off -------------------------------------------------------------------------------

TALKOFF_MINUTES = 30.0
TALKOFF_CAP_PER_HOUR = 2.0


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_talkoff_no_worse_than_spandsp() -> None:
    """False digits in >= 30 min of espeak-ng speech (6 languages): ours <= spandsp's on
    the same audio and <= 2 per hour. The corpus is cached (first build: a few minutes)."""
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))
    from tests.bench.peer_spandsp_dtmf import SpandspDtmfRx, available, reason
    from tests.native import talkoff

    if talkoff.tools_missing():
        pytest.skip(talkoff.tools_missing())
    pcm, seconds = talkoff.corpus(TALKOFF_MINUTES)
    assert seconds >= TALKOFF_MINUTES * 60
    ours = starts(pcm, chunk=160)
    per_hour = len(ours) * 3600 / seconds
    print(f"talk-off: ours {len(ours)} in {seconds / 60:.1f} min ({per_hour:.2f}/h)", end="")
    assert per_hour <= TALKOFF_CAP_PER_HOUR, ours
    if not available():
        print(f"; spandsp not measured: {reason()}")
        return
    theirs = SpandspDtmfRx().process(pcm)
    print(f"; spandsp {len(theirs)} ({len(theirs) * 3600 / seconds:.2f}/h)")
    assert len(ours) <= len(theirs), (ours, theirs)
