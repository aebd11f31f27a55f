"""Tones the call engine plays: the country's call-progress tones (the data lives in
native/cpt.py, beside the detector that uses it) plus the box's own tones.
"""

from __future__ import annotations

from native.cpt import PLANS, SIT
from native.cpt import tone as country_tone
from native.dsp import ToneSegment

# Tones of the box itself (not a network's call progress): a beep before recording, and
# the fallback "music" on hold when no hold prompt was uploaded (a soft two-note chime).
COMMON: dict[str, list[tuple[float, float, int]]] = {
    "beep": [(1000, 0, 300), (0, 0, 200)],
    "hold": [(660, 0, 200), (0, 0, 100), (550, 0, 300), (0, 0, 3400)],
}


def tone(country: str, name: str, level_dbm0: float = -13.0) -> list[ToneSegment]:
    if name in COMMON:
        return [ToneSegment(f1, f2, level_dbm0 if f1 else -99.0, ms)
                for f1, f2, ms in COMMON[name]]
    return country_tone(country, name, level_dbm0)


__all__ = ["COMMON", "PLANS", "SIT", "tone"]
