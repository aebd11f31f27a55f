"""Acceptance: callback jobs survive SIGKILL at any moment; none is lost, none dialled twice.

A child process (callback_crash_child.py) takes missed-call requests and dials them with a
real engine on a real event store, printing every acknowledged request and every dial the
moment it leaves the engine. The parent kills it with SIGKILL at random moments, many times
over the same database, and after every kill checks:

- no job lost: every acknowledged request is in the database;
- claim before dial: every printed dial has its attempt row, with the same start time;
- none dialled twice: no (job, attempt) was ever dialled twice over all lives, attempts of
  a job are numbered 1, 2, 3... with no gap in the database, never more than the policy's
  maximum, and after an attempt the next one started no earlier than the retry interval of
  its outcome (for an attempt cut by the kill: the "interrupted" interval after restart);
- one open job per number, and the outbox holds exactly one message per job created and
  one per attempt ended (the same transactions);
- the database passes ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType

from firmware.store import EventStore

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHILD = HERE / "callback_crash_child.py"
ROUNDS = 16
MAX_DELAY_S = 0.4


def load_child() -> ModuleType:
    spec = importlib.util.spec_from_file_location("callback_crash_child", CHILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_and_kill(path: Path, seed: int, delay_s: float) -> list[list[str]]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with subprocess.Popen(
        [sys.executable, str(CHILD), str(path), str(seed)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        first = child.stdout.readline()
        if first != "ready\n":
            child.kill()
            child.wait()
            raise AssertionError(f"child failed to start: {first!r} {child.stderr.read()}")
        time.sleep(delay_s)
        child.send_signal(signal.SIGKILL)
        child.wait()
        rest = child.stdout.read()
        errors = child.stderr.read()
    assert child.returncode == -signal.SIGKILL, errors
    return [line.split() for line in rest.split("\n")[:-1]]  # whole lines only


def test_no_job_lost_and_none_dialled_twice_across_sigkills(tmp_path: Path) -> None:
    child = load_child()
    path = tmp_path / "events.db"
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    created: dict[str, str] = {}
    dialled: Counter[tuple[str, int]] = Counter()
    dial_ts: dict[tuple[str, int], float] = {}
    kills_while_dialling = 0
    for round_no in range(ROUNDS):
        seed = rng.randrange(1 << 30)
        lines = run_and_kill(path, seed, rng.uniform(0.02, MAX_DELAY_S))
        for words in lines:
            if words[0] == "created":
                created[words[1]] = words[2]
            elif words[0] == "dial":
                key = (words[1], int(words[2]))
                dialled[key] += 1
                dial_ts[key] = float(words[3])
        where = f"round {round_no} (seed {seed})"
        with EventStore.open(path) as store:
            conn = store.connection
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", where
            jobs = {j.id: j for j in store.callback_jobs()}
            attempts = store.callback_attempts()
            kills_while_dialling += sum(a.outcome is None for a in attempts)
            # no job lost
            missing = set(created) - set(jobs)
            assert not missing, f"{where}: acknowledged jobs lost: {sorted(missing)[:5]}"
            # claim before dial, and never the same dial twice
            by_key = {(a.job_id, a.attempt): a for a in attempts}
            twice = [k for k, n in dialled.items() if n > 1]
            assert not twice, f"{where}: dialled twice: {twice[:5]}"
            for key, ts in dial_ts.items():
                assert key in by_key, f"{where}: dial {key} has no claimed attempt"
                assert by_key[key].started_ts == ts, where
            per_job: dict[str, list] = {}
            for a in attempts:
                per_job.setdefault(a.job_id, []).append(a)
            for job_id, rows in per_job.items():
                rows.sort(key=lambda a: a.attempt)
                assert [a.attempt for a in rows] == list(range(1, len(rows) + 1)), where
                assert len(rows) <= child.MAX_ATTEMPTS, where
                assert jobs[job_id].attempts == len(rows), where
                for prev, nxt in zip(rows, rows[1:], strict=False):
                    assert prev.outcome is not None and prev.ended_ts is not None, where
                    interval = child.INTERVALS[prev.outcome]
                    assert nxt.started_ts >= prev.ended_ts + interval - 1e-6, (
                        f"{where}: {job_id} attempt {nxt.attempt} started "
                        f"{nxt.started_ts - prev.ended_ts:.3f}s after a {prev.outcome}")
                    if prev.outcome == "interrupted":
                        assert (job_id, prev.attempt) not in dialled or \
                            dial_ts[(job_id, prev.attempt)] < prev.ended_ts, where
            # one open job per number
            open_numbers = Counter(j.number for j in jobs.values() if j.is_open)
            assert max(open_numbers.values(), default=0) <= 1, where
            # outbox written in the same transactions as the rows
            events = Counter(m.payload["event"] for m in store.outbox_pending(limit=10**6))
            assert events["created"] == len(jobs), where
            ended = sum(a.outcome is not None for a in attempts)
            assert events["attempt"] == ended, where
    assert len(created) > ROUNDS and len(dialled) > ROUNDS, "the child should have worked"
    print(f"{ROUNDS} kills: {len(created)} jobs, {len(dialled)} dials, "
          f"{kills_while_dialling} kills with a dial in the air")
