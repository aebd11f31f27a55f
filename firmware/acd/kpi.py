"""KPIs of DOMAIN.md, recomputed from the queue event log alone, for any period.

Owns the arithmetic of the KPIs. It reads ``QueueEvent`` records (``firmware.acd.log``)
in log order and nothing else: no access to the core, the store or the clock. The same
fold serves the live wallboard (feed it the core's log as it is written) and historical
reports (feed it the stored log), and the traffic simulator's results.

``KpiCollector(start, end)`` is a streaming fold: memory grows with the calls in progress
and the number of queues and agents, not with the length of the log, so a simulated day
of a million calls is folded as it is produced. ``kpis(events, start, end)`` is the
one-shot form. Feed the log from its beginning (or from a moment when no call was in
progress): the state at ``start`` (queue lengths, agent states) is rebuilt from earlier
records.

Conventions (where DOMAIN.md leaves a choice, made here and applied everywhere):

- A call belongs to the period in which it *entered* the queue (``enter.ts`` in
  ``[start, end)``); its outcome is counted whenever it happens. A caller moved or
  overflowed to another queue is a new call of that queue (and a timed-out one of the
  first).
- ``answered`` counts live callers answered by an agent; a callback taken is not an
  answered call (it is excluded from the SL denominator, per DOMAIN.md); connected
  callbacks count in ``callbacks_connected``, in the handled calls (AHT, ATT…) and in the
  transfer rate's denominator.
- Callbacks: ``callbacks_requested`` are the callbacks *taken* in the queue (the key:
  offered calls, excluded from SL); ``callbacks_scheduled`` adds the callback jobs that
  took a place without a call in the queue (web/cloud requests, missed calls:
  ``callback_enter`` of a place not seen before), which are never offered calls. A
  place that fails or is released for a ``retry`` stays the same callback when it
  comes back. Callback success = connected ÷ scheduled; time to callback = the mean
  of ``callback_connect``'s value (request to the customer answering), by the period
  of the request.
- Short abandon: abandoned with a wait *strictly less* than S (so S = 0 means none).
- SL(T): answered with wait ≤ T ÷ (offered − short_abandoned − callbacks taken).
  Calls still waiting count in ``offered``.
- ``timed_out``: left unanswered by the queue's rule (max wait, no agents, moved by a
  supervisor, queue removed). Callers refused at entry (queue full, no agents) never
  entered: they are ``refused``, not offered.
- Max wait: the longest wait among calls of the period that left the queue, and of
  callers still waiting (measured to ``now``).
- Queue length: live callers waiting (agents may be ringing for them), not callbacks
  waiting for their turn; time-averaged over ``[start, min(end, now))``.
- Handled call: a call connected to an agent whose wrap-up has ended; talk is the time
  connected minus hold; wrap-up is the agent's wrap-up after it.
- Occupancy and utilization are time-based over the period, from agent states:
  talk = on call, hold = on hold, wrap-up = wrap-up; logged-in = any state but logged
  out; paused = paused. For a queue: over the agents that were ever members of it.
  An agent a campaign's dialer holds for a contact (``reserved_outbound``) is working,
  not paused: that time is staffed (in occupancy's denominator) and reported as
  ``outbound_reserved_s``; the contact's connected call is talk like any other.
- A campaign's answered contact joins the campaign's queue only to reach its agent
  (``outbound_enter``): it is no offered call, so never in SL, ASA, abandonment or the
  queue length (inbound figures stay inbound even when a campaign shares the queue). It
  counts as ``outbound_connected`` when the agent takes it (and in the handled calls:
  talk, hold, wrap-up, AHT), else ``outbound_lost``.
- Rates are percentages (0–100); ``None`` where the denominator is zero.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from typing import Any, Final

from firmware.acd.log import QueueEvent

DEFAULT_SL_THRESHOLDS: Final = (10.0, 20.0, 30.0)
DEFAULT_SHORT_ABANDON_S: Final = 5.0
_BUSY: Final = frozenset({"on_call", "on_hold", "wrap_up"})


class _Call:
    __slots__ = (
        "queue", "entered", "counted", "agent", "connect_ts", "hold_s", "hold_ts",
        "callback_ts", "talk_s", "transferred", "handled", "outbound",
    )

    def __init__(self, queue: str, entered: float, counted: bool,
                 outbound: bool = False) -> None:
        self.queue = queue
        self.entered = entered
        self.counted = counted
        self.outbound = outbound
        self.agent = ""
        self.connect_ts = -1.0
        self.hold_s = 0.0
        self.hold_ts = -1.0
        self.callback_ts = -1.0
        self.talk_s = 0.0
        self.transferred = False
        self.handled = False


class _Figures:
    """Counters and sums of one scope (all, a queue or an agent)."""

    __slots__ = (
        "offered", "answered", "within", "abandoned", "short_abandoned", "timed_out",
        "refused", "callbacks", "callbacks_scheduled", "callbacks_connected", "callback_time",
        "wait_answered",
        "wait_abandoned", "wait_left", "left", "max_wait", "handled", "talk", "hold", "wrap",
        "transferred", "connected", "outbound_connected", "outbound_lost",
    )

    def __init__(self, thresholds: tuple[float, ...]) -> None:
        self.offered = self.answered = self.abandoned = self.short_abandoned = 0
        self.timed_out = self.refused = self.callbacks = self.callbacks_connected = 0
        self.callbacks_scheduled = 0
        self.left = self.handled = self.transferred = self.connected = 0
        self.outbound_connected = self.outbound_lost = 0
        self.within = [0] * len(thresholds)
        self.callback_time = self.wait_answered = self.wait_abandoned = 0.0
        self.wait_left = self.talk = self.hold = self.wrap = 0.0
        self.max_wait = 0.0


class _Clock:
    """Time spent in each agent-state class within the window."""

    __slots__ = ("logged_in", "paused", "talk", "hold", "wrap", "outbound")

    def __init__(self) -> None:
        self.logged_in = self.paused = self.talk = self.hold = self.wrap = 0.0
        self.outbound = 0.0


class KpiCollector:
    """Fold queue events into KPIs for the period ``[start, end)`` (None: unbounded)."""

    def __init__(
        self,
        start: float | None = None,
        end: float | None = None,
        *,
        short_abandon_s: float = DEFAULT_SHORT_ABANDON_S,
        sl_thresholds: Iterable[float] = DEFAULT_SL_THRESHOLDS,
    ) -> None:
        self.start = -math.inf if start is None else start
        self.end = math.inf if end is None else end
        self.short_abandon_s = short_abandon_s
        self.thresholds = tuple(sl_thresholds)
        self._calls: dict[str, _Call] = {}
        self._all = _Figures(self.thresholds)
        self._queues: dict[str, _Figures] = {}
        self._agents: dict[str, _Figures] = {}
        self._members: dict[str, set[str]] = {}
        # queue -> [current length, since, area, max]; "" is all queues
        self._qlen: dict[str, list[float]] = {"": [0, self.start, 0.0, 0]}
        # agent -> [state, since]
        self._state: dict[str, list[Any]] = {}
        self._clock: dict[str, _Clock] = {}
        self._wrap: dict[str, tuple[_Call, float]] = {}
        self.last_ts = -math.inf
        self._bound: dict[str, Any] = {
            kind: getattr(self, fn.__name__) for kind, fn in _HANDLERS.items()
        }

    # --- folding -----------------------------------------------------------------------------

    def add(self, ev: QueueEvent) -> None:
        handler = self._bound.get(ev[1])
        if handler is not None:
            handler(ev)
        if ev[0] > self.last_ts:
            self.last_ts = ev[0]

    def add_all(self, events: Iterable[QueueEvent]) -> KpiCollector:
        add = self.add
        for ev in events:
            add(ev)
        return self

    def _figures(self, call: _Call) -> tuple[_Figures, ...]:
        q = self._queues.get(call.queue)
        if q is None:
            q = self._queues[call.queue] = _Figures(self.thresholds)
        return (self._all, q)

    def _agent_figures(self, agent: str) -> _Figures:
        f = self._agents.get(agent)
        if f is None:
            f = self._agents[agent] = _Figures(self.thresholds)
        return f

    def _queue_length(self, queue: str, ts: float, delta: int) -> None:
        for key in ("", queue):
            rec = self._qlen.get(key)
            if rec is None:
                rec = self._qlen[key] = [0, self.start, 0.0, 0]
            a = rec[1] if rec[1] > self.start else self.start
            b = ts if ts < self.end else self.end
            if b > a:
                rec[2] += rec[0] * (b - a)
            rec[0] += delta
            rec[1] = ts
            if self.start <= ts < self.end and rec[0] > rec[3]:
                rec[3] = rec[0]

    def _enter(self, ev: QueueEvent) -> None:
        ts = ev[0]
        counted = self.start <= ts < self.end
        call = _Call(ev[2], ts, counted)
        self._calls[ev[3]] = call
        if counted:
            for f in self._figures(call):
                f.offered += 1
        # A kept place (moved caller, re-queued callback) is logged with its earlier time;
        # the caller is on the line, and in this queue, only from now.
        self._queue_length(ev[2], ts if ts >= self.last_ts else self.last_ts, +1)

    def _outbound_enter(self, ev: QueueEvent) -> None:
        """A campaign's contact, answered, joins only to reach the agent held for it: not
        an offered call, never in the queue length (it waits for nobody)."""
        ts = ev[0]
        self._calls[ev[3]] = _Call(ev[2], ts, self.start <= ts < self.end, outbound=True)

    def _refused(self, ev: QueueEvent) -> None:
        if self.start <= ev[0] < self.end:
            call = _Call(ev[2], ev[0], True)
            for f in self._figures(call):
                f.refused += 1

    def _left(self, call: _Call, wait: float, fs: tuple[_Figures, ...]) -> None:
        for f in fs:
            f.left += 1
            f.wait_left += wait
            if wait > f.max_wait:
                f.max_wait = wait

    def _connect(self, ev: QueueEvent) -> None:
        call = self._calls.get(ev[3])
        if call is None:
            return
        ts, wait = ev[0], ev[5]
        call.agent = ev[4]
        call.connect_ts = ts
        if call.outbound:
            if call.counted:
                for f in (*self._figures(call), self._agent_figures(ev[4])):
                    f.outbound_connected += 1
                    f.connected += 1
            return
        self._queue_length(call.queue, ts, -1)
        if call.counted:
            hits = [i for i, t in enumerate(self.thresholds) if wait <= t]
            fs = (*self._figures(call), self._agent_figures(ev[4]))
            for f in fs:
                f.answered += 1
                f.connected += 1
                f.wait_answered += wait
                within = f.within
                for i in hits:
                    within[i] += 1
            self._left(call, wait, fs[:2])

    def _abandon(self, ev: QueueEvent) -> None:
        call = self._calls.pop(ev[3], None)
        if call is None:
            return
        if call.outbound:                 # the contact hung up before the agent answered
            if call.counted:
                for f in self._figures(call):
                    f.outbound_lost += 1
            return
        self._queue_length(call.queue, ev[0], -1)
        if call.counted:
            wait = ev[5]
            fs = self._figures(call)
            for f in fs:
                f.abandoned += 1
                f.wait_abandoned += wait
                if wait < self.short_abandon_s:
                    f.short_abandoned += 1
            self._left(call, wait, fs)

    def _overflow(self, ev: QueueEvent) -> None:
        call = self._calls.pop(ev[3], None)
        if call is None:
            return
        if call.outbound:                 # the agent did not take it: lost, not timed out
            if call.counted:
                for f in self._figures(call):
                    f.outbound_lost += 1
            return
        if call.callback_ts < 0:
            self._queue_length(call.queue, ev[0], -1)
        if call.counted and call.callback_ts < 0:
            fs = self._figures(call)
            for f in fs:
                f.timed_out += 1
            self._left(call, ev[5], fs)

    def _callback_request(self, ev: QueueEvent) -> None:
        call = self._calls.get(ev[3])
        if call is None:
            return
        call.callback_ts = ev[0]
        self._queue_length(call.queue, ev[0], -1)
        if call.counted:
            for f in self._figures(call):
                f.callbacks += 1
                f.callbacks_scheduled += 1

    def _callback_enter(self, ev: QueueEvent) -> None:
        if ev[3] in self._calls:
            return  # the same callback coming back (a retry, a restart)
        ts = ev[0]
        call = _Call(ev[2], ts, self.start <= ts < self.end)
        call.callback_ts = ts
        self._calls[ev[3]] = call
        if call.counted:
            for f in self._figures(call):
                f.callbacks_scheduled += 1

    def _callback_connect(self, ev: QueueEvent) -> None:
        call = self._calls.get(ev[3])
        if call is None:
            return
        call.agent = ev[4]
        call.connect_ts = ev[0]
        if call.counted:
            for f in (*self._figures(call), self._agent_figures(ev[4])):
                f.callbacks_connected += 1
                f.connected += 1
                f.callback_time += ev[5]

    def _callback_fail(self, ev: QueueEvent) -> None:
        if ev[6] != "retry":
            self._calls.pop(ev[3], None)

    def _hold(self, ev: QueueEvent) -> None:
        call = self._calls.get(ev[3])
        if call is not None:
            call.hold_ts = ev[0]

    def _unhold(self, ev: QueueEvent) -> None:
        call = self._calls.get(ev[3])
        if call is not None and call.hold_ts >= 0:
            call.hold_s += ev[0] - call.hold_ts
            call.hold_ts = -1.0

    def _end(self, ev: QueueEvent) -> None:
        call = self._calls.pop(ev[3], None)
        if call is None:
            return
        ts = ev[0]
        if call.hold_ts >= 0:
            call.hold_s += ts - call.hold_ts
            call.hold_ts = -1.0
        call.talk_s = ts - call.connect_ts - call.hold_s
        call.transferred = ev[6] == "transfer"
        # Completed when the agent's wrap-up (logged next, maybe of zero length) ends.
        self._wrap[call.agent] = (call, -1.0)

    def _agent(self, ev: QueueEvent) -> None:
        ts, agent, state = ev[0], ev[4], ev[6]
        if ":" in state:
            state = state.split(":", 1)[0]
        rec = self._state.get(agent)
        if rec is not None:
            if rec[0] != "logged_out" and ts > self.start and rec[1] < self.end:
                self._account(agent, rec[0], rec[1], ts)
            rec[0], rec[1] = state, ts
        else:
            self._state[agent] = [state, ts]
        pending = self._wrap.get(agent)
        if pending is not None:
            call, since = pending
            if state == "wrap_up" and since < 0:
                self._wrap[agent] = (call, ts)
            else:
                del self._wrap[agent]
                self._handled(call, ts - since if since >= 0 else 0.0)

    def _handled(self, call: _Call, wrap: float) -> None:
        if not call.counted:
            return
        for f in (*self._figures(call), self._agent_figures(call.agent)):
            f.handled += 1
            f.talk += call.talk_s
            f.hold += call.hold_s
            f.wrap += wrap
            if call.transferred:
                f.transferred += 1

    def _account(self, agent: str, state: str, since: float, until: float,
                 clocks: dict[str, _Clock] | None = None) -> None:
        a = since if since > self.start else self.start
        b = until if until < self.end else self.end
        if b <= a or state == "logged_out":
            return
        table = self._clock if clocks is None else clocks
        clock = table.get(agent)
        if clock is None:
            clock = table[agent] = _Clock()
        d = b - a
        clock.logged_in += d
        if state == "paused":
            clock.paused += d
        elif state == "on_call":
            clock.talk += d
        elif state == "on_hold":
            clock.hold += d
        elif state == "wrap_up":
            clock.wrap += d
        elif state == "reserved_outbound":
            clock.outbound += d

    def _member_add(self, ev: QueueEvent) -> None:
        self._members.setdefault(ev[2], set()).add(ev[4])

    # --- reporting -----------------------------------------------------------------------------

    def members(self, queue: str) -> frozenset[str]:
        """The agents that were ever members of ``queue`` in the log folded so far."""
        return frozenset(self._members.get(queue, ()))

    def report(self, now: float | None = None) -> dict[str, Any]:
        """KPIs for all queues (``total``), per queue and per agent, as of ``now``.

        ``now`` defaults to the last event's time (for a closed period, pass its end).
        """
        if now is None:
            now = self.last_ts
        horizon = min(now, self.end)
        clocks = {k: _copy_clock(v) for k, v in self._clock.items()}
        for agent, (state, since) in self._state.items():
            self._account(agent, state, since, horizon, clocks)
        # Still-waiting callers: their wait so far counts toward the max wait.
        waiting: dict[str, float] = {}
        for call in self._calls.values():
            if (call.counted and call.connect_ts < 0 and call.callback_ts < 0
                    and not call.outbound):
                w = now - call.entered
                waiting[call.queue] = max(waiting.get(call.queue, 0.0), w)
                waiting[""] = max(waiting.get("", 0.0), w)
        duration = horizon - self.start if math.isfinite(self.start) else None

        def length(key: str) -> tuple[float | None, int]:
            rec = self._qlen.get(key)
            if rec is None:
                return (0.0 if duration else None), 0
            area = rec[2]
            a = rec[1] if rec[1] > self.start else self.start
            if horizon > a:
                area += rec[0] * (horizon - a)
            peak = rec[3]
            if rec[1] <= self.start and rec[0] > peak and horizon > self.start:
                peak = rec[0]  # the length at the start of the window
            return (area / duration if duration else None), int(peak)

        def agent_time(agents: Iterable[str]) -> _Clock:
            total = _Clock()
            for a in agents:
                c = clocks.get(a)
                if c is not None:
                    total.logged_in += c.logged_in
                    total.paused += c.paused
                    total.talk += c.talk
                    total.hold += c.hold
                    total.wrap += c.wrap
                    total.outbound += c.outbound
            return total

        all_agents = set(self._state) | set(clocks)
        total = self._scope(self._all, length(""), agent_time(all_agents),
                            waiting.get("", 0.0))
        queues = {
            q: self._scope(f, length(q), agent_time(self._members.get(q, ())),
                           waiting.get(q, 0.0))
            for q, f in sorted(self._queues.items())
        }
        for q in self._members:
            if q not in queues:
                queues[q] = self._scope(_Figures(self.thresholds), length(q),
                                        agent_time(self._members[q]), 0.0)
        agents = {
            a: self._scope(self._agents.get(a) or _Figures(self.thresholds), None,
                           agent_time((a,)), 0.0, agent_scope=True)
            for a in sorted(all_agents | set(self._agents))
        }
        return {
            "period": {
                "start": None if not math.isfinite(self.start) else self.start,
                "end": None if not math.isfinite(self.end) else self.end,
                "now": now,
            },
            "total": total,
            "queues": queues,
            "agents": agents,
        }

    def _scope(self, f: _Figures, qlen: tuple[float | None, int] | None, clock: _Clock,
               still_waiting: float, agent_scope: bool = False) -> dict[str, Any]:
        busy = clock.talk + clock.hold + clock.wrap
        staffed = clock.logged_in - clock.paused
        out: dict[str, Any] = {}
        if not agent_scope:
            sl_base = f.offered - f.short_abandoned - f.callbacks
            out.update(
                offered=f.offered,
                answered=f.answered,
                abandoned=f.abandoned,
                short_abandoned=f.short_abandoned,
                timed_out=f.timed_out,
                refused=f.refused,
                callbacks_requested=f.callbacks,
                callbacks_scheduled=f.callbacks_scheduled,
                sl={_label(t): _pct(n, sl_base) for t, n in zip(self.thresholds, f.within,
                                                                strict=True)},
                asa_s=_mean(f.wait_answered, f.answered),
                awt_s=_mean(f.wait_left, f.left),
                ata_s=_mean(f.wait_abandoned, f.abandoned),
                abandon_rate=_pct(f.abandoned - f.short_abandoned,
                                  f.offered - f.short_abandoned),
                max_wait_s=max(f.max_wait, still_waiting),
                outbound_lost=f.outbound_lost,
            )
            if qlen is not None:
                out.update(avg_queue_len=qlen[0], max_queue_len=qlen[1])
        else:
            out.update(answered=f.answered)
        out.update(
            outbound_connected=f.outbound_connected,
            callbacks_connected=f.callbacks_connected,
            handled=f.handled,
            aht_s=_mean(f.talk + f.hold + f.wrap, f.handled),
            att_s=_mean(f.talk, f.handled),
            avg_hold_s=_mean(f.hold, f.handled),
            avg_wrap_s=_mean(f.wrap, f.handled),
            occupancy=_pct(busy, staffed),
            utilization=_pct(busy, clock.logged_in),
            logged_in_s=clock.logged_in,
            paused_s=clock.paused,
            outbound_reserved_s=clock.outbound,
            transfer_rate=_pct(f.transferred, f.handled),
        )
        if not agent_scope:
            out.update(
                callback_success=_pct(f.callbacks_connected, f.callbacks_scheduled),
                time_to_callback_s=_mean(f.callback_time, f.callbacks_connected),
            )
        return out


def _copy_clock(c: _Clock) -> _Clock:
    n = _Clock()
    n.logged_in, n.paused, n.talk, n.hold, n.wrap = c.logged_in, c.paused, c.talk, c.hold, c.wrap
    n.outbound = c.outbound
    return n


def _label(t: float) -> str:
    return str(int(t)) if float(t).is_integer() else str(t)


def _pct(num: float, den: float) -> float | None:
    return None if den <= 0 else 100.0 * num / den


def _mean(total: float, n: int) -> float | None:
    return None if n <= 0 else total / n


_HANDLERS: Final = {
    "enter": KpiCollector._enter,
    "outbound_enter": KpiCollector._outbound_enter,
    "refused": KpiCollector._refused,
    "connect": KpiCollector._connect,
    "abandon": KpiCollector._abandon,
    "overflow": KpiCollector._overflow,
    "callback_request": KpiCollector._callback_request,
    "callback_enter": KpiCollector._callback_enter,
    "callback_connect": KpiCollector._callback_connect,
    "callback_fail": KpiCollector._callback_fail,
    "callback_release": KpiCollector._callback_fail,
    "hold": KpiCollector._hold,
    "unhold": KpiCollector._unhold,
    "end": KpiCollector._end,
    "agent": KpiCollector._agent,
    "member_add": KpiCollector._member_add,
}


def kpis(
    events: Iterable[QueueEvent],
    start: float | None = None,
    end: float | None = None,
    *,
    now: float | None = None,
    short_abandon_s: float = DEFAULT_SHORT_ABANDON_S,
    sl_thresholds: Iterable[float] = DEFAULT_SL_THRESHOLDS,
) -> dict[str, Any]:
    """KPIs of the period ``[start, end)`` from a log (see the module docstring)."""
    collector = KpiCollector(start, end, short_abandon_s=short_abandon_s,
                             sl_thresholds=sl_thresholds)
    collector.add_all(events)
    return collector.report(now)


def _flat(values: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if key == "sl":
            flat.update({f"sl_{t}": v for t, v in value.items()})
        else:
            flat[key] = value
    return flat


def scope_table(scopes: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Rows of one kind of scope (``report["queues"]`` or ``report["agents"]``): the
    columns (``sl`` flattened to ``sl_10``, ``sl_20``...) and one row per id, in id
    order; ``None`` where a KPI has no denominator."""
    rows = [(ident, _flat(values)) for ident, values in scopes.items()]
    columns: list[str] = []
    for _, flat in rows:
        columns += [name for name in flat if name not in columns]
    return columns, [[ident, *(flat.get(c) for c in columns)] for ident, flat in rows]


def scope_columns(agent: bool, sl_thresholds: Iterable[float] = DEFAULT_SL_THRESHOLDS
                  ) -> list[str]:
    """The columns of ``scope_table`` for queues (or agents) when there is no row."""
    collector = KpiCollector(sl_thresholds=sl_thresholds)
    thresholds = collector.thresholds
    values = collector._scope(_Figures(thresholds), None if agent else (None, 0), _Clock(),
                              0.0, agent_scope=agent)
    return list(_flat(values))


def report_csv(report: dict[str, Any]) -> str:
    """A KPI report as CSV: one row per scope (total, each queue, each agent)."""
    rows: list[tuple[str, str, dict[str, Any]]] = [("total", "", report["total"])]
    rows += [("queue", q, v) for q, v in report["queues"].items()]
    rows += [("agent", a, v) for a, v in report["agents"].items()]
    columns: list[str] = []
    for _, _, values in rows:
        columns += [name for name in _flat(values) if name not in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["scope", "id", *columns])
    for scope, ident, values in rows:
        flat = _flat(values)
        writer.writerow([scope, ident, *("" if flat.get(c) is None else flat[c]
                                         for c in columns)])
    return buffer.getvalue()
