"""Errors raised by the configuration store.

Every error names what it is about: the file, the revision, the path inside the document,
or the applier that failed, so a technician can act on the message alone.
"""

from __future__ import annotations

from dataclasses import dataclass


class ConfigError(Exception):
    """The configuration cannot be read, parsed or used (corrupt file, bad import text)."""


@dataclass(frozen=True)
class ValidationIssue:
    """One problem in a configuration document.

    ``path`` is written like ``routes[2].destination``; an empty path means the document
    itself. ``message`` names the offending value.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigValidationError(ConfigError):
    """A document failed validation; ``issues`` holds every problem found, not just one."""

    def __init__(self, issues: list[ValidationIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class ConfigApplyError(ConfigError):
    """A committed revision could not be applied live by one or more appliers.

    The revision is durable (it is on disk and is the current one); only the live apply
    failed. ``revision`` is the committed revision, ``failures`` pairs each failing
    applier's name with its exception.
    """

    def __init__(self, revision: int, failures: list[tuple[str, BaseException]]) -> None:
        self.revision = revision
        self.failures = list(failures)
        detail = "; ".join(f"{name}: {type(exc).__name__}: {exc}" for name, exc in failures)
        super().__init__(f"revision {revision} committed but applying it failed: {detail}")
