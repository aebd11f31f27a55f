"""The supervisor's period reports: queue log, queue and agent KPIs, CDRs, callback jobs.

Owns what a report of a period contains (its columns and rows) and the checks of its
parameters; the web UI turns an :class:`ExportTable` into CSV. Rows come from the event
store in batches (``firmware.store.periods``), so a report of any size is produced in
constant memory; the KPIs are those of ``firmware.acd.kpi`` (DOMAIN.md), folded from the
stored queue log, never recomputed another way.

Decisions:
- A KPI table's columns are known once the log is folded: its batches are empty until
  then (a client streams them and gets the event loop back between batches), and
  ``ExportTable.columns`` is filled before the first row.
- A period is ``[since, until)`` in Unix seconds; ``since < until`` is required.
- KPIs of a period fold the log from its beginning up to ``until`` (the agents' states
  and the calls in progress at ``since`` are rebuilt from earlier records), in batches.
- A ``queue`` must be configured now or appear in the log (a queue removed since still has
  its history); anything else is a ``BadRequest`` naming the parameter.
- Per-agent KPIs are the agent's over all queues (an agent's occupancy is not divisible by
  queue); with a ``queue`` filter, the rows are the agents that were members of it.
- Callback jobs are filtered by queue on their target (``target_type`` = ``queue``).

Must not: reach the call engine, or format anything for a particular client.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import astuple, dataclass, field, fields
from typing import Any, Final

from firmware.acd.kpi import (
    DEFAULT_SHORT_ABANDON_S,
    KpiCollector,
    scope_columns,
    scope_table,
)
from firmware.acd.log import CSV_FIELDS
from firmware.service import BadRequest
from firmware.store import CallbackJob, Cdr, EventStore

TABLES: Final = ("queue_log", "queue_kpis", "agent_kpis", "cdr", "callbacks")
MAX_SHORT_ABANDON_S: Final = 3600.0

_CDR_COLUMNS: Final = tuple(f.name for f in fields(Cdr))
_JOB_COLUMNS: Final = tuple(f.name for f in fields(CallbackJob))


@dataclass
class ExportTable:
    """A report as a table: column names, the ones holding Unix times, and the rows in
    batches (each a list of rows; a row is a list of values in column order)."""

    name: str
    columns: list[str]
    batches: Iterable[list[list[Any]]]
    time_columns: frozenset[str] = field(default_factory=frozenset)


class PeriodReports:
    """Reports of a period from the event store; ``queue_ids`` gives the configured queues."""

    def __init__(self, store: EventStore, queue_ids: Callable[[], Iterable[str]],
                 clock: Callable[[], float]) -> None:
        self._store = store
        self._queue_ids = queue_ids
        self._clock = clock

    # --- checks --------------------------------------------------------------------------

    def check_queue(self, queue: str | None) -> None:
        if queue is None:
            return
        if queue in set(self._queue_ids()) or self._store.queue_events(queue=queue, limit=1):
            return
        raise BadRequest(f'queue: no queue "{queue}" is configured or in the queue log')

    @staticmethod
    def check_period(since: float | None, until: float | None) -> None:
        for name, value in (("since", since), ("until", until)):
            if value is not None and (not math.isfinite(value) or value < 0):
                raise BadRequest(f"{name}: must be a time in Unix seconds")
        if since is not None and until is not None and since >= until:
            raise BadRequest("since: must be before until")

    # --- reports -------------------------------------------------------------------------

    def kpis(self, since: float | None, until: float | None, queue: str | None = None,
             short_abandon_s: float = DEFAULT_SHORT_ABANDON_S) -> dict[str, Any]:
        """The KPI report of ``firmware.acd.kpi`` for the period (one queue's if given)."""
        collector = self._collector(since, until, queue, short_abandon_s)
        for _ in self._fold(collector, until):
            pass
        return self._report(collector, queue)

    def table(self, name: str, since: float, until: float, queue: str | None = None,
              short_abandon_s: float = DEFAULT_SHORT_ABANDON_S) -> ExportTable:
        """The report ``name`` (one of :data:`TABLES`); every parameter is checked here,
        before the first row is read, so a bad one never yields half a file."""
        if name not in TABLES:
            raise BadRequest(f"table: one of {', '.join(TABLES)}")
        self.check_period(since, until)
        self.check_queue(queue)
        if name in ("queue_kpis", "agent_kpis"):
            collector = self._collector(since, until, queue, short_abandon_s)
            columns: list[str] = []          # known once the log is folded
            return ExportTable(name, columns, self._kpi_rows(name, collector, queue, columns),
                               frozenset({"period_start", "period_end"}))
        if name == "queue_log":
            batches = ([list(ev) for ev in batch]
                       for batch in self._store.iter_queue_events(since, until, queue=queue))
            return ExportTable(name, list(CSV_FIELDS), batches, frozenset({"ts"}))
        if name == "cdr":
            return ExportTable(name, list(_CDR_COLUMNS),
                               ([list(astuple(c)) for c in batch]
                                for batch in self._store.iter_cdrs(since, until)),
                               _times(_CDR_COLUMNS))
        return ExportTable(name, list(_JOB_COLUMNS), self._jobs(since, until, queue),
                           _times(_JOB_COLUMNS))

    # --- KPIs: the log folded a batch at a time -------------------------------------------

    def _collector(self, since: float | None, until: float | None, queue: str | None,
                   short_abandon_s: float) -> KpiCollector:
        self.check_period(since, until)
        self.check_queue(queue)
        if not 0 <= short_abandon_s <= MAX_SHORT_ABANDON_S:
            raise BadRequest(f"short_abandon_s: from 0 to {MAX_SHORT_ABANDON_S:g} seconds")
        return KpiCollector(since, until, short_abandon_s=short_abandon_s)

    def _fold(self, collector: KpiCollector, until: float | None) -> Iterator[None]:
        for batch in self._store.iter_queue_events(None, until):
            collector.add_all(batch)
            yield None

    def _report(self, collector: KpiCollector, queue: str | None) -> dict[str, Any]:
        report = collector.report(self._clock())
        if queue is not None:
            members = collector.members(queue)
            report["queues"] = {q: v for q, v in report["queues"].items() if q == queue}
            report["agents"] = {a: v for a, v in report["agents"].items() if a in members}
            report["total"] = report["queues"].get(queue, report["total"])
        return report

    def _kpi_rows(self, name: str, collector: KpiCollector, queue: str | None,
                  columns: list[str]) -> Iterator[list[list[Any]]]:
        # Empty batches while folding: the exporter gets the loop back between them.
        for _ in self._fold(collector, collector.end if math.isfinite(collector.end)
                            else None):
            yield []
        report = self._report(collector, queue)
        scope = "queue" if name == "queue_kpis" else "agent"
        names, rows = scope_table(report[f"{scope}s"])
        names = names or scope_columns(scope == "agent", collector.thresholds)
        columns[:] = ["period_start", "period_end", scope, *names]
        period = [report["period"]["start"], report["period"]["end"]]
        yield [[*period, *row] for row in rows]

    def _jobs(self, since: float, until: float, queue: str | None
              ) -> Iterator[list[list[Any]]]:
        for batch in self._store.iter_callback_jobs(since, until):
            rows = [list(astuple(j)) for j in batch
                    if queue is None or (j.target_type == "queue" and j.target == queue)]
            if rows:
                yield rows


def _times(columns: Iterable[str]) -> frozenset[str]:
    return frozenset(c for c in columns if c.endswith("_ts") or c in ("window_start",
                                                                       "window_end"))
