"""Child process of the callback SIGKILL test: takes requests and dials until it is killed.

Usage: python callback_crash_child.py PATH SEED

Runs a real CallbackEngine on the event store at PATH with the wall clock and very short
retry intervals. It prints, each line flushed at once:

- ``ready``                          after ``recover()`` settled the previous life's dials;
- ``created JOB NUMBER``             when a missed-call request returned (acknowledged);
- ``dial JOB ATTEMPT STARTED``       when a DialCallback left the engine: the moment a real
                                     box would start dialling (a side effect to audit);
- ``outcome JOB ATTEMPT KIND``       when a final outcome was fed back.

Dials stay "in the air" for a few loop turns before their outcome, so kills land in every
phase: during a request, during a claim, while dialling, while recording an outcome. The
jobs are connected to a queue: the child plays an ACD with a free agent, so a job's place
(``EnqueueCallback``) reaches its turn at once (``turn_reached``).
"""

from __future__ import annotations

import random
import sys
import time
from typing import Any

from firmware.callback import (
    CallbackEngine,
    CallbackSettings,
    ConfigTrunkAdvisor,
    DialCallback,
    DialOutcome,
    EnqueueCallback,
)
from firmware.store import EventStore

INTERVALS = {"busy": 0.05, "no_answer": 0.08, "failed": 0.03, "interrupted": 0.25}
MAX_ATTEMPTS = 4
MAX_LOOPS = 200_000  # a safety stop if the parent never kills us


def document() -> dict[str, Any]:
    return {
        "system": {"country": "RU", "timezone": "UTC"},
        "trunks": [{"id": "gsm1", "port": "gsm1", "enabled": True, "max_concurrent": 1}],
        "queues": [{"id": "sales", "name": "Sales"}],
        "callback": {
            "max_concurrent": 3,
            "dedup_window_s": 0,
            "daily_limit": 0,
            "retry": {"max_attempts": MAX_ATTEMPTS,
                      **{k: [v] for k, v in INTERVALS.items()}},
            "missed": {"enabled": True, "queue": "sales"},
        },
    }


def main(path: str, seed: int) -> None:
    rng = random.Random(seed)
    doc = document()
    store = EventStore.open(path)
    engine = CallbackEngine(store, CallbackSettings.from_document(doc), ConfigTrunkAdvisor(doc))
    engine.recover(time.time())
    print("ready", flush=True)
    in_air: list[tuple[DialCallback, int]] = []
    base = store.connection.execute("SELECT count(*) FROM callback_jobs").fetchone()[0]
    for loop in range(MAX_LOOPS):
        now = time.time()
        if rng.random() < 0.3:
            # a few numbers repeat, so merges happen too
            n = base + loop if rng.random() < 0.8 else rng.randrange(max(base + loop, 1))
            submitted = engine.missed_call(f"+7916{n:07d}", now)
            if submitted.result == "created":
                assert submitted.job is not None
                print(f"created {submitted.job.id} {submitted.job.number}", flush=True)
        engine.on_timer(now)
        commands = engine.drain()
        for command in list(commands):
            if isinstance(command, EnqueueCallback):
                engine.turn_reached(command.job_id, "agent", now)
                commands += engine.drain()
        for command in commands:
            if isinstance(command, DialCallback):
                print(f"dial {command.job_id} {command.attempt} {now!r}", flush=True)
                in_air.append((command, rng.randrange(1, 6)))
        still: list[tuple[DialCallback, int]] = []
        for dial, turns in in_air:
            if turns > 1:
                still.append((dial, turns - 1))
                continue
            kind = rng.choice(["connected", "busy", "busy", "no_answer", "failed"])
            engine.on_outcome(DialOutcome(dial.job_id, dial.attempt, kind, time.time()))
            print(f"outcome {dial.job_id} {dial.attempt} {kind}", flush=True)
        in_air = still
        time.sleep(0.002)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
