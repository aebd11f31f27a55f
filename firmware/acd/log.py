"""The queue event log: one record per transition, from which every KPI is recomputed.

Owns the record's shape and its CSV form. The ACD core writes a ``QueueEvent`` for every
caller and agent transition (``AcdCore(log=...)`` takes any callable sink); ``kpi.py``
folds a stream of them into the KPIs of DOMAIN.md for any period; ``EventStore`` persists
them (``queue_events`` table). Nothing here knows SQLite or the call engine.

Kinds and their fields (``queue``, ``caller``, ``agent`` are ids, ``""`` when not
applicable; ``value`` is a number whose meaning depends on the kind):

=====================  ================================================================
kind                   meaning
=====================  ================================================================
``enter``              caller entered ``queue``; value = priority; detail = caller number;
                       ``ts`` is the place kept (an earlier time for a re-queued caller)
``refused``            caller not admitted; detail = ``full`` | ``no_agents``
``ring``               ``agent`` rings for ``caller``
``ring_end``           that ring stopped without a bridge; detail = why
                       (``no_answer``, ``rejected``, ``cancelled``, ``unreachable``…)
``connect``            ``agent`` answered ``caller``; value = wait in the queue (s)
``abandon``            caller hung up while waiting; value = wait
``overflow``           caller left the queue unanswered; value = wait; detail = reason
                       (``max_wait``, ``no_agents``, ``moved``, ``queue_removed``)
``callback_request``   caller took a callback and hung up; value = wait so far;
                       detail = number to call
``callback_enter``     a callback job's virtual caller took its place in ``queue``;
                       ``ts`` is the place kept (the request, or the original arrival);
                       value = priority; detail = the job id. A place already known (a
                       retry, a restart) is not a new callback
``callback_dial``      ``agent`` reserved, the box dials the customer
``callback_connect``   customer and ``agent`` connected; value = time from the request
                       to the customer answering; detail = the job id
``callback_fail``      a dial failed; detail = reason (``retry``: the job comes back)
``callback_release``   a waiting place was given up; detail = reason (``retry``: the
                       job comes back)
``hold`` / ``unhold``  the connected call was put on hold / taken back
``end``                the connected call ended; detail = ``transfer`` or ``""``
``agent``              ``agent`` changed state; detail = state, or ``paused:<reason>``;
                       ``caller`` = the caller it serves, if any
``member_add``         ``agent`` became a member of ``queue``; value = penalty
``member_remove``      ``agent`` is no longer a member of ``queue``
=====================  ================================================================
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Final, NamedTuple, TextIO


class QueueEvent(NamedTuple):
    ts: float
    kind: str
    queue: str
    caller: str
    agent: str
    value: float
    detail: str


KINDS: Final = frozenset(
    {
        "enter", "refused", "ring", "ring_end", "connect", "abandon", "overflow",
        "callback_request", "callback_enter", "callback_dial", "callback_connect",
        "callback_fail", "callback_release",
        "hold", "unhold", "end", "agent", "member_add", "member_remove",
        "outbound_connect", "outbound_enter",
    }
)

CSV_FIELDS: Final = QueueEvent._fields


def write_csv(events: Iterable[QueueEvent], out: TextIO) -> int:
    """Write the log as CSV (header ``ts,kind,queue,caller,agent,value,detail``)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    count = 0
    for event in events:
        writer.writerow((repr(float(event.ts)), *event[1:5], repr(float(event.value)), event[6]))
        count += 1
    return count


def read_csv(source: TextIO) -> list[QueueEvent]:
    """Read a log written by ``write_csv`` (round-trips exactly)."""
    reader = csv.reader(source)
    header = next(reader, None)
    if header is None:
        return []
    if tuple(header) != CSV_FIELDS:
        raise ValueError(f"not a queue event log: header {header!r}")
    return [
        QueueEvent(float(r[0]), r[1], r[2], r[3], r[4], float(r[5]), r[6]) for r in reader
    ]


def last_agents(events: Iterable[QueueEvent]) -> dict[str, tuple[str, float]]:
    """Who last spoke to each caller number, and when (``connect`` and
    ``callback_connect``, the number from the caller's ``enter`` or, for a campaign's
    contact, ``outbound_enter``): the sticky-agent memory rebuilt from the stored log after
    a restart. Feed the log in order."""
    numbers: dict[str, str] = {}
    last: dict[str, tuple[str, float]] = {}
    for ev in events:
        if ev.kind in ("enter", "outbound_enter") and ev.detail:
            numbers[ev.caller] = ev.detail
        elif ev.kind in ("connect", "callback_connect") and ev.caller in numbers:
            last[numbers[ev.caller]] = (ev.agent, ev.ts)
    return last


def to_csv(events: Iterable[QueueEvent]) -> str:
    buffer = io.StringIO()
    write_csv(events, buffer)
    return buffer.getvalue()
