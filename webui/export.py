"""CSV exports of a period for supervisors: queue log, queue and agent KPIs, CDRs, callbacks.

Owns the ``GET /api/v1/export/*.csv`` views: their query parameters, the CSV dialect and
the streaming. What a report contains is the façade's (``BoxService.export``, built by
firmware/reports.py); the KPIs are firmware/acd/kpi.py's.

Decisions:
- ``from`` and ``to`` are required: Unix seconds, an ISO 8601 date (``2026-11-01``) or
  date-time (``2026-11-01T08:00``, ``...Z``, ``...+03:00``); without an offset they are in
  the box's timezone (``system.timezone``). The period is ``[from, to)``, except that a
  date-only ``to`` includes that whole day. ``queue`` is optional; ``short_abandon``
  (seconds, KPI reports only) is DOMAIN.md's S, 5 s by default. A bad one is a 400 naming
  the parameter, answered before the first byte of the file.
- Role: supervisor (and admin). The viewer role is the wallboard's: these files carry
  callers' numbers (personal data) and each agent's performance, copied out of the box in
  bulk, which least privilege keeps from a wall display account.
- The body streams (chunked): rows are read from the store a batch at a time and written as
  they come, so the size of the period never decides the memory used. An error after the
  first byte is logged and the connection is cut, so a client never mistakes half a file
  for a whole one.
- CSV injection (OWASP "CSV Injection"): every text cell that begins with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return gets a leading ``'`` and every text cell is
  quoted; numbers we produce are written as numbers. So ``+79161234567`` reads
  ``'+79161234567``: a spreadsheet shows it as text instead of evaluating it.
- UTF-8 with a byte order mark (spreadsheets then read Cyrillic names right); times in
  ISO 8601 with milliseconds in the box's timezone; empty cell = no value (a KPI with a
  zero denominator); structured fields (CDR legs, job data) as compact JSON.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import math
import re
import secrets
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from firmware.service import BadRequest

from .api import ApiError
from .auth import BOX, Handler, requires

log = logging.getLogger("webui.export")

# path segment -> the façade's table name
TABLES: Final = {
    "queue-log": "queue_log",
    "queue-kpis": "queue_kpis",
    "agent-kpis": "agent_kpis",
    "cdr": "cdr",
    "callbacks": "callbacks",
}
QUEUE_ID: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
DEFAULT_SHORT_ABANDON_S: Final = 5.0
_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FACADE_PARAMS: Final = {"since": "from", "until": "to", "queue": "queue",
                         "short_abandon_s": "short_abandon"}


def safe_cell(value: Any) -> Any:
    """One CSV cell, neutralised against formula injection (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = value if isinstance(value, str) else json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), default=str)
    return "'" + text if text.startswith(FORMULA_START) else text


def box_timezone(request: web.Request) -> tzinfo:
    name = request.app[BOX].config_current().get("system", {}).get("timezone", "UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def period_param(request: web.Request, name: str, tz: tzinfo, *, end: bool) -> float:
    raw = request.query.get(name)
    if raw is None or not raw.strip():
        raise ApiError(400, f'query parameter "{name}" is required (Unix seconds or an ISO '
                            '8601 date or date-time)')
    raw = raw.strip()
    value: float | None = None
    try:
        value = float(raw)
    except ValueError:
        try:
            if _DATE.match(raw):
                day = date.fromisoformat(raw) + timedelta(days=1 if end else 0)
                value = datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
            else:
                moment = datetime.fromisoformat(raw)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=tz)
                value = moment.timestamp()
        except (ValueError, OverflowError):
            value = None
    if value is None or not math.isfinite(value) or value < 0:
        raise ApiError(400, f'query parameter "{name}": {raw!r} is not a time (Unix seconds '
                            'or an ISO 8601 date or date-time, e.g. 2026-11-01T08:00)')
    return value


def _stamp(ts: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%Y%m%d-%H%M")


def _export(segment: str) -> Handler:
    table_name = TABLES[segment]

    @requires("supervisor")
    async def view(request: web.Request) -> web.StreamResponse:
        tz = box_timezone(request)
        since = period_param(request, "from", tz, end=False)
        until = period_param(request, "to", tz, end=True)
        if since >= until:
            raise ApiError(400, 'query parameter "from" must be before "to"')
        queue = request.query.get("queue") or None
        if queue is not None and not QUEUE_ID.match(queue):
            raise ApiError(400, 'query parameter "queue": a queue id (letters, digits, '
                                '"_", "-", ".")')
        short = DEFAULT_SHORT_ABANDON_S
        if "short_abandon" in request.query:
            try:
                short = float(request.query["short_abandon"])
            except ValueError:
                short = math.nan
            if not math.isfinite(short):
                raise ApiError(400, 'query parameter "short_abandon": seconds, e.g. 5')
        try:
            table = request.app[BOX].export(table_name, since, until, queue, short)
        except BadRequest as exc:
            field, _, message = str(exc).partition(": ")
            if field in _FACADE_PARAMS and message:
                raise ApiError(400, f'query parameter "{_FACADE_PARAMS[field]}": '
                                    f"{message}") from None
            raise
        name = "-".join(["edgepbx", segment, *([queue] if queue else []),
                         _stamp(since, tz), _stamp(until, tz)])
        response = web.StreamResponse(headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}.csv"',
        })
        response.enable_chunked_encoding()
        await response.prepare(request)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_NONNUMERIC)
        buffer.write("\ufeff")
        header = False
        times: list[int] = []
        try:
            for batch in table.batches:
                if not header and table.columns:
                    writer.writerow(table.columns)
                    header = True
                    times = [i for i, c in enumerate(table.columns) if c in table.time_columns]
                for row in batch:
                    for i in times:
                        if row[i] is not None:
                            row[i] = datetime.fromtimestamp(row[i], tz).isoformat(
                                timespec="milliseconds")
                    writer.writerow([safe_cell(v) for v in row])
                if buffer.tell():
                    await response.write(buffer.getvalue().encode("utf-8"))
                    buffer.seek(0)
                    buffer.truncate()
                await asyncio.sleep(0)    # calls first: one batch at a time on the loop
            if not header:
                writer.writerow(table.columns)
            if buffer.tell():
                await response.write(buffer.getvalue().encode("utf-8"))
        except ConnectionError:
            return response  # the client went away: nobody to tell
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("export %s failed mid-stream (error id %s): connection cut",
                          segment, error_id)
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write_eof()
        return response

    view.__name__ = f"export_{table_name}"
    return view


def setup_routes(app: web.Application) -> None:
    for segment in TABLES:
        app.router.add_get(f"/api/v1/export/{segment}.csv", _export(segment))
