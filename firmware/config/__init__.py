"""Configuration: one validated, versioned JSON document kept crash-safe in TinyDB.

- ``store.ConfigStore``: open, commit, rollback, subscribe appliers, import/export;
- ``schema``: what a valid document is (``validate_document``, ``default_document``);
- ``storage.AtomicJSONStorage``: TinyDB storage that writes by temp file + fsync + rename.
"""

from firmware.config.errors import (
    ConfigApplyError,
    ConfigError,
    ConfigValidationError,
    ValidationIssue,
)
from firmware.config.schema import (
    DOCUMENT_SCHEMA,
    SCHEMA_VERSION,
    default_document,
    find_issues,
    upgrade_document,
    validate_document,
)
from firmware.config.storage import AtomicJSONStorage
from firmware.config.store import DEFAULT_KEEP, Applier, ConfigStore, RevisionInfo

__all__ = [
    "DEFAULT_KEEP",
    "DOCUMENT_SCHEMA",
    "SCHEMA_VERSION",
    "Applier",
    "AtomicJSONStorage",
    "ConfigApplyError",
    "ConfigError",
    "ConfigStore",
    "ConfigValidationError",
    "RevisionInfo",
    "ValidationIssue",
    "default_document",
    "find_issues",
    "upgrade_document",
    "validate_document",
]
