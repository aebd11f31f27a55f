"""Least-cost trunk choice for calls the box places itself (callbacks, campaigns).

``TrunkAdvisor`` is the interface; firmware/trunks (the GSM engineer's package) will
implement it with live knowledge (registration, signal, balances read by USSD, trunk
occupancy). ``ConfigTrunkAdvisor`` is the simple implementation over the configuration used
until then, and the reference for the ranking rule:

1. SIMs whose operator prefixes (``callback.trunks[].prefixes``) match the number and that
   have minutes left (unknown counts as some), most minutes first: an on-net call is the
   cheapest, and a SIM package's minutes are already paid for;
2. fixed lines, FXO and E1, in configuration order;
3. SIMs of other operators with minutes left (off-net calls: dearest, last resort).

SIMs with no minutes left and disabled trunks are never candidates, nor a trunk the live
accounting says cannot take a call to the number now (``usable``: a SIM the trunk policy
disabled for a spent quota). The call engine takes the first candidate with a free
channel; the reasons are for logs and the UI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from firmware.callback.commands import TrunkCandidate, TrunkKind
from firmware.callback.policy import normalize_prefix


class TrunkAdvisor(Protocol):
    def candidates(self, number: str) -> list[TrunkCandidate]:
        """Trunks to reach the canonical ``number`` by, best first (may be empty)."""
        ...


def _kind_of_port(port: str) -> TrunkKind:
    if port.startswith("gsm"):
        return "gsm"
    if port.startswith("fxo"):
        return "fxo"
    return "e1"


class ConfigTrunkAdvisor:
    """Ranks the configured trunks by the rule of the module doc.

    ``minutes_left(trunk)`` gives a SIM's remaining package minutes, or None when unknown
    (the live box reads them from firmware/trunks' accounting: the lesser of the daily and
    monthly allowances left; None for a SIM without minute limits). ``usable(trunk,
    number)`` is False for a trunk that may not take a call to ``number`` now (the live box
    asks its trunk policy; default: every configured trunk may).
    """

    def __init__(
        self,
        doc: Mapping[str, Any],
        minutes_left: Callable[[str], float | None] = lambda _trunk: None,
        usable: Callable[[str, str], bool] = lambda _trunk, _number: True,
    ) -> None:
        country = str(doc.get("system", {}).get("country", "RU"))
        section: Mapping[str, Any] = doc.get("callback") or {}
        self._prefixes: dict[str, tuple[str, ...]] = {
            entry["trunk"]: tuple(normalize_prefix(p, country) for p in entry.get("prefixes", []))
            for entry in section.get("trunks", [])
        }
        self._trunks: list[tuple[str, TrunkKind]] = [
            (t["id"], _kind_of_port(t["port"]))
            for t in doc.get("trunks", [])
            if t.get("enabled", True)
        ]
        self._minutes_left = minutes_left
        self._usable = usable

    def candidates(self, number: str) -> list[TrunkCandidate]:
        on_net: list[tuple[float, int, TrunkCandidate]] = []
        fixed: list[TrunkCandidate] = []
        off_net: list[tuple[float, int, TrunkCandidate]] = []
        for index, (trunk, kind) in enumerate(self._trunks):
            if not self._usable(trunk, number):
                continue
            if kind != "gsm":
                fixed.append(TrunkCandidate(trunk, kind, f"fixed line ({kind.upper()})"))
                continue
            left = self._minutes_left(trunk)
            if left is not None and left <= 0:
                continue
            minutes = "minutes left unknown" if left is None else f"{left:g} min left"
            prefix = next((p for p in self._prefixes.get(trunk, ()) if number.startswith(p)), None)
            # unknown minutes rank after known positive ones, in configuration order
            key = (-(left if left is not None else 0.0), index)
            if prefix is not None:
                reason = f"SIM of the number's operator (prefix {prefix}), {minutes}"
                on_net.append((*key, TrunkCandidate(trunk, "gsm", reason)))
            else:
                reason = f"SIM of another operator (off-net), {minutes}"
                off_net.append((*key, TrunkCandidate(trunk, "gsm", reason)))
        on_net.sort(key=lambda item: item[:2])
        off_net.sort(key=lambda item: item[:2])
        return [c for *_, c in on_net] + fixed + [c for *_, c in off_net]
