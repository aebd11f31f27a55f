"""HTML building blocks shared by the pages: escaping, the page layout, tables, times.

Every value that reaches HTML goes through :func:`e` (``html.escape`` with quotes). No
inline script or style anywhere (the Content-Security-Policy is ``default-src 'self'``):
behaviour lives in /static/app.js, looks in /static/app.css.

Parts of a page that change while it is open carry ``data-live`` and an ``id``: app.js
fetches the page again when the box reports a change and swaps those parts in place, so
one renderer (this Python) draws a page both at load and live.

Must not: call the box; it formats what the views hand it.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, tzinfo
from html import escape
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from .auth import Session

TIME_KEYS = frozenset({"start", "end", "answer", "answered", "ended", "started", "time",
                       "ts", "timestamp", "created", "at"})


def e(value: Any) -> str:
    return escape(str(value), quote=True)


def cell(key: str, value: Any) -> str:
    """A value as table text: Unix times under time-like keys become UTC dates."""
    if value is None:
        return ""
    if (key in TIME_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool)
            and value > 1e8):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    return str(value)


def table(rows: list[dict[str, Any]], columns: list[str] | None = None, *,
          empty: str = "none", table_id: str = "") -> str:
    """A table of dicts; columns default to every key, in order of first appearance."""
    if columns is None:
        columns = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
    attr = f' id="{e(table_id)}"' if table_id else ""
    if not rows:
        return f'<table{attr}><tbody><tr><td class="empty">{e(empty)}</td></tr></tbody></table>'
    head = "".join(f"<th>{e(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(cell(c, row.get(c)))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def box_zone(document: dict[str, Any]) -> tzinfo:
    """The box's time zone from its configuration (system.timezone), else UTC."""
    system = document.get("system") if isinstance(document, dict) else None
    name = system.get("timezone") if isinstance(system, dict) else None
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC


def clock(ts: Any, zone: tzinfo, now: float | None = None) -> str:
    """A call time as a person reads it: the time today, the date too on other days."""
    if not isinstance(ts, (int, float)) or isinstance(ts, bool) or ts <= 0:
        return ""
    when = datetime.fromtimestamp(ts, zone)
    today = datetime.fromtimestamp(time.time() if now is None else now, zone).date()
    return when.strftime("%H:%M:%S" if when.date() == today else "%Y-%m-%d %H:%M")


def duration(seconds: Any) -> str:
    """Seconds as m:ss (h:mm:ss past an hour); the same format app.js ticks in."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return ""
    total = max(0, int(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def ticking(since: Any, now: float) -> str:
    """A duration that app.js keeps counting up from ``since`` (Unix seconds)."""
    if not isinstance(since, (int, float)) or isinstance(since, bool):
        return ""
    return (f'<span class="tick" data-since="{since:.3f}">'
            f"{e(duration(now - since))}</span>")


def badge(text: str, tone: str) -> str:
    """A short state word with a colour class: idle, busy, ring, warn, bad, off."""
    return f'<span class="badge {e(tone)}">{e(text)}</span>'


def layout(title: str, body: str, *, page: str, session: Session | None,
           has_sim: bool = False, now: float | None = None) -> str:
    csrf = session.csrf_token if session else ""
    nav = ""
    if session is not None:
        links = [("/", "Dashboard", "dashboard"), ("/config", "Configuration", "config")]
        if has_sim:
            links.append(("/sim", "Simulator", "sim"))
        items = "".join(
            f'<a href="{href}"' + (' class="current" aria-current="page"' if key == page else "")
            + f">{label}</a>"
            for href, label, key in links
        )
        nav = (
            f'<nav aria-label="Main"><span class="brand">edgepbx</span>{items}'
            f'<span class="spacer"></span>'
            f'<span class="who">{e(session.username)} ({e(session.role)})</span>'
            f'<a href="/login" id="signout">Sign out</a></nav>'
        )
    stamp = f' data-now="{(time.time() if now is None else now):.3f}"'
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="csrf-token" content="{e(csrf)}">'
        f"<title>{e(title)} · edgepbx</title>"
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
        '<link rel="stylesheet" href="/static/app.css">'
        '<script src="/static/app.js" defer></script>'
        f'</head><body data-page="{e(page)}" data-role="{e(session.role if session else "")}">'
        f'<header>{nav}</header><main id="main"{stamp}>'
        f"<h1>{e(title)}</h1>{body}</main></body></html>"
    )


def page(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html")
