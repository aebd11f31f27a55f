"""Fixtures of the web UI tests: the app over an in-memory box (tests/webui/fakes.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from fakes import FakeBox, FakeSim

from firmware.accounts import Accounts
from tests.webui.client import (
    ADMIN_PASSWORD,
    SUPERVISOR_PASSWORD,
    VIEWER_PASSWORD,
    Browser,
    MakeBrowser,
)
from webui.app import create_app


@pytest.fixture
def box() -> FakeBox:
    return FakeBox(sim=FakeSim())


@pytest.fixture
def accounts_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "accounts.json"


@pytest.fixture
def fresh_accounts(accounts_path: Path) -> Accounts:
    """First boot: no account yet."""
    return Accounts.open(accounts_path)


@pytest.fixture
def accounts(tmp_path: Path) -> Accounts:
    """A box set up, with one user of each role."""
    accounts = Accounts.open(tmp_path / "set-up" / "accounts.json")
    accounts.set_initial_admin(ADMIN_PASSWORD)
    accounts.add_user("vic", VIEWER_PASSWORD, "viewer")
    accounts.add_user("sue", SUPERVISOR_PASSWORD, "supervisor")
    return accounts



@pytest.fixture
def make_browser(aiohttp_client: Any, box: FakeBox, accounts: Accounts) -> MakeBrowser:
    async def make(*, app: web.Application | None = None, user: str | None = None,
                   password: str | None = None) -> Browser:
        browser = Browser(await aiohttp_client(app or create_app(box, accounts)))
        if user is not None:
            resp = await browser.login(user, password or "")
            assert resp.status == 200, await resp.text()
        return browser

    return make


@pytest.fixture
async def anon(make_browser: MakeBrowser) -> Browser:
    return await make_browser()


@pytest.fixture
async def admin(make_browser: MakeBrowser) -> Browser:
    return await make_browser(user="admin", password=ADMIN_PASSWORD)


@pytest.fixture
async def viewer(make_browser: MakeBrowser) -> Browser:
    return await make_browser(user="vic", password=VIEWER_PASSWORD)


@pytest.fixture
async def supervisor(make_browser: MakeBrowser) -> Browser:
    return await make_browser(user="sue", password=SUPERVISOR_PASSWORD)
