"""EventStore: migrations, CDR round trip, time filtering, events, audit, outbox, WAL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware.store import (
    MIGRATIONS,
    Cdr,
    EventStore,
    Migration,
    MigrationError,
    SchemaTooNewError,
    StoreError,
    migrate,
    schema_version,
)
from firmware.store.migrations import split_statements


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[EventStore]:
    with EventStore.open(tmp_path / "events.db", clock=clock) as opened:
        yield opened


def make_cdr(n: int, start: float = 1000.0, **changes: object) -> Cdr:
    values: dict[str, object] = {
        "call_id": f"call-{n}",
        "start_ts": start,
        "answer_ts": start + 3.5,
        "end_ts": start + 63.5,
        "caller": "89161234567",
        "called": "4950001",
        "trunk": "gsm1",
        "extension": "101",
        "direction": "inbound",
        "disposition": "answered",
        "cause": 16,
        "route": "GSM in",
        "wait_s": 3.5,
        "talk_s": 60.0,
        "legs": [{"channel": "gsm1", "role": "caller"}, {"channel": "fxs1", "role": "callee"}],
        "digits": "1#",
    }
    values.update(changes)
    return Cdr(**values)  # type: ignore[arg-type]


def connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


# --- migrations ----------------------------------------------------------------------------


def test_migrates_an_empty_database(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    with EventStore.open(path) as store:
        assert schema_version(store.connection) == len(MIGRATIONS)
        tables = {
            r[0]
            for r in store.connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        assert {"cdr", "event_log", "audit", "outbox"} <= tables
    with EventStore.open(path) as store:  # reopening applies nothing twice
        assert schema_version(store.connection) == len(MIGRATIONS)


def test_migrates_from_an_older_version_keeping_rows(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    with EventStore.open(path, migrations=MIGRATIONS[:1]) as store:
        store.add_cdr(make_cdr(1))
    v2 = Migration(
        2,
        "sms",
        """
        CREATE TABLE sms (id INTEGER PRIMARY KEY, ts REAL NOT NULL, peer TEXT NOT NULL);
        -- a trigger's body has semicolons of its own
        CREATE TRIGGER sms_audit AFTER INSERT ON sms BEGIN
            INSERT INTO audit (ts, actor, action) VALUES (new.ts, 'gsm', 'sms');
        END;
        """,
    )

    def v3(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE cdr ADD COLUMN recording TEXT")
        conn.execute("UPDATE cdr SET recording = 'none'")

    migrations = [*MIGRATIONS[:1], v2, Migration(3, "recordings", v3)]
    with EventStore.open(path, migrations=migrations) as store:
        conn = store.connection
        assert schema_version(conn) == 3
        assert store.cdr("call-1") == make_cdr(1, id=1)
        assert conn.execute("SELECT recording FROM cdr").fetchall()[0][0] == "none"
        conn.execute("INSERT INTO sms (ts, peer) VALUES (5, '+7916')")
        assert [e.action for e in store.audit_log()] == ["sms"]


def test_failed_migration_rolls_back_to_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    with EventStore.open(path) as store:
        store.add_cdr(make_cdr(1))
    nxt = len(MIGRATIONS) + 1
    broken = Migration(
        nxt,
        "half done",
        "CREATE TABLE half (id INTEGER PRIMARY KEY);\nINSERT INTO nowhere VALUES (1);",
    )
    with pytest.raises(MigrationError, match=rf"migration {nxt} \(half done\) failed: no such"):
        EventStore.open(path, migrations=[*MIGRATIONS, broken])
    conn = connect(path)
    try:
        assert schema_version(conn) == len(MIGRATIONS)
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE name = 'half'")]
        assert names == []
    finally:
        conn.close()


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    EventStore.open(path).close()
    conn = connect(path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    with pytest.raises(SchemaTooNewError, match="schema version 7 is newer than this firmware"):
        EventStore.open(path)


def test_migrations_must_be_numbered_in_order() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        with pytest.raises(ValueError, match="numbered 1, 2, 3"):
            migrate(conn, [Migration(2, "skips one", "SELECT 1;")])
    finally:
        conn.close()


def test_split_statements() -> None:
    script = "CREATE TABLE a (x);\n-- note\nINSERT INTO a VALUES ('x;y');\n"
    assert list(split_statements(script)) == [
        "CREATE TABLE a (x);",
        "-- note\nINSERT INTO a VALUES ('x;y');",
    ]
    with pytest.raises(ValueError, match="incomplete SQL"):
        list(split_statements("CREATE TABLE a (x)"))


# --- pragmas -------------------------------------------------------------------------------


def test_wal_and_pragmas(store: EventStore) -> None:
    conn = store.connection
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


# --- call records --------------------------------------------------------------------------


def test_cdr_round_trip(store: EventStore) -> None:
    cdr = make_cdr(1)
    cdr_id = store.add_cdr(cdr)
    assert store.cdr("call-1") == make_cdr(1, id=cdr_id)
    assert store.cdr("nope") is None
    missed = make_cdr(
        2, answer_ts=None, disposition="no_answer", talk_s=0.0, legs=[], digits="", route=None
    )
    store.add_cdr(missed)
    got = store.cdr("call-2")
    assert got is not None and got.answer_ts is None and got.legs == [] and got.route is None


def test_duplicate_call_id_is_refused(store: EventStore) -> None:
    store.add_cdr(make_cdr(1))
    with pytest.raises(StoreError, match="CDR 'call-1' not recorded"):
        store.add_cdr(make_cdr(1))
    assert len(store.cdrs()) == 1


def test_cdr_rejects_unknown_direction_and_disposition() -> None:
    with pytest.raises(ValueError, match="unknown direction 'sideways'"):
        make_cdr(1, direction="sideways")
    with pytest.raises(ValueError, match="unknown disposition 'lost'"):
        make_cdr(1, disposition="lost")


def test_cdrs_time_filter_newest_first_and_paging(store: EventStore) -> None:
    for n in range(10):
        store.add_cdr(make_cdr(n, start=1000.0 + 10 * n))
    ids = [c.call_id for c in store.cdrs()]
    assert ids == [f"call-{n}" for n in range(9, -1, -1)]
    window = store.cdrs(since=1020.0, until=1060.0)  # since inclusive, until exclusive
    assert [c.call_id for c in window] == ["call-5", "call-4", "call-3", "call-2"]
    assert [c.call_id for c in store.cdrs(since=1085.0)] == ["call-9"]
    assert [c.call_id for c in store.cdrs(until=1010.0)] == ["call-0"]
    page = store.cdrs(limit=3, offset=3)
    assert [c.call_id for c in page] == ["call-6", "call-5", "call-4"]


def test_cdr_query_uses_the_start_index(store: EventStore) -> None:
    plan = store.connection.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM cdr WHERE start_ts >= 1 AND start_ts < 2 "
        "ORDER BY start_ts DESC"
    ).fetchall()
    assert any("cdr_start_ts" in row[3] for row in plan)


def test_cdr_and_outbox_in_one_transaction(store: EventStore, clock: FakeClock) -> None:
    cdr_id = store.add_cdr(make_cdr(1), outbox_topic="edgepbx/box1/cdr")
    pending = store.outbox_pending()
    assert len(pending) == 1
    message = pending[0]
    assert message.topic == "edgepbx/box1/cdr"
    assert message.created_ts == clock.now
    assert message.payload["call_id"] == "call-1" and message.payload["id"] == cdr_id
    assert store.outbox_ack(message.id) is True
    assert store.outbox_ack(message.id) is False
    assert store.outbox_pending() == []
    # a CDR that cannot be recorded leaves no orphan outbox message
    with pytest.raises(StoreError):
        store.add_cdr(make_cdr(1), outbox_topic="edgepbx/box1/cdr")
    assert store.outbox_pending() == []


def test_transaction_rolls_back_everything(store: EventStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.add_cdr(make_cdr(1), outbox_topic="t")  # joins the outer transaction
        store.log_event("queue.join", "support", {"caller": "8916"})
        raise RuntimeError("abandon")
    assert store.cdrs() == [] and store.events() == [] and store.outbox_pending() == []


# --- events and audit ----------------------------------------------------------------------


def test_events_filter_by_kind_and_time(store: EventStore, clock: FakeClock) -> None:
    store.log_event("agent.login", "101", {"queue": "support"})
    clock.now += 60
    store.log_event("queue.join", "support", {"caller": "89161234567", "position": 1})
    store.log_event("agent.logout", "101", ts=clock.now + 1)
    assert [e.kind for e in store.events()] == ["agent.logout", "queue.join", "agent.login"]
    joined = store.events(kind="queue.join")
    assert len(joined) == 1
    assert joined[0].subject == "support"
    assert joined[0].data == {"caller": "89161234567", "position": 1}
    assert [e.kind for e in store.events(since=clock.now)] == ["agent.logout", "queue.join"]
    assert store.events(limit=1)[0].data == {}


def test_audit_log(store: EventStore, clock: FakeClock) -> None:
    store.audit("admin", "config.commit", {"rev": 7})
    clock.now += 1
    store.audit("tech", "console.login")
    log = store.audit_log()
    assert [(e.actor, e.action, e.detail) for e in log] == [
        ("tech", "console.login", {}),
        ("admin", "config.commit", {"rev": 7}),
    ]
    assert len(store.audit_log(limit=1)) == 1


def test_sms_is_stored_with_its_outbox_row_and_raw_pdus(tmp_path: Path) -> None:
    from firmware.store import SmsRecord

    with EventStore.open(tmp_path / "events.db", clock=lambda: 1000.0) as store:
        good = SmsRecord(ts=1.0, direction="in", modem="gsm1", peer="+447700900999",
                         text="hello 😀", encoding="ucs2", iccid="8944", raw_pdus=["0011"])
        raw = SmsRecord(ts=2.0, direction="in", modem="gsm1", peer=None, text=None,
                        error="truncated PDU", raw_pdus=["00DEAD"])
        first = store.add_sms(good, outbox_topic="sms")
        store.add_sms(raw, outbox_topic="sms")
        assert [m.topic for m in store.outbox_pending()] == ["sms", "sms"]
        assert store.outbox_pending()[0].payload["id"] == first
        rows = store.sms()
        assert [r.text for r in rows] == [None, "hello 😀"]
        assert rows[0].raw_pdus == ["00DEAD"] and rows[0].error == "truncated PDU"
        assert store.set_sms_status(first, "delivered")
        assert store.sms(iccid="8944")[0].status == "delivered"


def test_sim_usage_counters_and_state(tmp_path: Path) -> None:
    with EventStore.open(tmp_path / "events.db") as store:
        store.add_sim_usage("8944", ["D:2024-05-17", "M:2024-05"], calls=1, seconds=61.5)
        store.add_sim_usage("8944", ["D:2024-05-17", "M:2024-05"], sms=1, recipient="+1")
        store.add_sim_usage("8944", ["D:2024-05-17", "M:2024-05"], sms=1, recipient="+1")
        usage = store.sim_usage("8944", "M:2024-05")
        assert (usage.calls, usage.seconds, usage.sms, usage.recipients) == (1, 61.5, 2, 1)
        assert store.sim_usage("8944", "M:2024-06").calls == 0
        store.set_sim_state("8944", disabled_until=5.0, disabled_why="minutes")
        store.set_sim_state("8944", balance="12.34")
        assert store.sim_state("8944")["disabled_until"] == 5.0
        assert store.sim_state("8944")["balance"] == "12.34"


def test_received_sms_keys_expire_and_the_messages_stay(tmp_path: Path) -> None:
    from firmware.store import SmsRecord

    def received(ts: float, pdu: str) -> SmsRecord:
        return SmsRecord(ts=ts, direction="in", modem="gsm1", peer="+447700900999",
                         text=pdu, iccid="8944", raw_pdus=[pdu])

    with EventStore.open(tmp_path / "events.db") as store:
        old, new = received(1000.0, "0011"), received(5000.0, "0022")
        assert store.add_received_sms(old, [("8944", "a")])[1]
        assert store.add_received_sms(new, [("8944", "b")])[1]
        assert not store.add_received_sms(old, [("8944", "a")])[1]   # known: not again
        assert store.prune_received_sms_keys(before=3000.0) == 1
        assert store.prune_received_sms_keys(before=3000.0) == 0
        assert not store.add_received_sms(new, [("8944", "b")])[1]   # the newer still known
        assert [m.text for m in store.sms()] == ["0022", "0011"]     # no message went
        assert store.add_received_sms(old, [("8944", "a")])[1]       # its key forgotten
