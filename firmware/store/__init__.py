"""Event store: CDRs, events, audit log and the cloud outbox in SQLite (WAL).

- ``callbacks``: callback jobs, dial attempts and campaign contacts (``CallbackJob``...),
  mixed into ``EventStore``;
- ``db.EventStore`` and the record types (``Cdr``, ``Event``, ``AuditEntry``,
  ``OutboxMessage``);
- ``migrations``: the versioned schema (``MIGRATIONS``, ``migrate``).
"""

from firmware.store.callbacks import (
    ATTEMPT_OUTCOMES,
    CLOSED_STATES,
    JOB_SOURCES,
    JOB_STATES,
    OPEN_STATES,
    AttemptOutcome,
    CallbackAttempt,
    CallbackJob,
    CampaignContact,
    DialOrder,
    DuplicateOpenJob,
    JobSource,
    JobState,
    TargetType,
)
from firmware.store.db import (
    DIRECTIONS,
    DISPOSITIONS,
    AuditEntry,
    Cdr,
    Direction,
    Disposition,
    Event,
    EventStore,
    OutboxMessage,
    SimUsage,
    SmsRecord,
)
from firmware.store.migrations import (
    MIGRATIONS,
    Migration,
    MigrationError,
    SchemaTooNewError,
    StoreError,
    migrate,
    schema_version,
)

__all__ = [
    "SimUsage",
    "SmsRecord",
    "ATTEMPT_OUTCOMES",
    "CLOSED_STATES",
    "DIRECTIONS",
    "JOB_SOURCES",
    "JOB_STATES",
    "OPEN_STATES",
    "AttemptOutcome",
    "CallbackAttempt",
    "CallbackJob",
    "CampaignContact",
    "DialOrder",
    "DuplicateOpenJob",
    "JobSource",
    "JobState",
    "TargetType",
    "DISPOSITIONS",
    "MIGRATIONS",
    "AuditEntry",
    "Cdr",
    "Direction",
    "Disposition",
    "Event",
    "EventStore",
    "Migration",
    "MigrationError",
    "OutboxMessage",
    "SchemaTooNewError",
    "StoreError",
    "migrate",
    "schema_version",
]
