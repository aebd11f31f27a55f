"""The callback engine's interface with the call engine and the ACD: commands out, outcomes in.

The engine never dials, rings or queues anything itself. It emits the commands below; the
lead's wiring (firmware/app.py) hands ``DialCallback``/``CancelDial`` to the call engine and
``EnqueueCallback``/``ReleasePlace`` to the ACD, and feeds back ``DialOutcome``s and the
ACD's ``turn_reached`` calls. Every command is a frozen dataclass, safe to log and to compare
in tests.

Contract for the call engine (what it must implement)
-----------------------------------------------------
On ``DialCallback(job_id, attempt, ...)``:

- ``order == "customer_first"``: seize the first free trunk of ``trunks`` (in order; the
  advisor has ranked them), dial ``number`` (``national`` on FXO/E1, ``number`` on GSM),
  ring for up to ``ring_timeout_s``. On answer (supervision: GSM/E1 connect, FXO polarity
  reversal or the call-progress detector's speech/silence analysis), report ``answered``; if
  ``detect_machine`` and the detector calls it an answering machine, hang up and report
  ``machine``. Then play ``announcement`` (if any) and connect the customer to the target:
  a queue (as a caller of priority ``priority``; when ``agent`` is set, straight to that
  reserved agent), an extension or a ring group. Report ``connected`` when the customer is
  bridged to an agent/extension, or ``customer_hangup`` if they leave before.
- ``order == "agent_first"``: ring the agent/extension first (``agent`` for a queue job,
  ``target`` for an extension); if it does not answer report ``agent_unavailable``; once it
  answers, dial the customer as above (the agent hears ringback) and report ``connected``
  when the customer answers and is bridged.
- report exactly one final outcome per (job_id, attempt): ``connected``, ``busy``,
  ``no_answer``, ``failed`` (no free trunk, congestion, any other release: put the Q.850
  cause in ``detail``), ``machine``, ``customer_hangup`` or ``agent_unavailable``;
  ``answered`` may precede it once. Give ``trunk`` (the trunk used) when known.
- On ``CancelDial(job_id, attempt)``: abandon the attempt if it is still ringing (a
  connected call is left alone) and report its final outcome as usual (or nothing if it
  had already ended); the engine has already closed the attempt and ignores late reports.

Contract for the ACD (firmware/acd)
-----------------------------------
- When a caller presses the callback key in queue Q: log "callback taken", remove the caller
  from the queue as having left by callback, and call
  ``CallbackEngine.offer_in_queue(number, queue, call_id, place_ts=<arrival time>,
  priority=<caller priority>, now)``. The engine answers with ``EnqueueCallback``.
- On ``EnqueueCallback(job_id, queue, number, priority, place_ts, place)``: hold a
  *virtual caller* for ``job_id`` (its id in the ACD is ``place`` — the call that took the
  place with the callback key — or else ``job_id``) ordered by ``(priority, place_ts)``
  exactly like a real caller of that priority who arrived at ``place_ts`` (so the place is
  kept, also after a restart or a failed attempt, when the engine re-sends it);
  ``requested_ts`` is when the callback was asked for ("time to callback"). It hears
  nothing and never abandons. When its turn comes and an agent is reserved for it, call
  ``CallbackEngine.turn_reached(job_id, agent, now)``; the engine answers with a
  ``DialCallback`` carrying that ``agent`` (or with ``ReleasePlace`` if the job can no
  longer be dialled). ``EnqueueCallback`` for a job already held is a no-op.
- On ``ReleasePlace(job_id, queue, reason)``: remove the virtual caller and release any agent
  reserved for it that is not on the call (``reason`` is ``"connected"``, ``"retry"``,
  ``"failed"``, ``"cancelled"``, ``"done"``; with ``"retry"`` an ``EnqueueCallback`` for the
  same place follows when the retry interval has passed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

from firmware.store.callbacks import DialOrder, TargetType

OutcomeKind = Literal[
    "answered",           # the customer answered (intermediate; the final report follows)
    "connected",          # the customer is bridged to an agent/extension: success
    "busy",
    "no_answer",
    "failed",             # congestion, no free trunk, network failure, any other release
    "machine",            # answering machine detected (the call was hung up)
    "customer_hangup",    # answered, then left before reaching an agent
    "agent_unavailable",  # agent-first: the agent did not answer
]
OUTCOME_KINDS: Final = frozenset(get_args(OutcomeKind))
FINAL_OUTCOMES: Final = OUTCOME_KINDS - {"answered"}

TrunkKind = Literal["gsm", "fxo", "e1"]


@dataclass(frozen=True, slots=True)
class TrunkCandidate:
    """A trunk the callback may leave by, and why it is ranked where it is."""

    trunk: str
    kind: TrunkKind
    reason: str


@dataclass(frozen=True, slots=True)
class DialCallback:
    """Dial ``number`` for ``job_id``/``attempt`` and connect it to the target."""

    job_id: str
    attempt: int
    number: str                       # canonical (+E.164 or local digits)
    national: str                     # the same, as dialled over a fixed line (FXO/E1)
    trunks: tuple[TrunkCandidate, ...]  # in order of preference
    target_type: TargetType           # queue | agent | extension | ring_group
    target: str
    order: DialOrder                  # customer_first | agent_first
    agent: str | None                 # the agent the ACD reserved (queue place turn)
    priority: int
    ring_timeout_s: float
    detect_machine: bool
    caller_id: str | None
    announcement: str | None          # prompt played to the customer on answer


@dataclass(frozen=True, slots=True)
class CancelDial:
    job_id: str
    attempt: int
    reason: str


@dataclass(frozen=True, slots=True)
class EnqueueCallback:
    """ACD: hold a virtual caller for ``job_id`` at ``(priority, place_ts)`` in ``queue``."""

    job_id: str
    queue: str
    number: str
    priority: int
    place_ts: float
    place: str = ""   # the ACD caller id of the place ("": the job id)
    requested_ts: float | None = None   # when the callback was asked for (the job's creation)

    @property
    def caller(self) -> str:
        return self.place or self.job_id


@dataclass(frozen=True, slots=True)
class ReleasePlace:
    """ACD: drop the virtual caller of ``job_id`` and release any agent reserved for it."""

    job_id: str
    queue: str
    reason: str


Command = DialCallback | CancelDial | EnqueueCallback | ReleasePlace


@dataclass(frozen=True, slots=True)
class DialOutcome:
    """What became of a dial: reported by the call engine, once per final outcome."""

    job_id: str
    attempt: int
    kind: OutcomeKind
    ts: float
    trunk: str | None = None
    agent: str | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        if self.kind not in OUTCOME_KINDS:
            raise ValueError(f"unknown dial outcome {self.kind!r}")
