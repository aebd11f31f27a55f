"""The callback engine: jobs from every source, retries, limits, and a crash-safe dial claim.

Owns the life of a callback job (``firmware.store.CallbackJob``)::

    pending ──due──▶ dialing ──connected──────────▶ connected
       ▲                │  ├─busy/no answer/...──▶ retry_wait ──due──▶ dialing ...
       │                │  └─last attempt/final──▶ failed
       └─merge          └─cancel─────────────────▶ cancelled
    pending/retry_wait ──customer called in──▶ done, ──cancel──▶ cancelled,
                       ──window over/blacklisted──▶ failed

and nothing else: it does not dial, ring or queue (it emits the commands of
``firmware.callback.commands`` and is fed outcomes), and it does not read the clock (every
input carries ``now``; ``next_deadline()``/``on_timer(now)`` drive time, as in libpri).

Sources: ``missed_call`` and ``abandoned_in_queue`` (automatic; each can be switched off),
``offer_in_queue`` (the caller pressed the callback key and keeps their place),
``reject_and_call_back`` (a route rejects the call and calls back at once), and
``submit`` for web/cloud requests (validated by ``CallbackService``).

Rules, and why:

- *De-duplication.* One open job per number (a unique index in the database enforces it):
  a new request for a number that has one is merged into it. Automatic requests (missed,
  abandoned) within ``dedup_window_s`` of a job that already reached the customer
  (connected/done) are suppressed: the conversation happened. After a *failed* job a new
  missed call is new information (the customer is trying again) and starts a new job.
- *Queue places.* Every job connected to a queue keeps a place in it (the ACD holds a
  virtual caller, ``EnqueueCallback``) and is dialled only when the ACD has reserved an
  agent for it (``turn_reached``), customer first or agent first (the queue's
  ``callback_dial``, else ``callback.mode``): the customer who answers is never left
  waiting in the queue. The place is the key press's arrival time, else the request's
  (or its window's start). It is re-sent after a failed attempt's retry interval and
  after a restart with the same ``place_ts``: a job comes back at its original place.
- *Working hours.* Automatic and web/cloud callbacks dial only when the configured time
  condition is open (agents are there). Queue-place and reject-and-call-back jobs are
  immediate by nature and not gated.
- *Limits.* At most ``max_concurrent`` dials at once, queue places included (a place is
  handed to the ACD only while a line is free, and a turn reached with every line busy
  gives the place back until one is). A number in the blacklist is never dialled
  (checked again before each dial, since the list may change). At most ``daily_limit``
  dials per number per local day, callbacks and campaigns together; a job over the limit
  waits for the next day.
- *Time window.* A web request's window is honoured: no dial before its start; when it ends
  with the job still open, the job fails with reason ``window_expired``.
- *Persistence: none lost, none dialled twice.* Every change is written to the event store
  before any command that depends on it leaves the engine. A dial is *claimed*
  (``EventStore.callback_claim``: job → ``dialing``, attempts + 1, an attempt row with no
  outcome) in one committed transaction, and only if the row still has the state and
  attempt count the engine saw; only then is ``DialCallback`` emitted. After a crash or
  power loss, ``recover(now)`` finds the attempts that never got an outcome, records them as
  ``interrupted`` and schedules the job by the retry policy from the restart time — the
  customer may have been rung, so it is never dialled again at once. Each outcome writes an
  outbox row (topic ``callback``) in the same transaction as the state change.
- *KPIs.* ``created_ts`` (the request), ``answered_ts`` (the customer first answered) and
  ``connected_ts`` (bridged to an agent) are recorded per job, so "callback success" and
  "time to callback" are computed from the store alone (``firmware.callback.kpi``).

A deterministic core: the same inputs at the same ``now`` give the same commands (job ids
come from the injected ``new_id``).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from firmware.callback.commands import (
    FINAL_OUTCOMES,
    CancelDial,
    Command,
    DialCallback,
    DialOutcome,
    EnqueueCallback,
    ReleasePlace,
)
from firmware.callback.errors import CallbackRequestError, FieldIssue
from firmware.callback.policy import CallbackSettings
from firmware.callback.trunks import TrunkAdvisor
from firmware.numbers import MalformedNumber, national_form, normalize_number
from firmware.store import CallbackAttempt, CallbackJob, EventStore
from firmware.store.callbacks import DialOrder, JobSource, TargetType

log = logging.getLogger(__name__)

OUTBOX_TOPIC: Final = "callback"
HOURS_GATED: Final = frozenset({"missed", "abandoned", "web", "cloud"})
AUTOMATIC: Final = frozenset({"missed", "abandoned"})
# A dial with no final report after ring time + this margin is taken as lost and closed.
WATCHDOG_MARGIN_S: Final = 60.0

SubmitResult = Literal["created", "merged", "duplicate_request", "suppressed", "ignored"]


@dataclass(frozen=True)
class Submitted:
    """What became of a request: the job it created or joined (None when ignored)."""

    result: SubmitResult
    job: CallbackJob | None
    reason: str = ""


def _new_id() -> str:
    return "cb-" + uuid.uuid4().hex[:16]


class CallbackEngine:
    def __init__(
        self,
        store: EventStore,
        settings: CallbackSettings,
        advisor: TrunkAdvisor,
        *,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self._store = store
        self._settings = settings
        self._advisor = advisor
        self._new_id = new_id
        self._tz = ZoneInfo(settings.timezone)
        self._commands: list[Command] = []
        self._placed: set[str] = set()          # jobs the ACD holds a place for
        self._watch: dict[str, tuple[int, float]] = {}  # job -> (attempt, deadline)
        self._now = float("-inf")               # the latest time an input carried

    # --- wiring ----------------------------------------------------------------------------

    @property
    def settings(self) -> CallbackSettings:
        return self._settings

    def reconfigure(self, settings: CallbackSettings, advisor: TrunkAdvisor | None = None) -> None:
        """Swap in a new configuration; jobs and attempts in flight keep going."""
        self._settings = settings
        self._tz = ZoneInfo(settings.timezone)
        if advisor is not None:
            self._advisor = advisor

    def drain(self) -> list[Command]:
        """The commands emitted since the last call, in order."""
        out, self._commands = self._commands, []
        return out

    def recover(self, now: float) -> None:
        """At start-up: settle attempts a crash left without an outcome (see module doc)."""
        self._now = max(self._now, now)
        self._placed.clear()
        self._watch.clear()
        for attempt in self._store.callback_open_attempts():
            job = self._store.callback_job(attempt.job_id)
            if job is None:
                continue
            if job.state == "dialing" and job.attempts == attempt.attempt:
                log.warning("callback %s attempt %d interrupted by a restart", job.id,
                            attempt.attempt)
                self._finish(job, attempt, "interrupted", now,
                             detail="the box restarted during the attempt")
            else:  # an orphan (should not happen): close it without touching the job
                with self._store.transaction():
                    self._store.callback_update_attempt(
                        replace(attempt, outcome="interrupted", ended_ts=now))
        # A job in 'dialing' without an open attempt cannot be produced by callback_claim;
        # treat one found anyway (a hand-edited database) as interrupted too.
        for job in self._store.callback_open_jobs():
            if job.state == "dialing" and job.id not in self._watch:
                delay = self._settings.retry.delay_after("interrupted", job.attempts)
                changed = self._after_attempt(job, "interrupted", now, delay)
                with self._store.transaction():
                    self._store.callback_update(changed, expect_state="dialing")
                    self._announce("recovered", changed)

    # --- sources ---------------------------------------------------------------------------

    def missed_call(
        self, number: str | None, now: float, *, call_id: str | None = None,
        queue: str | None = None,
    ) -> Submitted:
        """An inbound call nobody answered (ring group, extension, after hours)."""
        rule = self._settings.missed
        if not rule.enabled:
            return Submitted("ignored", None, "automatic callback of missed calls is off")
        return self._automatic("missed", number, rule.queue or queue, now, call_id)

    def abandoned_in_queue(
        self, number: str | None, queue: str, entered_ts: float, now: float, *,
        call_id: str | None = None,
    ) -> Submitted:
        """A caller hung up while waiting in ``queue`` (``now`` is when they left)."""
        rule = self._settings.abandoned
        if not rule.enabled:
            return Submitted("ignored", None, "automatic callback of abandoned calls is off")
        if now - entered_ts < rule.min_wait_s:
            return Submitted("ignored", None, f"short abandon (under {rule.min_wait_s:g} s)")
        return self._automatic("abandoned", number, rule.queue or queue, now, call_id)

    def offer_in_queue(
        self, number: str, queue: str, place_ts: float, now: float, *,
        priority: int = 0, call_id: str | None = None,
    ) -> Submitted:
        """The caller pressed the callback key in ``queue``: keep their place.

        Raises ``CallbackRequestError`` (number malformed or blacklisted, queue unknown): the
        ACD then keeps the caller waiting and tells them callback is not available.
        """
        issues = []
        canonical = self._canonical(number)
        if canonical is None:
            issues.append(FieldIssue("number", f"malformed number {number!r}"))
        elif canonical in self._settings.blacklist:
            issues.append(FieldIssue("number", f"number {canonical} is blacklisted"))
        if queue not in self._settings.queues:
            issues.append(FieldIssue("queue", f"unknown queue {queue!r}"))
        if issues:
            raise CallbackRequestError(issues)
        assert canonical is not None
        return self.submit(
            canonical, "queue", "queue", queue, now, priority=priority, place_ts=place_ts,
            call_id=call_id, data={"acd_caller": call_id} if call_id else None,
        )

    def reject_and_call_back(
        self, number: str | None, target_type: TargetType, target: str, now: float, *,
        call_id: str | None = None,
    ) -> Submitted:
        """A reject-and-call-back route: the call was rejected, call back at once."""
        canonical = self._canonical(number)
        if canonical is None:
            return Submitted("ignored", None, f"cannot call back {number!r}")
        if canonical in self._settings.blacklist:
            return Submitted("ignored", None, f"number {canonical} is blacklisted")
        return self.submit(canonical, "reject", target_type, target, now,
                           mode="customer_first", call_id=call_id)

    def inbound_answered(self, number: str | None, now: float) -> list[CallbackJob]:
        """The customer called in and was answered: their automatic callback is done."""
        canonical = self._canonical(number)
        if canonical is None:
            return []
        job = self._store.callback_open_for_number(canonical)
        if job is None or job.source not in AUTOMATIC or job.state == "dialing":
            return []
        return [self._close(job, "done", now, "the customer called in and was answered")]

    def submit(
        self,
        number: str,
        source: JobSource,
        target_type: TargetType,
        target: str,
        now: float,
        *,
        priority: int = 0,
        window: tuple[float, float] | None = None,
        place_ts: float | None = None,
        call_id: str | None = None,
        request_id: str | None = None,
        mode: DialOrder | None = None,
        data: dict[str, Any] | None = None,
    ) -> Submitted:
        """Create a job for a canonical, validated ``number``, or merge into its open one."""
        self._now = max(self._now, now)
        settings = self._settings
        if mode is None:
            mode = settings.queue_modes.get(target, settings.mode) \
                if target_type == "queue" else settings.mode
        if target_type == "ring_group":
            mode = "customer_first"   # nobody to reserve in a ring group
        next_ts = now if window is None else max(now, window[0])
        if place_ts is None and target_type == "queue":
            place_ts = next_ts        # through the ACD: a place from the request (window)
        with self._store.transaction():
            if request_id is not None:
                known = self._store.callback_by_request_id(request_id)
                if known is not None:
                    return Submitted("duplicate_request", known, "request already received")
            open_job = self._store.callback_open_for_number(number)
            if open_job is not None:
                merged = self._merge(open_job, source, target_type, target, now, next_ts,
                                     priority, place_ts, request_id, data)
                return Submitted("merged", merged, f"merged into open job {open_job.id}")
            if source in AUTOMATIC and settings.dedup_window_s > 0:
                latest = self._store.callback_latest_for_number(
                    number, now - settings.dedup_window_s)
                if latest is not None and latest.state in ("connected", "done"):
                    counted = replace(latest, merged=latest.merged + 1, updated_ts=now)
                    self._store.callback_update(counted)
                    return Submitted("suppressed", counted,
                                     f"job {latest.id} reached the customer "
                                     f"within the de-duplication window")
            job = CallbackJob(
                id=self._new_id(), created_ts=now, source=source, number=number,
                target_type=target_type, target=target, mode=mode, state="pending",
                next_ts=next_ts, updated_ts=now, priority=priority, place_ts=place_ts,
                window_start=None if window is None else window[0],
                window_end=None if window is None else window[1],
                request_id=request_id, call_id=call_id, data=dict(data or {}),
            )
            self._store.callback_insert(job)
            self._announce("created", job)
        return Submitted("created", job)

    def cancel(self, job_id: str, now: float, reason: str = "cancelled") -> CallbackJob:
        """Cancel an open job (a dial in progress is cancelled too). KeyError if unknown."""
        job = self._store.callback_job(job_id)
        if job is None:
            raise KeyError(job_id)
        if not job.is_open:
            return job
        if job.state == "dialing":
            attempt = self._store.callback_attempt(job.id, job.attempts)
            assert attempt is not None
            self._commands.append(CancelDial(job.id, job.attempts, reason))
            return self._finish(job, attempt, "cancelled", now, detail=reason)
        return self._close(job, "cancelled", now, reason)

    # --- the ACD ---------------------------------------------------------------------------

    def turn_reached(self, job_id: str, agent: str, now: float) -> None:
        """The ACD reserved ``agent`` for the virtual caller of ``job_id``: dial now."""
        job = self._store.callback_job(job_id)
        if job is None or not job.is_open or job.state == "dialing" or not _holds_place(job):
            queue = job.target if job is not None else ""
            self._placed.discard(job_id)
            self._commands.append(ReleasePlace(job_id, queue, "not_dialable"))
            return
        if self._refuse(job, now):
            return
        due = self._due(job, now)
        dialing = sum(j.state == "dialing" for j in self._store.callback_open_jobs())
        if due is None or due > now or dialing >= self._settings.max_concurrent:
            # Not now: the place comes back when the job is due and a line is free.
            self._placed.discard(job_id)
            self._commands.append(ReleasePlace(job.id, job.target, "retry"))
            return
        self._dial(job, now, agent)

    # --- the call engine -------------------------------------------------------------------

    def on_outcome(self, outcome: DialOutcome) -> None:
        """A report from the call engine; stale or repeated reports are ignored."""
        self._now = max(self._now, outcome.ts)
        job = self._store.callback_job(outcome.job_id)
        if job is None or job.state != "dialing" or job.attempts != outcome.attempt:
            log.info("callback %s: ignoring late %s for attempt %d", outcome.job_id,
                     outcome.kind, outcome.attempt)
            return
        attempt = self._store.callback_attempt(job.id, outcome.attempt)
        if attempt is None or attempt.outcome is not None:
            return
        if outcome.kind == "answered":
            if attempt.answered_ts is not None:
                return
            with self._store.transaction():
                self._store.callback_update_attempt(replace(
                    attempt, answered_ts=outcome.ts, trunk=outcome.trunk or attempt.trunk))
                if job.answered_ts is None:
                    self._store.callback_update(
                        replace(job, answered_ts=outcome.ts, updated_ts=outcome.ts),
                        expect_state="dialing")
            self._watch[job.id] = (attempt.attempt,
                                   outcome.ts + self._settings.connect_timeout_s)
            return
        assert outcome.kind in FINAL_OUTCOMES
        self._finish(job, attempt, outcome.kind, outcome.ts, trunk=outcome.trunk,
                     agent=outcome.agent, detail=outcome.detail)

    # --- time ------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When ``on_timer`` next has something to do (None: only an input can change that)."""
        deadlines = [deadline for _, deadline in self._watch.values()]
        jobs = self._store.callback_open_jobs()
        free = self._settings.max_concurrent - sum(j.state == "dialing" for j in jobs)
        for job in jobs:
            if job.state == "dialing":
                continue
            if job.window_end is not None:
                deadlines.append(job.window_end)
            if _holds_place(job) and job.id in self._placed:
                continue  # the ACD drives it now
            if free <= 0:
                continue  # an outcome frees a line first
            due = self._due(job, self._now)
            deadlines.append(job.updated_ts if due is None else due)
        return min(deadlines, default=None)

    def on_timer(self, now: float) -> None:
        """Do what is due at ``now``: watchdogs, expiries, dials, queue places."""
        self._now = max(self._now, now)
        for job_id, (attempt_no, deadline) in list(self._watch.items()):
            if deadline <= now:
                job = self._store.callback_job(job_id)
                attempt = self._store.callback_attempt(job_id, attempt_no)
                self._watch.pop(job_id, None)
                if job is None or attempt is None or job.state != "dialing":
                    continue
                self._commands.append(CancelDial(job_id, attempt_no, "no report in time"))
                self._finish(job, attempt, "failed", now,
                             detail="no report from the call engine in time (watchdog)")
        jobs = self._store.callback_open_jobs()
        dialing = sum(j.state == "dialing" for j in jobs)
        for job in jobs:
            if job.state == "dialing":
                continue
            if job.window_end is not None and now >= job.window_end:
                self._close(job, "failed", now, "window_expired")
                continue
            if self._refuse(job, now):
                continue
            due = self._due(job, now)
            if due is None:
                reason = "window_expired" if job.window_end is not None else "never open"
                self._close(job, "failed", now, reason)
                continue
            if due > now:
                continue
            if _holds_place(job):
                if job.id not in self._placed and dialing < self._settings.max_concurrent:
                    self._placed.add(job.id)
                    self._commands.append(EnqueueCallback(
                        job.id, job.target, job.number, job.priority,
                        job.place_ts if job.place_ts is not None else job.created_ts,
                        str(job.data.get("acd_caller") or ""), job.created_ts))
                continue
            if dialing >= self._settings.max_concurrent:
                continue
            if self._dial(job, now, None):
                dialing += 1

    # --- internals -------------------------------------------------------------------------

    def _canonical(self, number: str | None) -> str | None:
        if not number:
            return None
        try:
            return normalize_number(number, self._settings.country)
        except MalformedNumber:
            return None

    def _automatic(self, source: JobSource, number: str | None, queue: str | None,
                   now: float, call_id: str | None) -> Submitted:
        canonical = self._canonical(number)
        if canonical is None:
            return Submitted("ignored", None, f"no number to call back ({number!r})")
        if canonical in self._settings.blacklist:
            return Submitted("ignored", None, f"number {canonical} is blacklisted")
        if queue is None or queue not in self._settings.queues:
            return Submitted("ignored", None, f"no queue to connect the callback to ({queue!r})")
        return self.submit(canonical, source, "queue", queue, now, call_id=call_id)

    def _merge(self, job: CallbackJob, source: JobSource, target_type: TargetType, target: str,
               now: float, next_ts: float, priority: int, place_ts: float | None,
               request_id: str | None, data: dict[str, Any] | None = None) -> CallbackJob:
        changes: dict[str, Any] = {
            "merged": job.merged + 1, "priority": max(job.priority, priority), "updated_ts": now,
        }
        if request_id is not None and job.request_id is None:
            changes["request_id"] = request_id
        if job.state != "dialing" and source not in AUTOMATIC:
            # The customer asked again, explicitly: do not make them wait for a retry
            # interval, and a kept queue place wins over an automatic job's target.
            changes["next_ts"] = min(job.next_ts, next_ts)
            if place_ts is not None and target_type == "queue":
                changes.update(target_type="queue", target=target, place_ts=place_ts)
                if source == "queue" and data:   # the key press's call holds the place now
                    changes["data"] = {**job.data, **data}
        merged = replace(job, **changes)
        self._store.callback_update(merged)
        self._announce("merged", merged, source=source)
        return merged

    def _refuse(self, job: CallbackJob, now: float) -> bool:
        """Close ``job`` if it must never be dialled now (blacklisted since it was made)."""
        if job.number in self._settings.blacklist:
            self._close(job, "failed", now, "blacklisted")
            return True
        return False

    def _local_midnight(self, ts: float, days_after: int = 0) -> float:
        day = dt.datetime.fromtimestamp(ts, self._tz).date() + dt.timedelta(days=days_after)
        return dt.datetime(day.year, day.month, day.day, tzinfo=self._tz).timestamp()

    def _due(self, job: CallbackJob, now: float) -> float | None:
        """When ``job`` may next be dialled (hours, daily limit, window); None: never."""
        settings = self._settings
        t = max(now, job.next_ts, job.window_start or job.next_ts)
        for _ in range(32):
            if job.source in HOURS_GATED:
                opened = settings.hours.next_open(t)
                if opened is None:
                    return None
                t = opened
            if settings.daily_limit > 0:
                day_start = self._local_midnight(t)
                if self._store.dial_attempts_since(job.number, day_start) >= settings.daily_limit:
                    t = self._local_midnight(t, 1)
                    continue
            break
        if job.window_end is not None and t >= job.window_end:
            return None
        return t

    def _dial(self, job: CallbackJob, now: float, agent: str | None) -> bool:
        settings = self._settings
        candidates = tuple(self._advisor.candidates(job.number))
        attempt = CallbackAttempt(
            job_id=job.id, attempt=job.attempts + 1, number=job.number, started_ts=now,
            trunks=[c.trunk for c in candidates], agent=agent,
        )
        claimed = replace(job, state="dialing", attempts=job.attempts + 1, updated_ts=now,
                          agent=agent, reason="")
        if not self._store.callback_claim(job, attempt, claimed):
            return False
        if not candidates:
            self._finish(claimed, attempt, "failed", now, detail="no trunk can reach the number")
            return False
        ring = settings.ring_timeout_s * (2 if job.mode == "agent_first" else 1)
        self._watch[job.id] = (attempt.attempt, now + ring + WATCHDOG_MARGIN_S)
        self._commands.append(DialCallback(
            job_id=job.id, attempt=attempt.attempt, number=job.number,
            national=national_form(job.number, settings.country), trunks=candidates,
            target_type=job.target_type, target=job.target, order=job.mode, agent=agent,
            priority=job.priority, ring_timeout_s=settings.ring_timeout_s,
            detect_machine=settings.detect_machine, caller_id=settings.caller_id,
            announcement=settings.announcement,
        ))
        return True

    def _after_attempt(self, job: CallbackJob, outcome: str, now: float,
                       delay: float | None) -> CallbackJob:
        common: dict[str, Any] = {"last_outcome": outcome, "updated_ts": now}
        if outcome == "connected":
            return replace(job, state="connected", closed_ts=now, connected_ts=now,
                           answered_ts=job.answered_ts if job.answered_ts is not None else now,
                           reason="", **common)
        if outcome == "cancelled":
            return replace(job, state="cancelled", closed_ts=now, reason="cancelled", **common)
        if delay is None:
            reason = (f"no attempts left after {outcome}"
                      if job.attempts >= self._settings.retry.max_attempts
                      else f"{outcome} is final by the retry policy")
            return replace(job, state="failed", closed_ts=now, reason=reason, **common)
        return replace(job, state="retry_wait", next_ts=now + delay, reason="", **common)

    def _finish(self, job: CallbackJob, attempt: CallbackAttempt, outcome: Any, now: float, *,
                trunk: str | None = None, agent: str | None = None,
                detail: str = "") -> CallbackJob:
        delay = self._settings.retry.delay_after(outcome, job.attempts)
        changed = self._after_attempt(job, outcome, now, delay)
        answered = attempt.answered_ts
        if outcome == "connected" and answered is None:
            answered = now
        ended = replace(attempt, outcome=outcome, ended_ts=now, answered_ts=answered,
                        trunk=trunk or attempt.trunk, agent=agent or attempt.agent,
                        detail=detail)
        with self._store.transaction():
            self._store.callback_update_attempt(ended)
            if not self._store.callback_update(changed, expect_state="dialing"):
                raise RuntimeError(f"callback {job.id} left 'dialing' under the engine")
            self._announce("attempt", changed, attempt=ended)
        self._watch.pop(job.id, None)
        if _holds_place(job) and (job.id in self._placed or attempt.agent is not None):
            self._placed.discard(job.id)
            reason = "retry" if changed.state == "retry_wait" else changed.state
            self._commands.append(ReleasePlace(job.id, job.target, reason))
        return changed

    def _close(self, job: CallbackJob, state: Literal["failed", "done", "cancelled"],
               now: float, reason: str) -> CallbackJob:
        closed = replace(job, state=state, closed_ts=now, updated_ts=now, reason=reason)
        with self._store.transaction():
            if not self._store.callback_update(closed, expect_state=job.state):
                current = self._store.callback_job(job.id)
                assert current is not None
                return current
            self._announce("closed", closed)
        if job.id in self._placed:
            self._placed.discard(job.id)
            self._commands.append(ReleasePlace(job.id, job.target, state))
        return closed

    def _announce(self, event: str, job: CallbackJob, *, attempt: CallbackAttempt | None = None,
                  **extra: Any) -> None:
        payload: dict[str, Any] = {"event": event, "job": job.to_json(), **extra}
        if attempt is not None:
            payload["attempt"] = attempt.to_json()
        self._store.add_outbox(OUTBOX_TOPIC, payload)


def _holds_place(job: CallbackJob) -> bool:
    """Dialled when the ACD says it is the job's turn (a kept place, or agent first)."""
    return job.target_type == "queue" and job.place_ts is not None
