"""The pages in a real browser: Debian's chromium driven by Playwright (sync API).

Two servers on free 127.0.0.1 ports, each on its own event loop in a thread (Playwright's
sync API must not run inside an asyncio loop): the UI over the in-memory fake box for the
sign-in flows, and over the real firmware (`firmware.app.Box` on the simulated board) for a
call placed from the simulator and watched live on the dashboard. Every page is watched for
console errors and Content-Security-Policy violations.

Skipped, with the reason, only when Playwright or /usr/bin/chromium is missing.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from fakes import FakeBox, FakeSim

from firmware.accounts import Accounts
from webui.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "Tech-Room-2024"

try:
    from playwright.sync_api import (
        Browser,
        ConsoleMessage,
        Page,
        Response,
        expect,
        sync_playwright,
    )
except ImportError as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"browser tests need Playwright (pip install playwright): {exc}",
                allow_module_level=True)
if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:  # pragma: no cover
    pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt install chromium)",
                allow_module_level=True)

pytestmark = pytest.mark.timeout(60)

Starter = Callable[[], Awaitable[tuple[web.Application, Callable[[], Awaitable[None]]]]]


class ServerThread:
    """An aiohttp app served on 127.0.0.1:<free port> from a thread with its own loop."""

    def __init__(self, start: Starter) -> None:
        self._start = start
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="webui-test-server", daemon=True)
        self.url = ""

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to the test thread
            self._error = exc
            self._ready.set()
            return
        self._loop.run_forever()
        self._loop.run_until_complete(self._stop())
        self._loop.close()

    async def _serve(self) -> None:
        app, self._cleanup = await self._start()
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._ready.set()

    async def _stop(self) -> None:
        await self._runner.cleanup()
        await self._cleanup()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("the test server did not start in 20 s")
        if self._error is not None:
            raise RuntimeError(f"the test server did not start: {self._error!r}")
        return self

    def __exit__(self, *exc: Any) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(20)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Watched:
    """A browser page whose console errors and CSP violations are collected."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("response", self._response)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        # init scripts are not subject to the page's CSP: they can listen for its violations
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', (e) => "
            "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));")

    def _console(self, msg: ConsoleMessage) -> None:
        # chromium logs every 4xx answer as "Failed to load resource"; the API's refusals
        # are part of the flows under test, and other failed loads are caught in _response
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            self.errors.append(f"console: {msg.text}")

    def _response(self, response: Response) -> None:
        if response.status >= 400 and "/api/v1/" not in response.url:
            self.errors.append(f"HTTP {response.status} for {response.url}")

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def sign_in(self, user: str = "admin", password: str = PASSWORD, *,
                works: bool = True) -> None:
        self.go("/login")
        self.page.get_by_label("User name").fill(user)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        if works:
            expect(self.page).to_have_url(self.base + "/")


@pytest.fixture
def watched(browser: Browser) -> Iterator[Callable[[str], Watched]]:
    contexts = []
    pages: list[Watched] = []

    def open_page(base: str) -> Watched:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(8000)
        contexts.append(context)
        pages.append(Watched(context.new_page(), base))
        return pages[-1]

    yield open_page
    for context in contexts:
        context.close()
    errors = [e for p in pages for e in p.errors]
    assert errors == [], "the browser reported errors (console or CSP)"


# ---------------------------------------------------------------- over the fake box


@pytest.fixture(scope="module")
def fake_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    async def start() -> tuple[web.Application, Callable[[], Awaitable[None]]]:
        accounts = Accounts.open(tmp_path_factory.mktemp("fake") / "accounts.json")

        async def nothing() -> None:
            return None

        return create_app(FakeBox(sim=FakeSim()), accounts), nothing

    with ServerThread(start) as server:
        yield server


def test_first_boot_setup_then_sign_out_and_in(fake_server: ServerThread,
                                               watched: Callable[[str], Watched]) -> None:
    w = watched(fake_server.url)
    page = w.page
    w.go("/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    expect(page.get_by_role("heading", name="First-boot setup")).to_be_visible()
    password = page.get_by_label("Password", exact=True)
    again = page.get_by_label("Password again")
    submit = page.get_by_role("button", name="Set the password and sign in")

    password.fill("aaaaaaaaaaaa")
    again.fill("aaaaaaaaaaaa")
    submit.click()
    message = page.locator("#message")
    expect(message).to_contain_text("must mix at least two kinds of characters")
    expect(message).to_contain_text("The password needs at least 10 characters")
    expect(page).to_have_url(re.compile(r"/setup$"))

    password.fill(PASSWORD)
    again.fill(PASSWORD + "x")
    submit.click()
    expect(message).to_have_text("The two passwords differ.")

    again.fill(PASSWORD)
    submit.click()
    expect(page).to_have_url(fake_server.url + "/")
    expect(page.locator("nav .who")).to_have_text("admin (admin)")

    page.get_by_role("link", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    w.go("/")
    expect(page).to_have_url(re.compile(r"/login$"))  # really signed out

    w.sign_in(password="Wrong-password-1", works=False)
    expect(page.locator("#message")).to_have_text("wrong user name or password")
    w.sign_in()
    ports = page.locator("#ports")
    expect(ports.locator("tbody > tr")).to_have_count(5)  # 4 ports and the E1 span
    expect(ports.locator("#port-gsm1")).to_contain_text("-73 dBm (good)")
    expect(ports.locator("#port-e1")).to_contain_text("1 / 30 busy")
    ports.get_by_text("B-channels (1 busy of 30)").click()
    expect(ports.locator("#port-e1 li.chip")).to_have_count(30)
    expect(page.locator("#live")).to_have_text("live updates: on")


# ---------------------------------------------------------------- over the real firmware


@pytest.fixture(scope="module")
def box_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    from firmware.app import Box, Settings

    async def start() -> tuple[web.Application, Callable[[], Awaitable[None]]]:
        data = tmp_path_factory.mktemp("box")
        box = Box(Settings(data_dir=data / "data", simulated=True))
        await box.start()
        accounts = Accounts.open(data / "accounts.json")
        accounts.set_initial_admin(PASSWORD)
        return create_app(box, accounts), box.stop

    with ServerThread(start) as server:
        yield server


def test_call_from_the_simulator_shows_live_on_the_dashboard(
        box_server: ServerThread, watched: Callable[[str], Watched]) -> None:
    dash = watched(box_server.url)
    dash.sign_in()
    expect(dash.page.locator("#live")).to_have_text("live updates: on")
    expect(dash.page.locator("#calls")).to_have_text("no calls in progress")

    sim = watched(box_server.url)
    sim.sign_in()
    sim.go("/sim")
    page = sim.page
    gsm1 = page.locator("#trunk-gsm1")
    gsm1.get_by_label("Caller").fill("0601020304")
    gsm1.get_by_role("button", name="Call in").click()

    fxs1 = page.locator("#phone-fxs1")
    expect(fxs1.locator(".headline")).to_contain_text("Ringing")
    expect(fxs1.locator(".headline")).to_contain_text("call from 0601020304")
    expect(gsm1.locator(".headline")).to_contain_text("Calling in from 0601020304")
    fxs1.get_by_role("button", name="Answer (pick up)").click()
    expect(fxs1.locator(".headline")).to_contain_text("In call")
    expect(fxs1.get_by_role("button", name="Hang up")).to_be_enabled()
    expect(fxs1.get_by_role("button", name="key 5")).to_be_enabled()

    # the dashboard, open all along, follows over the SSE stream
    calls = dash.page.locator("#calls")
    expect(calls).to_contain_text("0601020304")
    expect(calls).to_contain_text("talking")
    expect(calls).to_contain_text("gsm1")
    expect(dash.page.locator("#port-fxs1")).to_contain_text("in call")
    expect(dash.page.locator("#port-gsm1")).to_contain_text("from 0601020304 → ext 201")
    tick = calls.locator(".tick").first
    first = tick.text_content()
    expect(tick).not_to_have_text(first or "", timeout=3000)  # the duration ticks

    # an action the far end cannot take now: refused inline, in words, next to the control
    e1 = page.locator("#trunk-e1")
    e1.get_by_label("B-channel").select_option("7")
    e1.get_by_role("button", name="Answer").click()
    expect(e1.locator(".message")).to_contain_text("Answer refused: ")
    expect(e1.locator(".message")).to_contain_text("no")

    fxs1.get_by_role("button", name="Hang up").click()
    expect(fxs1.locator(".headline")).to_contain_text("On hook")
    expect(calls).to_have_text("no calls in progress")
    newest = dash.page.locator("#cdrs tbody tr").first
    expect(newest).to_contain_text("0601020304 → ")
    expect(newest).to_contain_text("answered")
