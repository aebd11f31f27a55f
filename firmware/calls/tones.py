"""Call-progress tone plans per country (ITU-T E.180 Supplement 2, ETSI ES 201 970).

Each tone is a list of cadence segments for the native tone generator: (f1, f2, ms) with
ms = 0 for a continuous tone and f1 = 0 for a pause.
"""

from __future__ import annotations

from native.dsp import ToneSegment

_Plan = dict[str, list[tuple[float, float, int]]]

_ETSI: _Plan = {
    "dial": [(425, 0, 0)],
    "ringback": [(425, 0, 1000), (0, 0, 4000)],
    "busy": [(425, 0, 500), (0, 0, 500)],
    "congestion": [(425, 0, 250), (0, 0, 250)],
    "stutter": [(425, 0, 100), (0, 0, 100)],
    "waiting": [(425, 0, 200), (0, 0, 9800)],
}

PLANS: dict[str, _Plan] = {
    "EU": _ETSI,
    "DE": _ETSI,
    "PL": _ETSI,
    "RU": {**_ETSI, "ringback": [(425, 0, 800), (0, 0, 3200)],
           "busy": [(425, 0, 400), (0, 0, 400)], "congestion": [(425, 0, 175), (0, 0, 175)]},
    "UA": {**_ETSI, "busy": [(425, 0, 350), (0, 0, 350)],
           "congestion": [(425, 0, 350), (0, 0, 350)]},
    "UK": {"dial": [(350, 440, 0)],
           "ringback": [(400, 450, 400), (0, 0, 200), (400, 450, 400), (0, 0, 2000)],
           "busy": [(400, 0, 375), (0, 0, 375)],
           "congestion": [(400, 0, 400), (0, 0, 350), (400, 0, 225), (0, 0, 525)],
           "stutter": [(350, 440, 100), (0, 0, 100)],
           "waiting": [(400, 0, 100), (0, 0, 2900)]},
    "US": {"dial": [(350, 440, 0)],
           "ringback": [(440, 480, 2000), (0, 0, 4000)],
           "busy": [(480, 620, 500), (0, 0, 500)],
           "congestion": [(480, 620, 250), (0, 0, 250)],
           "stutter": [(350, 440, 100), (0, 0, 100)],
           "waiting": [(440, 0, 300), (0, 0, 9700)]},
}

SIT = [(950, 0, 330), (1400, 0, 330), (1800, 0, 330), (0, 0, 1000)]

# Tones of the box itself (not a network's call progress): a beep before recording, and
# the fallback "music" on hold when no hold prompt was uploaded (a soft two-note chime).
COMMON: _Plan = {
    "beep": [(1000, 0, 300), (0, 0, 200)],
    "hold": [(660, 0, 200), (0, 0, 100), (550, 0, 300), (0, 0, 3400)],
}


def tone(country: str, name: str, level_dbm0: float = -13.0) -> list[ToneSegment]:
    plan = PLANS.get(country.upper(), _ETSI)
    spec = SIT if name == "sit" else plan.get(name) or COMMON[name]
    return [ToneSegment(f1, f2, level_dbm0 if f1 else -99.0, ms) for f1, f2, ms in spec]
