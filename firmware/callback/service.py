"""What the web UI and the cloud may ask of the callback engine (to join firmware/service.py).

Every request is validated whole before anything is written, and every problem is
reported with the field it concerns (``CallbackRequestError.issues``), so a front end can
mark the field and nothing is half-applied. The lead adds these methods to the
``BoxService`` façade; ``CallbackRequestError`` is a ``BadRequest`` and an unknown job a
``NotFound``, which front ends already map to 400 and 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from firmware.callback.engine import CallbackEngine, Submitted
from firmware.callback.errors import CallbackRequestError, FieldIssue
from firmware.callback.kpi import CallbackKpis, callback_kpis
from firmware.numbers import MalformedNumber, normalize_number
from firmware.service import NotFound, Unavailable
from firmware.store import CallbackJob, EventStore

REQUEST_SOURCES: Final = frozenset({"web", "cloud"})
MAX_REQUEST_ID: Final = 128


class CallbackService:
    """The callback part of the service façade. ``clock`` gives now (UNIX seconds)."""

    def __init__(self, engine: CallbackEngine, store: EventStore,
                 clock: Callable[[], float]) -> None:
        self._engine = engine
        self._store = store
        self._clock = clock

    def request(
        self,
        number: str,
        queue: str,
        window: tuple[float, float] | None = None,
        source: str = "web",
        *,
        request_id: str | None = None,
        priority: int = 0,
        note: str = "",
    ) -> dict[str, Any]:
        """Ask the box to call ``number`` back and connect it to ``queue``.

        ``window`` is the preferred (start, end) as UNIX seconds; the job is dialled only
        inside it and in working hours. ``request_id`` (the cloud's command id) makes the
        request idempotent. Returns ``{"result": "created"|"merged"|"duplicate_request",
        "job": {...}}``.
        """
        now = self._clock()
        settings = self._engine.settings
        if not settings.enabled:
            raise Unavailable("callbacks are switched off")
        issues: list[FieldIssue] = []
        canonical: str | None = None
        try:
            canonical = normalize_number(number, settings.country)
        except MalformedNumber as exc:
            issues.append(FieldIssue("number", f"malformed number: {exc}"))
        if canonical is not None and canonical in settings.blacklist:
            issues.append(FieldIssue("number", f"number {canonical} is blacklisted"))
        if not isinstance(queue, str) or queue not in settings.queues:
            issues.append(FieldIssue("queue", f"unknown queue {queue!r}"))
        if source not in REQUEST_SOURCES:
            issues.append(FieldIssue("source", f"source must be one of {sorted(REQUEST_SOURCES)}"))
        if window is not None:
            issues += _window_issues(window, now, settings.max_window_days)
        if request_id is not None and (not request_id or len(request_id) > MAX_REQUEST_ID):
            issues.append(FieldIssue("request_id", f"must be 1-{MAX_REQUEST_ID} characters"))
        if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 9:
            issues.append(FieldIssue("priority", "must be an integer 0-9"))
        if issues:
            raise CallbackRequestError(issues)
        assert canonical is not None
        submitted = self._engine.submit(
            canonical, "web" if source == "web" else "cloud", "queue", queue, now,
            priority=priority, window=window, request_id=request_id,
            data={"note": note} if note else None,
        )
        return _result(submitted)

    def cancel(self, job_id: str, actor: str = "web") -> dict[str, Any]:
        try:
            job = self._engine.cancel(job_id, self._clock(), f"cancelled by {actor}")
        except KeyError:
            raise NotFound(f"no callback job {job_id!r}") from None
        return job.to_json()

    def job(self, job_id: str) -> dict[str, Any]:
        job = self._store.callback_job(job_id)
        if job is None:
            raise NotFound(f"no callback job {job_id!r}")
        out = self._with_due(job)
        out["attempts_log"] = [a.to_json() for a in self._store.callback_attempts(job_id)]
        return out

    def jobs(self, since: float | None = None, until: float | None = None,
             open_only: bool = False) -> list[dict[str, Any]]:
        found: list[CallbackJob] = (
            self._store.callback_open_jobs() if open_only
            else self._store.callback_jobs(since, until)
        )
        return [self._with_due(j) for j in found]

    def _with_due(self, job: CallbackJob) -> dict[str, Any]:
        """The job as JSON with ``due_ts``: the earliest it may next be dialled as the rules
        stand now (working hours, per-number daily limit, window, retry interval; a queue
        place also waits for its turn). ``next_ts`` alone is only the retry policy's
        earliest time. None: closed, being dialled, or never (blacklisted since, the
        schedule never opens, the window is over)."""
        out = job.to_json()
        due = None
        if (job.is_open and job.state != "dialing"
                and job.number not in self._engine.settings.blacklist):
            due = self._engine._due(job, self._clock())  # the engine's own rule, not a copy
        out["due_ts"] = due
        return out

    def kpis(self, since: float | None = None, until: float | None = None) -> CallbackKpis:
        return callback_kpis(self._store.callback_jobs(since, until))


def _window_issues(window: object, now: float, max_days: int) -> list[FieldIssue]:
    if (not isinstance(window, tuple | list) or len(window) != 2
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in window)):
        return [FieldIssue("window", "must be [start, end] in UNIX seconds")]
    start, end = float(window[0]), float(window[1])
    if end <= start:
        return [FieldIssue("window", "ends before it starts")]
    if end <= now:
        return [FieldIssue("window", "is in the past")]
    if start > now + max_days * 86400:
        return [FieldIssue("window", f"starts more than {max_days} days ahead")]
    return []


def _result(submitted: Submitted) -> dict[str, Any]:
    return {
        "result": submitted.result,
        "reason": submitted.reason,
        "job": None if submitted.job is None else submitted.job.to_json(),
    }
