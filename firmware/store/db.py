"""The event store: call records, events, audit log and cloud outbox in SQLite (WAL).

Owns the event database file. Append-heavy, time-queried records live here, never in the
configuration document. Nothing here knows how calls are routed or how the cloud link
works; they hand in finished records and read them back.

Durability: WAL journal with ``synchronous=NORMAL``. Every committed transaction survives
the process being killed (SIGKILL, crash); after a power cut the database is consistent and
at most the last transactions before the cut may be lost, never corrupted.

Threading: one connection, used from one thread (the asyncio loop thread); sqlite3's
``check_same_thread`` guard stays on. Each write is a short single-row transaction, quick
enough to run on the loop. Use ``transaction()`` to group writes atomically, e.g. a record
and the outbox message announcing it (``add_cdr(cdr, outbox_topic=...)`` does this).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any, Final, Literal, get_args

from firmware.acd.log import QueueEvent
from firmware.store.callbacks import CallbackRecords
from firmware.store.migrations import MIGRATIONS, Migration, StoreError, migrate
from firmware.store.periods import PeriodReads

Direction = Literal["inbound", "outbound", "internal"]
Disposition = Literal["answered", "no_answer", "busy", "failed", "rejected"]
DIRECTIONS: Final = frozenset(get_args(Direction))
DISPOSITIONS: Final = frozenset(get_args(Disposition))

DEFAULT_BUSY_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True)
class Cdr:
    """A call detail record. Times are UNIX epoch seconds; ``id`` is set by the store."""

    call_id: str
    start_ts: float
    end_ts: float
    caller: str
    called: str
    direction: Direction
    disposition: Disposition
    cause: int  # Q.850 cause value of the release
    answer_ts: float | None = None
    trunk: str | None = None
    extension: str | None = None
    route: str | None = None
    wait_s: float = 0.0
    talk_s: float = 0.0
    legs: list[dict[str, Any]] = field(default_factory=list)
    digits: str = ""  # DTMF collected during the call
    id: int | None = None

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"CDR {self.call_id}: unknown direction {self.direction!r}")
        if self.disposition not in DISPOSITIONS:
            raise ValueError(f"CDR {self.call_id}: unknown disposition {self.disposition!r}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Event:
    id: int
    ts: float
    kind: str
    subject: str
    data: dict[str, Any]


@dataclass(frozen=True)
class AuditEntry:
    id: int
    ts: float
    actor: str
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class SmsRecord:
    """An SMS as stored. ``direction`` 'in' (peer = sender) or 'out' (peer = recipient);
    ``text`` None with ``error`` set for a message that could not be decoded (raw kept)."""

    ts: float
    direction: Literal["in", "out"]
    modem: str
    peer: str | None
    text: str | None
    encoding: str = ""
    iccid: str | None = None
    imei: str | None = None
    sent_ts: str | None = None  # the SMSC timestamp, ISO 8601 with its zone
    smsc: str | None = None
    parts: int = 1
    missing: list[int] = field(default_factory=list)
    refs: list[int] = field(default_factory=list)
    status: str = ""
    error: str | None = None
    raw_pdus: list[str] = field(default_factory=list)
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SimUsage:
    iccid: str
    period: str
    calls: int = 0
    failed: int = 0
    seconds: float = 0.0
    sms: int = 0
    recipients: int = 0


@dataclass(frozen=True)
class OutboxMessage:
    id: str
    created_ts: float
    topic: str
    payload: dict[str, Any]


_CDR_COLUMNS: Final = (
    "id, call_id, start_ts, answer_ts, end_ts, caller, called, trunk, extension, direction, "
    "disposition, cause, route, wait_s, talk_s, legs, digits"
)


def _cdr_from_row(row: sqlite3.Row) -> Cdr:
    values = dict(row)
    values["legs"] = json.loads(values["legs"])
    return Cdr(**values)


def _dumps(value: Mapping[str, Any] | Sequence[Any] | None) -> str:
    return json.dumps({} if value is None else value, ensure_ascii=False, separators=(",", ":"))


class EventStore(CallbackRecords, PeriodReads):
    """SQLite event database. Open with ``EventStore.open(path)``.

    Callback and campaign rows: see ``firmware.store.callbacks.CallbackRecords``.
    """

    def __init__(self, conn: sqlite3.Connection, path: str, clock: Callable[[], float]) -> None:
        self._conn = conn
        self._path = path
        self._clock = clock
        self._tx_depth = 0

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> EventStore:
        """Open or create the database, switch it to WAL and apply pending migrations."""
        name = os.fspath(path)
        conn = sqlite3.connect(name, timeout=busy_timeout_s, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal" and name != ":memory:":
                raise StoreError(f"{name}: cannot switch the event database to WAL ({mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            try:
                migrate(conn, migrations)
            except StoreError as exc:
                raise type(exc)(f"{name}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return cls(conn, name, clock)

    @property
    def path(self) -> str:
        return self._path

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection, for diagnostics and tests; writers use the methods."""
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write transaction; nested blocks join the outer one."""
        if self._tx_depth:
            self._tx_depth += 1
            try:
                yield self._conn
            finally:
                self._tx_depth -= 1
            return
        self._conn.execute("BEGIN IMMEDIATE")
        self._tx_depth = 1
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            self._conn.execute("COMMIT")
        finally:
            self._tx_depth = 0

    # --- call records --------------------------------------------------------------------

    def add_cdr(self, cdr: Cdr, outbox_topic: str | None = None) -> int:
        """Record a call; with ``outbox_topic`` also queue it for the cloud, atomically.

        Returns the CDR's id. A ``call_id`` already recorded raises ``StoreError``.
        """
        with self.transaction() as conn:
            try:
                cursor = conn.execute(
                    "INSERT INTO cdr (call_id, start_ts, answer_ts, end_ts, caller, called, "
                    "trunk, extension, direction, disposition, cause, route, wait_s, talk_s, "
                    "legs, digits) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        cdr.call_id,
                        cdr.start_ts,
                        cdr.answer_ts,
                        cdr.end_ts,
                        cdr.caller,
                        cdr.called,
                        cdr.trunk,
                        cdr.extension,
                        cdr.direction,
                        cdr.disposition,
                        cdr.cause,
                        cdr.route,
                        cdr.wait_s,
                        cdr.talk_s,
                        _dumps(cdr.legs),
                        cdr.digits,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"CDR {cdr.call_id!r} not recorded: {exc}") from exc
            cdr_id = cursor.lastrowid
            assert cdr_id is not None
            if outbox_topic is not None:
                payload = cdr.to_json()
                payload["id"] = cdr_id
                self.add_outbox(outbox_topic, payload)
        return cdr_id

    def cdrs(
        self,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Cdr]:
        """CDRs that started in ``[since, until)``, newest first."""
        rows = self._conn.execute(
            f"SELECT {_CDR_COLUMNS} FROM cdr "
            "WHERE (?1 IS NULL OR start_ts >= ?1) AND (?2 IS NULL OR start_ts < ?2) "
            "ORDER BY start_ts DESC, id DESC LIMIT ?3 OFFSET ?4",
            (since, until, limit, offset),
        ).fetchall()
        return [_cdr_from_row(row) for row in rows]

    def cdr(self, call_id: str) -> Cdr | None:
        row = self._conn.execute(
            f"SELECT {_CDR_COLUMNS} FROM cdr WHERE call_id = ?", (call_id,)
        ).fetchone()
        return None if row is None else _cdr_from_row(row)

    # --- events and audit ----------------------------------------------------------------

    def log_event(
        self,
        kind: str,
        subject: str,
        data: Mapping[str, Any] | None = None,
        *,
        ts: float | None = None,
    ) -> int:
        """Append a queue, agent or system event; returns its id."""
        cursor = self._conn.execute(
            "INSERT INTO event_log (ts, kind, subject, data) VALUES (?, ?, ?, ?)",
            (self._clock() if ts is None else ts, kind, subject, _dumps(data)),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def events(
        self, kind: str | None = None, since: float | None = None, limit: int = 100
    ) -> list[Event]:
        """Events (of one ``kind`` if given) at or after ``since``, newest first."""
        rows = self._conn.execute(
            "SELECT id, ts, kind, subject, data FROM event_log "
            "WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR ts >= ?2) "
            "ORDER BY ts DESC, id DESC LIMIT ?3",
            (kind, since, limit),
        ).fetchall()
        return [
            Event(r["id"], r["ts"], r["kind"], r["subject"], json.loads(r["data"])) for r in rows
        ]

    def audit(self, actor: str, action: str, detail: Mapping[str, Any] | None = None) -> int:
        """Record who did what (sign-ins, configuration commits, factory reset...)."""
        cursor = self._conn.execute(
            "INSERT INTO audit (ts, actor, action, detail) VALUES (?, ?, ?, ?)",
            (self._clock(), actor, action, _dumps(detail)),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        """The audit log, newest first."""
        rows = self._conn.execute(
            "SELECT id, ts, actor, action, detail FROM audit ORDER BY ts DESC, id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            AuditEntry(r["id"], r["ts"], r["actor"], r["action"], json.loads(r["detail"]))
            for r in rows
        ]

    # --- SMS ----------------------------------------------------------------------------

    def add_sms(self, sms: SmsRecord, outbox_topic: str | None = None) -> int:
        """Store an SMS; with ``outbox_topic`` ("sms") queue it for the cloud in the same
        transaction. Returns its id."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO sms (ts, direction, modem, iccid, imei, peer, text, encoding, "
                "sent_ts, smsc, parts, missing, refs, status, error, raw_pdus) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sms.ts, sms.direction, sms.modem, sms.iccid, sms.imei, sms.peer, sms.text,
                 sms.encoding, sms.sent_ts, sms.smsc, sms.parts, _dumps(sms.missing),
                 _dumps(sms.refs), sms.status, sms.error, _dumps(sms.raw_pdus)),
            )
            sms_id = cursor.lastrowid
            assert sms_id is not None
            if outbox_topic is not None:
                payload = sms.to_json()
                payload["id"] = sms_id
                self.add_outbox(outbox_topic, payload)
        return sms_id

    def add_received_sms(self, sms: SmsRecord, keys: Sequence[tuple[str, str]],
                         outbox_topic: str | None = None) -> tuple[int, bool]:
        """Store a received SMS once: its ``keys`` (identity, digest per raw PDU — see
        ``drivers.gsm.sms.ReceivedSms.keys``) are written in the same transaction as the
        message (and its outbox entry).  A message all of whose keys are known was stored
        before: nothing is written and ``(id of the earlier record, False)`` comes back;
        else ``(id, True)`` — a message with any new PDU is stored."""
        wanted = set(keys)
        with self.transaction() as conn:
            known = [conn.execute(
                "SELECT sms_id FROM sms_received WHERE identity = ? AND digest = ?",
                key).fetchone() for key in wanted]
            if wanted and all(row is not None for row in known):
                return int(known[0]["sms_id"]), False
            sms_id = self.add_sms(sms, outbox_topic)  # joins this transaction
            conn.executemany(
                "INSERT OR IGNORE INTO sms_received (identity, digest, sms_id, ts) "
                "VALUES (?, ?, ?, ?)",
                [(identity, digest, sms_id, sms.ts) for identity, digest in sorted(wanted)])
        return sms_id, True

    def prune_received_sms_keys(self, before: float) -> int:
        """Forget the exactly-once keys of messages received before ``before``: a key only
        guards a PDU that may still be in a module's memory, and the box deletes each PDU
        once stored and sweeps the memory at every start. The messages stay. Returns how
        many keys went."""
        with self.transaction() as conn:
            cursor = conn.execute("DELETE FROM sms_received WHERE ts < ?", (before,))
        return cursor.rowcount

    def set_sms_status(self, sms_id: int, status: str) -> bool:
        """Update a sent message's delivery status (from its status reports)."""
        cursor = self._conn.execute("UPDATE sms SET status = ? WHERE id = ?", (status, sms_id))
        return cursor.rowcount > 0

    def sms(self, since: float | None = None, iccid: str | None = None,
            limit: int = 100, direction: str | None = None) -> list[SmsRecord]:
        """Messages at or after ``since`` (of one SIM, one direction if given), newest
        first."""
        rows = self._conn.execute(
            "SELECT * FROM sms WHERE (?1 IS NULL OR ts >= ?1) AND (?2 IS NULL OR iccid = ?2) "
            "AND (?4 IS NULL OR direction = ?4) ORDER BY ts DESC, id DESC LIMIT ?3",
            (since, iccid, limit, direction),
        ).fetchall()
        out = []
        for row in rows:
            values = dict(row)
            for key in ("missing", "refs", "raw_pdus"):
                values[key] = json.loads(values[key])
            out.append(SmsRecord(**values))
        return out

    # Parts of long messages received directly, awaiting their siblings (the part store of
    # drivers.gsm.sms.SmsService).
    def save_sms_part(self, modem: str, pdu: str, ts: float) -> None:
        self._conn.execute("INSERT OR IGNORE INTO sms_parts (modem, pdu, ts) VALUES (?, ?, ?)",
                           (modem, pdu, ts))

    def drop_sms_parts(self, modem: str, pdus: Sequence[str]) -> None:
        with self.transaction() as conn:
            conn.executemany("DELETE FROM sms_parts WHERE modem = ? AND pdu = ?",
                             [(modem, p) for p in pdus])

    def sms_parts(self, modem: str) -> list[tuple[str, float]]:
        rows = self._conn.execute(
            "SELECT pdu, ts FROM sms_parts WHERE modem = ? ORDER BY ts", (modem,)).fetchall()
        return [(str(r["pdu"]), float(r["ts"])) for r in rows]

    # --- SIM trunk usage ------------------------------------------------------------------

    def add_sim_usage(self, iccid: str, periods: Sequence[str], *, calls: int = 0,
                      failed: int = 0, seconds: float = 0.0, sms: int = 0,
                      recipient: str | None = None) -> None:
        """Add to a SIM's counters for each of ``periods`` (its day and its month)."""
        with self.transaction() as conn:
            for period in periods:
                conn.execute(
                    "INSERT INTO sim_usage (iccid, period, calls, failed, seconds, sms) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (iccid, period) DO UPDATE SET "
                    "calls = calls + excluded.calls, failed = failed + excluded.failed, "
                    "seconds = seconds + excluded.seconds, sms = sms + excluded.sms",
                    (iccid, period, calls, failed, seconds, sms),
                )
                if recipient is not None:
                    conn.execute(
                        "INSERT OR IGNORE INTO sim_sms_recipient (iccid, period, recipient) "
                        "VALUES (?, ?, ?)", (iccid, period, recipient))

    def sim_usage(self, iccid: str, period: str) -> SimUsage:
        row = self._conn.execute(
            "SELECT calls, failed, seconds, sms FROM sim_usage WHERE iccid = ? AND period = ?",
            (iccid, period),
        ).fetchone()
        recipients = self._conn.execute(
            "SELECT COUNT(*) FROM sim_sms_recipient WHERE iccid = ? AND period = ?",
            (iccid, period),
        ).fetchone()[0]
        if row is None:
            return SimUsage(iccid, period, recipients=int(recipients))
        return SimUsage(iccid, period, int(row["calls"]), int(row["failed"]),
                        float(row["seconds"]), int(row["sms"]), int(recipients))

    def sim_known_recipient(self, iccid: str, period: str, recipient: str) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM sim_sms_recipient WHERE iccid = ? AND period = ? AND recipient = ?",
            (iccid, period, recipient),
        ).fetchone()
        return row is not None

    def sim_state(self, iccid: str) -> dict[str, Any]:
        row = self._conn.execute(
            "SELECT disabled_until, disabled_why, balance, balance_ts FROM sim_state "
            "WHERE iccid = ?", (iccid,)).fetchone()
        return {} if row is None else dict(row)

    def set_sim_state(self, iccid: str, **values: Any) -> None:
        """Set some of disabled_until, disabled_why, balance, balance_ts for a SIM."""
        allowed = {"disabled_until", "disabled_why", "balance", "balance_ts"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"unknown SIM state field(s): {sorted(unknown)}")
        current = {k: None for k in sorted(allowed)} | self.sim_state(iccid) | values
        self._conn.execute(
            "INSERT OR REPLACE INTO sim_state (iccid, disabled_until, disabled_why, balance, "
            "balance_ts) VALUES (?, ?, ?, ?, ?)",
            (iccid, current["disabled_until"], current["disabled_why"], current["balance"],
             current["balance_ts"]),
        )
    # --- ACD queue event log -------------------------------------------------------------

    def add_queue_events(self, events: Iterable[QueueEvent]) -> int:
        """Append queue event log records (in log order) atomically; returns the count."""
        rows = [tuple(event) for event in events]
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO queue_events (ts, kind, queue, caller, agent, value, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def queue_events(
        self,
        since: float | None = None,
        until: float | None = None,
        *,
        queue: str | None = None,
        agent: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
    ) -> list[QueueEvent]:
        """Queue events with ``ts`` in ``[since, until)``, in log order (oldest first).

        For KPIs of a period fold the whole log up to its end (``until=end``, no
        ``since``) so that calls in progress at the start are known; see
        ``firmware.acd.kpi``.
        """
        rows = self._conn.execute(
            "SELECT ts, kind, queue, caller, agent, value, detail FROM queue_events "
            "WHERE (?1 IS NULL OR ts >= ?1) AND (?2 IS NULL OR ts < ?2) "
            "AND (?3 IS NULL OR queue = ?3) AND (?4 IS NULL OR agent = ?4) "
            "AND (?5 IS NULL OR kind = ?5) ORDER BY id LIMIT ?6",
            (since, until, queue, agent, kind, -1 if limit is None else limit),
        ).fetchall()
        return [QueueEvent(*row) for row in rows]

    # --- cloud outbox --------------------------------------------------------------------

    def add_outbox(self, topic: str, payload: Mapping[str, Any]) -> str:
        """Queue a message for the cloud; call inside ``transaction()`` with its record."""
        message_id = str(uuid.uuid4())
        self._conn.execute(
            "INSERT INTO outbox (id, created_ts, topic, payload) VALUES (?, ?, ?, ?)",
            (message_id, self._clock(), topic, _dumps(payload)),
        )
        return message_id

    def outbox_pending(self, limit: int = 100) -> list[OutboxMessage]:
        """Messages not yet acknowledged by the cloud, oldest first."""
        rows = self._conn.execute(
            "SELECT id, created_ts, topic, payload FROM outbox ORDER BY created_ts, rowid LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            OutboxMessage(r["id"], r["created_ts"], r["topic"], json.loads(r["payload"]))
            for r in rows
        ]

    def outbox_ack(self, message_id: str) -> bool:
        """Delete an acknowledged message; False if it was already gone."""
        cursor = self._conn.execute("DELETE FROM outbox WHERE id = ?", (message_id,))
        return cursor.rowcount > 0

    # --- lifetime ------------------------------------------------------------------------

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
