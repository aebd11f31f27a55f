"""The web UI tests' browser: a test client signed in (or not), and the users' passwords.

A module of its own (not conftest.py) so tests import it by one unambiguous name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

ADMIN_PASSWORD = "Correct-Horse-9"
VIEWER_PASSWORD = "viewer-Pass-1"
SUPERVISOR_PASSWORD = "superv-Pass-2"


class Browser:
    """A test client signed in (or not), sending the CSRF token like app.js does."""

    def __init__(self, client: TestClient[Any, Any], csrf: str = "") -> None:
        self.client = client
        self.csrf = csrf

    @property
    def app(self) -> web.Application:
        return self.client.app  # type: ignore[return-value]

    async def login(self, username: str, password: str) -> Any:
        resp = await self.client.post("/api/v1/auth/login",
                                      json={"username": username, "password": password})
        body = await resp.json()
        if resp.status == 200:
            self.csrf = body["csrf_token"]
        return resp

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.client.get(path, **kw)

    async def send(self, method: str, path: str, json: Any = None, **kw: Any) -> Any:
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        return await self.client.request(method, path, json=json, headers=headers, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return await self.send("POST", path, json, **kw)

    async def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return await self.send("PUT", path, json, **kw)


MakeBrowser = Callable[..., Awaitable[Browser]]
