"""The web UI application: ``create_app(box, accounts)`` wires views, middlewares and headers.

Middlewares, outermost first: the error middleware (domain errors to HTTP, unexpected ones
to a 500 with an id — the traceback goes to the log only), then the auth middleware
(:mod:`webui.auth`). Security headers are added to every response, static files and
errors included, in ``on_response_prepare``.

Must not: import ``drivers`` or ``native``; everything goes through the service façade.
"""

from __future__ import annotations

import html
import logging
import secrets
from pathlib import Path

from aiohttp import web

from firmware.accounts import Accounts
from firmware.service import (
    BadRequest,
    BoxService,
    NotFound,
    Refused,
    ServiceError,
    Unavailable,
)

from . import api, export, pages
from .auth import (
    ACCOUNTS,
    BOX,
    SESSIONS,
    SETTINGS,
    THROTTLE,
    Handler,
    LoginThrottle,
    SessionStore,
    WebSettings,
    auth_middleware,
    is_api,
    json_error,
)

log = logging.getLogger("webui")

STATIC_DIR = Path(__file__).parent / "static"
MAX_BODY = 1024 * 1024

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def config_issues(exc: BaseException) -> list[dict[str, str]] | None:
    """The issues of a configuration validation error, by duck typing (firmware.config's
    ConfigValidationError: ``.issues`` of objects with ``.path`` and ``.message``)."""
    issues = getattr(exc, "issues", None)
    if issues is None or isinstance(issues, (str, bytes)):
        return None
    try:
        return [{"path": str(getattr(i, "path", "")), "message": str(getattr(i, "message", i))}
                for i in issues]
    except TypeError:
        return None


def _internal_error(request: web.Request, exc: BaseException) -> web.Response:
    error_id = secrets.token_hex(4)
    log.error("internal error %s on %s %s", error_id, request.method, request.path,
              exc_info=exc)
    if is_api(request):
        return json_error(500, "internal error", id=error_id)
    return web.Response(
        status=500, content_type="text/html",
        text=f"<!doctype html><title>Error</title><h1>Internal error</h1>"
             f"<p>Something went wrong on the box (error id {html.escape(error_id)}). "
             f'<a href="/">Back to the dashboard</a></p>',
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and is_api(request) and exc.content_type != "application/json":
            headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow",)}
            return web.json_response({"error": exc.reason.lower()}, status=exc.status,
                                     headers=headers)
        raise
    except api.ApiError as exc:
        return json_error(exc.status, exc.message)
    except Exception as exc:
        issues = config_issues(exc)
        if issues is not None:
            return json_error(422, "configuration is invalid", issues=issues)
        status = _status_of(exc)
        if status is None:
            return _internal_error(request, exc)
        return json_error(status, str(exc) or type(exc).__name__)


def _status_of(exc: Exception) -> int | None:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, BadRequest):
        return 400
    if isinstance(exc, Unavailable):
        return 503
    if isinstance(exc, Refused):
        return 409
    if isinstance(exc, ServiceError):
        return 400
    return None


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.path.startswith("/static/"):
        # pages and API answers hold the box's state and the CSRF token: never cache them
        response.headers.setdefault("Cache-Control", "no-store")


def create_app(box: BoxService, accounts: Accounts, *,
               secure_cookies: bool = False) -> web.Application:
    """The admin web UI over the service façade. ``secure_cookies``: the box serves HTTPS,
    so the session cookie gets the Secure flag."""
    app = web.Application(middlewares=[error_middleware, auth_middleware],
                          client_max_size=MAX_BODY)
    app[BOX] = box
    app[ACCOUNTS] = accounts
    app[SESSIONS] = SessionStore()
    app[THROTTLE] = LoginThrottle()
    app[SETTINGS] = WebSettings(secure_cookies=secure_cookies)
    api.setup_routes(app)
    export.setup_routes(app)
    pages.setup_routes(app)
    app.router.add_static("/static", STATIC_DIR, name="static")
    app.on_response_prepare.append(security_headers)
    return app


__all__ = ["create_app", "config_issues"]
