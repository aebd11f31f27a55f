"""SMS over the JSON API (fake box): listing with filters, sending with roles, CSRF,
field validation naming the field, and the façade's errors mapped to HTTP."""

from __future__ import annotations

import pytest
from fakes import FakeBox

from firmware.service import Refused, Unavailable
from tests.webui.client import Browser


async def test_list_sms(viewer: Browser, box: FakeBox) -> None:
    body = await (await viewer.get("/api/v1/sms")).json()
    assert body["limit"] == 100 and body["sms"][0]["text"] == "Call me back"
    body = await (await viewer.get(
        "/api/v1/sms?limit=5&since=1700000000&iccid=89701000000000000001&direction=in"
    )).json()
    assert box.sms_calls[-1] == {"limit": 5, "since": 1_700_000_000.0,
                                 "iccid": "89701000000000000001", "direction": "in"}


@pytest.mark.parametrize(("query", "name"), [
    ("limit=0", "limit"), ("limit=5000", "limit"), ("since=later", "since"),
    ("iccid=abc", "iccid"), ("direction=sideways", "direction"),
])
async def test_list_sms_bad_params(viewer: Browser, box: FakeBox, query: str,
                                   name: str) -> None:
    resp = await viewer.get(f"/api/v1/sms?{query}")
    assert resp.status == 400 and f'"{name}"' in (await resp.json())["error"]
    assert box.sms_calls == []


async def test_send_sms(supervisor: Browser, box: FakeBox) -> None:
    q = box.subscribe()
    resp = await supervisor.post("/api/v1/sms", {"from": "gsm1", "to": "+79160001122",
                                                 "text": "Hello"})
    assert resp.status == 200
    sent = await resp.json()
    assert (sent["direction"], sent["peer"], sent["refs"]) == ("out", "+79160001122", [7])
    assert box.messages[0]["id"] == sent["id"]
    assert q.get_nowait()["type"] == "sms"
    actor, action, detail = box.audits[-1]
    assert (actor, action) == ("sue", "sms.send") and "Hello" not in str(detail)


@pytest.mark.parametrize(("body", "name"), [
    ({"to": "+79160001122", "text": "x"}, "from"),
    ({"from": "gsm 1", "to": "+79160001122", "text": "x"}, "from"),
    ({"from": "gsm1", "text": "x"}, "to"),
    ({"from": "gsm1", "to": "call me", "text": "x"}, "to"),
    ({"from": "gsm1", "to": "+79160001122"}, "text"),
    ({"from": "gsm1", "to": "+79160001122", "text": "   "}, "text"),
    ({"from": "gsm1", "to": "+79160001122", "text": 5}, "text"),
    ({"from": "gsm1", "to": "+79160001122", "text": "x" * 2000}, "text"),
])
async def test_send_sms_validation_names_the_field(supervisor: Browser, box: FakeBox,
                                                   body: dict[str, object], name: str) -> None:
    resp = await supervisor.post("/api/v1/sms", body)
    assert resp.status == 400
    assert f'"{name}"' in (await resp.json())["error"]
    assert len(box.messages) == 1


async def test_send_sms_needs_supervisor_and_csrf(viewer: Browser, supervisor: Browser,
                                                  box: FakeBox) -> None:
    body = {"from": "gsm1", "to": "+79160001122", "text": "x"}
    assert (await viewer.post("/api/v1/sms", body)).status == 403
    resp = await supervisor.post("/api/v1/sms", body, headers={"X-CSRF-Token": "wrong"})
    assert resp.status == 403
    assert len(box.messages) == 1


@pytest.mark.parametrize(("error", "status"), [
    (Refused("SIM 8970…: new SMS recipients limit (1) reached"), 409),
    (Unavailable("gsm1: cannot send SMS now (SIM not inserted)"), 503),
])
async def test_send_sms_facade_errors(admin: Browser, box: FakeBox, error: Exception,
                                      status: int) -> None:
    box.sms_error = error
    resp = await admin.post("/api/v1/sms", {"from": "gsm1", "to": "+79160001122",
                                            "text": "x"})
    assert resp.status == status and str(error) in (await resp.json())["error"]


async def test_send_sms_unknown_module(admin: Browser) -> None:
    resp = await admin.post("/api/v1/sms", {"from": "gsm7", "to": "+79160001122", "text": "x"})
    assert resp.status == 404
