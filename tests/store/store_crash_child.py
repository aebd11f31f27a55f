"""Child process of the event store SIGKILL test: records CDRs until it is killed.

Usage: python store_crash_child.py PATH

Prints ``ready N`` (N = CDRs already recorded), then the sequence number of every CDR whose
add_cdr() has returned (each with its outbox message), flushed at once.
"""

from __future__ import annotations

import sys

from firmware.store import Cdr, EventStore

MAX_RECORDS = 200_000


def cdr_for(n: int) -> Cdr:
    return Cdr(
        call_id=f"call-{n}",
        start_ts=1_700_000_000.0 + n,
        end_ts=1_700_000_030.0 + n,
        caller=f"8916{n:07d}",
        called="101",
        direction="inbound",
        disposition="answered" if n % 3 else "no_answer",
        cause=16,
        trunk="gsm1",
        legs=[{"n": n, "pad": "x" * (n % 500)}],
        digits=str(n % 10),
    )


def main(path: str) -> None:
    store = EventStore.open(path)
    start = store.connection.execute("SELECT count(*) FROM cdr").fetchone()[0]
    print(f"ready {start}", flush=True)
    for n in range(start, MAX_RECORDS):
        store.add_cdr(cdr_for(n), outbox_topic="cdr")
        print(n, flush=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1])
