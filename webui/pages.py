"""Server-rendered pages: setup wizard, sign-in, dashboard, configuration, simulator.

Hand-built HTML with every value passed through :func:`html.escape`; no inline script or
style (the Content-Security-Policy is ``default-src 'self'``): behaviour lives in
/static/app.js, which reads the CSRF token from ``<meta name="csrf-token">`` and calls the
JSON API. Pages render their data server-side too, so they are readable without JS.

Must not: change anything itself — every change goes through the JSON API (one place for
validation, roles, CSRF and audit).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any

from aiohttp import web

from firmware.accounts import MIN_PASSWORD_LENGTH, PASSWORD_POLICY

from .auth import ACCOUNTS, BOX, Session, optional_session, role_at_least, session_of

_TIME_KEYS = frozenset({"start", "end", "answer", "answered", "ended", "started", "time",
                        "ts", "timestamp", "created", "at"})


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if (key in _TIME_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool)
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
    attr = f' id="{_e(table_id)}"' if table_id else ""
    if not rows:
        return f'<table{attr}><tbody><tr><td class="empty">{_e(empty)}</td></tr></tbody></table>'
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(_cell(c, row.get(c)))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def layout(title: str, body: str, *, page: str, session: Session | None,
           has_sim: bool = False) -> str:
    csrf = session.csrf_token if session else ""
    nav = ""
    if session is not None:
        links = [("/", "Dashboard", "dashboard"), ("/config", "Configuration", "config")]
        if has_sim:
            links.append(("/sim", "Simulator", "sim"))
        current = ' class="current"'
        items = "".join(
            f'<a href="{href}"{current if key == page else ""}>{label}</a>'
            for href, label, key in links
        )
        nav = (
            f'<nav><span class="brand">edgepbx</span>{items}<span class="spacer"></span>'
            f'<span class="who">{_e(session.username)} ({_e(session.role)})</span>'
            f'<a href="/login" id="signout">Sign out</a></nav>'
        )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="csrf-token" content="{_e(csrf)}">'
        f"<title>{_e(title)} · edgepbx</title>"
        '<link rel="stylesheet" href="/static/app.css">'
        '<script src="/static/app.js" defer></script>'
        f'</head><body data-page="{_e(page)}" data-role="{_e(session.role if session else "")}">'
        f"<header>{nav}</header><main><h1>{_e(title)}</h1>{body}</main></body></html>"
    )


def _page(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html")


def _has_sim(request: web.Request) -> bool:
    return request.app[BOX].sim is not None


# ---------------------------------------------------------------- public pages


async def setup_page(request: web.Request) -> web.Response:
    if not request.app[ACCOUNTS].needs_setup:
        raise web.HTTPSeeOther("/login")
    body = f"""
<p>Welcome. This box has no administrator yet: choose the password of the user
<strong>admin</strong>. There is no default password; keep this one safe.</p>
<form id="setup-form" class="card narrow">
  <label>User name <input name="username" value="admin" readonly autocomplete="username">
  </label>
  <label>Password <input name="password" type="password" required
    minlength="{MIN_PASSWORD_LENGTH}" autocomplete="new-password"></label>
  <label>Password again <input name="confirm" type="password" required
    minlength="{MIN_PASSWORD_LENGTH}" autocomplete="new-password"></label>
  <p class="hint">The password needs {_e(PASSWORD_POLICY)}.</p>
  <button type="submit">Set the password and sign in</button>
  <p class="message" id="message" role="alert"></p>
</form>"""
    return _page(layout("First-boot setup", body, page="setup", session=None))


async def login_page(request: web.Request) -> web.Response:
    if request.app[ACCOUNTS].needs_setup:
        raise web.HTTPSeeOther("/setup")
    if optional_session(request) is not None:
        raise web.HTTPSeeOther("/")
    body = """
<form id="login-form" class="card narrow">
  <label>User name <input name="username" required autocomplete="username" autofocus></label>
  <label>Password <input name="password" type="password" required
    autocomplete="current-password"></label>
  <button type="submit">Sign in</button>
  <p class="message" id="message" role="alert"></p>
</form>"""
    return _page(layout("Sign in", body, page="login", session=None))


# ---------------------------------------------------------------- signed-in pages


PORT_COLUMNS = ["id", "kind", "slot", "state"]
CALL_COLUMNS = ["id", "state", "caller", "called", "start"]


def _info_list(info: dict[str, Any]) -> str:
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(_cell(k, v))}</dd>" for k, v in info.items())
    return f'<dl id="info" class="info">{items}</dl>'


async def dashboard_page(request: web.Request) -> web.Response:
    session = session_of(request)
    box = request.app[BOX]
    body = (
        '<p class="live" id="live">live updates: connecting…</p>'
        f'<section class="card"><h2>Box</h2>{_info_list(box.info())}</section>'
        '<section class="card"><h2>Ports</h2>'
        f'{table(box.ports(), PORT_COLUMNS, empty="no ports", table_id="ports")}</section>'
        '<section class="card"><h2>Calls in progress</h2>'
        f'{table(box.calls(), CALL_COLUMNS, empty="no calls", table_id="calls")}</section>'
        '<section class="card"><h2>Last 20 calls</h2>'
        f'{table(box.cdrs(limit=20), empty="no call records yet", table_id="cdrs")}</section>'
    )
    return _page(layout("Dashboard", body, page="dashboard", session=session,
                        has_sim=_has_sim(request)))


def _revision_number(row: dict[str, Any]) -> Any:
    for key in ("revision", "rev", "id"):
        if key in row:
            return row[key]
    return None


async def config_page(request: web.Request) -> web.Response:
    session = session_of(request)
    box = request.app[BOX]
    is_admin = role_at_least(session.role, "admin")
    disabled = "" if is_admin else " disabled"
    document = json.dumps(box.config_current(), indent=2, sort_keys=False, default=str)
    revision = box.config_revision()
    revisions = box.config_revisions()
    rows = []
    for row in revisions:
        rev = _revision_number(row)
        cells = "".join(f"<td>{_e(_cell(k, v))}</td>" for k, v in row.items())
        action = (f'<button type="button" class="rollback" data-revision="{_e(rev)}"'
                  f"{disabled}>Roll back to this</button>"
                  if rev is not None and rev != revision else "")
        rows.append(f"<tr>{cells}<td>{action}</td></tr>")
    head = "".join(f"<th>{_e(k)}</th>" for k in (revisions[0] if revisions else {}))
    rev_table = (f'<table id="revisions"><thead><tr>{head}<th></th></tr></thead>'
                 f'<tbody>{"".join(rows)}</tbody></table>' if rows
                 else '<p class="empty">no revisions kept</p>')
    note = "" if is_admin else '<p class="hint">Only an admin can change the configuration.</p>'
    body = f"""
<section class="card">
  <h2>Current configuration (revision <span id="revision">{_e(revision)}</span>)</h2>
  {note}
  <form id="config-form" data-revision="{_e(revision)}">
    <textarea id="document" name="document" spellcheck="false" rows="24">{_e(document)}</textarea>
    <label>Comment <input name="comment" maxlength="200"
      placeholder="what changed and why"></label>
    <div class="buttons">
      <button type="button" id="validate">Validate</button>
      <button type="submit" id="save"{disabled}>Save and apply</button>
    </div>
    <p class="message" id="message" role="alert"></p>
    <ul id="issues" class="issues"></ul>
  </form>
</section>
<section class="card"><h2>Revisions</h2>{rev_table}</section>"""
    return _page(layout("Configuration", body, page="config", session=session,
                        has_sim=_has_sim(request)))


def _is_phone(port: dict[str, Any]) -> bool:
    kind = port.get("kind")
    if isinstance(kind, str):
        return kind.lower() == "fxs"
    return str(port.get("id", "")).startswith("fxs")


async def sim_page(request: web.Request) -> web.Response:
    session = session_of(request)
    box = request.app[BOX]
    sim = box.sim
    if sim is None:
        body = '<p class="card">No simulated board: this box runs on hardware.</p>'
        return _page(layout("Simulator", body, page="sim", session=session), status=404)
    may_act = role_at_least(session.role, "supervisor")
    off = "" if may_act else " disabled"
    all_ports = box.ports()
    trunk_rows = []
    phone_rows = []
    for port in all_ports:
        pid = _e(port.get("id", ""))
        state = _e(port.get("state", ""))
        press = (f'<form class="sim inline" data-sim="KIND/{pid}/press">'
                 f'<input name="digits" placeholder="digits" pattern="[0-9*#A-D]{{1,32}}"'
                 f' required size="8"><button{off}>Press</button></form>')
        if _is_phone(port):
            buttons = "".join(
                f'<button type="button" class="sim-action" data-sim="phones/{pid}/{a}"{off}>'
                f"{label}</button>"
                for a, label in (("offhook", "Off-hook"), ("onhook", "On-hook"),
                                 ("flash", "Flash"))
            )
            phone_rows.append(f"<tr><td>{pid}</td><td>{state}</td><td>{buttons}</td>"
                              f"<td>{press.replace('KIND', 'phones', 1)}</td></tr>")
        else:
            call = (f'<form class="sim inline" data-sim="trunks/{pid}/call">'
                    r'<input name="caller" placeholder="caller number" pattern="\+?[0-9]{1,20}"'
                    ' size="12">'
                    r'<input name="called" placeholder="called (optional)"'
                    r' pattern="\+?[0-9]{1,20}" size="10">'
                    f"<button{off}>Call in</button></form>")
            buttons = "".join(
                f'<button type="button" class="sim-action" data-sim="trunks/{pid}/{a}"{off}>'
                f"{label}</button>"
                for a, label in (("answer", "Answer"), ("hangup", "Hang up"))
            )
            keys = press.replace("KIND", "trunks", 1)
            trunk_rows.append(f"<tr><td>{pid}</td><td>{state}</td><td>{call}</td>"
                              f"<td>{buttons}</td><td>{keys}</td></tr>")
    state_json = json.dumps(sim.state(), indent=2, default=str)
    note = "" if may_act else '<p class="hint">A viewer can watch but not act.</p>'
    body = f"""
{note}
<p class="live" id="live">live updates: connecting…</p>
<p class="message" id="message" role="alert"></p>
<section class="card"><h2>Trunks: far ends</h2>
<table id="sim-trunks"><thead><tr><th>port</th><th>state</th><th>call in</th><th></th>
<th>far end keys</th></tr></thead><tbody>{"".join(trunk_rows)}</tbody></table></section>
<section class="card"><h2>Phones</h2>
<table id="sim-phones"><thead><tr><th>port</th><th>state</th><th>hook</th><th>keys</th>
</tr></thead><tbody>{"".join(phone_rows)}</tbody></table></section>
<section class="card"><h2>Simulated devices</h2><pre id="sim-state">{_e(state_json)}</pre>
</section>"""
    return _page(layout("Simulator", body, page="sim", session=session, has_sim=True))


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/setup", setup_page)
    app.router.add_get("/login", login_page)
    app.router.add_get("/", dashboard_page)
    app.router.add_get("/config", config_page)
    app.router.add_get("/sim", sim_page)
