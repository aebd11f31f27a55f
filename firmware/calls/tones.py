"""Call-progress tone plans per country: the data now lives in native/cpt.py (beside the
detector that uses it); this module keeps the firmware's import path and ``tone()``."""

from __future__ import annotations

from native.cpt import PLANS, SIT, tone

__all__ = ["PLANS", "SIT", "tone"]
