"""The walking skeleton, end to end through the web API on the simulated board.

A far end calls the GSM trunk; the default inbound route sends the call to extension 201 on
fxs1; the phone rings, answers and presses digits that travel as DTMF audio through the
media engine (detected by the native detector, never passed as metadata); the far end
presses a digit the phone hears; the phone hangs up; the CDR is right.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import wait_for


async def signed_in(aiohttp_client: Any, box: Any, tmp_path: Any) -> tuple[TestClient, dict]:
    from firmware.accounts import Accounts
    from webui.app import create_app

    accounts = Accounts.open(tmp_path / "accounts.json")
    client = await aiohttp_client(create_app(box, accounts))
    resp = await client.post("/api/v1/auth/setup", json={"password": "Correct-Horse-9"})
    assert resp.status == 200, await resp.text()
    token = (await resp.json())["csrf_token"]
    return client, {"X-CSRF-Token": token}


async def get(client: TestClient, path: str) -> Any:
    resp = await client.get(path)
    assert resp.status == 200, f"GET {path}: {resp.status} {await resp.text()}"
    return await resp.json()


async def post(client: TestClient, headers: dict, path: str, body: Any = None) -> Any:
    resp = await client.post(path, json=body or {}, headers=headers)
    assert resp.status == 200, f"POST {path}: {resp.status} {await resp.text()}"
    return await resp.json()


async def test_gsm_call_to_extension_with_dtmf_and_cdr(aiohttp_client, box, tmp_path):
    client, h = await signed_in(aiohttp_client, box, tmp_path)
    t0 = time.time()

    await post(client, h, "/api/v1/sim/trunks/gsm1/call", {"caller": "+79161234567"})

    async def phone_rings() -> bool:
        st = await get(client, "/api/v1/sim/state")
        return st["phones"]["fxs1"]["ring_bursts"] >= 1
    await wait_for(phone_rings, timeout=5, what="fxs1 to ring")
    calls = (await get(client, "/api/v1/calls"))["calls"]
    assert len(calls) == 1 and calls[0]["state"] == "ringing"
    assert calls[0]["caller"] == "+79161234567" and calls[0]["trunk"] == "gsm1"

    await post(client, h, "/api/v1/sim/phones/fxs1/offhook")

    async def call_active() -> bool:
        calls = (await get(client, "/api/v1/calls"))["calls"]
        st = await get(client, "/api/v1/sim/state")
        return bool(calls) and calls[0]["state"] == "active" \
            and st["trunks"]["gsm1"]["call_state"] == "active"
    await wait_for(call_active, timeout=5, what="the call to be answered on both sides")

    # The phone presses keys: DTMF audio from the phone, through the media engine.
    await post(client, h, "/api/v1/sim/phones/fxs1/press", {"digits": "123#"})

    async def digits_seen() -> Any:
        calls = (await get(client, "/api/v1/calls"))["calls"]
        st = await get(client, "/api/v1/sim/state")
        return calls[0]["digits"] == "123#" and st["trunks"]["gsm1"]["heard_digits"] == "123#"
    await wait_for(digits_seen, timeout=5, what="digits detected and heard by the far end")

    # The far end answers with a key the phone must hear (the other direction).
    await post(client, h, "/api/v1/sim/trunks/gsm1/press", {"digits": "9"})

    async def phone_heard() -> Any:
        st = await get(client, "/api/v1/sim/state")
        return st["phones"]["fxs1"]["heard_digits"] == "9"
    await wait_for(phone_heard, timeout=5, what="the phone to hear the far end's digit")

    await post(client, h, "/api/v1/sim/phones/fxs1/onhook")

    async def cdr_written() -> Any:
        rows = (await get(client, "/api/v1/cdr"))["cdrs"]
        return rows
    rows = await wait_for(cdr_written, timeout=5, what="the CDR")
    assert len(rows) == 1
    cdr = rows[0]
    assert cdr["caller"] == "+79161234567"
    assert cdr["called"] == "+79000000001"       # the SIM's own number: route by SIM
    assert cdr["trunk"] == "gsm1"
    assert cdr["extension"] == "201"
    assert cdr["direction"] == "inbound"
    assert cdr["disposition"] == "answered"
    assert t0 <= cdr["start_ts"] < cdr["answer_ts"] < cdr["end_ts"] <= time.time()
    assert cdr["digits"] == "123#9"
    assert cdr["talk_s"] > 0.3

    # Everything is idle again: no call, every channel idle, the module on-hook.
    await wait_for(lambda: box.calls() == [] and all(
        p["state"] == "idle" for p in box.ports() if p["id"] in ("gsm1", "fxs1")),
        timeout=5, what="all channels idle")
    st = await get(client, "/api/v1/sim/state")
    assert st["trunks"]["gsm1"]["call_state"] == "idle"
