"""Speech-like audio for the simulated people on the lines: words, greetings, beeps.

A simulated called party must put real audio on the line so the box's voice-activity and
answering-machine detection work on it as on a real call. Real recordings are not part of
the source tree, so words are synthesised the way a formant synthesiser makes a vowel: a
glottal pulse train (pitch with jitter and a falling contour) with some breath noise,
shaped by three formant resonators, under a syllable envelope (about 4 syllables a
second, the rhythm of speech). It is not intelligible, but it has what detectors look at:
speech level (about -20 dBm0), a voice-band spectrum that linear prediction cannot model
as a tone, syllabic energy modulation, and silences between words.

Deterministic: the same ``seed`` gives the same samples. Pure Python, made once per
profile (not per tick); 1 s of speech takes a few ms.
"""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Sequence

RATE = 8000
# Vowel formants (F1, F2, F3 in Hz) of a generic adult voice.
_VOWELS: tuple[tuple[float, float, float], ...] = (
    (730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010), (570, 840, 2410),
    (300, 870, 2240), (660, 1720, 2410),
)
_BANDWIDTH_HZ = (90.0, 110.0, 170.0)
SYLLABLE_MS = 240


def _resonator(freq: float, bw: float) -> tuple[float, float, float]:
    r = math.exp(-math.pi * bw / RATE)
    a1 = 2 * r * math.cos(2 * math.pi * freq / RATE)
    a2 = -r * r
    return (1 - r), a1, a2


def word(ms: int, rng: random.Random, pitch_hz: float = 120.0,
         level_dbm0: float = -20.0) -> array:
    """One word of ``ms`` milliseconds: syllables of about SYLLABLE_MS, each a vowel."""
    n = max(1, ms * RATE // 1000)
    nsyl = max(1, round(ms / SYLLABLE_MS))
    syl_len = n / nsyl
    out = [0.0] * n
    phase = 0.0
    state = [[0.0, 0.0] for _ in range(3)]
    coeffs = [_resonator(f, b) for f, b in zip(rng.choice(_VOWELS), _BANDWIDTH_HZ, strict=True)]
    syl = -1
    for i in range(n):
        if int(i / syl_len) != syl:
            syl = int(i / syl_len)
            coeffs = [_resonator(f * rng.uniform(0.9, 1.1), b)
                      for f, b in zip(rng.choice(_VOWELS), _BANDWIDTH_HZ, strict=True)]
        pos = (i - syl * syl_len) / syl_len           # 0..1 inside the syllable
        env = math.sin(math.pi * pos) ** 0.6          # rises and falls: syllable rhythm
        f0 = pitch_hz * (1.15 - 0.3 * i / n) * (1 + rng.uniform(-0.02, 0.02))
        phase += f0 / RATE
        x = rng.gauss(0.0, 0.08)                      # breath
        if phase >= 1.0:
            phase -= 1.0
            x += 1.0                                  # glottal pulse
        y = 0.0
        for k, (g, a1, a2) in enumerate(coeffs):
            s = state[k]
            v = g * x + a1 * s[0] + a2 * s[1]
            s[1], s[0] = s[0], v
            y += v
        out[i] = y * env
    rms = math.sqrt(sum(v * v for v in out) / n) or 1.0
    # 0 dBm0 = RMS 32768 * 10**(-3.14/20) / sqrt(2); scale the word's RMS to level_dbm0
    target = 32768.0 * 10 ** ((level_dbm0 - 3.14) / 20) / math.sqrt(2)
    scale = target / rms
    return array("h", (max(-32767, min(32767, int(v * scale))) for v in out))


def silence(ms: int) -> array:
    return array("h", bytes(2 * (ms * RATE // 1000)))


def utterance(words_ms: Sequence[int], gaps_ms: Sequence[int] | int = 150, seed: int = 0,
              pitch_hz: float = 120.0, level_dbm0: float = -20.0) -> array:
    """Words of the given lengths separated by the given silences."""
    rng = random.Random(seed)
    gaps = [gaps_ms] * len(words_ms) if isinstance(gaps_ms, int) else list(gaps_ms)
    out = array("h")
    for i, ms in enumerate(words_ms):
        if i:
            out.extend(silence(gaps[i - 1]))
        out.extend(word(ms, rng, pitch_hz, level_dbm0))
    return out


def beep(ms: int = 600, freq: float = 1000.0, level_dbm0: float = -13.0) -> array:
    """An answering machine's beep: one steady sine."""
    amp = 32768.0 * 10 ** ((level_dbm0 - 3.14) / 20)
    n = ms * RATE // 1000
    return array("h", (int(amp * math.sin(2 * math.pi * freq * i / RATE)) for i in range(n)))
