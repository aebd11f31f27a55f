"""Call-progress tones: the per-country tone plans (data) and the cadence detector.

Plans follow ITU-T E.180 and its Supplement 2 (national tone plans), ETSI ES 201 970 (the
harmonised 425 Hz European plan) and ITU-T T.30 for the fax tones. Each tone is a cadence
of segments ``(f1, f2, ms)``: f2 = 0 for a single frequency, f1 = f2 = 0 for a pause,
ms = 0 for a continuous tone. Every country also has:

- ``sit``: special information tone, 950 / 1400 / 1800 Hz, 330 ms each, then 1 s pause
  (ITU-T Q.35 / E.180 Suppl. 2);
- ``cng``: fax calling tone, 1100 Hz 0.5 s on, 3 s off (T.30);
- ``ced``: fax / modem answer tone, 2100 Hz continuous (T.30: 2.6-4 s; detected after 1 s).

Decisions where sources differ or are silent (written here, as the architecture asks):
- UA: busy 425 Hz 0.35/0.35 s; congestion 425 Hz 0.175/0.175 s, as in RU (the former
  Soviet plan). The earlier table gave congestion the busy cadence, which made the two
  indistinguishable by cadence.
- PL and DE use the ETSI plan.
- Unknown countries fall back to the ETSI plan in ``tone()`` (the firmware's behaviour so
  far); ``plan()`` and the detector refuse them with ValueError.

The detector (native/csrc/cpt.h) confirms a cadenced tone after ``CONFIRM`` runs (default
4: two on/off cycles of busy or congestion), a continuous one after it outlasts every "on"
of the same frequencies in the set (at least 1 s).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from native._native import ffi, lib
from native.dsp import Pcm, ToneSegment, pcm_to_bytes

__all__ = [
    "CONFIRM",
    "COUNTRIES",
    "DETECT_TONES",
    "PLANS",
    "CptDetector",
    "CptEvent",
    "plan",
    "tone",
]

Segment: TypeAlias = tuple[float, float, int]
Plan: TypeAlias = dict[str, list[Segment]]

SIT: list[Segment] = [(950, 0, 330), (1400, 0, 330), (1800, 0, 330), (0, 0, 1000)]
CNG: list[Segment] = [(1100, 0, 500), (0, 0, 3000)]
CED: list[Segment] = [(2100, 0, 0)]
_COMMON: Plan = {"sit": SIT, "cng": CNG, "ced": CED}

_ETSI: Plan = {
    "dial": [(425, 0, 0)],
    "ringback": [(425, 0, 1000), (0, 0, 4000)],
    "busy": [(425, 0, 500), (0, 0, 500)],
    "congestion": [(425, 0, 250), (0, 0, 250)],
    "stutter": [(425, 0, 100), (0, 0, 100)],
    "waiting": [(425, 0, 200), (0, 0, 9800)],
    **_COMMON,
}

PLANS: dict[str, Plan] = {
    "EU": _ETSI,
    "DE": _ETSI,
    "PL": _ETSI,
    "RU": {**_ETSI, "ringback": [(425, 0, 800), (0, 0, 3200)],
           "busy": [(425, 0, 400), (0, 0, 400)],
           "congestion": [(425, 0, 175), (0, 0, 175)]},
    "UA": {**_ETSI, "busy": [(425, 0, 350), (0, 0, 350)],
           "congestion": [(425, 0, 175), (0, 0, 175)]},
    "UK": {"dial": [(350, 440, 0)],
           "ringback": [(400, 450, 400), (0, 0, 200), (400, 450, 400), (0, 0, 2000)],
           "busy": [(400, 0, 375), (0, 0, 375)],
           "congestion": [(400, 0, 400), (0, 0, 350), (400, 0, 225), (0, 0, 525)],
           "stutter": [(350, 440, 100), (0, 0, 100)],
           "waiting": [(400, 0, 100), (0, 0, 2900)],
           **_COMMON},
    "US": {"dial": [(350, 440, 0)],
           "ringback": [(440, 480, 2000), (0, 0, 4000)],
           "busy": [(480, 620, 500), (0, 0, 500)],
           "congestion": [(480, 620, 250), (0, 0, 250)],
           "stutter": [(350, 440, 100), (0, 0, 100)],
           "waiting": [(440, 0, 300), (0, 0, 9700)],
           **_COMMON},
}  # fmt: skip
COUNTRIES: tuple[str, ...] = tuple(PLANS)

# The tones the detector looks for by default, and how many runs confirm a cadence where
# the default (min(2 x segments, 4)) is too slow: ringback on-off-on, SIT its three tones,
# CNG one burst and most of its pause.
DETECT_TONES: tuple[str, ...] = ("dial", "ringback", "busy", "congestion", "sit", "cng", "ced")
CONFIRM: dict[str, int] = {"ringback": 3, "sit": 3, "cng": 2}


def plan(country: str) -> Plan:
    """The tone plan of a country (ISO code, case-insensitive; EU = ETSI ES 201 970)."""
    p = PLANS.get(country.upper())
    if p is None:
        raise ValueError(f"unknown country {country!r}; known: {', '.join(COUNTRIES)}")
    return p


def tone(country: str, name: str, level_dbm0: float = -13.0) -> list[ToneSegment]:
    """Segments of a country's tone for the generator (unknown countries: ETSI plan)."""
    p = PLANS.get(country.upper(), _ETSI)
    if name not in p:
        raise ValueError(f"unknown tone {name!r}; known: {', '.join(sorted(p))}")
    return [ToneSegment(f1, f2, level_dbm0 if f1 else -99.0, ms) for f1, f2, ms in p[name]]


@dataclass(frozen=True)
class CptEvent:
    """A tone confirmed ('detected', end_ms = when), stopped ('ended'), or a stretch of
    silence ('silence', tone = 'silence'); times in ms from the start of the stream."""

    tone: str
    kind: Literal["detected", "ended", "silence"]
    start_ms: int
    end_ms: int


_KINDS: dict[int, Literal["detected", "ended", "silence"]] = {
    lib.CPT_EV_DETECTED: "detected",
    lib.CPT_EV_ENDED: "ended",
    lib.CPT_EV_SILENCE: "silence",
}


def _tone_set(tones: Mapping[str, Sequence[Segment]], confirm: Mapping[str, int]) -> object:
    if not 1 <= len(tones) <= lib.CPT_MAX_TONES:
        raise ValueError(f"a tone set has 1..{lib.CPT_MAX_TONES} tones, got {len(tones)}")
    arr = ffi.new("cpt_tone_t[]", len(tones))
    for i, (name, segs) in enumerate(tones.items()):
        if not 1 <= len(segs) <= lib.CPT_MAX_SEGMENTS:
            raise ValueError(f"tone {name!r}: 1..{lib.CPT_MAX_SEGMENTS} segments")
        arr[i].id = i
        arr[i].nsegs = len(segs)
        for j, (f1, f2, ms) in enumerate(segs):
            arr[i].segs[j].f1_hz = f1
            arr[i].segs[j].f2_hz = f2
            arr[i].segs[j].duration_ms = int(ms)
        if len(segs) == 1:
            arr[i].confirm_ms = int(confirm.get(name, 0))
        else:
            arr[i].confirm_runs = int(confirm.get(name, 0))
    return arr


class CptDetector:
    """Call-progress tone detector with cadence over a country's plan or a given tone set.

    ``CptDetector("RU")`` looks for DETECT_TONES of Russia's plan; ``tones=`` gives an
    explicit set ``{name: [(f1, f2, ms), ...]}`` instead. ``silence_ms`` > 0 adds a
    'silence' event after that long below ``silence_dbm0``.
    """

    def __init__(
        self,
        country: str | None = "EU",
        *,
        tones: Mapping[str, Sequence[Segment]] | None = None,
        names: Iterable[str] = DETECT_TONES,
        confirm: Mapping[str, int] | None = None,
        threshold_dbm0: float = -36.0,
        silence_dbm0: float = -50.0,
        silence_ms: int = 0,
    ) -> None:
        if tones is None:
            if country is None:
                raise ValueError("give a country or a tone set")
            p = plan(country)
            tones = {n: p[n] for n in names}
        self._names = list(tones)
        arr = _tone_set(tones, CONFIRM if confirm is None else confirm)
        s = lib.cpt_det_new(arr, len(self._names))
        if s == ffi.NULL:
            raise ValueError(f"invalid tone set (see native/csrc/cpt.h): {dict(tones)!r}")
        self._s = ffi.gc(s, lib.cpt_det_free)
        if lib.cpt_det_set(self._s, threshold_dbm0, silence_dbm0, int(silence_ms)) < 0:
            raise ValueError(
                "CPT detector: threshold -60..0 dBm0, silence level -70..0 dBm0, silence "
                f"0 or 100..3600000 ms; got {threshold_dbm0}, {silence_dbm0}, {silence_ms}"
            )

    def process(self, pcm: Pcm) -> list[CptEvent]:
        """Feed PCM (any length) and return the events it completed."""
        raw = pcm_to_bytes(pcm)
        n = len(raw) // 2
        if n == 0:
            return []
        cap = (lib.CPT_MAX_TONES + 2) * (n // lib.CPT_BLOCK + 2)
        ev = ffi.new("cpt_event_t[]", cap)
        k = lib.cpt_det_rx(self._s, ffi.from_buffer("int16_t[]", raw), n, ev, cap)
        if k < 0:
            raise ValueError("cpt_det_rx rejected its arguments")
        return [
            CptEvent(
                tone=self._names[ev[i].tone] if ev[i].tone >= 0 else "silence",
                kind=_KINDS[ev[i].type],
                start_ms=int(ev[i].start_ms),
                end_ms=int(ev[i].end_ms),
            )
            for i in range(k)
        ]

    def reset(self) -> None:
        lib.cpt_det_reset(self._s)

    def close(self) -> None:
        """Free the C state now (also done when the object is collected)."""
        if self._s is not None:
            ffi.release(self._s)
            self._s = None  # type: ignore[assignment]
