"""Synthetic test signals for the native DSP tests (pure Python, independent of the C core)."""

from __future__ import annotations

import math
import random
from array import array

RATE = 8000
DBM0_PEAK = 32768 * 10 ** (-3.14 / 20)  # 0 dBm0 sine peak (G.711 convention)

ROWS = (697.0, 770.0, 852.0, 941.0)
COLS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD = ("123A", "456B", "789C", "*0#D")
DIGITS = "0123456789*#ABCD"


def freqs(digit: str) -> tuple[float, float]:
    for r, row in enumerate(KEYPAD):
        if digit in row:
            return ROWS[r], COLS[row.index(digit)]
    raise ValueError(digit)


def peak(level_dbm0: float) -> float:
    return DBM0_PEAK * 10 ** (level_dbm0 / 20)


def dual_tone(
    f1: float, f2: float, n: int, level_dbm0: float, twist_db: float = 0.0
) -> list[float]:
    a1, a2 = peak(level_dbm0), peak(level_dbm0 + twist_db)
    w1, w2 = 2 * math.pi * f1 / RATE, 2 * math.pi * f2 / RATE
    return [a1 * math.sin(w1 * i) + a2 * math.sin(w2 * i + 0.7) for i in range(n)]


def to_pcm(samples: list[float]) -> array:
    return array("h", (max(-32768, min(32767, round(s))) for s in samples))


def sequence(
    digits: str,
    on_ms: int,
    off_ms: int,
    level_dbm0: float = -10.0,
    twist_db: float = 0.0,
    offset: float = 0.0,
    lead_ms: int = 30,
) -> tuple[array, list[tuple[str, int, int]]]:
    """PCM of digits (each on_ms tone, off_ms gap, after lead_ms of silence), frequencies
    scaled by (1 + offset); and the truth as (digit, start_ms, end_ms)."""
    out: list[float] = [0.0] * (lead_ms * 8)
    truth = []
    for d in digits:
        f1, f2 = freqs(d)
        start = len(out)
        out += dual_tone(f1 * (1 + offset), f2 * (1 + offset), on_ms * 8, level_dbm0, twist_db)
        truth.append((d, start // 8, len(out) // 8))
        out += [0.0] * (off_ms * 8)
    return to_pcm(out), truth


def white_noise(n: int, rms: float, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(0.0, rms) for _ in range(n)]
