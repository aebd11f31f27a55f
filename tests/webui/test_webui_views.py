"""What the dashboard and the simulator page tell a technician, rendered over the fake box."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fakes import FakeBox, FakeSim

from tests.webui.client import Browser
from webui.dashboard import gsm_problem, port_status, signal_words
from webui.markup import duration
from webui.simulator import far_status, phone_status


def part(text: str, element_id: str) -> str:
    """The HTML of the element with this id, up to the next element with a live id."""
    start = text.index(f'id="{element_id}"')
    return text[start:start + 6000]


def row(text: str, port: str) -> str:
    return text.split(f'id="port-{port}"')[1].split("</tr>")[0]


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


# ---------------------------------------------------------------- dashboard


async def test_dashboard_rows_by_kind_and_one_row_per_span(admin: Browser) -> None:
    text = await (await admin.get("/")).text()
    ports = text.split('id="ports"')[1].split("</table>")[0]
    assert ports.count('<tr id="port-') == 5  # fxs1 fxs2 fxo1 gsm1, and e1 as ONE row
    assert "ringing" in words(row(text, "fxs1")) and "from 0601" in words(row(text, "fxs1"))
    assert "ext 201 · Reception" in words(row(text, "fxs1"))
    assert "in call" in words(row(text, "fxs2")) and "with 0144" in words(row(text, "fxs2"))
    gsm = words(row(text, "gsm1"))
    assert "SimNet" in gsm and "-73 dBm (good)" in gsm and "registration: home" in gsm
    assert "from 0601 → ext 201" in gsm
    span = row(text, "e1")
    assert "1 / 30 busy" in words(span)
    assert span.count('<li class="chip ') == 30 and '<details id="e1-bchans"' in span
    assert "<b>3</b> in call · from 0144 → ext 202" in span  # the busy B-channel's call


async def test_dashboard_calls_tick_from_the_answer(admin: Browser) -> None:
    text = await (await admin.get("/")).text()
    calls = text.split('id="calls"')[1].split("</table>")[0]
    assert calls.count("<tr data-call=") == 2
    talking = calls.split('data-call="k2"')[1].split("</tr>")[0]
    assert 'data-since="1700000060.000"' in talking  # counted from the answer, not the start
    assert "talking" in talking and ">e1<" in talking and ">202<" in talking
    ringing = calls.split('data-call="k1"')[1].split("</tr>")[0]
    assert 'data-since="1700000100.000"' in ringing and "ringing" in ringing


async def test_dashboard_cdrs_in_words(admin: Browser) -> None:
    text = await (await admin.get("/")).text()
    cdrs = text.split('id="cdrs"')[1].split("</table>")[0]
    assert cdrs.count("<tr data-cdr=") == 20
    newest = words(cdrs.split('data-cdr="c49"')[1].split("</tr>")[0])
    assert "0601 → 249" in newest and "gsm1 · 201" in newest and "answered" in newest
    assert "1:14" in newest  # talk time 74 s
    unanswered = words(cdrs.split('data-cdr="c48"')[1].split("</tr>")[0])
    assert "no answer" in unanswered and "–" in unanswered


async def test_dashboard_empty_box(admin: Browser, box: FakeBox) -> None:
    box.calls_list, box.records = [], []
    text = await (await admin.get("/")).text()
    assert "no calls in progress" in text and "no call records yet" in text


async def test_dashboard_tells_why_a_gsm_module_is_out_of_service(admin: Browser,
                                                                  box: FakeBox) -> None:
    gsm = next(p for p in box.ports_list if p["id"] == "gsm1")
    gsm.update(state="out_of_service")
    gsm.pop("call")
    gsm["modem"].update(sim_state="SIM PIN", in_service=False, signal_dbm=None)
    text = await (await admin.get("/")).text()
    assert "out of service: SIM: SIM PIN" in words(row(text, "gsm1"))


@pytest.mark.parametrize(("port", "expected"), [
    ({"kind": "fxs", "state": "idle", "off_hook": False}, "idle"),
    ({"kind": "fxs", "state": "idle", "off_hook": True}, "off-hook"),
    ({"kind": "fxs", "state": "inbound", "off_hook": True}, "off-hook, dialing"),
    ({"kind": "fxs", "state": "releasing", "off_hook": True}, "off-hook, busy tone"),
    ({"kind": "fxo", "state": "inbound", "rings": 2}, "ringing (2 rings)"),
    ({"kind": "gsm", "state": "idle", "modem": {"responsive": False}},
     "out of service: the module does not answer"),
    ({"kind": "gsm", "state": "out_of_service", "modem": {"in_service": False,
                                                          "service_detail": "searching"}},
     "out of service: searching"),
    ({"kind": "pri", "state": "weird_new_state"}, "weird new state"),
])
def test_port_status_words(port: dict[str, Any], expected: str) -> None:
    assert port_status({"id": "x", **port}, [])[0] == expected


def test_signal_and_durations() -> None:
    assert [signal_words(d) for d in (-60, -80, -95, -110, None)] == [
        "excellent", "good", "fair", "poor", "unknown"]
    assert [duration(s) for s in (0, 5.9, 74, 3600 + 62, -3)] == [
        "0:00", "0:05", "1:14", "1:01:02", "0:00"]
    assert gsm_problem({"pin_rejected": True, "in_service": False}) == "SIM PIN rejected"
    assert gsm_problem({"in_service": True, "sim_state": "READY"}) == ""


# ---------------------------------------------------------------- simulator


async def test_sim_phones_show_their_state_and_fitting_buttons(admin: Browser) -> None:
    text = await (await admin.get("/sim")).text()
    ringing = part(text, "phone-fxs1-live").split('id="keypad-fxs1"')[0]
    assert "Ringing" in ringing and "call from <b>0601</b>" in ringing
    assert "Answer (pick up)" in ringing and "phones/fxs1/onhook" not in ringing
    assert re.search(r'<fieldset id="keypad-fxs1" data-sync class="keypad" disabled>', text)
    talking = part(text, "phone-fxs2-live").split('id="keypad-fxs2"')[0]
    assert "In call" in talking and "with <b>0144</b>" in talking
    assert "digits heard: 5" in talking and "line level -66 dBm0 (quiet)" in talking
    assert "phones/fxs2/onhook" in talking and "phones/fxs2/flash" in talking
    assert "phones/fxs2/offhook" not in talking
    assert re.search(r'<fieldset id="keypad-fxs2" data-sync class="keypad">', text)
    assert text.count('data-sim="phones/fxs2/press" data-digits=') == 12


async def test_sim_trunks_and_one_e1_row(admin: Browser) -> None:
    text = await (await admin.get("/sim")).text()
    gsm = words(part(text, "trunk-gsm1").split('id="trunk-fxo1"')[0])
    assert "Calling in from 0601" in gsm and "SimNet" in gsm
    assert re.search(r'<fieldset id="callin-gsm1" data-sync disabled>', text)
    assert re.search(r'<fieldset id="callin-fxo1" data-sync>', text)
    assert re.search(r'id="act-fxo1-hangup"[^>]*disabled', text.replace("\n", " "))
    trunks = text.split('id="sim-trunks"')[1]
    assert trunks.count('<select name="bchan"') == 1 and "e1.1" not in trunks
    span = part(text, "trunk-e1")
    assert span.count("<option ") == 30
    assert 'data-sim="trunks/e1.{bchan}/call"' in span and 'name="called"' in span
    assert "B3" in span and "0144 → 0155500100" in span


async def test_sim_raw_state_is_collapsed(admin: Browser, box: FakeBox) -> None:
    text = await (await admin.get("/sim")).text()
    assert re.search(r'<details class="card raw"><summary>[^<]*</summary>\s*<pre id="sim-state"',
                     text)
    assert "&quot;heard_level_dbm0&quot;" in text


async def test_sim_page_escapes_device_strings(admin: Browser, box: FakeBox) -> None:
    sim = box.sim
    assert isinstance(sim, FakeSim)
    sim.devices["trunks"]["fxo1"].update(call_state="ringing", caller="<img src=x>")
    text = await (await admin.get("/sim")).text()
    assert "<img src=x>" not in text and "&lt;img src=x&gt;" in text


@pytest.mark.parametrize(("phone", "port", "calls", "expected"), [
    ({"off_hook": False}, {"state": "idle"}, [], "On hook"),
    ({"off_hook": True}, {"state": "inbound"},
     [{"state": "dialing", "digits": "", "legs": [{"channel": "p", "role": "caller"}]}],
     "Dial tone"),
    ({"off_hook": True}, {"state": "inbound"},
     [{"state": "dialing", "digits": "20", "legs": [{"channel": "p", "role": "caller"}]}],
     "Dialing"),
    ({"off_hook": True}, {"state": "inbound"},
     [{"state": "ringing", "called": "204", "start": 1.0,
       "legs": [{"channel": "p", "role": "caller"}]}], "Ringback"),
    ({"off_hook": True}, {"state": "releasing"}, [], "Busy tone"),
    ({"off_hook": False, "ringing": True, "caller_id": "555"}, {"state": "alerting"}, [],
     "Ringing"),
    ({"off_hook": False, "ringing": True, "caller_id": {"number": "555", "name": "Ann",
                                                          "datetime": None, "standard": "v23"}},
     {"state": "alerting"}, [], "Ringing"),
])
def test_phone_headlines(phone: dict[str, Any], port: dict[str, Any],
                         calls: list[dict[str, Any]], expected: str) -> None:
    headline, _, detail, _ = phone_status({"id": "p", **port}, phone, calls, 10.0)
    assert headline == expected
    if "caller_id" in phone:
        assert "555" in detail  # the number the phone's display shows wins


@pytest.mark.parametrize(("far", "expected"), [
    ({"call_state": "idle"}, "Idle"),
    ({"call_state": "ringing", "caller": "0601"}, "Calling in"),
    ({"call_state": "dialing", "dialed": "0700"}, "Box calls out"),
    ({"call_state": "alerting"}, "Box calls out"),
    ({"call_state": "active"}, "In call"),
])
def test_far_end_headlines(far: dict[str, Any], expected: str) -> None:
    assert far_status(far, {"state": "idle"})[0] == expected
