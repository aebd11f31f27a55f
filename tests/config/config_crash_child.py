"""Child process of the config SIGKILL test: commits revisions until it is killed.

Usage: python config_crash_child.py PATH

Prints ``ready REV`` once the store is open, then the number of every revision whose
commit() has returned, flushed at once: a printed revision is an acknowledged one.
The document of revision N is ``document_for(N)``, so the parent can check content.
"""

from __future__ import annotations

import sys
from typing import Any

from firmware.config import ConfigStore, default_document

PORTS = frozenset(
    {"fxs1", "fxs2", "fxs3", "fxs4", "fxo1", "fxo2", "gsm1", "gsm2"}
    | {f"e1.{n}" for n in range(1, 31)}
)
KEEP = 10
MAX_COMMITS = 5000  # a safety stop if the parent never kills us


def document_for(rev: int) -> dict[str, Any]:
    """A valid document that is a deterministic function of ``rev``, of varying size."""
    doc = default_document(PORTS, name=f"revision {rev}")
    extra = (rev * 7919) % 150  # 0..149 extra extensions: a few hundred bytes to ~20 kB
    doc["extensions"] += [
        {"number": str(2000 + i), "name": f"r{rev} e{i}", "port": None, "enabled": i % 2 == 0}
        for i in range(extra)
    ]
    doc["ring_groups"] = [
        {
            "id": "everyone",
            "name": f"rev {rev}",
            "strategy": "ringall" if rev % 2 else "sequential",
            "members": [e["number"] for e in doc["extensions"][: 1 + rev % 5]],
        }
    ]
    return doc


def main(path: str) -> None:
    store = ConfigStore.open(path, PORTS, keep=KEEP)
    print(f"ready {store.revision}", flush=True)
    for _ in range(MAX_COMMITS):
        rev = store.revision + 1
        committed = store.commit(document_for(rev), "crash-test", f"rev {rev}")
        print(committed, flush=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1])
