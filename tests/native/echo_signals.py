"""Signals for the echo canceller tests and benchmark: G.168 echo paths, speech, noise.

- The echo path models of ITU-T G.168 Annex D (D.2 .. D.9) are read at run time from
  Debian's libspandsp-dev header /usr/include/spandsp/g168models.h (no copy of the data
  is kept here). Each model is scaled to a given ERL (measured on white noise:
  sum h^2 = 10^(-ERL/10)) and preceded by a bulk delay.
- Speech is synthesised with espeak-ng in several voices and resampled to 8 kHz with sox;
  the results are cached in a directory under /tmp keyed by voice and text, so a fresh
  machine regenerates them.
- The hybrid (convolution with the echo path) runs in sox's `fir` effect on 32-bit float
  samples (no numpy in the project), then in Python near = echo + near-end talker + line
  noise, rounded to 16-bit PCM.
"""

from __future__ import annotations

import hashlib
import math
import os
import pathlib
import random
import re
import shutil
import subprocess
import tempfile
from array import array
from collections.abc import Sequence

RATE = 8000
DBM0_POWER = 22827.0**2 / 2
G168_HEADER = pathlib.Path("/usr/include/spandsp/g168models.h")
CACHE = (pathlib.Path(os.environ.get("EDGEPBX_ECHO_CACHE", tempfile.gettempdir()))
         / "edgepbx-echo-cache")

# Sentences per espeak-ng voice: enough different voices and languages to vary pitch,
# rhythm and spectrum.
SPEECH = {
    "en": "The quick brown fox jumps over the lazy dog. Please call me back tomorrow "
          "morning, the meeting has been moved to ten o'clock in the large room.",
    "de": "Guten Tag, hier spricht die Telefonzentrale. Bitte warten Sie einen Moment, "
          "ich verbinde Sie sofort mit der Buchhaltung.",
    "ru": "Здравствуйте, вы позвонили в нашу компанию. Оставайтесь на линии, "
          "оператор ответит вам в ближайшее время.",
    "pl": "Dzień dobry, dziękujemy za telefon. Proszę pozostać na linii, "
          "konsultant odbierze za chwilę.",
    "fr": "Bonjour, merci de votre appel. Toutes nos lignes sont occupées, "
          "veuillez patienter quelques instants.",
}
NEAR_SPEECH = {
    "en-us": "Hello, yes, I can hear you. Could you repeat the number please? "
             "I did not catch the last four digits.",
    "es": "Hola, sí, le escucho perfectamente. ¿Puede repetir el número, por favor?",
}


def have_tools() -> str | None:
    """None when espeak-ng and sox are there, else what is missing."""
    missing = [t for t in ("espeak-ng", "sox") if shutil.which(t) is None]
    return ", ".join(missing) + " not found" if missing else None


def load_g168_models(header: pathlib.Path = G168_HEADER) -> dict[str, list[float]]:
    """{"D2": [...], ..., "D9": [...]}: the Annex D impulse responses (unit gain as given)."""
    text = header.read_text()
    models = {}
    for m in re.finditer(r"line_model_(d\d+)_coeffs\[\]\s*=\s*\{([^}]*)\}", text):
        name = m.group(1)
        coeffs = [int(v) for v in re.findall(r"-?\d+", m.group(2))]
        g = re.search(rf"LINE_MODEL_{name.upper()}_GAIN\s+([0-9.Ee+-]+)f?", text)
        gain = float(g.group(1)) if g else 1.0
        models[name.upper()] = [c * gain for c in coeffs]
    return models


def echo_path(model: Sequence[float], erl_db: float, delay: int) -> list[float]:
    """The model scaled to erl_db (white-noise ERL) after `delay` samples of bulk delay."""
    e = math.fsum(c * c for c in model)
    k = math.sqrt(10 ** (-erl_db / 10) / e)
    return [0.0] * delay + [c * k for c in model]


def level_dbm0(x: Sequence[float], active_only: bool = True) -> float:
    """Mean power in dBm0; with active_only, over the 20 ms frames within 30 dB of the
    loudest (roughly the active speech level)."""
    w = 160
    frames = [math.fsum(v * v for v in x[i:i + w]) / w for i in range(0, len(x) - w + 1, w)]
    if not frames:
        return -math.inf
    if active_only:
        top = max(frames)
        frames = [f for f in frames if f > top * 1e-3]
    p = math.fsum(frames) / len(frames)
    return 10 * math.log10(p / DBM0_POWER) if p > 0 else -math.inf


def scale_to(x: Sequence[float], dbm0: float) -> list[float]:
    k = 10 ** ((dbm0 - level_dbm0(x)) / 20)
    return [v * k for v in x]


def to_pcm(x: Sequence[float]) -> array:
    return array("h", (max(-32768, min(32767, round(v))) for v in x))


def _run(cmd: list[str], data: bytes | None = None) -> bytes:
    r = subprocess.run(cmd, input=data, capture_output=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {r.stderr.decode(errors='replace')}")
    return r.stdout


def speech(voice: str, text: str) -> array:
    """espeak-ng speech of text in voice, 8 kHz 16-bit, cached under CACHE."""
    key = hashlib.sha256(f"{voice}\0{text}".encode()).hexdigest()[:20]
    path = CACHE / f"speech-{voice}-{key}.raw"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            wav = pathlib.Path(tmp) / "s.wav"
            _run(["espeak-ng", "-v", voice, "-w", str(wav), text])
            raw = _run(["sox", "-D", str(wav), "-t", "raw", "-r", "8000", "-c", "1", "-e",
                        "signed-integer", "-b", "16", "-L", "-", "rate", "-v"])  # fmt: skip
        tmpname = path.with_suffix(f".{os.getpid()}.tmp")
        tmpname.write_bytes(raw)
        tmpname.replace(path)
    pcm = array("h")
    pcm.frombytes(path.read_bytes())
    if array("h", [1]).tobytes() != b"\x01\x00":
        pcm.byteswap()
    return pcm


def far_speech(seconds: float, level: float = -16.0, voices: Sequence[str] | None = None,
               gap_ms: int = 150) -> list[float]:  # fmt: skip
    """Far-end speech: the SPEECH sentences one after another (short gaps between them),
    repeated up to `seconds`, at an active level of `level` dBm0."""
    out: list[float] = []
    n = int(seconds * RATE)
    vs = list(voices or SPEECH)
    k = 0
    while len(out) < n:
        v = vs[k % len(vs)]
        out += [float(s) for s in speech(v, SPEECH[v])]
        out += [0.0] * (gap_ms * 8)
        k += 1
    return scale_to(out[:n], level)


def near_speech(seconds: float, level: float = -16.0) -> list[float]:
    out: list[float] = []
    n = int(seconds * RATE)
    while len(out) < n:
        for v, t in NEAR_SPEECH.items():
            out += [float(s) for s in speech(v, t)]
    return scale_to(out[:n], level)


def white_noise(seconds: float, level: float, seed: int = 1) -> list[float]:
    rnd = random.Random(seed)
    sigma = math.sqrt(DBM0_POWER * 10 ** (level / 10))
    return [rnd.gauss(0.0, sigma) for _ in range(int(seconds * RATE))]


def convolve(x: Sequence[int], h: Sequence[float]) -> list[float]:
    """y = h * x (causal FIR, y the length of x) through sox's fir effect, in float."""
    blob = b"causal-v2" + array("h", x).tobytes() + repr(list(h)).encode()
    key = hashlib.sha256(blob).hexdigest()[:24]
    path = CACHE / f"conv-{key}.f32"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        # sox's fir compensates a linear-phase delay of (len(h) - 1) // 2 samples: give it
        # that many leading zeros so the output is the causal convolution
        raw = array("h", [0]) * ((len(h) - 1) // 2) + array("h", x)
        if array("h", [1]).tobytes() != b"\x01\x00":
            raw.byteswap()
        with tempfile.TemporaryDirectory() as tmp:
            coefs = pathlib.Path(tmp) / "h.txt"
            coefs.write_text("\n".join(repr(c) for c in h) + "\n")
            y = _run(["sox", "-D", "-t", "raw", "-r", "8000", "-c", "1", "-e", "signed-integer",
                      "-b", "16", "-L", "-", "-t", "raw", "-e", "floating-point", "-b", "32",
                      "-L", "-", "fir", str(coefs)], raw.tobytes())  # fmt: skip
        tmpname = path.with_suffix(f".{os.getpid()}.tmp")
        tmpname.write_bytes(y)
        tmpname.replace(path)
    out = array("f")
    out.frombytes(path.read_bytes())
    if array("h", [1]).tobytes() != b"\x01\x00":
        out.byteswap()
    return [v * 32768.0 for v in out[: len(x)]]


def hybrid(far: array, h: Sequence[float], near_talk: Sequence[float] | None = None,
           noise_dbm0: float = -72.0, seed: int = 7) -> array:  # fmt: skip
    """The near-end signal: the echo of far through h, plus near_talk (if any), plus white
    line noise at noise_dbm0, as 16-bit PCM."""
    echo = convolve(far, h)
    noise = white_noise(len(far) / RATE, noise_dbm0, seed)
    if near_talk is None:
        return to_pcm([e + v for e, v in zip(echo, noise, strict=False)])
    return to_pcm([e + v + t for e, v, t in zip(echo, noise, near_talk, strict=False)])
