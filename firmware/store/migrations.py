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

Migration 2 adds ``sms`` (received and sent messages, raw PDUs kept) and the SIM-trunk
accounting tables; migration 3 the callback jobs and attempts and the campaign contacts; migration 4
the ACD's queue event log; migration 5 the parts of long SMS received directly (+CMT) that
wait for their siblings; migration 6 the keys of the SMS received, so a message read again
after a restart (stored, then the box died before deleting it from the module) is stored
once.
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

_V2_SMS_AND_SIM_TRUNKS: Final = """
-- SMS received and sent. A message that could not be decoded keeps its raw PDUs
-- (raw_pdus, a JSON list) with text NULL and error set: it is never dropped.
CREATE TABLE sms (
    id          INTEGER PRIMARY KEY,
    ts          REAL    NOT NULL,
    direction   TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    modem       TEXT    NOT NULL,
    iccid       TEXT,
    imei        TEXT,
    peer        TEXT,
    text        TEXT,
    encoding    TEXT    NOT NULL DEFAULT '',
    sent_ts     TEXT,
    smsc        TEXT,
    parts       INTEGER NOT NULL DEFAULT 1,
    missing     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(missing)),
    refs        TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(refs)),
    status      TEXT    NOT NULL DEFAULT '',
    error       TEXT,
    raw_pdus    TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(raw_pdus))
);
CREATE INDEX sms_ts ON sms (ts);
CREATE INDEX sms_iccid_ts ON sms (iccid, ts);

-- SIM-as-trunk usage: one row per SIM (ICCID) and period (day 'D:2024-05-17' or
-- month 'M:2024-05'), counters the limits are checked against.
CREATE TABLE sim_usage (
    iccid       TEXT    NOT NULL,
    period      TEXT    NOT NULL,
    calls       INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    seconds     REAL    NOT NULL DEFAULT 0,
    sms         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (iccid, period)
);

-- Distinct SMS recipients per SIM and period (the "unique recipients" limit).
CREATE TABLE sim_sms_recipient (
    iccid       TEXT    NOT NULL,
    period      TEXT    NOT NULL,
    recipient   TEXT    NOT NULL,
    PRIMARY KEY (iccid, period, recipient)
);

-- Per-SIM state that must survive a reboot: disabled until (quota spent), balance.
CREATE TABLE sim_state (
    iccid          TEXT PRIMARY KEY,
    disabled_until REAL,
    disabled_why   TEXT,
    balance        TEXT,
    balance_ts     REAL
);
"""

# Callback jobs and their dial attempts (firmware/callback), outbound campaign contacts and
# their attempts (firmware/campaigns). Both follow one rule: a dial is claimed (state
# 'dialing' plus an attempt row whose outcome is NULL) in a committed transaction before the
# dial command leaves the engine, so after a crash an attempt with a NULL outcome means "may
# have dialled" and is never repeated blindly (see firmware/callback/engine.py).
_V3_CALLBACK_JOBS: Final = """
CREATE TABLE callback_jobs (
    id             TEXT    PRIMARY KEY,
    created_ts     REAL    NOT NULL,  -- the callback request (time to callback starts here)
    source         TEXT    NOT NULL CHECK (source IN
                   ('missed', 'abandoned', 'queue', 'reject', 'web', 'cloud', 'campaign')),
    number         TEXT    NOT NULL,  -- canonical (firmware/numbers.py)
    target_type    TEXT    NOT NULL CHECK (target_type IN
                   ('queue', 'agent', 'extension', 'ring_group')),
    target         TEXT    NOT NULL,
    mode           TEXT    NOT NULL CHECK (mode IN ('customer_first', 'agent_first')),
    priority       INTEGER NOT NULL DEFAULT 0,
    place_ts       REAL,              -- arrival time of the place kept in a queue
    window_start   REAL,
    window_end     REAL,
    state          TEXT    NOT NULL CHECK (state IN
                   ('pending', 'dialing', 'retry_wait', 'connected', 'failed', 'done',
                    'cancelled')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_ts        REAL    NOT NULL,  -- not to be dialled before
    last_outcome   TEXT,
    reason         TEXT    NOT NULL DEFAULT '',
    updated_ts     REAL    NOT NULL,
    closed_ts      REAL,
    answered_ts    REAL,              -- the customer first answered
    connected_ts   REAL,              -- the customer was connected to an agent
    agent          TEXT,
    request_id     TEXT    UNIQUE,    -- the web/cloud request id: executed at most once
    call_id        TEXT,              -- the call that caused the job (missed, queue...)
    merged         INTEGER NOT NULL DEFAULT 0,  -- later requests merged into this job
    data           TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(data))
);
CREATE INDEX callback_jobs_state_next ON callback_jobs (state, next_ts);
CREATE INDEX callback_jobs_created ON callback_jobs (created_ts);
CREATE INDEX callback_jobs_number ON callback_jobs (number, created_ts);
-- De-duplication, enforced by the database: one open job per number.
CREATE UNIQUE INDEX callback_jobs_one_open_per_number ON callback_jobs (number)
    WHERE state IN ('pending', 'dialing', 'retry_wait');

CREATE TABLE callback_attempts (
    job_id      TEXT    NOT NULL REFERENCES callback_jobs (id),
    attempt     INTEGER NOT NULL CHECK (attempt >= 1),
    number      TEXT    NOT NULL,
    started_ts  REAL    NOT NULL,
    trunks      TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(trunks)),
    trunk       TEXT,
    agent       TEXT,
    outcome     TEXT    CHECK (outcome IS NULL OR outcome IN
                ('connected', 'busy', 'no_answer', 'failed', 'machine', 'customer_hangup',
                 'agent_unavailable', 'cancelled', 'interrupted')),
    answered_ts REAL,
    ended_ts    REAL,
    detail      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, attempt)
);
CREATE INDEX callback_attempts_number ON callback_attempts (number, started_ts);
CREATE INDEX callback_attempts_open ON callback_attempts (job_id) WHERE outcome IS NULL;

CREATE TABLE campaign_contacts (
    id           INTEGER PRIMARY KEY,
    campaign     TEXT    NOT NULL,
    number       TEXT    NOT NULL,
    name         TEXT    NOT NULL DEFAULT '',
    priority     INTEGER NOT NULL DEFAULT 0,
    scheduled_ts REAL,
    fields       TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(fields)),
    status       TEXT    NOT NULL CHECK (status IN
                 ('pending', 'dialing', 'retry_wait', 'answered', 'confirmed', 'machine',
                  'no_answer', 'busy', 'failed', 'abandoned', 'blacklisted', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_ts      REAL    NOT NULL,
    last_outcome TEXT,
    updated_ts   REAL    NOT NULL,
    import_id    TEXT    NOT NULL,
    line         INTEGER NOT NULL,
    UNIQUE (campaign, number)
);
CREATE INDEX campaign_contacts_due ON campaign_contacts (campaign, status, next_ts);

CREATE TABLE campaign_attempts (
    contact_id  INTEGER NOT NULL REFERENCES campaign_contacts (id),
    attempt     INTEGER NOT NULL CHECK (attempt >= 1),
    campaign    TEXT    NOT NULL,
    number      TEXT    NOT NULL,
    started_ts  REAL    NOT NULL,
    agent       TEXT,
    outcome     TEXT,
    answered_ts REAL,
    ended_ts    REAL,
    PRIMARY KEY (contact_id, attempt)
);
CREATE INDEX campaign_attempts_number ON campaign_attempts (number, started_ts);
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

# Parts of a long SMS that a module delivered directly (+CMT: nothing stays on the module)
# while the other parts have not arrived: kept here so a restart in between loses none
# (drivers/gsm/sms.py reloads them at start). One row per part, by module (board port).
_V5_SMS_PARTS: Final = """
CREATE TABLE sms_parts (
    modem  TEXT NOT NULL,
    pdu    TEXT NOT NULL,
    ts     REAL NOT NULL,
    PRIMARY KEY (modem, pdu)
);
"""

# Received SMS, exactly once: the keys of every message received, one per raw PDU (the
# SIM's ICCID, or the module's IMEI when the SIM is unknown; and a digest of the PDU, which
# carries the sender, the SMSC's timestamp and the concatenation reference), written in the
# same transaction as the sms row. A message all of whose keys are here was stored before:
# a crash came between storing it and deleting it from the module (or all its parts), and
# it is only deleted now.
_V6_SMS_RECEIVED_KEYS: Final = """
CREATE TABLE sms_received (
    identity TEXT    NOT NULL,
    digest   TEXT    NOT NULL,
    sms_id   INTEGER NOT NULL,
    ts       REAL    NOT NULL,
    PRIMARY KEY (identity, digest)
);
"""

MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, "call records, event log, audit log, cloud outbox", _V1_EVENT_RECORDS),
    Migration(2, "SMS, SIM trunk usage and state", _V2_SMS_AND_SIM_TRUNKS),
    Migration(3, "callback jobs and attempts, campaign contacts", _V3_CALLBACK_JOBS),
    Migration(4, "ACD queue event log", _V4_QUEUE_EVENTS),
    Migration(5, "parts of long SMS awaiting their siblings", _V5_SMS_PARTS),
    Migration(6, "keys of the SMS received (stored exactly once)", _V6_SMS_RECEIVED_KEYS),
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
