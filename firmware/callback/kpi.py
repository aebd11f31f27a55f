"""The callback KPIs of DOMAIN.md, computed from the recorded jobs alone.

- **Callback success** = callbacks connected to an agent ÷ callbacks scheduled. A
  callback is *scheduled* when a job is created (requests merged into an open job, or
  suppressed by the de-duplication window, add none); it is *connected* when its state is
  ``connected`` (the customer was bridged to an agent). Cancelled jobs stay in the
  denominator: they were scheduled. As a percentage, None when nothing was scheduled.
- **Time to callback** = mean of ``answered_ts - created_ts`` over the jobs whose customer
  answered: from the request (the missed call's end, the key press in queue, the web
  request) to the customer first answering the box's call. None when nobody answered.

The period is chosen by the jobs' ``created_ts`` (the caller passes the jobs of the period,
``EventStore.callback_jobs(since, until)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from firmware.store import CallbackJob


@dataclass(frozen=True)
class CallbackKpis:
    scheduled: int
    connected: int
    answered: int
    success_pct: float | None
    time_to_callback_s: float | None
    by_state: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)


def callback_kpis(jobs: Iterable[CallbackJob]) -> CallbackKpis:
    scheduled = connected = 0
    waits: list[float] = []
    by_state: dict[str, int] = {}
    by_source: dict[str, int] = {}
    for job in jobs:
        scheduled += 1
        by_state[job.state] = by_state.get(job.state, 0) + 1
        by_source[job.source] = by_source.get(job.source, 0) + 1
        if job.state == "connected":
            connected += 1
        if job.answered_ts is not None:
            waits.append(job.answered_ts - job.created_ts)
    return CallbackKpis(
        scheduled=scheduled,
        connected=connected,
        answered=len(waits),
        success_pct=100.0 * connected / scheduled if scheduled else None,
        time_to_callback_s=sum(waits) / len(waits) if waits else None,
        by_state=by_state,
        by_source=by_source,
    )
