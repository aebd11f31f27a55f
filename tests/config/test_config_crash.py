"""Acceptance: a configuration commit survives SIGKILL at any moment.

A child process commits revisions in a loop and prints each one acknowledged; the parent
kills it with SIGKILL after a random delay, reopens the file and checks that it loads,
validates, holds the last acknowledged revision or the one in flight, and that every kept
revision has exactly the content it was committed with. Many rounds on the same file.
"""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

from firmware.config import ConfigStore, validate_document

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHILD = HERE / "config_crash_child.py"
ROUNDS = 30
MAX_DELAY_S = 0.150


def load_child() -> ModuleType:
    spec = importlib.util.spec_from_file_location("config_crash_child", CHILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_and_kill(path: Path, delay_s: float) -> tuple[int, int]:
    """Start the child, kill it ``delay_s`` after it is ready: (ready rev, last acked rev)."""
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
    # Only whole lines are acknowledgements.
    acked = [int(line) for line in rest.split("\n")[:-1]]
    assert acked == list(range(ready + 1, ready + 1 + len(acked))), "revisions must be consecutive"
    return ready, acked[-1] if acked else ready


def test_commits_survive_sigkill(tmp_path: Path) -> None:
    child = load_child()
    path = tmp_path / "config.json"
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    seed_note = f"rng state {rng.getstate()[1][0]}"
    total_acked = 0
    in_flight_landed = 0
    for round_no in range(ROUNDS):
        ready, last_acked = run_and_kill(path, rng.uniform(0.0, MAX_DELAY_S))
        total_acked += last_acked - ready
        with ConfigStore.open(path, child.PORTS, keep=child.KEEP) as store:
            rev = store.revision
            where = (
                f"round {round_no}: ready {ready}, acked {last_acked}, on disk {rev} ({seed_note})"
            )
            assert last_acked <= rev <= last_acked + 1, where
            in_flight_landed += rev - last_acked
            if rev == 0:
                assert store.is_empty, where
                continue
            current = store.current
            validate_document(current, child.PORTS)
            assert current == child.document_for(rev), where
            kept = [r["rev"] for r in store.revisions()]
            assert kept == list(range(rev, max(0, rev - child.KEEP), -1)), where
            for old in kept:
                assert store.get_revision(old) == child.document_for(old), where
        # the leftovers of a kill mid-write are cleaned up on open
        assert [p.name for p in tmp_path.iterdir()] == ["config.json"], where
    assert total_acked > ROUNDS, "the child should have committed many revisions"
    print(
        f"{ROUNDS} kills, {total_acked} acknowledged commits, {in_flight_landed} in flight landed"
    )
