"""An event store killed with SIGKILL mid-inserts keeps every acknowledged row."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

from firmware.store import EventStore

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHILD = HERE / "store_crash_child.py"
ROUNDS = 10


def load_child() -> ModuleType:
    spec = importlib.util.spec_from_file_location("store_crash_child", CHILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_and_kill(path: Path, delay_s: float) -> tuple[int, int]:
    """(records before this round, last acknowledged sequence number or -1)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with subprocess.Popen(
        [sys.executable, str(CHILD), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        first = child.stdout.readline()
        if not first.startswith("ready "):
            child.kill()
            child.wait()
            raise AssertionError(f"child failed to start: {first!r} {child.stderr.read()}")
        ready = int(first.split()[1])
        time.sleep(delay_s)
        child.send_signal(signal.SIGKILL)
        child.wait()
        rest = child.stdout.read()
        errors = child.stderr.read()
    assert child.returncode == -signal.SIGKILL, errors
    acked = [int(line) for line in rest.split("\n")[:-1]]
    assert acked == list(range(ready, ready + len(acked)))
    return ready, acked[-1] if acked else ready - 1


def test_acknowledged_rows_survive_sigkill(tmp_path: Path) -> None:
    child = load_child()
    path = tmp_path / "events.db"
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    total = 0
    for round_no in range(ROUNDS):
        ready, last = run_and_kill(path, rng.uniform(0.0, 0.15))
        total += last + 1 - ready
        with EventStore.open(path) as store:
            conn = store.connection
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            count = conn.execute("SELECT count(*) FROM cdr").fetchone()[0]
            where = f"round {round_no}: ready {ready}, acked up to {last}, rows {count}"
            # every acknowledged row, plus perhaps the one in flight
            assert last + 1 <= count <= last + 2, where
            # the outbox message went in the same transaction as its CDR
            assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == count, where
            for n in rng.sample(range(count), min(count, 20)) + [count - 1] * bool(count):
                expected = dataclasses.replace(child.cdr_for(n), id=n + 1)
                assert store.cdr(f"call-{n}") == expected, where
    assert total > ROUNDS, "the child should have recorded many rows"
    print(f"{ROUNDS} kills, {total} acknowledged CDRs")
