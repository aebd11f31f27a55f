"""ACD queue features on the simulated board, live, driven through the people on the lines.

Callers ring in on trunks and hang up, agents' phones ring and go off-hook, agents press
feature codes, a supervisor acts through the web API; what the callers hear, whose phone
rings and what the stored queue log says (through the CSV exports) are checked. Every
scenario ends with every channel idle. Extension numbers come from the box's configuration
(never hard-coded). Unit-level proofs of the same rules live in tests/acd.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.integration.test_pbx_features import (
    active,
    all_idle,
    configure,
    hang_up,
    phone,
    route_to,
    trunk,
)
from tests.integration.test_skeleton import signed_in


def ext_of(box: Any, port: str) -> str:
    """The extension number of a phone port, from the box's configuration."""
    for e in box.config_current()["extensions"]:
        if e.get("port") == port:
            return str(e["number"])
    raise AssertionError(f"no extension on {port}")


def agents_on(box: Any, doc: dict[str, Any], ports: dict[str, str]) -> None:
    doc["agents"] = [{"id": a, "name": a.title(), "extension": ext_of(box, p)}
                     for a, p in ports.items()]


def alerting(box: Any, port: str) -> bool:
    return bool(box.channels[port].state.value == "alerting")


async def rings_now(box: Any, port: str, timeout: float = 6) -> float:
    await wait_for(lambda: alerting(box, port), timeout, what=f"{port} to ring")
    return time.monotonic()


async def queued(box: Any, trunk_port: str, timeout: float = 5) -> float:
    """The queue answered the caller on ``trunk_port``: the moment they entered it."""
    await wait_for(lambda: trunk(box, trunk_port)["call_state"] == "active", timeout,
                   what=f"the queue to answer the caller on {trunk_port}")
    return time.monotonic()


async def csv_rows(client: Any, path: str) -> list[dict[str, str]]:
    resp = await client.get(path)
    assert resp.status == 200, f"GET {path}: {resp.status} {await resp.text()}"
    text = await resp.text()
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


# -- statistics: the CSV export of a scripted live scenario -----------------------------------


async def test_csv_kpis_of_a_live_scenario_match_hand_computed_values(aiohttp_client, box,
                                                                      tmp_path):
    """One agent, three callers: answered after ~1 s, abandoned after ~1 s (short),
    abandoned after ~6 s. The exported KPIs are DOMAIN.md's, computed by hand here."""
    client, _ = await signed_in(aiohttp_client, box, tmp_path)

    def setup(doc: dict[str, Any]) -> None:
        agents_on(box, doc, {"ann": "fxs2"})
        doc["queues"] = [{"id": "sales", "name": "Sales", "members": [{"agent": "ann"}],
                          "strategy": "ring_all", "wrap_up_s": 1, "ring_timeout_s": 30}]
        route_to(doc, "gsm1", {"type": "queue", "target": "sales"})
        route_to(doc, "gsm2", {"type": "queue", "target": "sales"})

    await configure(box, setup)
    t0 = time.time()
    await box.sim.trunk_call("gsm1", "+79161230301")                  # caller A
    entered_a = await queued(box, "gsm1")
    await rings_now(box, "fxs2")
    await asyncio.sleep(1.0)
    await box.sim.phone_offhook("fxs2")                              # Ann answers A
    await active(box)
    wait_a, talk_start = time.monotonic() - entered_a, time.monotonic()
    await asyncio.sleep(1.5)
    await hang_up(box, "fxs2")
    talk_a = time.monotonic() - talk_start
    await all_idle(box)
    await wait_for(lambda: box.queues()["agents"]["ann"]["state"] == "available", 5,
                   what="ann's 1 s wrap-up to end")

    await box.sim.trunk_call("gsm2", "+79161230302")                  # caller B
    entered_b = await queued(box, "gsm2")
    await rings_now(box, "fxs2")
    await asyncio.sleep(0.5)
    await box.sim.far_hangup("gsm2")                                 # gives up at once
    wait_b = time.monotonic() - entered_b
    await all_idle(box)

    await box.sim.trunk_call("gsm1", "+79161230303")                  # caller C
    entered_c = await queued(box, "gsm1")
    await rings_now(box, "fxs2")
    await asyncio.sleep(max(0.0, 6.5 - (time.monotonic() - entered_c)))
    await box.sim.far_hangup("gsm1")                                 # after ~6.5 s
    wait_c = time.monotonic() - entered_c
    await all_idle(box)
    assert wait_b < 5 < wait_c      # the scenario is what it says (short-abandon S = 5 s)

    period = f"from={t0 - 1:.3f}&to={time.time() + 1:.3f}"
    await wait_for(lambda: len(box.store.queue_events(kind="abandon")) == 2, 5,
                   what="the queue log to be stored")
    (sales,) = await csv_rows(client, f"/api/v1/export/queue-kpis.csv?{period}")
    assert sales["queue"] == "sales"
    assert (sales["offered"], sales["answered"], sales["abandoned"],
            sales["short_abandoned"], sales["refused"]) == ("3", "1", "2", "1", "0")
    assert float(sales["sl_20"]) == 100 * 1 / (3 - 1)          # SL: 1 ÷ (3 − 1 short)
    assert float(sales["abandon_rate"]) == 100 * (2 - 1) / (3 - 1)
    tol = 0.5
    assert float(sales["asa_s"]) == pytest.approx(wait_a, abs=tol)
    assert float(sales["ata_s"]) == pytest.approx((wait_b + wait_c) / 2, abs=tol)
    assert float(sales["awt_s"]) == pytest.approx((wait_a + wait_b + wait_c) / 3, abs=tol)
    assert float(sales["max_wait_s"]) == pytest.approx(wait_c, abs=tol)
    assert sales["max_queue_len"] == "1"
    assert float(sales["aht_s"]) == pytest.approx(talk_a + 1.0, abs=tol)   # talk + wrap-up

    (ann,) = await csv_rows(client, f"/api/v1/export/agent-kpis.csv?{period}&queue=sales")
    assert (ann["agent"], ann["answered"], ann["handled"]) == ("ann", "1", "1")
    assert float(ann["att_s"]) == pytest.approx(talk_a, abs=tol)
    assert float(ann["avg_wrap_s"]) == pytest.approx(1.0, abs=tol)

    log_rows = await csv_rows(client, f"/api/v1/export/queue-log.csv?{period}&queue=sales")
    enters = [r["detail"] for r in log_rows if r["kind"] == "enter"]
    assert enters == ["'+79161230301", "'+79161230302", "'+79161230303"]   # CSV-safe
    cdrs = await csv_rows(client, f"/api/v1/export/cdr.csv?{period}")
    assert [r["caller"] for r in cdrs] == ["'+79161230301", "'+79161230302",
                                           "'+79161230303"]
    assert phone(box, "fxs2")["ringing"] is False
