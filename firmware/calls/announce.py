"""What a waiting caller is told: "you are caller number N; expected wait M minutes".

Owns the composition of the periodic queue announcement from prompts, as one stretch of
audio the queue adapter (firmware/calls/queues.py) plays on the caller's leg, so that an
agent answering stops it at once like any prompt (no dead air while it finishes).

Decisions:
- Prompts, in the prompts directory: ``queue-position.wav`` ("you are caller number"),
  ``queue-wait.wav`` ("your expected wait is about"), ``queue-minutes.wav`` ("minutes")
  and ``digit-0.wav`` … ``digit-9.wav``. Numbers are said digit by digit (12 → "one two"):
  it needs no grammar, so an installer records ten digits in any language.
- The expected wait is said in whole minutes, at least 1 (a caller told "0 minutes" who
  then waits 40 s hears a broken promise); none is said while the core has no estimate.
- Each part whose prompt is missing is skipped; with no prompt at all the result is None
  and the adapter plays its fallback beep instead.
"""

from __future__ import annotations

import math
from array import array
from typing import Protocol


class Prompts(Protocol):
    def load(self, name: str | None) -> array | None: ...


def spoken_minutes(expected_wait_s: float) -> int:
    return max(1, math.ceil(expected_wait_s / 60.0))


def queue_announcement(prompts: Prompts, position: int,
                       expected_wait_s: float | None) -> array | None:
    """The announcement's 8 kHz PCM, or None when no prompt of it exists."""
    names = ["queue-position.wav", *_digits(position)]
    if expected_wait_s is not None:
        names += ["queue-wait.wav", *_digits(spoken_minutes(expected_wait_s)),
                  "queue-minutes.wav"]
    pcm = array("h")
    for name in names:
        part = prompts.load(name)
        if part is not None:
            pcm.extend(part)
    return pcm if len(pcm) else None


def _digits(n: int) -> list[str]:
    return [f"digit-{d}.wav" for d in str(max(0, int(n)))]
