"""Callback jobs, their dial attempts and outbound campaign contacts in the event store.

Owns the rows of migration 3 (``callback_jobs``, ``callback_attempts``,
``campaign_contacts``, ``campaign_attempts``) and the record types that carry them. It
holds no policy: which job to merge, when to retry and what an outcome means belong to
firmware/callback and firmware/campaigns, which compose these primitives inside
``EventStore.transaction()``.

The one rule the rows encode (and the primitives make hard to break): a dial is *claimed*
before it happens. ``callback_claim`` / ``campaign_claim`` move the job or contact to
``dialing`` and insert an attempt row with a NULL outcome, in one committed transaction,
only if the row is still in the state and attempt count the engine saw. An attempt whose
outcome is still NULL after a restart is one that may have dialled: the engines mark it
``interrupted`` and never dial it again (see ``callback_interrupted_attempts``).

Mixed into ``EventStore`` (firmware/store/db.py); kept in its own file so the SMS branch
and this one do not edit the same lines.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

JobState = Literal[
    "pending", "dialing", "retry_wait", "connected", "failed", "done", "cancelled"
]
JobSource = Literal["missed", "abandoned", "queue", "reject", "web", "cloud", "campaign"]
TargetType = Literal["queue", "agent", "extension", "ring_group"]
DialOrder = Literal["customer_first", "agent_first"]
AttemptOutcome = Literal[
    "connected", "busy", "no_answer", "failed", "machine", "customer_hangup",
    "agent_unavailable", "cancelled", "interrupted",
]
ContactStatus = Literal[
    "pending", "dialing", "retry_wait", "answered", "confirmed", "machine", "no_answer",
    "busy", "failed", "abandoned", "blacklisted", "cancelled",
]

JOB_STATES: Final = frozenset(get_args(JobState))
OPEN_STATES: Final = frozenset({"pending", "dialing", "retry_wait"})
CLOSED_STATES: Final = JOB_STATES - OPEN_STATES
JOB_SOURCES: Final = frozenset(get_args(JobSource))
ATTEMPT_OUTCOMES: Final = frozenset(get_args(AttemptOutcome))
CONTACT_STATUSES: Final = frozenset(get_args(ContactStatus))
CONTACT_OPEN: Final = frozenset({"pending", "dialing", "retry_wait"})


@dataclass(frozen=True)
class CallbackJob:
    """One callback to make. Times are UNIX epoch seconds. See migrations.py for columns."""

    id: str
    created_ts: float
    source: JobSource
    number: str
    target_type: TargetType
    target: str
    mode: DialOrder
    state: JobState
    next_ts: float
    updated_ts: float
    priority: int = 0
    place_ts: float | None = None
    window_start: float | None = None
    window_end: float | None = None
    attempts: int = 0
    last_outcome: str | None = None
    reason: str = ""
    closed_ts: float | None = None
    answered_ts: float | None = None
    connected_ts: float | None = None
    agent: str | None = None
    request_id: str | None = None
    call_id: str | None = None
    merged: int = 0
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.state not in JOB_STATES:
            raise ValueError(f"callback job {self.id}: unknown state {self.state!r}")
        if self.source not in JOB_SOURCES:
            raise ValueError(f"callback job {self.id}: unknown source {self.source!r}")

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CallbackAttempt:
    job_id: str
    attempt: int
    number: str
    started_ts: float
    trunks: list[str] = field(default_factory=list)
    trunk: str | None = None
    agent: str | None = None
    outcome: AttemptOutcome | None = None
    answered_ts: float | None = None
    ended_ts: float | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CampaignContact:
    id: int | None
    campaign: str
    number: str
    status: ContactStatus
    next_ts: float
    updated_ts: float
    import_id: str
    line: int
    name: str = ""
    priority: int = 0
    scheduled_ts: float | None = None
    fields: dict[str, str] = field(default_factory=dict)
    attempts: int = 0
    last_outcome: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_JOB_COLUMNS: Final = tuple(f.name for f in fields(CallbackJob))
_ATTEMPT_COLUMNS: Final = tuple(f.name for f in fields(CallbackAttempt))
_CONTACT_COLUMNS: Final = tuple(f.name for f in fields(CampaignContact))
_JSON_COLUMNS: Final = frozenset({"data", "trunks", "fields"})


def _row_values(record: Any, columns: Sequence[str]) -> list[Any]:
    out = []
    for name in columns:
        value = getattr(record, name)
        if name in _JSON_COLUMNS:
            value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        out.append(value)
    return out


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    values = dict(row)
    for name in _JSON_COLUMNS & values.keys():
        values[name] = json.loads(values[name])
    return values


def _job(row: sqlite3.Row) -> CallbackJob:
    return CallbackJob(**_decode(row))


def _attempt(row: sqlite3.Row) -> CallbackAttempt:
    return CallbackAttempt(**_decode(row))


def _contact(row: sqlite3.Row) -> CampaignContact:
    return CampaignContact(**_decode(row))


_SELECT_JOB: Final = f"SELECT {', '.join(_JOB_COLUMNS)} FROM callback_jobs"
_SELECT_ATTEMPT: Final = f"SELECT {', '.join(_ATTEMPT_COLUMNS)} FROM callback_attempts"
_SELECT_CONTACT: Final = f"SELECT {', '.join(_CONTACT_COLUMNS)} FROM campaign_contacts"


class DuplicateOpenJob(Exception):
    """An open job already exists for this number (the de-duplication index refused)."""


class CallbackRecords:
    """Callback and campaign rows; mixed into ``EventStore``."""

    if TYPE_CHECKING:
        _conn: sqlite3.Connection

        def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def add_outbox(self, topic: str, payload: Mapping[str, Any]) -> str: ...

    # --- callback jobs ---------------------------------------------------------------------

    def callback_insert(self, job: CallbackJob) -> CallbackJob:
        """Insert a new job. Raises ``DuplicateOpenJob`` if the number already has one open."""
        placeholders = ", ".join("?" for _ in _JOB_COLUMNS)
        try:
            self._conn.execute(
                f"INSERT INTO callback_jobs ({', '.join(_JOB_COLUMNS)}) VALUES ({placeholders})",
                _row_values(job, _JOB_COLUMNS),
            )
        except sqlite3.IntegrityError as exc:
            if "callback_jobs.number" in str(exc):
                raise DuplicateOpenJob(job.number) from exc
            raise
        return job

    def callback_update(self, job: CallbackJob, *, expect_state: str | None = None) -> bool:
        """Write every column of ``job``; with ``expect_state`` only if the row is still in it.

        Returns False (and writes nothing) when the row moved on meanwhile.
        """
        columns = [c for c in _JOB_COLUMNS if c != "id"]
        sets = ", ".join(f"{c} = ?" for c in columns)
        params = [*_row_values(job, columns), job.id]
        where = "id = ?"
        if expect_state is not None:
            where += " AND state = ?"
            params.append(expect_state)
        cursor = self._conn.execute(f"UPDATE callback_jobs SET {sets} WHERE {where}", params)
        return cursor.rowcount == 1

    def callback_job(self, job_id: str) -> CallbackJob | None:
        row = self._conn.execute(f"{_SELECT_JOB} WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def callback_by_request_id(self, request_id: str) -> CallbackJob | None:
        row = self._conn.execute(
            f"{_SELECT_JOB} WHERE request_id = ?", (request_id,)
        ).fetchone()
        return None if row is None else _job(row)

    def callback_open_for_number(self, number: str) -> CallbackJob | None:
        row = self._conn.execute(
            f"{_SELECT_JOB} WHERE number = ? AND state IN ('pending', 'dialing', 'retry_wait')",
            (number,),
        ).fetchone()
        return None if row is None else _job(row)

    def callback_latest_for_number(self, number: str, since: float) -> CallbackJob | None:
        """The newest job for ``number`` created at or after ``since`` (any state)."""
        row = self._conn.execute(
            f"{_SELECT_JOB} WHERE number = ? AND created_ts >= ? "
            "ORDER BY created_ts DESC, rowid DESC LIMIT 1",
            (number, since),
        ).fetchone()
        return None if row is None else _job(row)

    def callback_open_jobs(self) -> list[CallbackJob]:
        """Every open job (pending, dialing, retry_wait), by priority then due time."""
        rows = self._conn.execute(
            f"{_SELECT_JOB} WHERE state IN ('pending', 'dialing', 'retry_wait') "
            "ORDER BY priority DESC, next_ts, created_ts, id"
        ).fetchall()
        return [_job(r) for r in rows]

    def callback_jobs(
        self, since: float | None = None, until: float | None = None, limit: int | None = None
    ) -> list[CallbackJob]:
        """Jobs created in ``[since, until)``, oldest first."""
        rows = self._conn.execute(
            f"{_SELECT_JOB} WHERE (?1 IS NULL OR created_ts >= ?1) "
            "AND (?2 IS NULL OR created_ts < ?2) ORDER BY created_ts, id LIMIT ?3",
            (since, until, -1 if limit is None else limit),
        ).fetchall()
        return [_job(r) for r in rows]

    # --- attempts --------------------------------------------------------------------------

    def callback_claim(
        self, job: CallbackJob, attempt: CallbackAttempt, claimed: CallbackJob
    ) -> bool:
        """Claim ``job`` for dialing: write ``claimed`` (state ``dialing``, attempts + 1) and
        the open ``attempt`` row, atomically, only if the row still has ``job``'s state and
        attempt count. False if another claim or a cancel got there first."""
        if claimed.state != "dialing" or attempt.outcome is not None:
            raise ValueError("a claim moves the job to 'dialing' with an open attempt")
        if attempt.attempt != job.attempts + 1 or claimed.attempts != attempt.attempt:
            raise ValueError("a claim adds exactly the next attempt")
        with self.transaction() as conn:
            columns = [c for c in _JOB_COLUMNS if c != "id"]
            sets = ", ".join(f"{c} = ?" for c in columns)
            cursor = conn.execute(
                f"UPDATE callback_jobs SET {sets} WHERE id = ? AND state = ? AND attempts = ?",
                [*_row_values(claimed, columns), job.id, job.state, job.attempts],
            )
            if cursor.rowcount != 1:
                return False
            placeholders = ", ".join("?" for _ in _ATTEMPT_COLUMNS)
            conn.execute(
                f"INSERT INTO callback_attempts ({', '.join(_ATTEMPT_COLUMNS)}) "
                f"VALUES ({placeholders})",
                _row_values(attempt, _ATTEMPT_COLUMNS),
            )
        return True

    def callback_update_attempt(self, attempt: CallbackAttempt) -> None:
        columns = [c for c in _ATTEMPT_COLUMNS if c not in ("job_id", "attempt")]
        sets = ", ".join(f"{c} = ?" for c in columns)
        self._conn.execute(
            f"UPDATE callback_attempts SET {sets} WHERE job_id = ? AND attempt = ?",
            [*_row_values(attempt, columns), attempt.job_id, attempt.attempt],
        )

    def callback_attempt(self, job_id: str, attempt: int) -> CallbackAttempt | None:
        row = self._conn.execute(
            f"{_SELECT_ATTEMPT} WHERE job_id = ? AND attempt = ?", (job_id, attempt)
        ).fetchone()
        return None if row is None else _attempt(row)

    def callback_attempts(self, job_id: str | None = None) -> list[CallbackAttempt]:
        """Attempts of one job (or of all), in order."""
        rows = self._conn.execute(
            f"{_SELECT_ATTEMPT} WHERE (?1 IS NULL OR job_id = ?1) ORDER BY started_ts, attempt",
            (job_id,),
        ).fetchall()
        return [_attempt(r) for r in rows]

    def callback_open_attempts(self) -> list[CallbackAttempt]:
        """Attempts with no outcome yet: in flight, or interrupted by a crash."""
        rows = self._conn.execute(
            f"{_SELECT_ATTEMPT} WHERE outcome IS NULL ORDER BY started_ts"
        ).fetchall()
        return [_attempt(r) for r in rows]

    def dial_attempts_since(self, number: str, since: float) -> int:
        """Dials to ``number`` (callbacks and campaigns) started at or after ``since``."""
        row = self._conn.execute(
            "SELECT (SELECT count(*) FROM callback_attempts WHERE number = ?1 "
            "AND started_ts >= ?2) + (SELECT count(*) FROM campaign_attempts "
            "WHERE number = ?1 AND started_ts >= ?2)",
            (number, since),
        ).fetchone()
        return int(row[0])

    # --- campaign contacts -----------------------------------------------------------------

    def campaign_insert_contacts(self, contacts: Sequence[CampaignContact]) -> list[int]:
        """Insert contacts (all or none: call inside ``transaction()`` with the rest)."""
        columns = [c for c in _CONTACT_COLUMNS if c != "id"]
        placeholders = ", ".join("?" for _ in columns)
        ids = []
        with self.transaction() as conn:
            for contact in contacts:
                cursor = conn.execute(
                    f"INSERT INTO campaign_contacts ({', '.join(columns)}) "
                    f"VALUES ({placeholders})",
                    _row_values(contact, columns),
                )
                assert cursor.lastrowid is not None
                ids.append(cursor.lastrowid)
        return ids

    def campaign_numbers(self, campaign: str) -> set[str]:
        rows = self._conn.execute(
            "SELECT number FROM campaign_contacts WHERE campaign = ?", (campaign,)
        ).fetchall()
        return {r[0] for r in rows}

    def campaign_contact(self, contact_id: int) -> CampaignContact | None:
        row = self._conn.execute(
            f"{_SELECT_CONTACT} WHERE id = ?", (contact_id,)
        ).fetchone()
        return None if row is None else _contact(row)

    def campaign_contacts(
        self, campaign: str, statuses: Sequence[str] | None = None
    ) -> list[CampaignContact]:
        """Contacts of a campaign (in the given statuses), by priority, schedule, import order."""
        rows = self._conn.execute(
            f"{_SELECT_CONTACT} WHERE campaign = ? ORDER BY priority DESC, next_ts, id",
            (campaign,),
        ).fetchall()
        out = [_contact(r) for r in rows]
        if statuses is not None:
            wanted = set(statuses)
            out = [c for c in out if c.status in wanted]
        return out

    def campaign_due(self, campaign: str, now: float, limit: int) -> list[CampaignContact]:
        rows = self._conn.execute(
            f"{_SELECT_CONTACT} WHERE campaign = ? AND status IN ('pending', 'retry_wait') "
            "AND next_ts <= ? ORDER BY priority DESC, next_ts, id LIMIT ?",
            (campaign, now, limit),
        ).fetchall()
        return [_contact(r) for r in rows]

    def campaign_claim(self, contact: CampaignContact, now: float, agent: str | None) -> bool:
        """Claim a contact for dialing (see the module doc); False if it moved on."""
        assert contact.id is not None
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE campaign_contacts SET status = 'dialing', attempts = attempts + 1, "
                "updated_ts = ? WHERE id = ? AND status = ? AND attempts = ?",
                (now, contact.id, contact.status, contact.attempts),
            )
            if cursor.rowcount != 1:
                return False
            conn.execute(
                "INSERT INTO campaign_attempts (contact_id, attempt, campaign, number, "
                "started_ts, agent) VALUES (?, ?, ?, ?, ?, ?)",
                (contact.id, contact.attempts + 1, contact.campaign, contact.number, now, agent),
            )
        return True

    def campaign_finish(
        self,
        contact: CampaignContact,
        outcome: str,
        now: float,
        *,
        status: str,
        next_ts: float,
        answered_ts: float | None = None,
    ) -> None:
        """Record the outcome of the contact's open attempt and its new status, atomically,
        with an outbox message (topic ``campaign``)."""
        assert contact.id is not None
        with self.transaction() as conn:
            conn.execute(
                "UPDATE campaign_attempts SET outcome = ?, ended_ts = ?, answered_ts = ? "
                "WHERE contact_id = ? AND attempt = ? AND outcome IS NULL",
                (outcome, now, answered_ts, contact.id, contact.attempts),
            )
            conn.execute(
                "UPDATE campaign_contacts SET status = ?, next_ts = ?, last_outcome = ?, "
                "updated_ts = ? WHERE id = ?",
                (status, next_ts, outcome, now, contact.id),
            )
            self.add_outbox("campaign", {
                "campaign": contact.campaign, "contact": contact.id, "number": contact.number,
                "attempt": contact.attempts, "outcome": outcome, "status": status, "ts": now,
            })

    def campaign_interrupted(self) -> list[tuple[CampaignContact, float]]:
        """Contacts left in ``dialing`` by a crash, with their open attempt's start time."""
        rows = self._conn.execute(
            f"{_SELECT_CONTACT} WHERE status = 'dialing'"
        ).fetchall()
        out = []
        for row in rows:
            contact = _contact(row)
            started = self._conn.execute(
                "SELECT started_ts FROM campaign_attempts WHERE contact_id = ? AND attempt = ?",
                (contact.id, contact.attempts),
            ).fetchone()
            out.append((contact, float(started[0]) if started else contact.updated_ts))
        return out

    def campaign_attempts(self, campaign: str) -> Iterator[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT * FROM campaign_attempts WHERE campaign = ? ORDER BY started_ts, contact_id",
            (campaign,),
        )
        for row in rows:
            yield dict(row)


def with_changes(job: CallbackJob, **changes: Any) -> CallbackJob:
    """``dataclasses.replace`` for a job (kept here so callers need one import)."""
    return replace(job, **changes)
