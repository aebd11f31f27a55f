"""The dashboard (/): the box at a glance for a technician.

Ports by what they are — phones (FXS), analogue lines (FXO), GSM modules with operator,
signal and registration, and each E1 span as one summary row that opens onto its
B-channels — then the calls in progress with a ticking duration, then the last 20 call
records. The parts that change carry ``data-live`` (see :mod:`webui.markup`); app.js
re-fetches the page on every event of the SSE stream and swaps them.

Must not: change anything, or reach past the service façade.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import tzinfo
from typing import Any

from aiohttp import web

from .auth import BOX, session_of
from .markup import badge, box_zone, clock, duration, e, layout, page, ticking

KIND_LABEL = {"fxs": "Phone (FXS)", "fxo": "Line (FXO)", "gsm": "GSM module", "pri": "E1"}
KIND_ORDER = {"fxs": 0, "fxo": 1, "gsm": 2, "pri": 3}

# channel states (drivers.channel.ChannelState) in words, with the badge colour
STATE_WORDS: dict[str, tuple[str, str]] = {
    "idle": ("idle", "idle"),
    "inbound": ("incoming call", "ring"),
    "outbound": ("calling out", "ring"),
    "alerting": ("ringing", "ring"),
    "active": ("in call", "busy"),
    "releasing": ("hanging up", "warn"),
    "out_of_service": ("out of service", "bad"),
}

CALL_STATE_WORDS = {"dialing": "dialing", "routing": "connecting", "ringing": "ringing",
                    "active": "talking", "ended": "ended"}

DISPOSITION_WORDS: dict[str, tuple[str, str]] = {
    "answered": ("answered", "idle"),
    "busy": ("busy", "warn"),
    "no_answer": ("no answer", "warn"),
    "rejected": ("rejected", "bad"),
    "failed": ("failed", "bad"),
}


# ---------------------------------------------------------------- what the views need


def extensions_by_port(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Configured extensions keyed by the port they ring (from the configuration)."""
    found: dict[str, dict[str, Any]] = {}
    extensions = document.get("extensions") if isinstance(document, dict) else None
    for ext in extensions if isinstance(extensions, list) else []:
        if isinstance(ext, dict) and isinstance(ext.get("port"), str):
            found.setdefault(ext["port"], ext)
    return found


def call_on_port(calls: Iterable[dict[str, Any]], port_id: str
                 ) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The call in progress with a leg on this port, and that leg."""
    for call in calls:
        for leg in call.get("legs") or []:
            if (isinstance(leg, dict) and leg.get("channel") == port_id
                    and leg.get("released_at") is None):
                return call, leg
    return None


def other_party(call: dict[str, Any], leg: dict[str, Any]) -> str:
    """The number at the other end of the call, seen from ``leg``."""
    number = call.get("called") if leg.get("role") == "caller" else call.get("caller")
    return str(number) if number else "withheld"


def span_of(port: dict[str, Any]) -> str:
    """The span an E1 B-channel belongs to: "e1" for "e1.5"."""
    return str(port.get("id", "")).split(".", 1)[0]


def signal_words(dbm: Any) -> str:
    """GSM received signal as an installer reads it (thresholds of RSSI practice)."""
    if not isinstance(dbm, (int, float)) or isinstance(dbm, bool):
        return "unknown"
    if dbm >= -70:
        return "excellent"
    if dbm >= -85:
        return "good"
    if dbm >= -100:
        return "fair"
    return "poor"


def signal_bars(dbm: Any) -> int:
    if not isinstance(dbm, (int, float)) or isinstance(dbm, bool):
        return 0
    return {"excellent": 4, "good": 3, "fair": 2, "poor": 1}[signal_words(dbm)]


def gsm_problem(modem: dict[str, Any]) -> str:
    """Why a GSM module is out of service, in words (empty when it is in service)."""
    if modem.get("responsive") is False:
        return "the module does not answer"
    if modem.get("pin_rejected"):
        return "SIM PIN rejected"
    sim_state = modem.get("sim_state")
    if sim_state and sim_state != "READY":
        return f"SIM: {sim_state}"
    if modem.get("in_service") is False:
        return str(modem.get("service_detail") or "not registered")
    return ""


def port_status(port: dict[str, Any], calls: list[dict[str, Any]]) -> tuple[str, str]:
    """(words, badge tone) for one port: the channel state told as its kind lives it."""
    kind = str(port.get("kind", ""))
    state = str(port.get("state", ""))
    words, tone = STATE_WORDS.get(state, (state.replace("_", " ") or "unknown", "off"))
    if kind == "fxs":
        off_hook = bool(port.get("off_hook"))
        found = call_on_port(calls, str(port.get("id")))
        if found and found[0].get("state") == "ringing" and found[1].get("role") == "caller":
            return "calling (ringback)", "ring"
        if state == "idle":
            return ("off-hook", "warn") if off_hook else ("idle", "idle")
        if state == "inbound":
            return "off-hook, dialing", "ring"
        if state == "alerting" or (port.get("ringing") and not off_hook):
            return "ringing", "ring"
        if state == "releasing" and off_hook:
            return "off-hook, busy tone", "warn"
    elif kind == "fxo":
        rings = port.get("rings")
        if state == "inbound" and isinstance(rings, int) and rings > 0:
            return f"ringing ({rings} ring{'s' if rings != 1 else ''})", "ring"
    elif kind == "gsm":
        modem = port.get("modem") if isinstance(port.get("modem"), dict) else {}
        problem = gsm_problem(modem or {})
        if state == "out_of_service" or (problem and state == "idle"):
            return f"out of service: {problem or 'no reason given'}", "bad"
    return words, tone


# ---------------------------------------------------------------- rendering


def _ext_label(ext: dict[str, Any] | None) -> str:
    if not ext:
        return ""
    number, name = ext.get("number"), ext.get("name")
    text = f"ext {number}" if number else ""
    if name and name != f"Extension {number}":
        text += f" · {name}"
    return text


def call_summary(port: dict[str, Any], call: dict[str, Any], leg: dict[str, Any]) -> str:
    """The call on a port in words: a phone tells whom it talks to, a trunk tells the
    outside number and the extension it reaches."""
    state = call.get("state")
    if port.get("kind") != "fxs":
        inbound = call.get("direction", "inbound") == "inbound"
        remote = call.get("caller") if inbound else call.get("called")
        text = f"{'from' if inbound else 'to'} {remote or 'withheld'}"
        if call.get("extension"):
            text += f" {'→' if inbound else '←'} ext {call['extension']}"
        return text
    if state == "dialing":
        return f"dialed {call['digits']}" if call.get("digits") else "dial tone"
    if state == "routing":
        return f"connecting to {call.get('called') or ''}"
    if state == "active":
        return f"with {other_party(call, leg)}"
    return f"{'calling' if leg.get('role') == 'caller' else 'from'} {other_party(call, leg)}"


def _call_note(port: dict[str, Any], calls: list[dict[str, Any]], now: float) -> str:
    found = call_on_port(calls, str(port.get("id")))
    if found is None:
        return ""
    call, leg = found
    since = call.get("answer") or call.get("start")
    return (f'<span class="note">{e(call_summary(port, call, leg))} '
            f"{ticking(since, now)}</span>")


def _gsm_details(port: dict[str, Any]) -> str:
    modem = port.get("modem") if isinstance(port.get("modem"), dict) else None
    if not modem:
        return '<span class="muted">no module details</span>'
    dbm = modem.get("signal_dbm")
    bars = signal_bars(dbm)
    meter = (f'<span class="bars b{bars}" role="img" aria-label="signal {bars} of 4">'
             "<i></i><i></i><i></i><i></i></span>")
    signal = (f"{meter} {e(dbm)} dBm ({e(signal_words(dbm))})"
              if dbm is not None else f"{meter} no signal")
    parts = [f'<span class="op">{e(modem.get("operator") or "no operator")}</span>',
             f'<span class="sig">{signal}</span>']
    reg = modem.get("registration_text")
    if reg:
        parts.append(f"<span>registration: {e(reg)}</span>")
    if modem.get("own_number"):
        parts.append(f'<span class="muted">SIM {e(modem["own_number"])}</span>')
    return " · ".join(parts)


def port_rows(ports: list[dict[str, Any]], calls: list[dict[str, Any]],
              extensions: dict[str, dict[str, Any]], now: float) -> str:
    """The rows of the ports table: one per phone, line and module, one per E1 span."""
    rows: list[str] = []
    spans: dict[str, list[dict[str, Any]]] = {}
    singles = []
    for port in ports:
        if port.get("kind") == "pri":
            spans.setdefault(span_of(port), []).append(port)
        else:
            singles.append(port)
    singles.sort(key=lambda p: KIND_ORDER.get(str(p.get("kind")), 9))
    for port in singles:
        pid = str(port.get("id", ""))
        kind = str(port.get("kind", ""))
        words, tone = port_status(port, calls)
        # the call first: it is what changes and what a technician looks for
        details = _call_note(port, calls, now)
        if kind == "gsm":
            details += (" · " if details else "") + _gsm_details(port)
        elif kind == "fxs":
            details = f'<span>{e(_ext_label(extensions.get(pid)))}</span> ' + details
        rows.append(
            f'<tr id="port-{e(pid)}" class="port {e(kind)}"><th scope="row">{e(pid)}</th>'
            f"<td>{e(KIND_LABEL.get(kind, kind))}</td><td>{badge(words, tone)}</td>"
            f'<td class="details">{details}</td></tr>')
    for span, channels in spans.items():
        rows.append(span_row(span, channels, calls, now))
    return "".join(rows)


def span_row(span: str, channels: list[dict[str, Any]], calls: list[dict[str, Any]],
             now: float) -> str:
    """One E1 span: B-channels busy / total, opening onto a grid of its channels."""
    total = len(channels)
    down = sum(1 for c in channels if c.get("state") == "out_of_service")
    busy = sum(1 for c in channels if c.get("state") not in ("idle", "out_of_service"))
    if down == total and total:
        status = badge("out of service", "bad")
    elif busy:
        status = badge(f"{busy} / {total} busy", "busy")
    else:
        status = badge(f"idle · 0 / {total} busy", "idle")
    if down and down != total:
        status += " " + badge(f"{down} out of service", "bad")
    chips = []
    for ch in sorted(channels, key=lambda c: int(c.get("bchan") or 0)):
        words, tone = STATE_WORDS.get(str(ch.get("state")), (str(ch.get("state")), "off"))
        n = ch.get("bchan") or str(ch.get("id", "")).rsplit(".", 1)[-1]
        found = call_on_port(calls, str(ch.get("id")))
        who = f" · {call_summary(ch, *found)}" if found else ""
        chips.append(f'<li class="chip {e(tone)}" title="{e(ch.get("id"))}: {e(words)}{e(who)}">'
                     f"<b>{e(n)}</b> {e(words)}{e(who)}</li>")
    details = (f'<details id="{e(span)}-bchans" class="bchans"><summary>B-channels '
               f"({busy} busy of {total})</summary>"
               f'<ul class="chips">{"".join(chips)}</ul></details>')
    return (f'<tr id="port-{e(span)}" class="port pri span"><th scope="row">{e(span)}</th>'
            f"<td>E1 span</td><td>{status}</td>"
            f'<td class="details">{details}</td></tr>')


def ports_table(ports: list[dict[str, Any]], calls: list[dict[str, Any]],
                extensions: dict[str, dict[str, Any]], now: float) -> str:
    if not ports:
        return '<p id="ports" data-live class="empty">no ports</p>'
    return ('<table id="ports" data-live class="ports"><thead><tr><th scope="col">port</th>'
            '<th scope="col">type</th><th scope="col">status</th><th scope="col">details</th>'
            f"</tr></thead><tbody>{port_rows(ports, calls, extensions, now)}</tbody></table>")


def calls_table(calls: list[dict[str, Any]], now: float) -> str:
    live = [c for c in calls if c.get("state") != "ended"]
    if not live:
        return '<p id="calls" data-live class="empty">no calls in progress</p>'
    rows = []
    for call in live:
        state = str(call.get("state", ""))
        answered = call.get("answer")
        since = answered if answered else call.get("start")
        tone = "busy" if state == "active" else "ring"
        trunk = call.get("trunk") or ""
        ext = call.get("extension") or ""
        rows.append(
            f'<tr data-call="{e(call.get("id", ""))}">'
            f'<td>{e(call.get("caller") or "withheld")}</td>'
            f'<td>{e(call.get("called") or call.get("digits") or "")}</td>'
            f"<td>{e(trunk or 'internal')}</td><td>{e(ext)}</td>"
            f"<td>{badge(CALL_STATE_WORDS.get(state, state), tone)}</td>"
            f'<td class="num">{ticking(since, now)}</td></tr>')
    return ('<table id="calls" data-live><thead><tr><th scope="col">caller</th>'
            '<th scope="col">called</th><th scope="col">trunk</th>'
            '<th scope="col">extension</th><th scope="col">state</th>'
            f'<th scope="col" class="num">duration</th></tr></thead><tbody>{"".join(rows)}'
            "</tbody></table>")


def cdr_table(records: list[dict[str, Any]], zone: tzinfo, now: float) -> str:
    if not records:
        return '<p id="cdrs" data-live class="empty">no call records yet</p>'
    rows = []
    for r in records:
        start = r.get("start_ts", r.get("start"))
        disposition = str(r.get("disposition") or "")
        words, tone = DISPOSITION_WORDS.get(disposition, (disposition.replace("_", " "), "off"))
        via = " · ".join(str(x) for x in (r.get("trunk"), r.get("extension")) if x)
        talk = r.get("talk_s")
        rows.append(
            f'<tr data-cdr="{e(r.get("call_id", r.get("id", "")))}">'
            f'<td class="num">{e(clock(start, zone, now))}</td>'
            f'<td>{e(r.get("caller") or "withheld")} → {e(r.get("called") or "")}</td>'
            f"<td>{e(via)}</td><td>{badge(words, tone) if words else ''}</td>"
            f'<td class="num">{e(duration(talk)) if talk else "–"}</td></tr>')
    return ('<table id="cdrs" data-live><thead><tr><th scope="col" class="num">time</th>'
            '<th scope="col">caller → called</th><th scope="col">trunk · extension</th>'
            '<th scope="col">result</th><th scope="col" class="num">talk time</th></tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table>')


def info_strip(info: dict[str, Any], zone: tzinfo) -> str:
    uptime = info.get("uptime_s")
    items = [("box", info.get("name")), ("version", info.get("version")),
             ("board", info.get("board")), ("up", duration(uptime) if uptime else None),
             ("configuration", f"revision {info['config_revision']}"
              if "config_revision" in info else None),
             ("times in", str(zone))]
    cells = "".join(f"<div><dt>{e(k)}</dt><dd>{e(v)}</dd></div>"
                    for k, v in items if v not in (None, ""))
    return f'<dl id="info" data-live class="strip">{cells}</dl>'


async def dashboard_page(request: web.Request) -> web.Response:
    session = session_of(request)
    box = request.app[BOX]
    now = time.time()
    document = box.config_current()
    zone = box_zone(document)
    calls = box.calls()
    body = (
        '<p class="live" id="live" role="status">live updates: connecting…</p>'
        f"{info_strip(box.info(), zone)}"
        '<section class="card" aria-labelledby="h-ports"><h2 id="h-ports">Ports</h2>'
        f"{ports_table(box.ports(), calls, extensions_by_port(document), now)}</section>"
        '<section class="card" aria-labelledby="h-calls">'
        '<h2 id="h-calls">Calls in progress</h2>'
        f"{calls_table(calls, now)}</section>"
        '<section class="card" aria-labelledby="h-cdrs"><h2 id="h-cdrs">Last 20 calls</h2>'
        f"{cdr_table(box.cdrs(limit=20), zone, now)}</section>"
    )
    return page(layout("Dashboard", body, page="dashboard", session=session,
                       has_sim=box.sim is not None, now=now))
