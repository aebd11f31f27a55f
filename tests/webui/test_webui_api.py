"""The JSON API over the fake box: reads, configuration, CDR paging, SSE, simulator,
error mapping and the OpenAPI document."""

from __future__ import annotations

import asyncio
import re

import pytest
from fakes import FakeBox, FakeSim

from firmware.accounts import Accounts
from firmware.service import BadRequest, Unavailable
from tests.webui.client import ADMIN_PASSWORD, Browser, MakeBrowser
from webui.app import create_app
from webui.auth import SETTINGS, WebSettings

# ---------------------------------------------------------------- reads


async def test_reads(admin: Browser) -> None:
    info = await (await admin.get("/api/v1/info")).json()
    assert info["name"] == "office" and info["config_revision"] == 1
    ports = await (await admin.get("/api/v1/ports")).json()
    ids = [p["id"] for p in ports["ports"]]
    assert ids == ["fxs1", "fxs2", "fxo1", "gsm1", *(f"e1.{n}" for n in range(1, 31))]
    calls = await (await admin.get("/api/v1/calls")).json()
    assert calls["calls"][0]["id"] == "k1"
    me = await (await admin.get("/api/v1/auth/me")).json()
    assert me == {"username": "admin", "role": "admin", "csrf_token": admin.csrf}


async def test_cdr_paging(admin: Browser, box: FakeBox) -> None:
    body = await (await admin.get("/api/v1/cdr")).json()
    assert len(body["cdrs"]) == 50 and (body["limit"], body["offset"]) == (100, 0)
    resp = await admin.get("/api/v1/cdr?limit=5&offset=10&since=1700000000&until=1700000100.5")
    body = await resp.json()
    assert [c["call_id"] for c in body["cdrs"]] == ["c39", "c38", "c37", "c36", "c35"]
    assert box.cdr_calls[-1] == {"limit": 5, "offset": 10, "since": 1_700_000_000.0,
                                 "until": 1_700_000_100.5}


@pytest.mark.parametrize(("query", "names"), [
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"),
    ("limit=", "limit"), ("offset=-1", "offset"), ("offset=1.5", "offset"),
    ("since=yesterday", "since"), ("until=nan", "until"), ("until=inf", "until"),
    ("since=200&until=100", "since"),
])
async def test_cdr_bad_params(admin: Browser, box: FakeBox, query: str, names: str) -> None:
    resp = await admin.get(f"/api/v1/cdr?{query}")
    assert resp.status == 400
    assert f'"{names}"' in (await resp.json())["error"]
    assert box.cdr_calls == []


# ---------------------------------------------------------------- configuration


async def test_config_read_commit_rollback(admin: Browser, box: FakeBox) -> None:
    got = await (await admin.get("/api/v1/config")).json()
    assert got == {"document": box.document, "revision": 1}
    new = {"system": {"name": "shop"}, "extensions": [{"number": "100"}]}
    resp = await admin.put("/api/v1/config",
                           json={"document": new, "comment": "shop", "revision": 1})
    assert resp.status == 200 and await resp.json() == {"revision": 2}
    assert box.document == new and box.revisions[-1]["author"] == "admin"
    assert ("admin", "config.commit", {"revision": 2, "comment": "shop"}) in box.audits
    # an editor still on revision 1 must reload first
    resp = await admin.put("/api/v1/config", json={"document": new, "revision": 1})
    assert resp.status == 409
    revs = await (await admin.get("/api/v1/config/revisions")).json()
    assert [r["revision"] for r in revs["revisions"]] == [1, 2] and revs["current"] == 2
    resp = await admin.post("/api/v1/config/rollback", json={"revision": 1})
    assert resp.status == 200 and await resp.json() == {"revision": 3}
    assert box.document["system"]["name"] == "office"
    assert box.audits[-1][:2] == ("admin", "config.rollback")
    resp = await admin.post("/api/v1/config/rollback", json={"revision": 99})
    assert resp.status == 404 and "99" in (await resp.json())["error"]
    resp = await admin.post("/api/v1/config/rollback", json={"revision": "1"})
    assert resp.status == 400


async def test_invalid_config_gives_422_with_issues(admin: Browser, box: FakeBox) -> None:
    bad = {"extensions": [{"number": "100"}, {"name": "no number"}]}
    resp = await admin.put("/api/v1/config", json={"document": bad})
    assert resp.status == 422
    assert await resp.json() == {
        "error": "configuration is invalid",
        "issues": [{"path": "system", "message": "required"},
                   {"path": "extensions/1/number", "message": "required"}],
    }
    assert box.config_revision() == 1
    resp = await admin.post("/api/v1/config/validate", json={"document": bad})
    assert resp.status == 422 and len((await resp.json())["issues"]) == 2
    resp = await admin.post("/api/v1/config/validate", json={"document": {"system": {}}})
    assert resp.status == 200 and await resp.json() == {"valid": True}


async def test_body_errors(admin: Browser) -> None:
    resp = await admin.put("/api/v1/config", data=b'{"document": {', headers={
        "Content-Type": "application/json"})
    assert resp.status == 400
    assert "malformed JSON body" in (await resp.json())["error"]
    resp = await admin.put("/api/v1/config", json=[1, 2])
    assert resp.status == 400 and "object" in (await resp.json())["error"]
    resp = await admin.put("/api/v1/config", json={"document": "x"})
    assert resp.status == 400 and '"document"' in (await resp.json())["error"]
    resp = await admin.put("/api/v1/config", data=b"document=x")
    assert resp.status == 415


# ---------------------------------------------------------------- errors


async def test_unexpected_exception_is_500_without_traceback(
        admin: Browser, box: FakeBox, caplog: pytest.LogCaptureFixture) -> None:
    box.fail_info = RuntimeError("db password is hunter2")
    resp = await admin.get("/api/v1/info")
    assert resp.status == 500
    body = await resp.json()
    assert body["error"] == "internal error" and re.fullmatch(r"[0-9a-f]{8}", body["id"])
    text = await resp.text()
    assert "Traceback" not in text and "hunter2" not in text and "RuntimeError" not in text
    # the traceback is in the log, under the id the user sees
    assert body["id"] in caplog.text and "Traceback" in caplog.text
    page = await admin.get("/")
    assert page.status == 500
    page_text = await page.text()
    assert "hunter2" not in page_text and "Traceback" not in page_text


@pytest.mark.parametrize(("exc", "status"), [(Unavailable("busy"), 503),
                                             (BadRequest("no"), 400)])
async def test_service_errors_map(admin: Browser, box: FakeBox, exc: Exception,
                                  status: int) -> None:
    box.fail_info = exc
    resp = await admin.get("/api/v1/info")
    assert resp.status == status and await resp.json() == {"error": str(exc)}


async def test_method_not_allowed_is_json(admin: Browser) -> None:
    resp = await admin.send("DELETE", "/api/v1/config")
    assert resp.status == 405 and "error" in await resp.json()
    assert "GET" in resp.headers["Allow"]


# ---------------------------------------------------------------- live events


async def _line(resp: object) -> str:
    raw = await asyncio.wait_for(resp.content.readline(), 2)  # type: ignore[attr-defined]
    return raw.decode()


async def test_sse_delivers_events_and_unsubscribes(make_browser: MakeBrowser, box: FakeBox,
                                                    accounts: Accounts) -> None:
    app = create_app(box, accounts)
    app[SETTINGS] = WebSettings(sse_keepalive_s=0.05)
    b = await make_browser(app=app, user="admin", password=ADMIN_PASSWORD)
    resp = await b.get("/api/v1/events")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    for _ in range(200):
        if box.subscribers:
            break
        await asyncio.sleep(0.01)
    assert len(box.subscribers) == 1
    box.publish({"type": "call.started", "id": "k9", "caller": "0601"})
    box.publish({"type": "bad\ntype", "id": "k10"})
    lines: list[str] = []
    while sum(1 for line in lines if line.startswith("data:")) < 2:
        lines.append(await _line(resp))
    assert "event: call.started\n" in lines
    assert 'data: {"type": "call.started", "id": "k9", "caller": "0601"}\n' in lines
    assert "event: message\n" in lines  # a type that would break the framing is not echoed
    # keep-alive comments while idle
    while ": keep-alive\n" not in lines:
        lines.append(await _line(resp))
    resp.close()
    for _ in range(200):
        if not box.subscribers:
            break
        await asyncio.sleep(0.01)
    assert box.subscribers == []


async def test_sse_ends_with_the_session(make_browser: MakeBrowser, box: FakeBox,
                                         accounts: Accounts) -> None:
    app = create_app(box, accounts)
    app[SETTINGS] = WebSettings(sse_keepalive_s=0.05)
    b = await make_browser(app=app, user="admin", password=ADMIN_PASSWORD)
    resp = await b.get("/api/v1/events")
    await _line(resp)
    await b.post("/api/v1/auth/logout")
    rest = await asyncio.wait_for(resp.content.read(), 2)  # the server closes the stream
    assert b"data:" not in rest
    assert box.subscribers == []


# ---------------------------------------------------------------- simulator


SIM_ROUTES = [
    ("trunks/fxo1/call", {"caller": "+33612345678", "called": "100"},
     ("trunk_call", "fxo1", "+33612345678", "100")),
    ("trunks/gsm1/call", {}, ("trunk_call", "gsm1", None, None)),
    ("trunks/fxo1/answer", None, ("far_answer", "fxo1")),
    ("trunks/fxo1/hangup", None, ("far_hangup", "fxo1")),
    ("trunks/fxo1/press", {"digits": "12#*A"}, ("far_press", "fxo1", "12#*A")),
    ("phones/fxs1/offhook", None, ("phone_offhook", "fxs1")),
    ("phones/fxs1/onhook", None, ("phone_onhook", "fxs1")),
    ("phones/fxs1/flash", None, ("phone_flash", "fxs1")),
    ("phones/fxs2/press", {"digits": "100"}, ("phone_press", "fxs2", "100")),
]


async def test_sim_actions_call_the_simulator(admin: Browser, box: FakeBox) -> None:
    sim = box.sim
    assert isinstance(sim, FakeSim)
    state = await (await admin.get("/api/v1/sim/state")).json()
    assert state == sim.state()
    for path, body, expected in SIM_ROUTES:
        resp = await admin.post(f"/api/v1/sim/{path}", json=body)
        assert resp.status == 200, (path, await resp.text())
        assert sim.actions[-1] == expected
        assert box.audits[-1][0] == "admin" and box.audits[-1][1].startswith("sim.")


@pytest.mark.parametrize(("path", "body", "field"), [
    ("trunks/fxo1/press", {"digits": "12x"}, "digits"),
    ("trunks/fxo1/press", {}, "digits"),
    ("phones/fxs1/press", {"digits": "1" * 33}, "digits"),
    ("phones/fxs1/press", {"digits": 5}, "digits"),
    ("trunks/fxo1/call", {"caller": "06 12"}, "caller"),
    ("trunks/fxo1/call", {"caller": "1" * 21}, "caller"),
    ("trunks/fxo1/call", {"caller": "100", "called": "abc"}, "called"),
])
async def test_sim_input_validation(admin: Browser, box: FakeBox, path: str, body: dict[
        str, object], field: str) -> None:
    resp = await admin.post(f"/api/v1/sim/{path}", json=body)
    assert resp.status == 400
    assert f'"{field}"' in (await resp.json())["error"]
    assert box.sim.actions == []  # type: ignore[union-attr]


async def test_sim_unknown_port(admin: Browser) -> None:
    resp = await admin.post("/api/v1/sim/phones/fxs9/offhook")
    assert resp.status == 404 and "fxs9" in (await resp.json())["error"]


async def test_sim_404_on_hardware(make_browser: MakeBrowser, accounts: Accounts) -> None:
    b = await make_browser(app=create_app(FakeBox(sim=None), accounts), user="admin",
                           password=ADMIN_PASSWORD)
    expected = {"error": "no simulated board: the box runs on hardware"}
    resp = await b.get("/api/v1/sim/state")
    assert resp.status == 404 and await resp.json() == expected
    for path, body, _ in SIM_ROUTES:
        resp = await b.post(f"/api/v1/sim/{path}", json=body)
        assert resp.status == 404 and await resp.json() == expected
    assert (await b.get("/sim")).status == 404


# ---------------------------------------------------------------- OpenAPI


async def test_openapi_lists_exactly_the_routes(admin: Browser) -> None:
    doc = await (await admin.get("/api/v1/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"] == [{"url": "/api/v1"}]
    registered = set()
    for route in admin.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/api/v1/") and route.method != "HEAD":
            registered.add((route.method.lower(), path.removeprefix("/api/v1")))
    documented = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    assert registered == documented
    schemes = doc["components"]["securitySchemes"]
    assert schemes["sessionCookie"] == {"type": "apiKey", "in": "cookie",
                                        "name": "edgepbx_session"}
    assert schemes["csrfToken"]["name"] == "X-CSRF-Token"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            public = path in ("/health", "/auth/login", "/auth/setup")
            assert (op["security"] == []) == public, (method, path)
            if not public and method != "get":
                assert op["security"] == [{"sessionCookie": [], "csrfToken": []}], path
    assert doc["paths"]["/config"]["put"]["x-required-role"] == "admin"


async def test_queues_wallboard_kpis_and_agent_actions(admin: Browser, viewer: Browser,
                                                       box: FakeBox) -> None:
    board = await (await viewer.get("/api/v1/queues")).json()
    assert board["queues"]["sales"]["waiting"] == 1
    kpis = await (await viewer.get("/api/v1/queues/kpis?since=100&until=200")).json()
    assert kpis["queues"]["sales"]["offered"] == 2 and box.kpi_calls[-1] == (100.0, 200.0)
    assert (await viewer.get("/api/v1/queues/kpis?since=300&until=200")).status == 400

    resp = await admin.post("/api/v1/agents/ann/pause", json={"reason": "lunch"})
    assert resp.status == 200 and box.agent_actions[-1] == ("ann", "pause", "lunch")
    resp = await admin.post("/api/v1/agents/ann/login", json={})
    assert resp.status == 400 and "already" in (await resp.json())["error"]
    assert (await admin.post("/api/v1/agents/zed/logout", json={})).status == 404
    assert (await admin.post("/api/v1/agents/ann/dance", json={})).status == 404
    assert (await viewer.post("/api/v1/agents/ann/unpause", json={})).status == 403


async def test_callback_requests_list_and_cancel(supervisor: Browser, viewer: Browser,
                                                 box: FakeBox) -> None:
    resp = await supervisor.post("/api/v1/callbacks", json={
        "number": "+79161234567", "queue": "sales", "window": [10, 20], "priority": 2})
    assert resp.status == 200
    job = (await resp.json())["job"]
    assert job["window"] == [10, 20] and job["source"] == "web" and job["priority"] == 2
    resp = await supervisor.post("/api/v1/callbacks",
                                 json={"number": "+79169999999", "queue": "nope"})
    assert resp.status == 400
    assert [i["field"] for i in (await resp.json())["issues"]] == ["number", "queue"]
    resp = await supervisor.post("/api/v1/callbacks", json={"queue": "sales", "window": 5})
    assert resp.status == 400
    assert [i["field"] for i in (await resp.json())["issues"]] == ["number", "window"]
    assert (await viewer.post("/api/v1/callbacks",
                              json={"number": "1", "queue": "sales"})).status == 403
    listed = await (await supervisor.get("/api/v1/callbacks?open=1")).json()
    assert [j["id"] for j in listed] == [job["id"]]
    assert (await viewer.get("/api/v1/callbacks")).status == 403
    assert (await supervisor.send("DELETE", f"/api/v1/callbacks/{job['id']}")).status == 200
    assert (await supervisor.send("DELETE", "/api/v1/callbacks/cb-x")).status == 404
    assert await (await supervisor.get("/api/v1/callbacks?open=1")).json() == []


# ---------------------------------------------------------------- prompts, voicemail, recordings


async def test_prompts_voicemail_and_recordings(admin: Browser, viewer: Browser,
                                                supervisor: Browser, box: FakeBox) -> None:
    assert (await admin.put("/api/v1/prompts/hello.wav", data=b"RIFFxxxx")).status == 200
    listed = await (await viewer.get("/api/v1/prompts")).json()
    assert [p["name"] for p in listed["prompts"]] == ["hello.wav"]
    bad = await admin.put("/api/v1/prompts/bad.wav", data=b"MP3!")
    assert bad.status == 400 and "WAV" in (await bad.json())["error"]
    assert (await supervisor.put("/api/v1/prompts/x.wav", data=b"RIFF")).status == 403
    nocsrf = await admin.client.put("/api/v1/prompts/x.wav", data=b"RIFF")
    assert nocsrf.status == 403
    assert (await admin.send("DELETE", "/api/v1/prompts/hello.wav")).status == 200
    assert (await admin.send("DELETE", "/api/v1/prompts/hello.wav")).status == 404

    assert (await viewer.get("/api/v1/voicemail/201")).status == 403
    msgs = await (await supervisor.get("/api/v1/voicemail/201")).json()
    assert msgs["messages"][0]["id"] == "m1"
    audio = await supervisor.get("/api/v1/voicemail/201/m1")
    assert audio.status == 200 and audio.content_type == "audio/wav"
    assert (await supervisor.get("/api/v1/voicemail/999")).status == 404
    assert (await supervisor.send("DELETE", "/api/v1/voicemail/201/m1")).status == 200
    assert (await supervisor.send("DELETE", "/api/v1/voicemail/201/m9")).status == 404

    recs = await (await supervisor.get("/api/v1/recordings")).json()
    name = recs["recordings"][0]["name"]
    got = await supervisor.get(f"/api/v1/recordings/{name}")
    assert got.status == 200 and await got.read() == b"RIFFrecording"
    assert (await supervisor.get("/api/v1/recordings/../../etc/passwd")).status == 404
    assert (await viewer.get("/api/v1/recordings")).status == 403


async def test_gsm_balance(admin: Browser, viewer: Browser) -> None:
    resp = await admin.post("/api/v1/gsm/gsm1/balance", json={})
    assert resp.status == 200 and (await resp.json())["balance"] == "Balance 12.50"
    assert (await admin.post("/api/v1/gsm/gsm9/balance", json={})).status == 404
    assert (await viewer.post("/api/v1/gsm/gsm1/balance", json={})).status == 403


async def test_supervision_and_supervisor_actions(admin: Browser, viewer: Browser,
                                                   box: FakeBox) -> None:
    resp = await admin.post("/api/v1/calls/k1/supervise", json={"extension": "204",
                                                               "mode": "whisper"})
    assert resp.status == 200 and box.agent_actions[-1] == ("k1", "supervise:204", "whisper")
    assert (await admin.post("/api/v1/calls/k1/supervise",
                             json={"extension": "204", "mode": "spy"})).status == 400
    assert (await admin.post("/api/v1/calls/zz/supervise",
                             json={"extension": "204"})).status == 400
    assert (await admin.post("/api/v1/calls/k1/supervision",
                             json={"mode": "barge"})).status == 200
    assert (await admin.post("/api/v1/agents/ann/force",
                             json={"state": "paused"})).status == 200
    assert (await admin.post("/api/v1/agents/ann/force", json={"state": "x"})).status == 400
    assert (await admin.post("/api/v1/queues/move",
                             json={"call": "c1", "queue": "sales"})).status == 200
    assert (await viewer.post("/api/v1/queues/move",
                              json={"call": "c1", "queue": "sales"})).status == 403


async def test_day_night_override(admin: Browser, viewer: Browser, box: FakeBox) -> None:
    state = await (await viewer.get("/api/v1/daynight")).json()
    assert state["time_conditions"][0]["override"] == "auto"
    resp = await admin.post("/api/v1/daynight", json={"mode": "night"})
    assert resp.status == 200 and (await resp.json())["time_conditions"][0]["open"] is False
    assert box.agent_actions[-1] == ("admin", "daynight", "night")
    assert (await admin.post("/api/v1/daynight", json={"mode": "evening"})).status == 400
    assert (await viewer.post("/api/v1/daynight", json={"mode": "day"})).status == 403
