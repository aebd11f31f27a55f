"""Errors of the callback engine that a front end shows to a person."""

from __future__ import annotations

from dataclasses import dataclass

from firmware.service import BadRequest


@dataclass(frozen=True)
class FieldIssue:
    """One bad field of a request: ``number``, ``queue``, ``window``..."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class CallbackRequestError(BadRequest):
    """A callback request that cannot be accepted; ``issues`` names every bad field.

    Raised before anything is written: a rejected request changes nothing.
    """

    def __init__(self, issues: list[FieldIssue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(str(i) for i in self.issues))
