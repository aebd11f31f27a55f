"""Campaign results from the event store: per contact, a summary, and a CSV download.

The abandon rate is the one the cap holds (DOMAIN.md, "Predictive"): attempts abandoned on
a live answer ÷ live answers (``connected`` + ``abandoned``), as %, over the whole
campaign and per local day of the dial.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from firmware.store import EventStore

LIVE: frozenset[str] = frozenset({"connected", "abandoned"})
CSV_COLUMNS = ("contact", "number", "name", "priority", "status", "attempts", "last_outcome",
               "attempt", "started", "answered", "ended", "outcome", "agent")


def contact_results(store: EventStore, campaign: str) -> list[dict[str, Any]]:
    attempts: dict[int, list[dict[str, Any]]] = {}
    for row in store.campaign_attempts(campaign):
        attempts.setdefault(row["contact_id"], []).append(
            {k: row[k] for k in ("attempt", "started_ts", "answered_ts", "ended_ts", "outcome",
                                 "agent")})
    return [{"id": c.id, "number": c.number, "name": c.name, "priority": c.priority,
             "status": c.status, "attempts": c.attempts, "last_outcome": c.last_outcome,
             "next_ts": c.next_ts, "attempts_log": attempts.get(c.id or 0, [])}
            for c in store.campaign_contacts(campaign)]


def _rate(abandoned: int, live: int) -> float | None:
    return round(100.0 * abandoned / live, 2) if live else None


def summary(store: EventStore, campaign: str, timezone: str, cap_pct: float
            ) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    for contact in store.campaign_contacts(campaign):
        statuses[contact.status] = statuses.get(contact.status, 0) + 1
    tz = ZoneInfo(timezone)
    days: dict[str, dict[str, int]] = {}
    outcomes: dict[str, int] = {}
    for row in store.campaign_attempts(campaign):
        outcome = row["outcome"]
        if outcome is None:
            continue
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        day = dt.datetime.fromtimestamp(row["started_ts"], tz).date().isoformat()
        d = days.setdefault(day, {"dials": 0, "live_answers": 0, "abandoned": 0})
        d["dials"] += 1
        d["live_answers"] += outcome in LIVE
        d["abandoned"] += outcome == "abandoned"
    live = sum(d["live_answers"] for d in days.values())
    abandoned = sum(d["abandoned"] for d in days.values())
    return {
        "campaign": campaign, "contacts": sum(statuses.values()), "statuses": statuses,
        "outcomes": outcomes, "live_answers": live, "abandoned": abandoned,
        "abandon_rate_pct": _rate(abandoned, live), "abandon_cap_pct": cap_pct,
        "days": [{"day": day, **d, "abandon_rate_pct": _rate(d["abandoned"], d["live_answers"])}
                 for day, d in sorted(days.items())],
    }


def _iso(ts: float | None) -> str:
    return "" if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()


def results_csv(rows: Iterable[dict[str, Any]]) -> str:
    """One line per attempt (a contact never dialled: one line without attempt fields)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for c in rows:
        head = [c["id"], c["number"], c["name"], c["priority"], c["status"], c["attempts"],
                c["last_outcome"] or ""]
        for a in c["attempts_log"] or [None]:
            if a is None:
                w.writerow(head + [""] * 6)
            else:
                w.writerow(head + [a["attempt"], _iso(a["started_ts"]), _iso(a["answered_ts"]),
                                   _iso(a["ended_ts"]), a["outcome"] or "", a["agent"] or ""])
    return out.getvalue()
