"""SIM trunks in the call engine: the engine's ``TrunkPolicy`` over :class:`SimTrunks`.

Owns: which GSM ports of an outbound route are tried first (least-cost choice among the
SIMs: the operator's own prefixes, cost, minutes left — :meth:`SimTrunks.choose`), leaving
out a SIM that is disabled or over quota; the permit of each call on a SIM (concurrent
calls, talk time left under the quotas and the longest call allowed) and its accounting
when it ends (real talk time, failures); the SIM limits of the configuration.
Must not touch: channels or modems (the ICCID of the SIM in a port is asked of
``iccid_of``), call control (the engine obeys the order, the permit and its cap).

Ports that are not GSM trunks (analog lines, E1) pass through untouched, in their place
in the route; GSM positions of the route are filled with the SIMs in least-cost order.
A GSM port whose module has not told its ICCID yet is not accounted (and is normally out
of service anyway).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from firmware.trunks.accounting import CallPermit, SimLimits, SimTrunks, TrunkRefused

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FreePermit:
    """A port outside SIM accounting: no cap."""

    max_seconds: float | None = None


UNACCOUNTED = FreePermit()
CAP_SLACK_S = 0.25
"""A call released this close to its permit's cap was cut by it (timers and clocks differ
by milliseconds): it counts as the whole allowance, so the quota reads as spent."""


def limits_from_document(doc: Mapping[str, Any]) -> dict[str, SimLimits]:
    """Port → limits, for every trunk on a GSM port (``trunks[].sim``; absent: defaults)."""
    out: dict[str, SimLimits] = {}
    for trunk in doc.get("trunks", []):
        port = str(trunk.get("port", ""))
        if not port.startswith("gsm") or trunk.get("enabled") is False:
            continue
        sim = trunk.get("sim") or {}

        def count(key: str, sim: Mapping[str, Any] = sim) -> int | None:
            value = sim.get(key)
            return None if value is None else int(value)

        def amount(key: str, sim: Mapping[str, Any] = sim) -> float | None:
            value = sim.get(key)
            return None if value is None else float(value)

        out[port] = SimLimits(
            concurrent_calls=int(sim.get("concurrent_calls", 1)),
            minutes_per_day=amount("minutes_per_day"),
            minutes_per_month=amount("minutes_per_month"),
            sms_per_day=count("sms_per_day"),
            sms_per_month=count("sms_per_month"),
            recipients_per_day=count("recipients_per_day"),
            recipients_per_month=count("recipients_per_month"),
            max_call_seconds=amount("max_call_s"),
            prefixes=tuple(sim.get("prefixes", ())),
            cost_on_net=float(sim.get("cost_on_net", 0.0)),
            cost_off_net=float(sim.get("cost_off_net", 1.0)),
            balance_code=sim.get("balance_code"),
        )
    return out


class SimTrunkPolicy:
    """Implements ``firmware.calls.engine.TrunkPolicy`` for SIM trunks."""

    def __init__(self, trunks: SimTrunks, iccid_of: Callable[[str], str | None]) -> None:
        self.trunks = trunks
        self._iccid_of = iccid_of
        self._limits: dict[str, SimLimits] = {}

    def configure(self, limits: Mapping[str, SimLimits]) -> None:
        """Apply the configuration's limits (on start and on every committed revision)."""
        self._limits = dict(limits)
        for port in self._limits:
            self.sim_of(port)

    def sim_of(self, port: str) -> str | None:
        """The ICCID of the SIM in ``port`` (registered with its limits), or None when the
        port is not a GSM trunk or its SIM is not known yet."""
        limits = self._limits.get(port)
        if limits is None:
            return None
        iccid = self._iccid_of(port)
        if iccid is not None:
            self.trunks.add_sim(iccid, port, limits)
        return iccid

    def minutes_left(self, port: str) -> float | None:
        """What the SIM in ``port`` may still talk this period (None: no minute limits, or
        not a SIM trunk)."""
        iccid = self.sim_of(port)
        return None if iccid is None else self.trunks.minutes_left(iccid)

    def port_of(self, iccid: str) -> str | None:
        return next((p for p in self._limits if self._iccid_of(p) == iccid), None)

    # -- TrunkPolicy ----------------------------------------------------------------------
    def order(self, ports: Sequence[str], number: str) -> list[str]:
        sims = {port: self.sim_of(port) for port in ports}
        accounted = {port: iccid for port, iccid in sims.items() if iccid is not None}
        if not accounted:
            return list(ports)
        port_by_sim = {iccid: port for port, iccid in accounted.items()}
        candidates = list(port_by_sim)
        ranked: list[str] = []
        while candidates:
            best = self.trunks.choose(number, candidates)
            if best is None:
                break  # the rest are disabled, over quota or without a free call slot
            ranked.append(port_by_sim[best])
            candidates.remove(best)
        skipped = [port_by_sim[i] for i in candidates]
        if skipped:
            log.info("SIM trunks left out for %s: %s", number, skipped)
        fill = iter(ranked)
        out: list[str] = []
        for port in ports:
            if port in accounted:
                nxt = next(fill, None)
                if nxt is not None:
                    out.append(nxt)
            else:
                out.append(port)
        return out

    def permit(self, port: str, number: str) -> CallPermit | FreePermit | None:
        iccid = self.sim_of(port)
        if iccid is None:
            return UNACCOUNTED
        try:
            return self.trunks.start_call(iccid)
        except TrunkRefused as exc:
            log.info("call to %s refused on %s: %s", number, port, exc)
            return None

    def finished(self, port: str, permit: Any, seconds: float, failed: bool) -> None:
        if isinstance(permit, CallPermit):
            cap = permit.max_seconds
            if cap is not None and seconds >= cap - CAP_SLACK_S:
                seconds = max(seconds, cap)  # cut at its cap: the allowance is spent
            self.trunks.end_call(permit.iccid, seconds, failed=failed)
