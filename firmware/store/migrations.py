"""Versioned schema migrations of the event store (SQLite).

Owns the SQL schema of the event database and how it moves from one version to the next.
``PRAGMA user_version`` holds the version applied; ``migrate()`` applies every newer
migration in order, each in its own ``BEGIN IMMEDIATE`` transaction together with the
``user_version`` bump, so a crash or an error leaves the database at the previous version,
never half-way. A database newer than this code refuses to open (``SchemaTooNewError``):
running old firmware over a newer schema could corrupt it silently.

Adding a migration: append ``Migration(n + 1, "what", sql_or_callable)`` to
``MIGRATIONS``; never edit a released one. A callable receives the connection inside the
open transaction and must not commit. Statements that cannot run inside a transaction
(``VACUUM``, ``PRAGMA journal_mode``) do not belong in migrations.

Planned: ``sms`` and ``callback_jobs`` tables arrive as migrations 2 and 3 (written on other
branches; until they are merged, 2 and 3 here are empty placeholders so that the ACD's
``queue_events`` keeps its number 4 — whoever merges replaces the placeholders with the real
migrations, keeping the order, or renumbers ``queue_events`` if needed: it is written with
``IF NOT EXISTS`` so renumbering it is safe).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final


class StoreError(Exception):
    """The event store cannot be opened or used."""


class SchemaTooNewError(StoreError):
    """The database was written by newer firmware than this one."""


class MigrationError(StoreError):
    """A migration failed; the database stays at the previous version."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: str | Callable[[sqlite3.Connection], None]


_V1_EVENT_RECORDS: Final = """
CREATE TABLE cdr (
    id          INTEGER PRIMARY KEY,
    call_id     TEXT    NOT NULL UNIQUE,
    start_ts    REAL    NOT NULL,
    answer_ts   REAL,
    end_ts      REAL    NOT NULL,
    caller      TEXT    NOT NULL,
    called      TEXT    NOT NULL,
    trunk       TEXT,
    extension   TEXT,
    direction   TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
    disposition TEXT    NOT NULL
                CHECK (disposition IN ('answered', 'no_answer', 'busy', 'failed', 'rejected')),
    cause       INTEGER NOT NULL,
    route       TEXT,
    wait_s      REAL    NOT NULL DEFAULT 0,
    talk_s      REAL    NOT NULL DEFAULT 0,
    legs        TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(legs)),
    digits      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX cdr_start_ts ON cdr (start_ts);

-- Queue, agent and system events.
CREATE TABLE event_log (
    id      INTEGER PRIMARY KEY,
    ts      REAL NOT NULL,
    kind    TEXT NOT NULL,
    subject TEXT NOT NULL,
    data    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data))
);
CREATE INDEX event_log_ts ON event_log (ts);
CREATE INDEX event_log_kind_ts ON event_log (kind, ts);

CREATE TABLE audit (
    id     INTEGER PRIMARY KEY,
    ts     REAL NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
);
CREATE INDEX audit_ts ON audit (ts);

-- Events for the cloud, written in the same transaction as the record they describe,
-- deleted when the cloud acknowledges them (at-least-once, de-duplicated by id).
CREATE TABLE outbox (
    id         TEXT PRIMARY KEY,
    created_ts REAL NOT NULL,
    topic      TEXT NOT NULL,
    payload    TEXT NOT NULL CHECK (json_valid(payload))
);
CREATE INDEX outbox_created_ts ON outbox (created_ts);
"""

# The ACD's queue event log (firmware/acd/log.py): one row per transition, in log order
# (``id``), from which every KPI of a period is recomputed. Its own table rather than
# ``event_log``: it is the highest-volume record of the box (about eight rows per queued
# call), KPIs read it by queue and by agent, and typed columns keep those reads on indexes
# instead of parsing JSON.
_V4_QUEUE_EVENTS: Final = """
CREATE TABLE IF NOT EXISTS queue_events (
    id     INTEGER PRIMARY KEY,
    ts     REAL NOT NULL,
    kind   TEXT NOT NULL,
    queue  TEXT NOT NULL DEFAULT '',
    caller TEXT NOT NULL DEFAULT '',
    agent  TEXT NOT NULL DEFAULT '',
    value  REAL NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS queue_events_ts ON queue_events (ts);
CREATE INDEX IF NOT EXISTS queue_events_queue_ts ON queue_events (queue, ts);
CREATE INDEX IF NOT EXISTS queue_events_agent_ts ON queue_events (agent, ts);
"""

MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, "call records, event log, audit log, cloud outbox", _V1_EVENT_RECORDS),
    # Placeholders: the GSM SMS (2) and callback jobs (3) migrations of other branches.
    Migration(2, "reserved: SMS (placeholder until merged)", ""),
    Migration(3, "reserved: callback jobs (placeholder until merged)", ""),
    Migration(4, "ACD queue event log", _V4_QUEUE_EVENTS),
)


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def split_statements(script: str) -> Iterator[str]:
    """Split an SQL script into complete statements (triggers' BEGIN..END kept whole)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            buffer = ""
            if statement and statement != ";":
                yield statement
    if buffer.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in buffer.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement at end of script: {buffer.strip()[:60]!r}")


def _check_sequence(migrations: Sequence[Migration]) -> None:
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise ValueError(
                f"migrations must be numbered 1, 2, 3...: found {migration.version} "
                f"at position {expected}"
            )


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database up to the last of ``migrations``; returns the version reached.

    ``conn`` must be in autocommit mode (``isolation_level=None``) with no open
    transaction: each migration manages its own.
    """
    _check_sequence(migrations)
    latest = len(migrations)
    current = schema_version(conn)
    if current > latest:
        raise SchemaTooNewError(
            f"event database schema version {current} is newer than this firmware knows "
            f"({latest}); refusing to open it"
        )
    for migration in migrations[current:]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the write lock.
            if schema_version(conn) >= migration.version:
                conn.execute("COMMIT")
                continue
            if isinstance(migration.apply, str):
                for statement in split_statements(migration.apply):
                    conn.execute(statement)
            else:
                migration.apply(conn)
            conn.execute(f"PRAGMA user_version = {int(migration.version)}")
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, Exception):
                raise MigrationError(
                    f"migration {migration.version} ({migration.description}) failed: {exc}"
                ) from exc
            raise
    return schema_version(conn)
