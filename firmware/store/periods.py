"""Period reads in batches: every queue event, CDR or callback job of a period, any size.

Owns the batched (keyset-paginated) reads behind the supervisor's exports and the
historical KPIs. Each batch is one short query ordered by an indexed key and resumed
after the last row seen, so a year of records is read in constant memory and the single
connection is never held by a long-running statement (writers on the loop thread and WAL
checkpoints go on between batches). Nothing here formats or computes anything.

Mixed into ``EventStore`` (firmware/store/db.py); kept in its own file so that other
changes to the store do not touch these lines.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from firmware.acd.log import QueueEvent
from firmware.store.callbacks import _SELECT_JOB, CallbackJob, _job

if TYPE_CHECKING:
    from firmware.store.db import Cdr

DEFAULT_BATCH: Final = 500


class PeriodReads:
    """Batched reads of a period; mixed into ``EventStore``."""

    if TYPE_CHECKING:
        _conn: sqlite3.Connection

    def iter_queue_events(self, since: float | None = None, until: float | None = None, *,
                          queue: str | None = None,
                          batch: int = DEFAULT_BATCH) -> Iterator[list[QueueEvent]]:
        """Queue events with ``ts`` in ``[since, until)`` in log order, a batch at a time."""
        last = 0
        while True:
            rows = self._conn.execute(
                "SELECT id, ts, kind, queue, caller, agent, value, detail FROM queue_events "
                "WHERE id > ?1 AND (?2 IS NULL OR ts >= ?2) AND (?3 IS NULL OR ts < ?3) "
                "AND (?4 IS NULL OR queue = ?4) ORDER BY id LIMIT ?5",
                (last, since, until, queue, batch),
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [QueueEvent(*tuple(row)[1:]) for row in rows]

    def iter_cdrs(self, since: float | None = None, until: float | None = None, *,
                  batch: int = DEFAULT_BATCH) -> Iterator[list[Cdr]]:
        """CDRs that started in ``[since, until)``, oldest first, a batch at a time."""
        from firmware.store.db import _CDR_COLUMNS, _cdr_from_row

        yield from self._keyset(
            f"SELECT {_CDR_COLUMNS} FROM cdr", "start_ts", "id", since, until, batch,
            _cdr_from_row)

    def iter_callback_jobs(self, since: float | None = None, until: float | None = None, *,
                           batch: int = DEFAULT_BATCH) -> Iterator[list[CallbackJob]]:
        """Callback jobs created in ``[since, until)``, oldest first, a batch at a time."""
        yield from self._keyset(_SELECT_JOB, "created_ts", "id", since, until, batch, _job)

    def _keyset(self, select: str, time_col: str, id_col: str, since: float | None,
                until: float | None, batch: int, decode: Any) -> Iterator[list[Any]]:
        # (time, id) is the resume key: rows sharing a time are never skipped or repeated.
        after: tuple[Any, Any] | None = None
        while True:
            params: list[Any] = [since, until]
            where = f"(?1 IS NULL OR {time_col} >= ?1) AND (?2 IS NULL OR {time_col} < ?2)"
            if after is not None:
                where += f" AND ({time_col} > ?3 OR ({time_col} = ?3 AND {id_col} > ?4))"
                params += list(after)
            rows = self._conn.execute(
                f"{select} WHERE {where} ORDER BY {time_col}, {id_col} LIMIT {int(batch)}",
                params,
            ).fetchall()
            if not rows:
                return
            after = (rows[-1][time_col], rows[-1][id_col])
            yield [decode(row) for row in rows]
