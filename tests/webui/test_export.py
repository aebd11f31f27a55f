"""CSV exports (webui/export.py) over FakeBox, whose export() runs firmware/reports.py on a
real event store filled by the test: parameters, roles, CSV injection, streaming, KPIs."""

from __future__ import annotations

import csv
import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeBox

from firmware.acd.log import QueueEvent
from firmware.reports import ExportTable
from firmware.store import CallbackJob, Cdr, EventStore
from tests.webui.client import Browser

T = 1_700_000_000.0          # 2023-11-14T22:13:20Z
PERIOD = f"from={T + 5:.0f}&to={T + 105:.0f}"


def ev(dt: float, kind: str, queue: str = "", caller: str = "", agent: str = "",
       value: float = 0.0, detail: str = "") -> QueueEvent:
    return QueueEvent(T + dt, kind, queue, caller, agent, value, detail)


# A scripted day of the queue "sales" with one agent, KPIs computed by hand below.
SCRIPT = [
    ev(0, "member_add", "sales", agent="ann"),
    ev(0, "agent", agent="ann", detail="available"),
    ev(10, "enter", "sales", "c1", detail="+79161230001"),
    ev(10, "ring", "sales", "c1", "ann"),
    ev(14, "connect", "sales", "c1", "ann", 4.0),
    ev(14, "agent", "", "c1", "ann", detail="on_call"),
    ev(20, "enter", "sales", "c2", detail="=HYPERLINK(\"http://evil\",\"x\")"),
    ev(23, "abandon", "sales", "c2", value=3.0),
    ev(30, "enter", "sales", "c3", detail="@SUM(A1)"),
    ev(60, "abandon", "sales", "c3", value=30.0),
    ev(74, "end", "sales", "c1", "ann"),
    ev(74, "agent", agent="ann", detail="wrap_up"),
    ev(84, "agent", agent="ann", detail="available"),
    ev(90, "enter", "support", "c4", detail="-2+3"),
    ev(95, "abandon", "support", "c4", value=5.0),
]


@pytest.fixture
def store(tmp_path: Path, box: FakeBox) -> Iterator[EventStore]:
    with EventStore.open(tmp_path / "events.sqlite") as s:
        s.add_queue_events(SCRIPT)
        box.export_store = s
        yield s


def rows_of(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


async def test_queue_and_agent_kpis_match_hand_computed_values(supervisor: Browser,
                                                               store: EventStore) -> None:
    resp = await supervisor.get(f"/api/v1/export/queue-kpis.csv?{PERIOD}")
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.headers["Content-Disposition"] == (
        'attachment; filename="edgepbx-queue-kpis-20231114-2213-20231114-2215.csv"')
    rows = {r["queue"]: r for r in rows_of(await resp.text())}
    sales = rows["sales"]
    # 3 offered; c1 answered after 4 s; c2 abandoned after 3 s (short, < 5 s); c3 after 30 s
    assert (sales["offered"], sales["answered"], sales["abandoned"],
            sales["short_abandoned"]) == ("3", "1", "2", "1")
    assert float(sales["sl_20"]) == pytest.approx(100 * 1 / (3 - 1))      # 50 %
    assert float(sales["asa_s"]) == 4.0
    assert float(sales["awt_s"]) == pytest.approx((4 + 3 + 30) / 3)
    assert float(sales["ata_s"]) == pytest.approx((3 + 30) / 2)
    assert float(sales["abandon_rate"]) == pytest.approx(100 * (2 - 1) / (3 - 1))
    assert float(sales["max_wait_s"]) == 30.0
    # waiting: 10-14, 20-23, 30-60 inside [T+5, T+105): 37 caller-seconds over 100 s
    assert float(sales["avg_queue_len"]) == pytest.approx(0.37)
    assert sales["max_queue_len"] == "1"
    # ann: logged in since T (before the period: rebuilt from the log), talk 60, wrap 10
    assert float(sales["aht_s"]) == 70.0 and float(sales["occupancy"]) == pytest.approx(70.0)
    assert sales["period_start"] == "2023-11-14T22:13:25.000+00:00"
    assert rows["support"]["offered"] == "1" and rows["support"]["short_abandoned"] == "0"
    # no transfer, no callback: no denominator -> empty cells, not zeros
    assert sales["callback_success"] == "" and sales["transfer_rate"] == "0.0"

    resp = await supervisor.get(f"/api/v1/export/agent-kpis.csv?{PERIOD}&queue=sales")
    (ann,) = rows_of(await resp.text())
    assert ann["agent"] == "ann" and ann["handled"] == "1"
    assert (float(ann["att_s"]), float(ann["avg_wrap_s"])) == (60.0, 10.0)
    assert float(ann["logged_in_s"]) == 100.0
    assert float(ann["occupancy"]) == pytest.approx(70.0)

    resp = await supervisor.get(
        f"/api/v1/export/queue-kpis.csv?{PERIOD}&queue=sales&short_abandon=0")
    (sales,) = rows_of(await resp.text())
    assert sales["short_abandoned"] == "0"
    assert float(sales["abandon_rate"]) == pytest.approx(100 * 2 / 3)


async def test_queue_log_is_csv_injection_safe(supervisor: Browser, store: EventStore) -> None:
    resp = await supervisor.get(f"/api/v1/export/queue-log.csv?from={T:.0f}&to={T + 200:.0f}")
    text = await resp.text()
    rows = rows_of(text)
    assert [r["kind"] for r in rows] == [e.kind for e in SCRIPT]
    details = [r["detail"] for r in rows if r["kind"] == "enter"]
    assert details == ["'+79161230001", "'=HYPERLINK(\"http://evil\",\"x\")", "'@SUM(A1)",
                       "'-2+3"]
    # every text cell quoted, numbers bare; no cell a spreadsheet would evaluate
    assert '"\'=HYPERLINK(""http://evil"",""x"")"' in text
    assert rows[4]["value"] == "4.0" and ',4.0,' in text
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())
    # one queue only
    resp = await supervisor.get(f"/api/v1/export/queue-log.csv?from={T:.0f}&to={T + 200:.0f}"
                                "&queue=support")
    assert {r["queue"] for r in rows_of(await resp.text())} == {"support"}


async def test_cdrs_and_callback_jobs_stream_in_batches(supervisor: Browser, box: FakeBox,
                                                        store: EventStore) -> None:
    for i in range(1234):   # more than two batches of 500
        store.add_cdr(Cdr(f"k{i}", T + i, T + i + 30, "+79161230000", "201", "inbound",
                          "answered", 16, answer_ts=T + i + 5, wait_s=5.0, talk_s=25.0,
                          legs=[{"port": "fxs1"}]))
    for i, (target, state) in enumerate([("sales", "done"), ("support", "failed"),
                                         ("sales", "pending")]):
        store.callback_insert(CallbackJob(f"j{i}", T + i, "web", "+79161230009", "queue",
                                          target, "customer_first", state, T + i, T + i,
                                          last_outcome="connected" if state == "done"
                                          else None))
    resp = await supervisor.get(f"/api/v1/export/cdr.csv?from={T:.0f}&to={T + 2000:.0f}")
    assert resp.headers["Transfer-Encoding"] == "chunked"
    rows = rows_of(await resp.text())
    assert len(rows) == 1234
    assert [r["call_id"] for r in rows[:3]] == ["k0", "k1", "k2"]       # oldest first
    assert rows[1]["start_ts"] == "2023-11-14T22:13:21.000+00:00"
    assert rows[0]["caller"] == "'+79161230000" and rows[0]["legs"] == '[{"port":"fxs1"}]'
    resp = await supervisor.get(f"/api/v1/export/cdr.csv?from={T + 100:.0f}&to={T + 200:.0f}")
    assert len(rows_of(await resp.text())) == 100

    resp = await supervisor.get(
        f"/api/v1/export/callbacks.csv?from={T:.0f}&to={T + 10:.0f}&queue=sales")
    jobs = rows_of(await resp.text())
    assert [(j["id"], j["state"], j["last_outcome"]) for j in jobs] == [
        ("j0", "done", "connected"), ("j2", "pending", "")]


@pytest.mark.parametrize(("query", "param"), [
    ("to=1700000100", '"from" is required'),
    ("from=1700000000", '"to" is required'),
    ("from=yesterday&to=1700000100", '"from": \'yesterday\' is not a time'),
    ("from=2023-13-01&to=1700000100", '"from": \'2023-13-01\' is not a time'),
    ("from=1700000000&to=-5", '"to": \'-5\' is not a time'),
    ("from=1700000100&to=1700000000", '"from" must be before "to"'),
    ("from=1700000000&to=1700000100&queue=nope", '"queue": no queue "nope"'),
    ("from=1700000000&to=1700000100&queue=a%3Db", '"queue": a queue id'),
    ("from=1700000000&to=1700000100&short_abandon=-1", '"short_abandon": from 0'),
    ("from=1700000000&to=1700000100&short_abandon=x", '"short_abandon": seconds'),
])
async def test_bad_parameters_are_named_before_any_byte(supervisor: Browser, box: FakeBox,
                                                        store: EventStore, query: str,
                                                        param: str) -> None:
    resp = await supervisor.get(f"/api/v1/export/queue-kpis.csv?{query}")
    assert resp.status == 400
    assert resp.content_type == "application/json"
    assert f"query parameter {param}" in (await resp.json())["error"]


async def test_dates_are_read_in_the_box_timezone(supervisor: Browser, box: FakeBox,
                                                  store: EventStore) -> None:
    box.document["system"]["timezone"] = "Europe/Moscow"          # UTC+3, no DST
    resp = await supervisor.get("/api/v1/export/cdr.csv?from=2023-11-14&to=2023-11-14")
    assert resp.status == 200
    since, until = box.export_calls[-1][1:3]
    assert since == 1_699_909_200.0                     # 2023-11-14T00:00+03:00
    assert until - since == 86400.0                     # a date-only "to" includes the day
    assert "-20231114-0000-20231115-0000.csv" in resp.headers["Content-Disposition"]
    await supervisor.get("/api/v1/export/cdr.csv?from=2023-11-14T08:30Z"
                         "&to=2023-11-14T10:30:00%2B01:00")
    assert box.export_calls[-1][1:3] == (1_699_950_600.0, 1_699_954_200.0)
    assert (await supervisor.get("/api/v1/export/cdr.csv?from=2023-11-14T08:30Z"
                                 "&to=2023-11-14T09:30:00%2B01:00")).status == 400


async def test_roles_supervisor_and_admin_only(admin: Browser, viewer: Browser, anon: Browser,
                                               store: EventStore) -> None:
    for segment in ("queue-log", "queue-kpis", "agent-kpis", "cdr", "callbacks"):
        url = f"/api/v1/export/{segment}.csv?{PERIOD}"
        assert (await admin.get(url)).status == 200
        assert (await viewer.get(url)).status == 403
        assert (await anon.get(url)).status == 401


def _big_table(batches: int, on_row: list[int]) -> ExportTable:
    def gen() -> Iterator[list[list[Any]]]:
        for b in range(batches):
            on_row[0] += 500
            yield [[T + b, f"caller {i}", "x" * 80, i] for i in range(500)]
    return ExportTable("cdr", ["start_ts", "caller", "note", "n"], gen(),
                       frozenset({"start_ts"}))


async def test_a_large_export_streams_in_bounded_memory(supervisor: Browser, box: FakeBox,
                                                        monkeypatch: Any) -> None:
    produced = [0]
    monkeypatch.setattr(box, "export", lambda *a: _big_table(100, produced), raising=False)
    tracemalloc.start()
    try:
        resp = await supervisor.get(f"/api/v1/export/cdr.csv?{PERIOD}")
        size = lines = 0
        async for chunk in resp.content.iter_chunked(65536):
            size += len(chunk)
            lines += chunk.count(b"\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == 1 + 50_000 and size > 5_000_000
    assert peak < size / 4, f"peak {peak} bytes for a {size} byte file: not streamed"


async def test_a_failure_mid_stream_cuts_the_connection(supervisor: Browser, box: FakeBox,
                                                        monkeypatch: Any) -> None:
    def failing() -> Iterator[list[list[Any]]]:
        yield [[T, "a", "b", 1]] * 2000
        raise RuntimeError("disk read error")

    monkeypatch.setattr(box, "export", lambda *a: ExportTable(
        "cdr", ["start_ts", "caller", "note", "n"], failing()), raising=False)
    resp = await supervisor.get(f"/api/v1/export/cdr.csv?{PERIOD}")
    assert resp.status == 200
    with pytest.raises(Exception) as caught:
        await resp.read()
    assert "ayload" in str(caught.value) or "onnection" in str(caught.value)


async def test_json_kpis_take_a_queue_filter(viewer: Browser, box: FakeBox) -> None:
    resp = await viewer.get("/api/v1/queues/kpis?since=1&until=2&queue=sales")
    assert resp.status == 200
    resp = await viewer.get("/api/v1/queues/kpis?queue=nope")
    assert resp.status == 400
    assert (await resp.json())["error"].startswith('query parameter "queue": no queue')


async def test_an_empty_period_is_a_header_only(supervisor: Browser, store: EventStore) -> None:
    before = f"from={T - 100:.0f}&to={T - 50:.0f}"
    text = await (await supervisor.get(f"/api/v1/export/queue-kpis.csv?{before}")).text()
    assert text.startswith('\ufeff"period_start","period_end","queue",') and text.count("\n") == 1
    text = await (await supervisor.get(f"/api/v1/export/queue-log.csv?{before}")).text()
    assert text == '\ufeff"ts","kind","queue","caller","agent","value","detail"\r\n'
    for segment in ("queue-kpis", "agent-kpis"):                 # the same columns as with rows
        empty, full = [(await (await supervisor.get(
            f"/api/v1/export/{segment}.csv?{period}")).text()).split("\r\n")[0]
            for period in (before, PERIOD)]
        assert empty == full
