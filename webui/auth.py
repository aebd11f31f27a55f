"""Sign-in for the web UI: sessions, roles, CSRF, sign-in throttling, the auth middleware.

Owns the in-memory session table (a reboot signs everyone out, which is what an appliance
should do), the login throttle and the rule "everything needs a signed-in session except a
short, explicit list of public endpoints" (:data:`PUBLIC`). Account storage and password
hashing belong to :mod:`firmware.accounts`; this module must not touch the account file.

Decisions:
- The session token is 32 random bytes in the ``edgepbx_session`` cookie (HttpOnly,
  SameSite=Strict, Secure when the box serves HTTPS); sessions expire after 30 min idle and
  12 h in any case.
- Each session has its own CSRF token; every POST/PUT/PATCH/DELETE made with a session must
  carry it in ``X-CSRF-Token``. Sign-in and first-boot setup have no session yet: they are
  protected by the Origin check and by requiring an ``application/json`` body, which a
  cross-site HTML form cannot send.
- The client IP for throttling is the TCP peer: the box is reached directly on the LAN, so
  X-Forwarded-For is never trusted.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from firmware.accounts import ROLES, Accounts
from firmware.service import BoxService

log = logging.getLogger("webui.auth")

COOKIE_NAME = "edgepbx_session"
CSRF_HEADER = "X-CSRF-Token"
IDLE_TIMEOUT_S = 30 * 60.0
ABSOLUTE_TIMEOUT_S = 12 * 3600.0
THROTTLE_WINDOW_S = 5 * 60.0
THROTTLE_MAX_FAILURES = 5
THROTTLE_BLOCK_S = 60.0
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# (method, route path) that need no session. Everything else, including unknown paths,
# needs one: an unauthenticated client learns nothing about which routes exist.
PUBLIC: frozenset[tuple[str, str]] = frozenset({
    ("GET", "/login"),
    ("HEAD", "/login"),
    ("GET", "/setup"),
    ("HEAD", "/setup"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/setup"),
    ("GET", "/api/v1/health"),
    ("HEAD", "/api/v1/health"),
})
PUBLIC_PREFIXES = ("/static/",)
# Public endpoints that change state but run before any session exists (see module doc).
CSRF_EXEMPT: frozenset[str] = frozenset({"/api/v1/auth/login", "/api/v1/auth/setup"})

Clock = Callable[[], float]


@dataclass
class Session:
    token: str
    csrf_token: str
    username: str
    role: str
    created: float
    last_seen: float


class SessionStore:
    """The in-memory session table, with idle and absolute expiry."""

    def __init__(self, clock: Clock = time.monotonic, idle_s: float = IDLE_TIMEOUT_S,
                 absolute_s: float = ABSOLUTE_TIMEOUT_S) -> None:
        self._clock = clock
        self._idle_s = idle_s
        self._absolute_s = absolute_s
        self._sessions: dict[str, Session] = {}

    def create(self, username: str, role: str) -> Session:
        self._expire()
        now = self._clock()
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), username, role,
                          now, now)
        self._sessions[session.token] = session
        return session

    def peek(self, token: str | None) -> Session | None:
        """The live session for the token, without counting this as activity."""
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        now = self._clock()
        if now - session.last_seen > self._idle_s or now - session.created > self._absolute_s:
            del self._sessions[token]
            return None
        return session

    def touch(self, token: str | None) -> Session | None:
        """The live session for the token; the request counts as activity."""
        session = self.peek(token)
        if session is not None:
            session.last_seen = self._clock()
        return session

    def delete(self, token: str) -> None:
        self._sessions.pop(token, None)

    def delete_user(self, username: str, *, keep: str | None = None) -> None:
        """Sign a user out everywhere (but the session ``keep``): after a password change."""
        for token, session in list(self._sessions.items()):
            if session.username == username and token != keep:
                del self._sessions[token]

    def __len__(self) -> int:
        return len(self._sessions)

    def _expire(self) -> None:
        for token in list(self._sessions):
            self.peek(token)


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0


class LoginThrottle:
    """After 5 failed sign-ins for a user name or a client IP within 5 minutes, refuse
    sign-ins for that name or IP for 60 s."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._keys: dict[tuple[str, str], _Failures] = {}

    def retry_after(self, username: str, ip: str) -> float:
        """Seconds until a sign-in for this user name from this IP is allowed (0: now)."""
        now = self._clock()
        wait = 0.0
        for key in (("user", username), ("ip", ip)):
            entry = self._keys.get(key)
            if entry is not None:
                wait = max(wait, entry.blocked_until - now)
        return wait

    def failed(self, username: str, ip: str) -> None:
        now = self._clock()
        self._prune(now)
        for key in (("user", username), ("ip", ip)):
            entry = self._keys.setdefault(key, _Failures())
            entry.times.append(now)
            if len(entry.times) >= THROTTLE_MAX_FAILURES:
                entry.blocked_until = now + THROTTLE_BLOCK_S

    def attempt(self, username: str, ip: str) -> None:
        """Count a sign-in as failed before checking the password (which takes a while in
        a thread), so that guesses sent in parallel cannot all slip past the limit."""
        self.failed(username, ip)

    def succeeded(self, username: str, ip: str) -> None:
        """The attempt was right after all: forget the user's failures and take back the
        IP's pessimistic count."""
        self._keys.pop(("user", username), None)
        entry = self._keys.get(("ip", ip))
        if entry is not None and entry.times:
            entry.times.pop()
            if len(entry.times) < THROTTLE_MAX_FAILURES:
                entry.blocked_until = 0.0

    def _prune(self, now: float) -> None:
        for key, entry in list(self._keys.items()):
            while entry.times and now - entry.times[0] > THROTTLE_WINDOW_S:
                entry.times.popleft()
            if not entry.times and entry.blocked_until <= now:
                del self._keys[key]


@dataclass(frozen=True)
class WebSettings:
    secure_cookies: bool = False
    sse_keepalive_s: float = 15.0


BOX = web.AppKey("box", BoxService)
ACCOUNTS = web.AppKey("accounts", Accounts)
SESSIONS = web.AppKey("sessions", SessionStore)
THROTTLE = web.AppKey("throttle", LoginThrottle)
SETTINGS = web.AppKey("settings", WebSettings)

_SESSION = web.RequestKey("edgepbx_session", Session)


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def is_api(request: web.Request) -> bool:
    return request.path == "/api/v1" or request.path.startswith("/api/v1/")


def client_ip(request: web.Request) -> str:
    return request.remote or "unknown"


def session_of(request: web.Request) -> Session:
    """The signed-in session (the auth middleware guarantees one outside PUBLIC routes)."""
    session = request.get(_SESSION)
    if session is None:
        raise web.HTTPUnauthorized()
    return session


def optional_session(request: web.Request) -> Session | None:
    return request.get(_SESSION)


def role_at_least(role: str, needed: str) -> bool:
    return ROLES.index(role) <= ROLES.index(needed)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def requires(role: str) -> Callable[[Handler], Handler]:
    """Decorate a view: the signed-in user needs at least this role (admin > supervisor >
    viewer), else 403."""
    if role not in ROLES:
        raise ValueError(role)

    def decorate(handler: Handler) -> Handler:
        async def view(request: web.Request) -> web.StreamResponse:
            session = session_of(request)
            if not role_at_least(session.role, role):
                return json_error(403, f"this needs the {role} role; you are {session.role}")
            return await handler(request)

        view.__name__ = handler.__name__
        view.__doc__ = handler.__doc__
        view.required_role = role  # type: ignore[attr-defined]
        return view

    return decorate


def start_session(request: web.Request, username: str, role: str) -> Session:
    """Sign in: a fresh session (never reuse one the client brought)."""
    old = request.cookies.get(COOKIE_NAME)
    if old:
        request.app[SESSIONS].delete(old)
    session = request.app[SESSIONS].create(username, role)
    request[_SESSION] = session
    return session


def set_session_cookie(request: web.Request, response: web.StreamResponse,
                       session: Session) -> None:
    response.set_cookie(
        COOKIE_NAME, session.token, path="/", httponly=True, samesite="Strict",
        secure=request.app[SETTINGS].secure_cookies,
    )


def end_session(request: web.Request, response: web.StreamResponse) -> None:
    token = request.cookies.get(COOKIE_NAME)
    if token:
        request.app[SESSIONS].delete(token)
    response.del_cookie(COOKIE_NAME, path="/")


def _route_key(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


def _origin_ok(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return bool(parts.scheme in ("http", "https") and parts.netloc
                and parts.netloc.lower() == request.host.lower())


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = _route_key(request)
    if request.method in UNSAFE_METHODS and not _origin_ok(request):
        return json_error(403, "cross-origin request refused")

    session = request.app[SESSIONS].touch(request.cookies.get(COOKIE_NAME))
    if session is not None:
        request[_SESSION] = session

    public = (request.method, path) in PUBLIC or request.path.startswith(PUBLIC_PREFIXES)
    if session is None and not public:
        if is_api(request) or request.method not in ("GET", "HEAD"):
            return json_error(401, "sign-in required")
        target = "/setup" if request.app[ACCOUNTS].needs_setup else "/login"
        raise web.HTTPSeeOther(target)

    if (session is not None and request.method in UNSAFE_METHODS
            and path not in CSRF_EXEMPT):
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            return json_error(403, "CSRF token missing or wrong")

    return await handler(request)
