"""Sign-in, first boot, sessions, CSRF, roles and sign-in throttling."""

from __future__ import annotations

import asyncio
import re

import pytest
from fakes import FakeBox

from firmware.accounts import Accounts
from tests.webui.client import ADMIN_PASSWORD, Browser, MakeBrowser
from webui.app import create_app
from webui.auth import (
    COOKIE_NAME,
    PUBLIC,
    PUBLIC_PREFIXES,
    SESSIONS,
    THROTTLE,
    LoginThrottle,
    SessionStore,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "fxs1" if m.group(1) == "port" else "1", path)


# ---------------------------------------------------------------- first boot


async def test_first_boot_setup_once(make_browser: MakeBrowser, box: FakeBox,
                                     fresh_accounts: Accounts) -> None:
    b = await make_browser(app=create_app(box, fresh_accounts))
    # before setup, pages lead to the wizard
    resp = await b.get("/", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/setup")
    resp = await b.get("/login", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/setup")
    assert (await b.get("/setup")).status == 200

    resp = await b.client.post("/api/v1/auth/setup", json={"password": "weakpassword"})
    assert resp.status == 400
    assert "two kinds of characters" in (await resp.json())["error"]
    resp = await b.client.post("/api/v1/auth/setup", json={"password": "Sh0rt!"})
    assert "at least 10 characters" in (await resp.json())["error"]
    assert fresh_accounts.needs_setup

    resp = await b.client.post("/api/v1/auth/setup", json={"password": ADMIN_PASSWORD})
    assert resp.status == 200
    body = await resp.json()
    assert body["username"] == "admin" and body["role"] == "admin" and body["csrf_token"]
    assert not fresh_accounts.needs_setup
    # signed in straight away
    b.csrf = body["csrf_token"]
    assert (await (await b.get("/api/v1/auth/me")).json())["username"] == "admin"
    assert ("admin", "auth.setup") in [(a, act) for a, act, _ in box.audits]

    # and never again
    other = await make_browser(app=b.app)
    resp = await other.client.post("/api/v1/auth/setup", json={"password": "Evil-passw0rd"})
    assert resp.status == 409
    resp = await other.get("/setup", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/login")
    assert fresh_accounts.verify("admin", ADMIN_PASSWORD) is not None


# ---------------------------------------------------------------- sign-in required


async def test_every_api_route_needs_sign_in(anon: Browser) -> None:
    checked = 0
    for route in anon.app.router.routes():
        resource = route.resource
        assert resource is not None
        path = resource.canonical
        if not path.startswith("/api/v1") or (route.method, path) in PUBLIC:
            continue
        resp = await anon.client.request(route.method, concrete(path), json={})
        assert resp.status == 401, (route.method, path, resp.status)
        if route.method != "HEAD":
            assert await resp.json() == {"error": "sign-in required"}
        checked += 1
    assert checked >= 25


async def test_every_page_redirects_to_login(anon: Browser) -> None:
    for route in anon.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if (path.startswith(("/api/", *PUBLIC_PREFIXES)) or path == "/static"
                or route.method != "GET" or (route.method, path) in PUBLIC):
            continue
        resp = await anon.get(concrete(path), allow_redirects=False)
        assert (resp.status, resp.headers["Location"]) == (303, "/login"), path


async def test_unknown_api_path_needs_sign_in_too(anon: Browser, admin: Browser) -> None:
    assert (await anon.get("/api/v1/nothing-here")).status == 401
    resp = await admin.get("/api/v1/nothing-here")
    assert resp.status == 404 and "error" in await resp.json()


async def test_health_is_public_and_says_nothing_else(anon: Browser) -> None:
    resp = await anon.get("/api/v1/health")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}


async def test_login_sets_hardened_cookie(anon: Browser) -> None:
    resp = await anon.login("admin", ADMIN_PASSWORD)
    assert resp.status == 200
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    token = resp.cookies[COOKIE_NAME].value
    assert len(token) >= 43  # 32 random bytes, base64url


async def test_secure_cookie_when_asked(make_browser: MakeBrowser, box: FakeBox,
                                        accounts: Accounts) -> None:
    b = await make_browser(app=create_app(box, accounts, secure_cookies=True))
    resp = await b.client.post("/api/v1/auth/login",
                               json={"username": "admin", "password": ADMIN_PASSWORD})
    assert "Secure" in resp.headers["Set-Cookie"]


async def test_wrong_password_and_audit(anon: Browser, box: FakeBox,
                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    resp = await anon.login("admin", "Not-the-password-1")
    assert resp.status == 401
    assert await resp.json() == {"error": "wrong user name or password"}
    assert (await anon.login("admin", ADMIN_PASSWORD)).status == 200
    actions = [(actor, action) for actor, action, _ in box.audits]
    assert ("admin", "auth.login_failed") in actions and ("admin", "auth.login") in actions
    assert "sign-in failed" in caplog.text and "sign-in:" in caplog.text
    assert "Not-the-password-1" not in caplog.text and ADMIN_PASSWORD not in caplog.text


async def test_logout_ends_the_session(admin: Browser, box: FakeBox) -> None:
    assert (await admin.get("/api/v1/info")).status == 200
    resp = await admin.post("/api/v1/auth/logout")
    assert resp.status == 200
    assert len(admin.app[SESSIONS]) == 0
    assert (await admin.get("/api/v1/info")).status == 401
    assert box.audits[-1][:2] == ("admin", "auth.logout")


async def test_stolen_cookie_is_useless_after_logout(make_browser: MakeBrowser,
                                                     admin: Browser) -> None:
    token = admin.client.session.cookie_jar.filter_cookies(
        admin.client.make_url("/"))[COOKIE_NAME].value
    await admin.post("/api/v1/auth/logout")
    thief = await make_browser(app=admin.app)
    resp = await thief.get("/api/v1/info", cookies={COOKIE_NAME: token})
    assert resp.status == 401


async def test_change_password(admin: Browser, accounts: Accounts) -> None:
    resp = await admin.post("/api/v1/auth/password",
                            json={"old": "wrong-Password-1", "new": "Brand-new-pw-1"})
    assert resp.status == 400 and "current password" in (await resp.json())["error"]
    resp = await admin.post("/api/v1/auth/password",
                            json={"old": ADMIN_PASSWORD, "new": "short"})
    assert resp.status == 400 and "at least 10" in (await resp.json())["error"]
    resp = await admin.post("/api/v1/auth/password",
                            json={"old": ADMIN_PASSWORD, "new": "Brand-new-pw-1"})
    assert resp.status == 200
    assert accounts.verify("admin", "Brand-new-pw-1") is not None
    assert (await admin.get("/api/v1/auth/me")).status == 200  # this session lives on


# ---------------------------------------------------------------- sessions expire


def test_session_idle_and_absolute_expiry() -> None:
    clock = Clock()
    store = SessionStore(clock=clock)
    s = store.create("admin", "admin")
    clock.now += 29 * 60
    assert store.touch(s.token) is s
    clock.now += 29 * 60
    assert store.touch(s.token) is s  # activity keeps it alive
    clock.now += 31 * 60
    assert store.touch(s.token) is None  # idle too long
    s2 = store.create("admin", "admin")
    for _ in range(12 * 3 + 1):
        clock.now += 20 * 60
        store.touch(s2.token)
    assert store.touch(s2.token) is None  # 12 h at most, however active
    assert len(store) == 0
    assert store.touch(None) is None and store.touch("forged") is None


# ---------------------------------------------------------------- CSRF and Origin


async def test_csrf_missing_or_wrong(admin: Browser) -> None:
    doc = {"document": {"system": {"name": "x"}}}
    for headers in ({}, {"X-CSRF-Token": "nope"}):
        resp = await admin.client.put("/api/v1/config", json=doc, headers=headers)
        assert resp.status == 403
        assert await resp.json() == {"error": "CSRF token missing or wrong"}
    resp = await admin.client.post("/api/v1/auth/logout")
    assert resp.status == 403
    assert (await admin.put("/api/v1/config", json=doc)).status == 200


async def test_foreign_origin_refused(admin: Browser, anon: Browser) -> None:
    resp = await admin.post("/api/v1/config/validate", json={"document": {"system": {}}},
                            headers={"Origin": "http://evil.example"})
    assert resp.status == 403
    resp = await anon.client.post("/api/v1/auth/login",
                                  json={"username": "admin", "password": ADMIN_PASSWORD},
                                  headers={"Origin": "http://evil.example"})
    assert resp.status == 403
    host = admin.client.make_url("/").host
    port = admin.client.make_url("/").port
    resp = await admin.post("/api/v1/config/validate", json={"document": {"system": {}}},
                            headers={"Origin": f"http://{host}:{port}"})
    assert resp.status == 200


async def test_login_needs_a_json_body(anon: Browser) -> None:
    # what a cross-site HTML form would send
    resp = await anon.client.post("/api/v1/auth/login",
                                  data={"username": "admin", "password": ADMIN_PASSWORD})
    assert resp.status == 415


# ---------------------------------------------------------------- roles


async def test_viewer_reads_but_cannot_change(viewer: Browser, box: FakeBox) -> None:
    for path in ("/api/v1/info", "/api/v1/config", "/api/v1/ports", "/api/v1/sim/state"):
        assert (await viewer.get(path)).status == 200, path
    resp = await viewer.put("/api/v1/config", json={"document": {"system": {}}})
    assert resp.status == 403
    assert "admin" in (await resp.json())["error"]
    assert (await viewer.post("/api/v1/config/rollback", json={"revision": 1})).status == 403
    assert (await viewer.post("/api/v1/sim/phones/fxs1/offhook")).status == 403
    assert box.config_revision() == 1


async def test_supervisor_drives_simulator_not_config(supervisor: Browser, box: FakeBox) -> None:
    assert (await supervisor.post("/api/v1/sim/phones/fxs1/offhook")).status == 200
    resp = await supervisor.put("/api/v1/config", json={"document": {"system": {}}})
    assert resp.status == 403


# ---------------------------------------------------------------- throttling


async def test_login_rate_limit_per_username(anon: Browser) -> None:
    clock = Clock()
    anon.app[THROTTLE]._clock = clock  # the app is frozen: swap the clock, not the throttle
    for _ in range(5):
        assert (await anon.login("admin", "Wrong-guess-12")).status == 401
    resp = await anon.login("admin", ADMIN_PASSWORD)  # even the right password: blocked
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) == 60
    clock.now += 61
    assert (await anon.login("admin", ADMIN_PASSWORD)).status == 200


def test_throttle_per_ip_and_window() -> None:
    clock = Clock()
    t = LoginThrottle(clock=clock)
    for i in range(5):
        assert t.retry_after(f"user{i}", "10.0.0.9") == 0
        t.failed(f"user{i}", "10.0.0.9")
    assert t.retry_after("someone-else", "10.0.0.9") == 60  # the IP is blocked
    assert t.retry_after("someone-else", "10.0.0.10") == 0
    # five failures within 5 minutes block; failures spread wider do not add up
    t2 = LoginThrottle(clock=clock)
    for i in range(5):
        assert t2.retry_after("admin", "10.0.0.1") == 0
        t2.failed("admin", "10.0.0.1")
        if i < 4:
            clock.now += 70
    assert t2.retry_after("admin", "10.0.0.1") == 60
    t3 = LoginThrottle(clock=clock)
    for _ in range(10):
        t3.failed("bob", "10.0.0.2")
        clock.now += 301
    assert t3.retry_after("bob", "10.0.0.2") == 0


async def test_parallel_guesses_cannot_slip_past_the_limit(anon: Browser) -> None:
    guesses = [anon.login("admin", f"Wrong-guess-{i:02d}") for i in range(12)]
    statuses = [r.status for r in await asyncio.gather(*guesses)]
    assert statuses.count(401) == 5 and statuses.count(429) == 7


def test_success_takes_back_the_pessimistic_count() -> None:
    clock = Clock()
    t = LoginThrottle(clock=clock)
    for _ in range(4):
        t.attempt("admin", "10.0.0.1")
    t.attempt("admin", "10.0.0.1")  # the fifth attempt...
    t.succeeded("admin", "10.0.0.1")  # ...was right
    assert t.retry_after("admin", "10.0.0.1") == 0
    assert t.retry_after("other", "10.0.0.1") == 0
