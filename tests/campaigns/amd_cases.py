"""Generated answers for answering-machine detection tests: people and machines.

People (Callee "human"): after 0.1-1.0 s, one or two words (250-650 ms each, 100-250 ms
apart), then silence. Machines: after 0.1-0.8 s, 5-12 words (250-700 ms, 100-400 ms
apart), then a beep. Voices vary in pitch (85-230 Hz) and level (-32..-14 dBm0), over a
line with a little noise (-60 dBm0), through A-law as the box receives them. The harder
ones: people saying three quick words ("Hello, who's there?"), people on a noisy line
(-48 dBm0, above the detector's threshold), machines with a short greeting of two or three
words before the beep.
"""

from __future__ import annotations

import random
from array import array
from dataclasses import dataclass

from drivers.sim import voices
from native.dsp import alaw_decode, alaw_encode


@dataclass(frozen=True)
class Case:
    kind: str            # human | machine
    audio: array
    seed: int


def _noise(n: int, rng: random.Random, level_dbm0: float = -60.0) -> array:
    rms = 32768.0 * 10 ** ((level_dbm0 - 3.14) / 20) / 2 ** 0.5
    return array("h", (int(rng.gauss(0.0, rms)) for _ in range(n)))


def _line(pcm: array, rng: random.Random, noise_dbm0: float = -60.0) -> array:
    noise = _noise(len(pcm), rng, noise_dbm0)
    mixed = array("h", (max(-32768, min(32767, a + b)) for a, b in zip(pcm, noise, strict=True)))
    return array("h", alaw_decode(alaw_encode(mixed)))


def human(seed: int) -> Case:
    rng = random.Random(seed)
    words = [rng.randint(250, 650) for _ in range(rng.choice((1, 1, 2)))]
    speech = voices.utterance(words, rng.randint(100, 250), seed=seed,
                              pitch_hz=rng.uniform(85, 230), level_dbm0=rng.uniform(-32, -14))
    pcm = voices.silence(rng.randint(100, 1000)) + speech + voices.silence(6000)
    return Case("human", _line(pcm, rng), seed)


def machine(seed: int) -> Case:
    rng = random.Random(seed)
    n = rng.randint(5, 12)
    words = [rng.randint(250, 700) for _ in range(n)]
    gaps = [rng.randint(100, 400) for _ in range(n - 1)]
    speech = voices.utterance(words, gaps, seed=seed, pitch_hz=rng.uniform(85, 230),
                              level_dbm0=rng.uniform(-32, -14))
    pcm = (voices.silence(rng.randint(100, 800)) + speech + voices.silence(300)
           + voices.beep(rng.randint(300, 900), rng.choice((800.0, 1000.0, 1400.0)))
           + voices.silence(3000))
    return Case("machine", _line(pcm, rng), seed)


def human_three_words(seed: int) -> Case:
    rng = random.Random(seed)
    words = [rng.randint(200, 400) for _ in range(3)]
    speech = voices.utterance(words, rng.randint(80, 150), seed=seed,
                              pitch_hz=rng.uniform(85, 230), level_dbm0=rng.uniform(-32, -14))
    pcm = voices.silence(rng.randint(100, 800)) + speech + voices.silence(6000)
    return Case("human", _line(pcm, rng), seed)


def human_noisy_line(seed: int) -> Case:
    rng = random.Random(seed)
    speech = voices.utterance([rng.randint(300, 600)], 150, seed=seed,
                              level_dbm0=rng.uniform(-30, -18))
    pcm = voices.silence(rng.randint(100, 800)) + speech + voices.silence(6000)
    return Case("human", _line(pcm, rng, -48.0), seed)


def machine_short_greeting(seed: int) -> Case:
    rng = random.Random(seed)
    words = [rng.randint(300, 600) for _ in range(rng.choice((2, 3)))]
    speech = voices.utterance(words, rng.randint(100, 250), seed=seed,
                              pitch_hz=rng.uniform(85, 230), level_dbm0=rng.uniform(-32, -14))
    pcm = (voices.silence(rng.randint(100, 800)) + speech
           + voices.silence(rng.randint(200, 600)) + voices.beep() + voices.silence(3000))
    return Case("machine", _line(pcm, rng), seed)
