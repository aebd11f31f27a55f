"""The simulator page (/sim): try the box with simulated phones and far ends.

Phones first — each shows what its user would notice (ringing and who calls, dial tone,
ringback, busy tone, in call with whom, digits heard) with the buttons that make sense
now (Pick up, or Hang up and Flash, and a keypad). Then the far ends of the trunks: each
FXO line and GSM module as a row (call in, answer, hang up, press keys) and each E1 span as
ONE row with a B-channel selector and the caller and called numbers (E1 carries the DID).
The raw JSON of the simulated devices stays in a collapsed <details>.

Every control is a button or a small form with ``data-sim`` naming the API path under
/api/v1/sim (``{name}`` in it is filled from the field of that name in the device's
``data-sim-scope``); app.js posts it and shows an error in words next to the control.
The parts that follow the state carry ``data-live``; fields a person types into do not,
and their enabled state follows ``data-sync`` (see app.js).

Must not: change anything itself (every action goes through the JSON API), or reach past
the service façade.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from .auth import BOX, role_at_least, session_of
from .dashboard import (
    call_on_port,
    extensions_by_port,
    gsm_problem,
    other_party,
    signal_words,
    span_of,
)
from .markup import badge, e, layout, page, ticking

HEARD_TONE_DBM0 = -40.0  # above this a phone or far end hears a tone, not line silence
KEYS = "123456789*0#"
NUMBER_PATTERN = r"\+?[0-9]{1,20}"
DIGITS_PATTERN = "[0-9*#A-Da-d]{1,32}"

# far-end call states (drivers/sim: analogue line, GSM network, E1 far end)
CALLING_IN = frozenset({"ringing", "incoming"})
BOX_CALLING_OUT = frozenset({"dialing", "outgoing", "alerting"})


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _disabled(flag: bool) -> str:
    return " disabled" if flag else ""


def _level(device: dict[str, Any]) -> float | None:
    level = device.get("heard_level_dbm0")
    return float(level) if isinstance(level, (int, float)) else None


def heard(device: dict[str, Any]) -> str:
    """What a simulated device measures on its line: the audio level (a tone is well above
    line silence) and the DTMF digits it heard."""
    level = _level(device)
    parts = []
    if level is not None and level > -99:
        what = "tone" if level > HEARD_TONE_DBM0 else "quiet"
        parts.append(f"line level {level:.0f} dBm0 ({what})")
    if device.get("heard_digits"):
        parts.append(f"digits heard: {device['heard_digits']}")
    return " · ".join(parts)


def display_caller_id(cid: Any) -> str | None:
    """What a caller ID display shows: "Name (number)", the number, or why it is absent."""
    if not isinstance(cid, dict):
        return str(cid) if cid else None
    number, name = cid.get("number"), cid.get("name")
    if not number:
        number = {"P": "withheld", "O": "unavailable"}.get(str(cid.get("absence")))
    if name and number:
        return f"{name} ({number})"
    return str(name or number) if (name or number) else None


def phone_status(port: dict[str, Any], phone: dict[str, Any],
                 calls: list[dict[str, Any]], now: float) -> tuple[str, str, str, bool]:
    """(headline, badge tone, detail HTML, off-hook) of one phone as its user lives it."""
    pid = str(port.get("id", ""))
    off_hook = bool(phone.get("off_hook", port.get("off_hook")))
    state = str(port.get("state", ""))
    found = call_on_port(calls, pid)
    call, leg = found if found else ({}, {})
    if not off_hook:
        if state == "alerting" or phone.get("ringing") or port.get("ringing"):
            # the number the phone's display shows, when the simulator reports it; else the
            # caller of the call ringing this port
            shown = display_caller_id(phone.get("caller_id")) or (
                call.get("caller") if call else None)
            return "Ringing", "ring", f"call from <b>{e(shown or 'unknown')}</b>", False
        return "On hook", "idle", "", False
    call_state = str(call.get("state", ""))
    if call_state == "active":
        since = call.get("answer") or call.get("start")
        return ("In call", "busy",
                f"with <b>{e(other_party(call, leg))}</b> {ticking(since, now)}", True)
    if call_state == "dialing":
        digits = str(call.get("digits") or "")
        if digits:
            return "Dialing", "ring", f"dialed <b>{e(digits)}</b>", True
        return "Dial tone", "ring", "dial a number", True
    if call_state == "routing":
        return "Connecting", "ring", f"to <b>{e(call.get('called') or '')}</b>", True
    if call_state == "ringing" and leg.get("role") == "caller":
        return ("Ringback", "ring",
                f"calling <b>{e(call.get('called') or '')}</b> {ticking(call.get('start'), now)}",
                True)
    if state == "releasing":
        return "Busy tone", "warn", "the call ended or was refused: hang up", True
    return "Off hook", "warn", "", True


def phone_card(port: dict[str, Any], phone: dict[str, Any], calls: list[dict[str, Any]],
               ext: dict[str, Any] | None, now: float, may_act: bool) -> str:
    pid = e(port.get("id", ""))
    headline, tone, detail, off_hook = phone_status(port, phone, calls, now)
    ext_label = f"ext {e(ext.get('number'))}" if ext and ext.get("number") else "no extension"
    hear = heard(phone) if off_hook else ""
    if off_hook:
        actions = (
            f'<button type="button" id="act-{pid}-onhook" class="danger"'
            f' data-sim="phones/{pid}/onhook" data-label="Hang up"{_disabled(not may_act)}>'
            "Hang up</button>"
            f'<button type="button" id="act-{pid}-flash" class="secondary"'
            f' data-sim="phones/{pid}/flash" data-label="Flash"{_disabled(not may_act)}>'
            "Flash</button>")
    else:
        label = "Answer (pick up)" if tone == "ring" else "Pick up"
        actions = (f'<button type="button" id="act-{pid}-offhook" class="primary"'
                   f' data-sim="phones/{pid}/offhook" data-label="Pick up"'
                   f"{_disabled(not may_act)}>{label}</button>")
    keypad_off = _disabled(not (may_act and off_hook))
    keys = "".join(
        f'<button type="button" class="key" data-sim="phones/{pid}/press" data-digits="{k}"'
        f' data-label="Key {k}" aria-label="key {k}">{k}</button>' for k in KEYS)
    return f"""
<article class="phone card" id="phone-{pid}" data-sim-scope aria-labelledby="h-{pid}">
  <h3 id="h-{pid}">{pid} <span class="muted">{ext_label}</span></h3>
  <div id="phone-{pid}-live" data-live class="phone-live">
    <p class="headline">{badge(headline, tone)} <span class="detail">{detail}</span></p>
    <p class="hears muted">{e(hear) or "&nbsp;"}</p>
    <div class="actions">{actions}</div>
  </div>
  <fieldset id="keypad-{pid}" data-sync class="keypad"{keypad_off}>
    <legend>Keypad</legend>
    <div class="keys" role="group" aria-label="keypad of {pid}">{keys}</div>
    <form class="dial" data-sim="phones/{pid}/press" data-label="Dial">
      <label>Digits <input name="digits" inputmode="tel" autocomplete="off"
        pattern="{DIGITS_PATTERN}" required size="10" placeholder="e.g. 202"></label>
      <button type="submit">Dial</button>
    </form>
  </fieldset>
  <p class="message" role="status" aria-live="polite"></p>
</article>"""


def far_status(far: dict[str, Any], port: dict[str, Any]) -> tuple[str, str, str]:
    """(headline, badge tone, detail) of a trunk's far end."""
    call_state = str(far.get("call_state") or "idle")
    # the port's own view of its call (GSM: {"direction", "number"}) fills what the far end
    # does not report
    port_call = port.get("call") if isinstance(port.get("call"), dict) else {}
    if port.get("state") == "out_of_service":
        modem = port.get("modem") if isinstance(port.get("modem"), dict) else {}
        return "Out of service", "bad", gsm_problem(modem or {}) or "the port is down"
    if call_state in CALLING_IN:
        caller = far.get("caller") or (port_call or {}).get("number")
        return "Calling in", "ring", f"from {caller or 'withheld'}: the box is ringing"
    if call_state in BOX_CALLING_OUT:
        number = (far.get("dialed") or far.get("called") or (port_call or {}).get("number")
                  or far.get("heard_digits") or "")
        return ("Box calls out", "ring",
                f"to {number or 'a number'}: the far end rings — Answer to take it")
    if call_state == "active":
        return "In call", "busy", ""
    return "Idle", "idle", "no call"


def trunk_row(port: dict[str, Any], far: dict[str, Any], may_act: bool) -> str:
    pid = e(port.get("id", ""))
    kind = str(port.get("kind", ""))
    headline, tone, detail = far_status(far, port)
    call_state = str(far.get("call_state") or "idle")
    idle = call_state == "idle"
    extra = ""
    if kind == "gsm" and isinstance(port.get("modem"), dict):
        modem = port["modem"]
        dbm = modem.get("signal_dbm")
        extra = (f'<span class="muted">{e(modem.get("operator") or "no operator")} · '
                 f'{e(dbm)} dBm ({e(signal_words(dbm))})</span>')
    hear = heard(far) if not idle else ""
    answer_ok = may_act and call_state in BOX_CALLING_OUT
    hangup_ok = may_act and not idle
    return f"""
<div class="trunk" id="trunk-{pid}" data-sim-scope role="group" aria-labelledby="h-{pid}">
  <div class="who">
    <h3 id="h-{pid}">{pid} <span class="muted">{e(kind.upper())}</span> {extra}</h3>
    <p id="trunk-{pid}-state" data-live class="headline">{badge(headline, tone)}
      <span class="detail">{e(detail)}</span> <span class="muted">{e(hear)}</span></p>
  </div>
  <div class="forms">
    <fieldset id="callin-{pid}" data-sync{_disabled(not (may_act and idle))}>
      <form data-sim="trunks/{pid}/call" data-label="Call in">
        <label>Caller <input name="caller" inputmode="tel" autocomplete="off"
          pattern="{NUMBER_PATTERN}" size="12" placeholder="e.g. 0601020304"></label>
        <button type="submit">Call in</button>
      </form>
    </fieldset>
    <div id="trunk-{pid}-actions" data-live class="actions">
      <button type="button" id="act-{pid}-answer" data-sim="trunks/{pid}/answer"
        data-label="Answer"{_disabled(not answer_ok)}>Answer</button>
      <button type="button" id="act-{pid}-hangup" class="danger" data-sim="trunks/{pid}/hangup"
        data-label="Hang up"{_disabled(not hangup_ok)}>Hang up</button>
    </div>
    <fieldset id="press-{pid}" data-sync{_disabled(not (may_act and call_state == "active"))}>
      <form data-sim="trunks/{pid}/press" data-label="Press">
        <label>Keys <input name="digits" inputmode="tel" autocomplete="off"
          pattern="{DIGITS_PATTERN}" required size="6" placeholder="e.g. 1"></label>
        <button type="submit">Press</button>
      </form>
    </fieldset>
  </div>
  <p class="message" role="status" aria-live="polite"></p>
</div>"""


def span_row(span: str, channels: list[dict[str, Any]], trunks: dict[str, Any],
             may_act: bool) -> str:
    """One E1 span: pick a B-channel, give caller and called (DID), act on that channel."""
    s = e(span)
    numbers = sorted(int(c.get("bchan") or str(c.get("id", "")).rsplit(".", 1)[-1] or 0)
                     for c in channels)
    options = "".join(f'<option value="{n}">{n}</option>' for n in numbers)
    busy = []
    for n in numbers:
        far = trunks.get(f"{span}.{n}")
        if isinstance(far, dict) and far.get("call_state", "idle") != "idle":
            who = " → ".join(str(x) for x in (far.get("caller") or "withheld",
                                               far.get("called")) if x)
            busy.append(f'<li class="chip ring"><b>B{n}</b> {e(far.get("call_state"))} '
                        f"{e(who)}</li>")
    listing = (f'<ul class="chips">{"".join(busy)}</ul>' if busy
               else '<p class="muted">every far end idle</p>')
    off = _disabled(not may_act)
    return f"""
<div class="trunk span" id="trunk-{s}" data-sim-scope role="group" aria-labelledby="h-{s}">
  <div class="who">
    <h3 id="h-{s}">{s} <span class="muted">E1 span, {len(numbers)} B-channels</span></h3>
    <div id="trunk-{s}-live" data-live class="trunk-live">{listing}</div>
  </div>
  <div class="forms">
    <label>B-channel <select name="bchan" id="{s}-bchan">{options}</select></label>
    <form data-sim="trunks/{s}.{{bchan}}/call" data-label="Call in">
      <label>Caller <input name="caller" inputmode="tel" autocomplete="off"
        pattern="{NUMBER_PATTERN}" size="12" placeholder="e.g. 0144556677"></label>
      <label>Called (DID) <input name="called" inputmode="tel" autocomplete="off"
        pattern="{NUMBER_PATTERN}" size="10" placeholder="e.g. 0155500100"></label>
      <button type="submit"{off}>Call in</button>
    </form>
    <div class="actions">
      <button type="button" data-sim="trunks/{s}.{{bchan}}/answer" data-label="Answer"{off}>
        Answer</button>
      <button type="button" class="danger" data-sim="trunks/{s}.{{bchan}}/hangup"
        data-label="Hang up"{off}>Hang up</button>
    </div>
    <form data-sim="trunks/{s}.{{bchan}}/press" data-label="Press">
      <label>Keys <input name="digits" inputmode="tel" autocomplete="off"
        pattern="{DIGITS_PATTERN}" required size="6"></label>
      <button type="submit"{off}>Press</button>
    </form>
  </div>
  <p class="message" role="status" aria-live="polite"></p>
</div>"""


async def sim_page(request: web.Request) -> web.Response:
    session = session_of(request)
    box = request.app[BOX]
    sim = box.sim
    if sim is None:
        body = '<p class="card">No simulated board: this box runs on hardware.</p>'
        return page(layout("Simulator", body, page="sim", session=session), status=404)
    now = time.time()
    may_act = role_at_least(session.role, "supervisor")
    state = sim.state()
    phones, trunks = _dict(state.get("phones")), _dict(state.get("trunks"))
    calls = box.calls()
    extensions = extensions_by_port(box.config_current())
    phone_cards, trunk_rows = [], []
    spans: dict[str, list[dict[str, Any]]] = {}
    for port in box.ports():
        pid = str(port.get("id", ""))
        kind = str(port.get("kind", ""))
        if kind == "fxs":
            phone_cards.append(phone_card(port, _dict(phones.get(pid)), calls,
                                          extensions.get(pid), now, may_act))
        elif kind == "pri":
            spans.setdefault(span_of(port), []).append(port)
        else:
            trunk_rows.append(trunk_row(port, _dict(trunks.get(pid)), may_act))
    for span, channels in spans.items():
        trunk_rows.append(span_row(span, channels, trunks, may_act))
    note = "" if may_act else '<p class="hint">A viewer can watch but not act.</p>'
    state_json = json.dumps(state, indent=2, default=str)
    body = f"""
{note}
<p class="live" id="live" role="status">live updates: connecting…</p>
<section aria-labelledby="h-phones"><h2 id="h-phones">Phones</h2>
<p class="hint">Pick up a phone and dial an extension, or call in on a trunk below and
answer on the phone that rings.</p>
<div class="phones" id="sim-phones">{"".join(phone_cards) or '<p class="empty">no phones</p>'}
</div></section>
<section class="card" aria-labelledby="h-trunks"><h2 id="h-trunks">Trunks: far ends</h2>
<div id="sim-trunks" class="trunks">{"".join(trunk_rows) or '<p class="empty">no trunks</p>'}
</div></section>
<details class="card raw"><summary>Simulated devices (raw JSON)</summary>
<pre id="sim-state" data-live>{e(state_json)}</pre></details>"""
    return page(layout("Simulator", body, page="sim", session=session, has_sim=True, now=now))
