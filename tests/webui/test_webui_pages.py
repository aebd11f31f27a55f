"""Server-rendered pages and the headers every response carries."""

from __future__ import annotations

import re

import pytest
from fakes import FakeBox
from yarl import URL

from tests.webui.client import ADMIN_PASSWORD, Browser, MakeBrowser
from webui.app import SECURITY_HEADERS

PAGES = ["/", "/config", "/sim"]


def csrf_meta(text: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]*)">', text)
    assert match, "no CSRF meta tag"
    return match.group(1)


def assert_no_inline_code(text: str) -> None:
    # the CSP forbids inline scripts and styles: keep pages free of them
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) is None
    assert re.search(r"\son[a-z]+\s*=", text) is None
    assert " style=" not in text and "<style" not in text


@pytest.mark.parametrize("path", PAGES)
async def test_pages_render_signed_in(admin: Browser, path: str) -> None:
    resp = await admin.get(path)
    assert resp.status == 200
    assert resp.content_type == "text/html"
    text = await resp.text()
    assert csrf_meta(text) == admin.csrf
    assert 'id="signout"' in text and "/static/app.js" in text
    assert_no_inline_code(text)


async def test_dashboard_content(admin: Browser) -> None:
    text = await (await admin.get("/")).text()
    for needle in ("fxs1", "gsm1", "0601", 'data-cdr="c49"', 'id="ports"', 'id="calls"',
                   'id="cdrs"'):
        assert needle in text
    assert 'data-cdr="c29"' not in text  # the last 20 records only


async def test_config_page_escapes_the_document(admin: Browser, box: FakeBox) -> None:
    box.document = {"system": {"name": "</textarea><script>alert(1)</script>"}}
    text = await (await admin.get("/config")).text()
    assert "<script>alert(1)" not in text
    assert "&lt;/textarea&gt;&lt;script&gt;" in text
    assert 'data-revision="1"' in text


async def test_viewer_sees_disabled_controls(viewer: Browser) -> None:
    text = await (await viewer.get("/config")).text()
    assert re.search(r'<button type="submit" id="save" disabled>', text)
    sim = await (await viewer.get("/sim")).text()
    assert "disabled" in sim and "watch but not act" in sim


async def test_sim_page_lists_ports_by_kind(admin: Browser) -> None:
    text = await (await admin.get("/sim")).text()
    phones = text.split('id="sim-phones"')[1].split('id="sim-trunks"')[0]
    trunks = text.split('id="sim-trunks"')[1].split('id="sim-state"')[0]
    assert "fxo1" in trunks and "gsm1" in trunks and "fxs1" not in trunks
    assert "fxs1" in phones and "fxs2" in phones and "fxo1" not in phones
    assert 'data-sim="trunks/fxo1/call"' in trunks and 'data-sim="phones/fxs2/flash"' in phones


async def test_login_page(anon: Browser, admin: Browser) -> None:
    resp = await anon.get("/login")
    assert resp.status == 200
    text = await resp.text()
    assert 'id="login-form"' in text and csrf_meta(text) == ""
    assert_no_inline_code(text)
    resp = await admin.get("/login", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/")


async def test_static_files_are_public(anon: Browser) -> None:
    for path, kind in (("/static/app.js", "javascript"), ("/static/app.css", "css")):
        resp = await anon.get(path)
        assert resp.status == 200 and kind in resp.headers["Content-Type"]
    resp = await anon.client.session.get(
        URL(str(anon.client.make_url("/")) + "static/%2e%2e/app.py", encoded=True),
        allow_redirects=False)
    assert resp.status in (303, 403, 404)  # never the source of app.py
    assert "create_app" not in await resp.text()


@pytest.mark.parametrize(("who", "path"), [
    ("admin", "/"), ("admin", "/api/v1/info"), ("anon", "/api/v1/info"), ("anon", "/"),
    ("anon", "/login"), ("anon", "/static/app.css"), ("anon", "/api/v1/health"),
    ("admin", "/api/v1/cdr?limit=0"), ("admin", "/api/v1/nope"),
])
async def test_security_headers_everywhere(make_browser: MakeBrowser, who: str,
                                           path: str) -> None:
    if who == "admin":
        browser = await make_browser(user="admin", password=ADMIN_PASSWORD)
    else:
        browser = await make_browser()
    resp = await browser.get(path, allow_redirects=False)
    for name, value in SECURITY_HEADERS.items():
        assert resp.headers.get(name) == value, (path, name)
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    if not path.startswith("/static/"):
        assert resp.headers["Cache-Control"] == "no-store"
