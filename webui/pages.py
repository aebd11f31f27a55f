"""Server-rendered pages: setup wizard, sign-in, configuration; the routes of every page
(the dashboard lives in :mod:`webui.dashboard`, the simulator in :mod:`webui.simulator`).

Hand-built HTML with every value passed through :func:`html.escape`; no inline script or
style (the Content-Security-Policy is ``default-src 'self'``): behaviour lives in
/static/app.js, which reads the CSRF token from ``<meta name="csrf-token">`` and calls the
JSON API. Pages render their data server-side too, so they are readable without JS.

Must not: change anything itself — every change goes through the JSON API (one place for
validation, roles, CSRF and audit).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from firmware.accounts import MIN_PASSWORD_LENGTH, PASSWORD_POLICY

from .auth import ACCOUNTS, BOX, optional_session, role_at_least, session_of
from .dashboard import dashboard_page
from .markup import cell, layout, page
from .markup import e as _e
from .simulator import sim_page


def _has_sim(request: web.Request) -> bool:
    return request.app[BOX].sim is not None


# ---------------------------------------------------------------- public pages


async def setup_page(request: web.Request) -> web.Response:
    if not request.app[ACCOUNTS].needs_setup:
        raise web.HTTPSeeOther("/login")
    body = f"""
<p>Welcome. This box has no administrator yet: choose the password of the user
<strong>admin</strong>. There is no default password; keep this one safe.</p>
<form id="setup-form" class="card narrow" novalidate>
  <label>User name <input name="username" value="admin" readonly autocomplete="username">
  </label>
  <label>Password <input name="password" type="password" required
    minlength="{MIN_PASSWORD_LENGTH}" autocomplete="new-password"
    aria-describedby="policy"></label>
  <label>Password again <input name="confirm" type="password" required
    minlength="{MIN_PASSWORD_LENGTH}" autocomplete="new-password"></label>
  <p class="hint" id="policy">The password needs {_e(PASSWORD_POLICY)}.</p>
  <button type="submit">Set the password and sign in</button>
  <p class="message" id="message" role="alert"></p>
</form>"""
    return page(layout("First-boot setup", body, page="setup", session=None))


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
    return page(layout("Sign in", body, page="login", session=None))


# ---------------------------------------------------------------- signed-in pages


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
        cells = "".join(f"<td>{_e(cell(k, v))}</td>" for k, v in row.items())
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
    return page(layout("Configuration", body, page="config", session=session,
                        has_sim=_has_sim(request)))


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/setup", setup_page)
    app.router.add_get("/login", login_page)
    app.router.add_get("/", dashboard_page)
    app.router.add_get("/config", config_page)
    app.router.add_get("/sim", sim_page)
