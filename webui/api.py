"""The JSON API under /api/v1: thin views over :class:`firmware.service.BoxService`.

Each view checks its input, calls the façade, and answers JSON. Domain errors
(NotFound, BadRequest, Unavailable, configuration validation) are mapped to HTTP by the
error middleware in :mod:`webui.app`; views raise :class:`ApiError` for their own input
checks. Every change is recorded with ``box.audit(actor, action, detail)``.

Must not: reach past the façade (engine, drivers, stores), or put a secret in a log or
an audit entry. The OpenAPI document (:mod:`webui.openapi`) lists every route here; a test
keeps the two in step.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from typing import Any

from aiohttp import web

from firmware.accounts import INITIAL_ADMIN, AccountError, AlreadySetUp
from firmware.service import MAX_PROMPT_BYTES, BadRequest, SimulatorControl

from .auth import (
    ACCOUNTS,
    BOX,
    SESSIONS,
    SETTINGS,
    THROTTLE,
    Handler,
    client_ip,
    end_session,
    json_error,
    requires,
    session_of,
    set_session_cookie,
    start_session,
)
from .openapi import openapi_document

log = logging.getLogger("webui.api")

DIGITS = re.compile(r"^[0-9*#A-D]{1,32}$")
NUMBER = re.compile(r"^\+?[0-9]{1,20}$")
EVENT_TYPE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
PORT = "{port:[A-Za-z0-9._-]{1,32}}"
MAX_CDR_LIMIT = 1000
MAX_SMS_LIMIT = 1000
MAX_SMS_TEXT = 1530
SMS_FROM = re.compile(r"^[A-Za-z0-9._-]{1,32}$")  # a port id (gsm1) or an ICCID
MAX_COMMENT = 200
NO_SIM = "no simulated board: the box runs on hardware"

STREAMS: web.AppKey[set[asyncio.Task[Any]]] = web.AppKey("sse_streams")


class ApiError(Exception):
    """A request the view refuses; the error middleware answers {"error": message}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def dumps(data: Any) -> str:
    # default=str: a timestamp or enum the façade hands over must not turn into a 500
    return json.dumps(data, default=str, ensure_ascii=False)


def reply(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or ApiError naming what is wrong with it."""
    if request.content_type != "application/json":
        raise ApiError(415, "the request body must be JSON (Content-Type: application/json)")
    raw = await request.read()
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "malformed JSON body: not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"malformed JSON body: {exc.msg} at line {exc.lineno} "
                            f"column {exc.colno}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the JSON body must be an object")
    return body


def text_field(body: dict[str, Any], name: str, *, required: bool = True,
               max_len: int = 1024) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(400, f'"{name}" is required')
        return None
    if not isinstance(value, str):
        raise ApiError(400, f'"{name}" must be a string')
    if len(value) > max_len:
        raise ApiError(400, f'"{name}" is too long (at most {max_len} characters)')
    return value


def required_text(body: dict[str, Any], name: str, max_len: int = 1024) -> str:
    value = text_field(body, name, max_len=max_len)
    assert value is not None
    return value


def object_field(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if not isinstance(value, dict):
        raise ApiError(400, f'"{name}" is required and must be a JSON object')
    return value


def int_param(request: web.Request, name: str, default: int, lo: int, hi: int | None) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < lo or (hi is not None and value > hi):
        span = f"from {lo} to {hi}" if hi is not None else f"of at least {lo}"
        raise ApiError(400, f'query parameter "{name}" must be an integer {span}')
    return value


def time_param(request: web.Request, name: str) -> float | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ApiError(400, f'query parameter "{name}" must be a time in Unix seconds')
    return value


def audit(request: web.Request, action: str, detail: dict[str, Any]) -> None:
    request.app[BOX].audit(session_of(request).username, action, detail)


# ---------------------------------------------------------------- auth


async def health(request: web.Request) -> web.Response:
    return reply({"status": "ok"})


async def setup(request: web.Request) -> web.Response:
    """First boot: choose the admin password; signs in as "admin"."""
    accounts = request.app[ACCOUNTS]
    if not accounts.needs_setup:
        return json_error(409, "the box is already set up: sign in instead")
    body = await read_json(request)
    password = required_text(body, "password")
    assert password is not None
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, accounts.set_initial_admin, password)
    except AlreadySetUp:
        return json_error(409, "the box is already set up: sign in instead")
    except AccountError as exc:
        raise ApiError(400, str(exc)) from None
    session = start_session(request, INITIAL_ADMIN, "admin")
    response = reply(_me(session.username, session.role, session.csrf_token))
    set_session_cookie(request, response, session)
    log.info("first-boot setup: admin password set from %s", client_ip(request))
    request.app[BOX].audit(INITIAL_ADMIN, "auth.setup", {"ip": client_ip(request)})
    return response


def _me(username: str, role: str, csrf_token: str) -> dict[str, str]:
    return {"username": username, "role": role, "csrf_token": csrf_token}


async def login(request: web.Request) -> web.Response:
    body = await read_json(request)
    username = required_text(body, "username", max_len=64)
    password = required_text(body, "password", max_len=1024)
    ip = client_ip(request)
    throttle = request.app[THROTTLE]
    wait = throttle.retry_after(username, ip)
    if wait > 0:
        log.warning("sign-in refused (throttled): user %r from %s", username, ip)
        response = json_error(429, "too many failed sign-ins: try again in a minute")
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    throttle.attempt(username, ip)
    loop = asyncio.get_running_loop()
    user = await loop.run_in_executor(None, request.app[ACCOUNTS].verify, username, password)
    box = request.app[BOX]
    if user is None:
        log.warning("sign-in failed: user %r from %s", username, ip)
        box.audit(username, "auth.login_failed", {"ip": ip})
        return json_error(401, "wrong user name or password")
    throttle.succeeded(username, ip)
    session = start_session(request, user.username, user.role)
    response = reply(_me(session.username, session.role, session.csrf_token))
    set_session_cookie(request, response, session)
    log.info("sign-in: user %r (%s) from %s", user.username, user.role, ip)
    box.audit(user.username, "auth.login", {"ip": ip})
    return response


async def logout(request: web.Request) -> web.Response:
    session = session_of(request)
    response = reply({"status": "signed out"})
    end_session(request, response)
    log.info("sign-out: user %r from %s", session.username, client_ip(request))
    request.app[BOX].audit(session.username, "auth.logout", {"ip": client_ip(request)})
    return response


async def me(request: web.Request) -> web.Response:
    session = session_of(request)
    return reply(_me(session.username, session.role, session.csrf_token))


async def change_password(request: web.Request) -> web.Response:
    session = session_of(request)
    body = await read_json(request)
    old = required_text(body, "old")
    new = required_text(body, "new")
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, request.app[ACCOUNTS].change_password,
                                   session.username, old, new)
    except AccountError as exc:
        raise ApiError(400, str(exc)) from None
    request.app[SESSIONS].delete_user(session.username, keep=session.token)
    audit(request, "auth.password_changed", {"ip": client_ip(request)})
    return reply({"status": "password changed"})


# ---------------------------------------------------------------- box state


async def info(request: web.Request) -> web.Response:
    return reply(request.app[BOX].info())


async def ports(request: web.Request) -> web.Response:
    return reply({"ports": request.app[BOX].ports()})


async def calls(request: web.Request) -> web.Response:
    return reply({"calls": request.app[BOX].calls()})


async def cdr(request: web.Request) -> web.Response:
    limit = int_param(request, "limit", 100, 1, MAX_CDR_LIMIT)
    offset = int_param(request, "offset", 0, 0, None)
    since = time_param(request, "since")
    until = time_param(request, "until")
    if since is not None and until is not None and since > until:
        raise ApiError(400, 'query parameter "since" must not be after "until"')
    records = request.app[BOX].cdrs(limit=limit, offset=offset, since=since, until=until)
    return reply({"cdrs": records, "limit": limit, "offset": offset})


async def sms_list(request: web.Request) -> web.Response:
    limit = int_param(request, "limit", 100, 1, MAX_SMS_LIMIT)
    since = time_param(request, "since")
    iccid = request.query.get("iccid")
    if iccid is not None and not re.fullmatch(r"[0-9A-Fa-f]{10,22}", iccid):
        raise ApiError(400, 'query parameter "iccid" must be a SIM\'s ICCID (10 to 22 digits)')
    direction = request.query.get("direction")
    if direction not in (None, "in", "out"):
        raise ApiError(400, 'query parameter "direction" must be "in" or "out"')
    messages = request.app[BOX].sms(limit=limit, since=since, iccid=iccid,
                                    direction=direction)
    return reply({"sms": messages, "limit": limit})


@requires("supervisor")
async def sms_send(request: web.Request) -> web.Response:
    body = await read_json(request)
    source = text_field(body, "from", max_len=32)
    if source is None or not SMS_FROM.match(source):
        raise ApiError(400, '"from" must be a GSM port id (gsm1) or the ICCID of a SIM')
    to = number_field(body, "to", required=True)
    assert to is not None
    text = required_text(body, "text", max_len=MAX_SMS_TEXT)
    if not text.strip():
        raise ApiError(400, '"text" must not be empty')
    sent = await request.app[BOX].send_sms(source, to, text)
    # The audit names who sent what to whom, not the text itself (it may be private).
    audit(request, "sms.send", {"from": source, "to": to, "id": sent.get("id"),
                                "chars": len(text)})
    return reply(sent)


def sse_frame(item: dict[str, Any]) -> bytes:
    kind = item.get("type") if isinstance(item, dict) else None
    if not isinstance(kind, str) or not EVENT_TYPE.match(kind):
        kind = "message"
    # json.dumps never emits a raw newline, so one data: line carries the whole item
    return f"event: {kind}\ndata: {dumps(item)}\n\n".encode()


async def events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: every item of box.subscribe(), with keep-alive comments. Ends
    when the client goes away, the session ends, or the app shuts down."""
    session = session_of(request)
    box = request.app[BOX]
    sessions = request.app[SESSIONS]
    keepalive = request.app[SETTINGS].sse_keepalive_s
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",
    })
    task = asyncio.current_task()
    streams = request.app[STREAMS]
    queue = box.subscribe()
    try:
        if task is not None:
            streams.add(task)
        await response.prepare(request)
        await response.write(b"retry: 3000\n\n")
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), keepalive)
            except TimeoutError:
                item = None
            if sessions.peek(session.token) is None:
                break  # signed out or expired: no more news on this stream
            await response.write(b": keep-alive\n\n" if item is None else sse_frame(item))
    except ConnectionResetError:
        pass  # the browser went away
    finally:
        box.unsubscribe(queue)
        if task is not None:
            streams.discard(task)
    return response


async def close_streams(app: web.Application) -> None:
    streams = app[STREAMS]
    for task in list(streams):
        task.cancel()


# ---------------------------------------------------------------- configuration


async def config_get(request: web.Request) -> web.Response:
    box = request.app[BOX]
    return reply({"document": box.config_current(), "revision": box.config_revision()})


@requires("admin")
async def config_put(request: web.Request) -> web.Response:
    body = await read_json(request)
    document = object_field(body, "document")
    comment = text_field(body, "comment", required=False, max_len=MAX_COMMENT) or ""
    box = request.app[BOX]
    base = body.get("revision")  # optional: the revision the editor started from
    if base is not None and base != box.config_revision():
        raise ApiError(409, "the configuration changed since you loaded it (now revision "
                            f"{box.config_revision()}): reload and apply your change again")
    session = session_of(request)
    revision = await box.config_commit(document, session.username, comment)
    audit(request, "config.commit", {"revision": revision, "comment": comment})
    return reply({"revision": revision})


async def config_validate(request: web.Request) -> web.Response:
    body = await read_json(request)
    request.app[BOX].config_validate(object_field(body, "document"))
    return reply({"valid": True})


async def config_revisions(request: web.Request) -> web.Response:
    return reply({"revisions": request.app[BOX].config_revisions(),
                  "current": request.app[BOX].config_revision()})


@requires("admin")
async def config_rollback(request: web.Request) -> web.Response:
    body = await read_json(request)
    rev = body.get("revision")
    if not isinstance(rev, int) or isinstance(rev, bool) or rev < 0:
        raise ApiError(400, '"revision" is required and must be a non-negative integer')
    session = session_of(request)
    revision = await request.app[BOX].config_rollback(rev, session.username)
    audit(request, "config.rollback", {"to": rev, "revision": revision})
    return reply({"revision": revision})


# ---------------------------------------------------------------- simulator


def sim_of(request: web.Request) -> SimulatorControl:
    sim = request.app[BOX].sim
    if sim is None:
        raise ApiError(404, NO_SIM)
    return sim


def digits_field(body: dict[str, Any]) -> str:
    digits = body.get("digits")
    if not isinstance(digits, str) or not DIGITS.match(digits):
        raise ApiError(400, '"digits" must be 1 to 32 of 0-9 * # A-D')
    return digits


def number_field(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not NUMBER.match(value):
        raise ApiError(400, f'"{name}" must be a phone number: up to 20 digits, '
                            'optionally after a "+"')
    return value


async def sim_state(request: web.Request) -> web.Response:
    return reply(sim_of(request).state())


@requires("supervisor")
async def sim_trunk_call(request: web.Request) -> web.Response:
    sim = sim_of(request)
    port = request.match_info["port"]
    body = await read_json(request)
    caller = number_field(body, "caller", required=False)  # null: caller ID withheld
    called = number_field(body, "called", required=False)
    await sim.trunk_call(port, caller, called)
    audit(request, "sim.trunk_call", {"port": port, "caller": caller, "called": called})
    return reply({"status": "ok"})


def _sim_action(method: str) -> Handler:
    async def view(request: web.Request) -> web.Response:
        sim = sim_of(request)
        port = request.match_info["port"]
        await getattr(sim, method)(port)
        audit(request, f"sim.{method}", {"port": port})
        return reply({"status": "ok"})

    view.__name__ = f"sim_{method}"
    return requires("supervisor")(view)


def _sim_press(method: str) -> Handler:
    async def view(request: web.Request) -> web.Response:
        sim = sim_of(request)
        port = request.match_info["port"]
        digits = digits_field(await read_json(request))
        await getattr(sim, method)(port, digits)
        audit(request, f"sim.{method}", {"port": port, "digits": digits})
        return reply({"status": "ok"})

    view.__name__ = f"sim_{method}"
    return requires("supervisor")(view)


async def openapi(request: web.Request) -> web.Response:
    return reply(openapi_document())


# -- prompts, voicemail, recordings -----------------------------------------------------------
async def prompts_list(request: web.Request) -> web.Response:
    return reply({"prompts": request.app[BOX].prompts_list()})


@requires("admin")
async def prompt_put(request: web.Request) -> web.Response:
    """Upload a prompt: the body is the WAV file itself (8 kHz mono 16-bit PCM)."""
    name = request.match_info["name"]
    if request.content_length is not None and request.content_length > MAX_PROMPT_BYTES:
        raise ApiError(413, f"prompt too large: at most {MAX_PROMPT_BYTES} bytes")
    data = await request.content.read(MAX_PROMPT_BYTES + 1)
    if len(data) > MAX_PROMPT_BYTES:
        raise ApiError(413, f"prompt too large: at most {MAX_PROMPT_BYTES} bytes")
    if not data:
        raise ApiError(400, "the request body must be the WAV file")
    info = request.app[BOX].prompt_put(name, data)
    audit(request, "prompt.put", {"name": name, "size": len(data)})
    return reply(info)


@requires("admin")
async def prompt_delete(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    request.app[BOX].prompt_delete(name)
    audit(request, "prompt.delete", {"name": name})
    return reply({"status": "ok"})


@requires("supervisor")
async def voicemail_list(request: web.Request) -> web.Response:
    ext = request.match_info["ext"]
    return reply({"extension": ext, "messages": request.app[BOX].voicemail_list(ext)})


@requires("supervisor")
async def voicemail_get(request: web.Request) -> web.FileResponse:
    path = request.app[BOX].voicemail_file(request.match_info["ext"], request.match_info["id"])
    return web.FileResponse(path, headers={"Content-Type": "audio/wav"})


@requires("supervisor")
async def voicemail_delete(request: web.Request) -> web.Response:
    ext, msg = request.match_info["ext"], request.match_info["id"]
    request.app[BOX].voicemail_delete(ext, msg)
    audit(request, "voicemail.delete", {"extension": ext, "message": msg})
    return reply({"status": "ok"})


@requires("supervisor")
async def recordings_list(request: web.Request) -> web.Response:
    return reply({"recordings": request.app[BOX].recordings_list()})


@requires("supervisor")
async def recording_get(request: web.Request) -> web.FileResponse:
    path = request.app[BOX].recording_file(request.match_info["name"])
    return web.FileResponse(path, headers={"Content-Type": "audio/wav"})


AGENT_ACTIONS = ("login", "logout", "pause", "unpause", "wrapup_done")


async def queues(request: web.Request) -> web.Response:
    """Live queue and agent figures (wallboard)."""
    return reply(request.app[BOX].queues())


async def queue_kpis(request: web.Request) -> web.Response:
    since = time_param(request, "since")
    until = time_param(request, "until")
    if since is not None and until is not None and since > until:
        raise ApiError(400, 'query parameter "since" must not be after "until"')
    queue = request.query.get("queue") or None
    try:
        return reply(request.app[BOX].queue_kpis(since, until, queue))
    except BadRequest as exc:
        if str(exc).startswith("queue: "):
            raise ApiError(400, f'query parameter "queue": {str(exc)[7:]}') from None
        raise


@requires("supervisor")
async def agent_action(request: web.Request) -> web.Response:
    agent = request.match_info["agent"]
    action = request.match_info["action"]
    if action not in AGENT_ACTIONS:
        raise ApiError(404, f"unknown agent action {action!r}; use one of "
                            + ", ".join(AGENT_ACTIONS))
    body = await read_json(request) if request.can_read_body else {}
    reason = body.get("reason", "break") if isinstance(body, dict) else "break"
    if not isinstance(reason, str) or not 1 <= len(reason) <= 32:
        raise ApiError(400, 'field "reason": a word of 1 to 32 characters')
    request.app[BOX].agent_action(agent, action, reason)
    audit(request, f"agent.{action}", {"agent": agent, "reason": reason})
    return reply({"status": "ok"})


# ---------------------------------------------------------------- callbacks


@requires("supervisor")
async def callbacks_list(request: web.Request) -> web.Response:
    since = time_param(request, "since")
    until = time_param(request, "until")
    if since is not None and until is not None and since > until:
        raise ApiError(400, 'query parameter "since" must not be after "until"')
    open_only = request.query.get("open", "0") in ("1", "true")
    return reply(request.app[BOX].callback_jobs(since, until, open_only))


def _field_issues(exc: BadRequest) -> list[dict[str, str]] | None:
    issues = getattr(exc, "issues", None)
    if not isinstance(issues, list):
        return None
    return [{"field": str(getattr(i, "field", "")), "message": str(getattr(i, "message", i))}
            for i in issues]


@requires("supervisor")
async def callback_request(request: web.Request) -> web.Response:
    """A callback request from the web: number, queue, optional window [start, end],
    priority 0-9 and note. Every bad field is named (400, ``issues``)."""
    body = await read_json(request)
    problems: list[dict[str, str]] = []
    for name in ("number", "queue"):
        if not isinstance(body.get(name), str) or not body[name]:
            problems.append({"field": name, "message": "required, a string"})
    window = body.get("window")
    if window is not None and (not isinstance(window, list) or len(window) != 2):
        problems.append({"field": "window", "message": "must be [start, end] in UNIX seconds"})
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > MAX_COMMENT:
        problems.append({"field": "note", "message": f"a string of at most {MAX_COMMENT} "
                                                     "characters"})
    priority = body.get("priority", 0)
    request_id = body.get("request_id")
    if request_id is not None and not isinstance(request_id, str):
        problems.append({"field": "request_id", "message": "must be a string"})
    if problems:
        return json_error(400, "; ".join(f"{p['field']}: {p['message']}" for p in problems),
                          issues=problems)
    try:
        result = request.app[BOX].callback_request(
            body["number"], body["queue"], tuple(window) if window is not None else None,
            "web", request_id=request_id, priority=priority, note=note)
    except BadRequest as exc:
        issues = _field_issues(exc)
        if issues is None:
            raise
        return json_error(400, str(exc), issues=issues)
    audit(request, "callback.request", {"number": body["number"], "queue": body["queue"],
                                        "result": result.get("result")})
    return reply(result)


@requires("supervisor")
async def callback_cancel(request: web.Request) -> web.Response:
    job_id = request.match_info["id"]
    job = request.app[BOX].callback_cancel(job_id, session_of(request).username)
    audit(request, "callback.cancel", {"job": job_id})
    return reply(job)


# ---------------------------------------------------------------- outbound campaigns
CAMPAIGN = "{campaign:[a-z0-9][a-z0-9_.-]{0,31}}"
MAX_CONTACTS_BYTES = 8 * 1024 * 1024


@requires("supervisor")
async def campaigns_list(request: web.Request) -> web.Response:
    return reply(request.app[BOX].campaigns_list())


@requires("admin")
async def campaign_put(request: web.Request) -> web.Response:
    """Create or replace a campaign (the body is its entry; the id is the path's)."""
    entry = await read_json(request)
    entry["id"] = request.match_info["campaign"]
    result = await request.app[BOX].campaign_put(entry, session_of(request).username)
    audit(request, "campaign.put", {"campaign": entry["id"], "revision": result["revision"]})
    return reply(result)


@requires("admin")
async def campaign_delete(request: web.Request) -> web.Response:
    campaign = request.match_info["campaign"]
    rev = await request.app[BOX].campaign_delete(campaign, session_of(request).username)
    audit(request, "campaign.delete", {"campaign": campaign, "revision": rev})
    return reply({"revision": rev})


@requires("admin")
async def campaign_contacts(request: web.Request) -> web.Response:
    """Import contacts: the body is the CSV file; good rows are imported, bad ones named."""
    campaign = request.match_info["campaign"]
    data = await request.content.read(MAX_CONTACTS_BYTES + 1)
    if len(data) > MAX_CONTACTS_BYTES:
        raise ApiError(413, f"contact list too large: at most {MAX_CONTACTS_BYTES} bytes")
    if not data:
        raise ApiError(400, "the request body must be the CSV file")
    report = request.app[BOX].campaign_import(campaign, data)
    audit(request, "campaign.import", {"campaign": campaign, "imported": report["imported"],
                                       "rejected": len(report["errors"])})
    return reply(report)


@requires("supervisor")
async def campaign_control(request: web.Request) -> web.Response:
    campaign, action = request.match_info["campaign"], request.match_info["action"]
    result = request.app[BOX].campaign_control(campaign, action)
    audit(request, f"campaign.{action}", {"campaign": campaign})
    return reply(result)


@requires("viewer")
async def campaign_preview(request: web.Request) -> web.Response:
    """An agent's preview (agents sign in with the viewer role): next, call or skip."""
    body = await read_json(request)
    agent = body.get("agent")
    if not isinstance(agent, str) or not agent:
        raise ApiError(400, 'field "agent": the agent id, a string')
    campaign, action = request.match_info["campaign"], request.match_info["action"]
    result = request.app[BOX].campaign_preview(campaign, agent, action)
    if action != "next":
        audit(request, f"campaign.preview.{action}", {"campaign": campaign, "agent": agent})
    return reply(result)


@requires("supervisor")
async def campaign_results(request: web.Request) -> web.Response:
    campaign = request.match_info["campaign"]
    if request.query.get("format") == "csv":
        return web.Response(text=request.app[BOX].campaign_results_csv(campaign),
                            content_type="text/csv", charset="utf-8", headers={
                                "Content-Disposition":
                                    f'attachment; filename="campaign-{campaign}.csv"'})
    return reply(request.app[BOX].campaign_results(campaign))


@requires("supervisor")
async def campaign_summary(request: web.Request) -> web.Response:
    return reply(request.app[BOX].campaign_summary(request.match_info["campaign"]))


@requires("supervisor")
async def gsm_balance(request: web.Request) -> web.Response:
    port = request.match_info["port"]
    result = await request.app[BOX].gsm_balance(port)
    audit(request, "gsm.balance", {"port": port})
    return reply(result)


SUPERVISION_MODES = ("listen", "whisper", "barge")
AGENT_STATES = ("available", "paused", "logged_out")


def _mode(body: Any) -> str:
    mode = body.get("mode", "listen") if isinstance(body, dict) else None
    if mode not in SUPERVISION_MODES:
        raise ApiError(400, 'field "mode": one of ' + ", ".join(SUPERVISION_MODES))
    return str(mode)


@requires("supervisor")
async def call_supervise(request: web.Request) -> web.Response:
    call_id = request.match_info["call"]
    body = await read_json(request)
    ext = body.get("extension") if isinstance(body, dict) else None
    if not isinstance(ext, str) or not ext.isdigit() or not 2 <= len(ext) <= 6:
        raise ApiError(400, 'field "extension": the supervisor\'s extension number')
    mode = _mode(body)
    request.app[BOX].supervise(call_id, ext, mode)
    audit(request, "call.supervise", {"call": call_id, "extension": ext, "mode": mode})
    return reply({"status": "ok"})


@requires("supervisor")
async def call_supervision_mode(request: web.Request) -> web.Response:
    call_id = request.match_info["call"]
    mode = _mode(await read_json(request))
    request.app[BOX].set_supervision(call_id, mode)
    audit(request, "call.supervision", {"call": call_id, "mode": mode})
    return reply({"status": "ok"})


@requires("supervisor")
async def agent_force(request: web.Request) -> web.Response:
    agent = request.match_info["agent"]
    body = await read_json(request)
    state = body.get("state") if isinstance(body, dict) else None
    if state not in AGENT_STATES:
        raise ApiError(400, 'field "state": one of ' + ", ".join(AGENT_STATES))
    request.app[BOX].agent_force(agent, str(state))
    audit(request, "agent.force", {"agent": agent, "state": state})
    return reply({"status": "ok"})


@requires("supervisor")
async def queue_move(request: web.Request) -> web.Response:
    body = await read_json(request)
    call_id = body.get("call") if isinstance(body, dict) else None
    queue = body.get("queue") if isinstance(body, dict) else None
    if not isinstance(call_id, str) or not call_id:
        raise ApiError(400, 'field "call": the waiting call\'s id')
    if not isinstance(queue, str) or not queue:
        raise ApiError(400, 'field "queue": the queue to move the caller to')
    keep = body.get("keep_place", True)
    if not isinstance(keep, bool):
        raise ApiError(400, 'field "keep_place": true or false')
    request.app[BOX].queue_move(call_id, queue, keep)
    audit(request, "queue.move", {"call": call_id, "queue": queue})
    return reply({"status": "ok"})


async def day_night_get(request: web.Request) -> web.Response:
    return reply(request.app[BOX].day_night_state())


@requires("supervisor")
async def day_night_set(request: web.Request) -> web.Response:
    body = await read_json(request)
    mode = body.get("mode") if isinstance(body, dict) else None
    if mode not in ("day", "night", "auto"):
        raise ApiError(400, 'field "mode": day, night or auto')
    session = session_of(request)
    result = await request.app[BOX].day_night(str(mode), author=session.username)
    audit(request, "daynight", {"mode": mode})
    return reply(result)


def setup_routes(app: web.Application) -> None:
    app[STREAMS] = set[asyncio.Task[Any]]()
    app.on_shutdown.append(close_streams)
    r = app.router
    v1 = "/api/v1"
    r.add_get(f"{v1}/health", health)
    r.add_get(f"{v1}/openapi.json", openapi)
    r.add_post(f"{v1}/auth/setup", setup)
    r.add_post(f"{v1}/auth/login", login)
    r.add_post(f"{v1}/auth/logout", logout)
    r.add_get(f"{v1}/auth/me", me)
    r.add_post(f"{v1}/auth/password", change_password)
    r.add_get(f"{v1}/info", info)
    r.add_get(f"{v1}/ports", ports)
    r.add_get(f"{v1}/calls", calls)
    r.add_get(f"{v1}/cdr", cdr)
    r.add_get(f"{v1}/sms", sms_list)
    r.add_post(f"{v1}/sms", sms_send)
    r.add_get(f"{v1}/events", events, allow_head=False)  # a stream: GET only
    r.add_get(f"{v1}/config", config_get)
    r.add_put(f"{v1}/config", config_put)
    r.add_post(f"{v1}/config/validate", config_validate)
    r.add_get(f"{v1}/config/revisions", config_revisions)
    r.add_post(f"{v1}/config/rollback", config_rollback)
    r.add_post(f"{v1}/gsm/{{port}}/balance", gsm_balance)
    r.add_post(f"{v1}/calls/{{call}}/supervise", call_supervise)
    r.add_post(f"{v1}/calls/{{call}}/supervision", call_supervision_mode)
    r.add_post(f"{v1}/agents/{{agent}}/force", agent_force)
    r.add_post(f"{v1}/queues/move", queue_move)
    r.add_get(f"{v1}/daynight", day_night_get)
    r.add_post(f"{v1}/daynight", day_night_set)
    r.add_get(f"{v1}/queues", queues)
    r.add_get(f"{v1}/queues/kpis", queue_kpis)
    r.add_post(f"{v1}/agents/{{agent}}/{{action}}", agent_action)
    r.add_get(f"{v1}/callbacks", callbacks_list)
    r.add_post(f"{v1}/callbacks", callback_request)
    r.add_delete(f"{v1}/callbacks/{{id}}", callback_cancel)
    r.add_get(f"{v1}/campaigns", campaigns_list)
    r.add_put(f"{v1}/campaigns/{CAMPAIGN}", campaign_put)
    r.add_delete(f"{v1}/campaigns/{CAMPAIGN}", campaign_delete)
    r.add_post(f"{v1}/campaigns/{CAMPAIGN}/contacts", campaign_contacts)
    r.add_get(f"{v1}/campaigns/{CAMPAIGN}/results", campaign_results)
    r.add_get(f"{v1}/campaigns/{CAMPAIGN}/summary", campaign_summary)
    r.add_post(f"{v1}/campaigns/{CAMPAIGN}/preview/{{action}}", campaign_preview)
    r.add_post(f"{v1}/campaigns/{CAMPAIGN}/{{action}}", campaign_control)
    r.add_get(f"{v1}/prompts", prompts_list)
    r.add_put(f"{v1}/prompts/{{name}}", prompt_put)
    r.add_delete(f"{v1}/prompts/{{name}}", prompt_delete)
    r.add_get(f"{v1}/voicemail/{{ext}}", voicemail_list)
    r.add_get(f"{v1}/voicemail/{{ext}}/{{id}}", voicemail_get)
    r.add_delete(f"{v1}/voicemail/{{ext}}/{{id}}", voicemail_delete)
    r.add_get(f"{v1}/recordings", recordings_list)
    r.add_get(f"{v1}/recordings/{{name:.+}}", recording_get)
    r.add_get(f"{v1}/sim/state", sim_state)
    r.add_post(f"{v1}/sim/trunks/{PORT}/call", sim_trunk_call)
    r.add_post(f"{v1}/sim/trunks/{PORT}/answer", _sim_action("far_answer"))
    r.add_post(f"{v1}/sim/trunks/{PORT}/hangup", _sim_action("far_hangup"))
    r.add_post(f"{v1}/sim/trunks/{PORT}/press", _sim_press("far_press"))
    r.add_post(f"{v1}/sim/phones/{PORT}/offhook", _sim_action("phone_offhook"))
    r.add_post(f"{v1}/sim/phones/{PORT}/onhook", _sim_action("phone_onhook"))
    r.add_post(f"{v1}/sim/phones/{PORT}/flash", _sim_action("phone_flash"))
    r.add_post(f"{v1}/sim/phones/{PORT}/press", _sim_press("phone_press"))
