"""The per-slot pipeline of the media engine: decode -> echo canceller -> tone detection.

The echo test closes the loop through a simulated hybrid: what the engine sends on slot 0
comes back on slot 0's rx, attenuated and smeared by an echo path, as an analog line does.
Slot 1 is the far party: its noise is what slot 0 sends, and what slot 1 hears back is
slot 0's (cancelled) rx — the echo the far party would hear.
"""

from __future__ import annotations

import math
import random
from array import array

import pytest

from native.cpt import tone
from native.dsp import ToneGenerator, alaw_decode, alaw_encode
from native.media import MediaEngine

B = 160
SILENCE = bytes([0xD5]) * B


def power_db(pcm: array) -> float:
    p = sum(x * x for x in pcm) / max(1, len(pcm))
    return 10 * math.log10(p + 1e-9)


def echo_path(taps: int = 48, delay: int = 40, erl_db: float = 8.0) -> list[float]:
    rng = random.Random(7)
    h = [0.0] * delay + [rng.gauss(0, 1) * math.exp(-i / 8) for i in range(taps)]
    norm = math.sqrt(sum(x * x for x in h))
    gain = 10 ** (-erl_db / 20)
    return [gain * x / norm for x in h]


def run_echo(cancel: bool, seconds: float = 4.0) -> tuple[float, float]:
    """Returns (far-end power, echo power heard back by the far end) over the last second."""
    e = MediaEngine(2, B)
    for s in range(2):
        e.configure_slot(s, dtmf_detect=False)
    e.connect(0, 1)
    if cancel:
        e.configure_echo(0, 128, nlp=False)
    h = echo_path()
    rng = random.Random(1)
    history = [0.0] * len(h)
    rx0 = SILENCE
    far_p: list[float] = []
    echo_p: list[float] = []
    ticks = int(seconds * 8000 / B)
    for t in range(ticks):
        far = array("h", (max(-32768, min(32767, int(rng.gauss(0, 3000)))) for _ in range(B)))
        tx = e.tick(rx0 + alaw_encode(far))
        sent = alaw_decode(tx[:B])                 # what slot 0 puts on the line
        back = array("h")
        for x in sent:                             # the hybrid reflects it
            history.pop()
            history.insert(0, float(x))
            y = sum(a * b for a, b in zip(h, history, strict=True))
            back.append(max(-32768, min(32767, int(y))))
        rx0 = alaw_encode(back)
        heard = alaw_decode(tx[B:])                # what the far party hears of it
        if t >= ticks - 50:
            far_p.append(power_db(far))
            echo_p.append(power_db(heard))
    return sum(far_p) / len(far_p), sum(echo_p) / len(echo_p)


def test_echo_canceller_in_the_pipeline_removes_the_hybrid_echo() -> None:
    far, echo_raw = run_echo(cancel=False)
    _, echo_left = run_echo(cancel=True)
    erl = far - echo_raw
    assert 6 < erl < 11                            # the loop really returns echo
    assert far - echo_left > erl + 20, (far, echo_raw, echo_left)   # >= 20 dB ERLE


def test_tone_detection_on_a_slot_names_the_tone_and_reports_silence() -> None:
    e = MediaEngine(2, B)
    for s in range(2):
        e.configure_slot(s)
    e.configure_cpd(1, "RU", silence_ms=1000)
    g = ToneGenerator(tone("RU", "busy"), repeat=True)
    events = []
    for t in range(250):
        rx = SILENCE + (alaw_encode(g.generate(B)) if t < 150 else SILENCE)
        e.tick(rx)
        events += e.poll_events()
    kinds = [(ev.kind, ev.tone) for ev in events]
    assert kinds == [("tone_detected", "busy"), ("tone_ended", "busy"), ("silence", None)]
    assert all(ev.slot == 1 for ev in events)
    assert 800 <= events[0].time_ms <= 2000        # confirmed after two cadence cycles
    e.configure_cpd(1, None)
    for _ in range(100):
        e.tick(SILENCE + alaw_encode(g.generate(B)))
    assert not [ev for ev in e.poll_events() if ev.kind.startswith("tone")]


def test_bad_pipeline_arguments() -> None:
    e = MediaEngine(2, B)
    with pytest.raises(ValueError, match="64..256"):
        e.configure_echo(0, 20)
    with pytest.raises(ValueError):
        e.configure_echo(5, 128)
    e.configure_echo(0, None)                      # off when already off: fine
