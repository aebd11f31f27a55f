"""Outbound campaigns through the API: who may do what, and what each call answers."""

from __future__ import annotations

from fakes import FakeBox

from tests.webui.client import Browser


async def test_admin_manages_supervisor_runs_agent_previews(admin: Browser, supervisor: Browser,
                                                           viewer: Browser,
                                                           box: FakeBox) -> None:
    body = {"name": "Spring", "mode": "progressive", "queue": "sales"}
    assert (await supervisor.put("/api/v1/campaigns/spring", json=body)).status == 403
    resp = await admin.put("/api/v1/campaigns/spring", json=body)
    assert resp.status == 200
    assert (await resp.json())["campaign"]["id"] == "spring"          # the path's id
    bad = await admin.put("/api/v1/campaigns/tell", json={"name": "T", "mode": "autoinformer",
                                                          "message": "nope.wav"})
    assert bad.status == 400 and "nope.wav" in (await bad.json())["error"]
    assert (await admin.put("/api/v1/campaigns/Bad!", json=body)).status == 404
    csv = b"number,name\n+79161230001,Ann\nabc,Bob\n+79161230003,Cy\n"
    assert (await supervisor.post("/api/v1/campaigns/spring/contacts", data=csv)).status == 403
    report = await (await admin.post("/api/v1/campaigns/spring/contacts", data=csv)).json()
    assert report["imported"] == 2 and report["errors"] == [{"line": 3,
                                                             "reason": "malformed number"}]
    assert (await viewer.post("/api/v1/campaigns/spring/start")).status == 403
    started = await supervisor.post("/api/v1/campaigns/spring/start")
    assert started.status == 200 and (await started.json())["state"] == "running"
    assert (await supervisor.post("/api/v1/campaigns/spring/jump")).status == 400
    assert (await supervisor.post("/api/v1/campaigns/nope/start")).status == 404
    listed = await (await supervisor.get("/api/v1/campaigns")).json()
    assert [(c["id"], c["state"]) for c in listed] == [("spring", "running")]
    nxt = await viewer.post("/api/v1/campaigns/spring/preview/next", json={"agent": "a0"})
    assert nxt.status == 200 and (await nxt.json())["contact"]["number"] == "+79161230001"
    assert (await viewer.post("/api/v1/campaigns/spring/preview/call",
                              json={})).status == 400                   # no agent named
    assert box.previews == [("spring", "a0", "next")]
    assert (await viewer.get("/api/v1/campaigns/spring/summary")).status == 403
    summary = await (await supervisor.get("/api/v1/campaigns/spring/summary")).json()
    assert summary["abandon_rate_pct"] == 25.0 and summary["abandon_cap_pct"] == 3.0
    results = await supervisor.get("/api/v1/campaigns/spring/results?format=csv")
    assert results.status == 200 and results.content_type == "text/csv"
    assert "spring.csv" in results.headers["Content-Disposition"]
    assert (await results.text()).startswith("contact,number,status")
    assert (await supervisor.send("DELETE", "/api/v1/campaigns/spring")).status == 403
    assert (await admin.send("DELETE", "/api/v1/campaigns/spring")).status == 200
    assert await (await admin.get("/api/v1/campaigns")).json() == []
    actions = [a for _actor, a, _detail in box.audits]
    assert {"campaign.put", "campaign.import", "campaign.start", "campaign.delete"} <= set(
        actions)
