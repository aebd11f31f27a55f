"""Caller ID test signals, pure Python and independent of the C core: an FSK modulator
written from the standards (so the receiver is not only tested against its own
transmitter), white noise at a given SNR, a telephone-band FIR filter, level scaling."""

from __future__ import annotations

import math
import random
from array import array

RATE = 8000
DBM0_PEAK = 32768 * 10 ** (-3.14 / 20)  # 0 dBm0 sine peak (G.711 convention)
TONES = {"bell202": (1200.0, 2200.0), "v23": (1300.0, 2100.0)}


def checksum(body: bytes) -> int:
    """Two's complement of the modulo-256 sum."""
    return (-sum(body)) & 0xFF


def frame_bits(message: bytes, seizure: int = 300, mark: int = 180, tail: int = 4) -> list[int]:
    bits = [i & 1 for i in range(seizure)] + [1] * mark
    for b in message:
        bits += [0] + [(b >> i) & 1 for i in range(8)] + [1]
    return bits + [1] * tail


def fsk(
    bits: list[int],
    standard: str = "v23",
    level_dbm0: float = -13.0,
    freq_error: float = 0.0,
    baud_error: float = 0.0,
    space_twist_db: float = 0.0,
    phase: float = 0.3,
) -> list[float]:
    """Phase-continuous FSK at 1200 bit/s * (1 + baud_error), tones * (1 + freq_error),
    the space tone space_twist_db louder (negative: quieter) than the mark."""
    mark_hz, space_hz = TONES[standard]
    amp = DBM0_PEAK * 10 ** (level_dbm0 / 20)
    samples_per_bit = RATE / (1200.0 * (1 + baud_error))
    out: list[float] = []
    n_total = int(len(bits) * samples_per_bit)
    for n in range(n_total):
        bit = bits[min(int(n / samples_per_bit), len(bits) - 1)]
        f = (mark_hz if bit else space_hz) * (1 + freq_error)
        a = amp if bit else amp * 10 ** (space_twist_db / 20)
        phase += 2 * math.pi * f / RATE
        out.append(a * math.sin(phase))
    return out


def power(samples: list[float]) -> float:
    return sum(s * s for s in samples) / max(1, len(samples))


def add_noise(
    samples: list[float], snr_db: float, seed: int, ref_power: float | None = None
) -> list[float]:
    """White Gaussian noise, snr_db under ref_power (default: the signal's own power)."""
    p = power(samples) if ref_power is None else ref_power
    rms = math.sqrt(p / 10 ** (snr_db / 10))
    rng = random.Random(seed)
    return [s + rng.gauss(0.0, rms) for s in samples]


def telephone_filter(samples: list[float], taps: int = 63) -> list[float]:
    """Linear-phase FIR band-pass 300-3400 Hz (Hamming-windowed sinc), unity in band."""
    lo, hi = 300.0 / RATE, 3400.0 / RATE
    m = taps // 2
    h = []
    for k in range(taps):
        t = k - m
        if t == 0:
            v = 2 * (hi - lo)
        else:
            v = (math.sin(2 * math.pi * hi * t) - math.sin(2 * math.pi * lo * t)) / (math.pi * t)
        h.append(v * (0.54 - 0.46 * math.cos(2 * math.pi * k / (taps - 1))))
    out = [0.0] * len(samples)
    for n in range(len(samples)):
        acc = 0.0
        for k in range(max(0, n - len(samples) + 1), min(taps, n + 1)):
            acc += h[k] * samples[n - k]
        out[n] = acc
    return out


def silence(ms: int) -> list[float]:
    return [0.0] * (ms * 8)


def to_pcm(samples: list[float]) -> array:
    return array("h", (max(-32768, min(32767, round(s))) for s in samples))
