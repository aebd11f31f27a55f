"""Event store: CDRs, events, audit log and the cloud outbox in SQLite (WAL).

- ``db.EventStore`` and the record types (``Cdr``, ``Event``, ``AuditEntry``,
  ``OutboxMessage``);
- ``migrations``: the versioned schema (``MIGRATIONS``, ``migrate``).
"""

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
    "DIRECTIONS",
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
