"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json.

Written by hand (not generated from the router) so that it is a statement of the contract;
tests/webui checks that every route the app registers under /api/v1 is listed here and
every operation listed here is registered. ``x-required-role`` gives the least role an
operation needs (admin > supervisor > viewer); ``security: []`` marks the public ones.
"""

from __future__ import annotations

import copy
from typing import Any

_SESSION: list[dict[str, list[str]]] = [{"sessionCookie": []}]
_SESSION_CSRF: list[dict[str, list[str]]] = [{"sessionCookie": [], "csrfToken": []}]
_PUBLIC: list[dict[str, list[str]]] = []


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _err(description: str) -> dict[str, Any]:
    return {"description": description, **_json(_ref("Error"))}


def _op(summary: str, *, security: list[dict[str, list[str]]], role: str | None = "viewer",
        body: dict[str, Any] | None = None, ok: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None,
        errors: dict[str, str] | None = None) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": "OK", **_json(ok or {"type": "object"})}}
    if security:
        responses["401"] = _err("sign-in required")
    if security is _SESSION_CSRF:
        responses["403"] = _err("CSRF token missing or wrong, or role too low")
    for status, text in (errors or {}).items():
        responses[status] = _err(text)
    responses["500"] = _err("internal error (with an id to find in the log)")
    op: dict[str, Any] = {"summary": summary, "security": security, "responses": responses}
    if role is not None:
        op["x-required-role"] = role
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
    if params:
        op["parameters"] = params
    return op


def _obj(required: list[str], **props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


_STR = {"type": "string"}
_DIGITS = {"type": "string", "pattern": "^[0-9*#A-D]{1,32}$"}
_NUMBER = {"type": ["string", "null"], "pattern": r"^\+?[0-9]{1,20}$"}
_PORT = [{"name": "port", "in": "path", "required": True,
          "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,32}$"},
          "description": "board port id: fxs1, fxo2, gsm1, e1.5..."}]
_NO_SIM = {"404": "no simulated board (the box runs on hardware), or unknown port",
           "400": "bad argument"}


def _sim(summary: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"post": _op(summary, security=_SESSION_CSRF, role="supervisor", body=body,
                        params=_PORT, errors=_NO_SIM)}


_SMS_SEND: dict[str, Any] = {
    "type": "object", "required": ["from", "to", "text"],
    "properties": {"from": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,32}$",
                            "description": "a GSM port id (gsm1) or a SIM's ICCID"},
                   "to": {"type": "string", "pattern": r"^\+?[0-9]{1,20}$"},
                   "text": {"type": "string", "minLength": 1, "maxLength": 1530}}}

_TIME_PARAM = {"type": "string", "description": (
    "Unix seconds, or an ISO 8601 date (2026-11-01) or date-time (2026-11-01T08:00, with Z "
    "or an offset, else the box's timezone); a date-only `to` includes that day")}


def _csv_export(summary: str, kpi: bool) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": "from", "in": "query", "required": True, "schema": _TIME_PARAM},
        {"name": "to", "in": "query", "required": True, "schema": _TIME_PARAM},
        {"name": "queue", "in": "query", "schema": {"type": "string",
                                                    "pattern": "^[A-Za-z0-9_.-]{1,64}$"}}]
    if kpi:
        params.append({"name": "short_abandon", "in": "query",
                       "schema": {"type": "number", "minimum": 0, "maximum": 3600,
                                  "default": 5},
                       "description": "short-abandon threshold S of DOMAIN.md, seconds"})
    op = _op(summary + ". A streamed text/csv attachment (UTF-8 with BOM; cells that "
             "begin with = + - @ are prefixed with ' against CSV injection)",
             security=_SESSION, role="supervisor", params=params,
             errors={"400": "a query parameter is invalid or missing (the message names it:"
                            " bad time, from not before to, unknown queue)",
                     "403": "needs the supervisor role"})
    op["responses"]["200"] = {"description": "CSV file", "content": {"text/csv": {
        "schema": {"type": "string"}}}}
    return op

_CAMPAIGN = [{"name": "campaign", "in": "path", "required": True,
              "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{0,31}$"}}]
_CAMPAIGN_PATHS: dict[str, dict[str, Any]] = {
    "/campaigns": {"get": _op("Outbound campaigns (their configuration and run state)",
                              security=_SESSION, role="supervisor",
                              ok={"type": "array", "items": {"type": "object"}})},
    "/campaigns/{campaign}": {
        "put": _op("Create or replace a campaign (a configuration revision): mode, queue, "
                   "abandon cap, hours, message prompt, retries, answering-machine detection",
                   security=_SESSION_CSRF, role="admin", params=_CAMPAIGN,
                   body=_obj(["name", "mode"], name=_STR, mode={"enum": [
                       "preview", "progressive", "predictive", "autoinformer"]}),
                   ok=_obj(["revision", "campaign"], revision={"type": "integer"},
                           campaign={"type": "object"}),
                   errors={"400": "invalid campaign (each problem named), or its message "
                                  "prompt is not uploaded"}),
        "delete": _op("Delete a campaign (its contacts and results stay in the store)",
                      security=_SESSION_CSRF, role="admin", params=_CAMPAIGN,
                      errors={"404": "no such campaign"})},
    "/campaigns/{campaign}/contacts": {"post": _op(
        "Import contacts: the body is a CSV file (number, name, priority, scheduled...); "
        "the good rows are imported, every bad row is reported with its line",
        security=_SESSION_CSRF, role="admin", params=_CAMPAIGN,
        ok=_obj(["import_id", "imported", "errors"], import_id=_STR,
                imported={"type": "integer"},
                errors={"type": "array", "items": _obj(["line", "reason"],
                                                       line={"type": "integer"},
                                                       reason=_STR)}),
        errors={"400": "the file as a whole is unusable (says why)", "404": "no such campaign",
                "413": "too large"})},
    "/campaigns/{campaign}/results": {"get": _op(
        "Results per contact with every attempt; format=csv: a CSV download (text/csv)",
        security=_SESSION, role="supervisor",
        params=[*_CAMPAIGN, {"name": "format", "in": "query", "schema": {"enum": ["csv"]}}],
        ok={"type": "array", "items": {"type": "object"}}, errors={"404": "no such campaign"})},
    "/campaigns/{campaign}/summary": {"get": _op(
        "Contacts per status, outcomes, and the abandon rate (abandoned on answer / live "
        "answers, %) with the cap it is held to, overall and per day",
        security=_SESSION, role="supervisor", params=_CAMPAIGN,
        errors={"404": "no such campaign"})},
    "/campaigns/{campaign}/preview/{action}": {"post": _op(
        "An agent's preview: next (the contact held for them), call, or skip",
        security=_SESSION_CSRF, role="viewer",
        params=[*_CAMPAIGN, {"name": "action", "in": "path", "required": True,
                             "schema": {"enum": ["next", "call", "skip"]}}],
        body=_obj(["agent"], agent=_STR),
        errors={"400": "not a running preview campaign, or not an agent of its queue",
                "404": "no such campaign"})},
    "/campaigns/{campaign}/{action}": {"post": _op(
        "Start, pause (no new dials) or stop a campaign", security=_SESSION_CSRF,
        role="supervisor",
        params=[*_CAMPAIGN, {"name": "action", "in": "path", "required": True,
                             "schema": {"enum": ["start", "pause", "stop"]}}],
        ok=_obj(["campaign", "state"], campaign=_STR,
                state={"enum": ["running", "paused", "stopped"]}),
        errors={"400": "unknown action", "404": "no such campaign"})},
}

_PATHS: dict[str, dict[str, Any]] = {
    "/health": {"get": _op("Liveness: always {\"status\": \"ok\"}", security=_PUBLIC,
                           role=None, ok=_obj(["status"], status=_STR))},
    "/openapi.json": {"get": _op("This document", security=_SESSION)},
    "/auth/setup": {"post": _op(
        "First boot: set the admin password (user \"admin\") and sign in",
        security=_PUBLIC, role=None, body=_obj(["password"], password=_STR), ok=_ref("Me"),
        errors={"400": "password breaks the policy (the message names the rule)",
                "409": "already set up"})},
    "/auth/login": {"post": _op(
        "Sign in; sets the session cookie, returns the CSRF token", security=_PUBLIC,
        role=None, body=_obj(["username", "password"], username=_STR, password=_STR),
        ok=_ref("Me"),
        errors={"401": "wrong user name or password",
                "429": "too many failed sign-ins (see Retry-After)"})},
    "/auth/logout": {"post": _op("Sign out", security=_SESSION_CSRF)},
    "/auth/me": {"get": _op("Who is signed in (and the session's CSRF token)",
                            security=_SESSION, ok=_ref("Me"))},
    "/auth/password": {"post": _op(
        "Change one's own password (signs out one's other sessions)", security=_SESSION_CSRF,
        body=_obj(["old", "new"], old=_STR, new=_STR),
        errors={"400": "current password wrong, or the new one breaks the policy"})},
    "/info": {"get": _op("Box name, version, board, uptime, config revision",
                         security=_SESSION)},
    "/ports": {"get": _op("Every port and its state", security=_SESSION,
                          ok=_obj(["ports"], ports={"type": "array"}))},
    "/calls": {"get": _op("Calls in progress", security=_SESSION,
                          ok=_obj(["calls"], calls={"type": "array"}))},
    "/cdr": {"get": _op(
        "Call records, newest first", security=_SESSION,
        ok=_obj(["cdrs", "limit", "offset"], cdrs={"type": "array"},
                limit={"type": "integer"}, offset={"type": "integer"}),
        params=[
            {"name": "limit", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
            {"name": "offset", "in": "query",
             "schema": {"type": "integer", "minimum": 0, "default": 0}},
            {"name": "since", "in": "query", "schema": {"type": "number", "minimum": 0},
             "description": "Unix seconds"},
            {"name": "until", "in": "query", "schema": {"type": "number", "minimum": 0},
             "description": "Unix seconds"},
        ],
        errors={"400": "a query parameter is invalid (the message names it)"})},
    "/sms": {
        "get": _op(
            "SMS received and sent, newest first", security=_SESSION,
            ok=_obj(["sms", "limit"], sms={"type": "array"}, limit={"type": "integer"}),
            params=[
                {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
                {"name": "since", "in": "query", "schema": {"type": "number", "minimum": 0},
                 "description": "Unix seconds"},
                {"name": "iccid", "in": "query",
                 "schema": {"type": "string", "pattern": "^[0-9A-Fa-f]{10,22}$"},
                 "description": "one SIM's messages"},
                {"name": "direction", "in": "query", "schema": {"enum": ["in", "out"]}},
            ],
            errors={"400": "a query parameter is invalid (the message names it)"}),
        "post": _op(
            "Send an SMS from a GSM module (port id) or SIM (ICCID); long texts go in parts",
            security=_SESSION_CSRF, role="supervisor",
            body=_SMS_SEND,
            ok={"type": "object", "description": "the stored message: id, refs, status..."},
            errors={"400": "a field is invalid (the message names it)",
                    "404": "no such GSM port or SIM",
                    "409": "the SIM's SMS quota refuses it",
                    "503": "the module cannot send now"}),
    },
    "/events": {"get": {
        **_op("Live events (Server-Sent Events): `event: <type>` and `data: <json>`; "
              "a keep-alive comment every 15 s", security=_SESSION),
        "responses": {"200": {"description": "event stream",
                              "content": {"text/event-stream": {"schema": _STR}}},
                      "401": _err("sign-in required")},
    }},
    "/config": {
        "get": _op("The configuration document and its revision", security=_SESSION,
                   ok=_obj(["document", "revision"], document={"type": "object"},
                           revision={"type": "integer"})),
        "put": _op("Commit a new configuration (applied live)", security=_SESSION_CSRF,
                   role="admin",
                   body=_obj(["document"], document={"type": "object"}, comment=_STR,
                             revision={"type": "integer",
                                       "description": "the revision edited (optional): "
                                                      "409 if it is no longer current"}),
                   ok=_obj(["revision"], revision={"type": "integer"}),
                   errors={"409": "the configuration changed meanwhile",
                           "422": "the document is invalid (issues by path)"}),
    },
    "/config/validate": {"post": _op(
        "Check a configuration document without committing it", security=_SESSION_CSRF,
        body=_obj(["document"], document={"type": "object"}),
        ok=_obj(["valid"], valid={"const": True}),
        errors={"422": "the document is invalid (issues by path)"})},
    "/config/revisions": {"get": _op("Kept revisions", security=_SESSION,
                                     ok=_obj(["revisions", "current"],
                                             revisions={"type": "array"},
                                             current={"type": "integer"}))},
    "/config/rollback": {"post": _op(
        "Go back to a kept revision (as a new revision)", security=_SESSION_CSRF,
        role="admin", body=_obj(["revision"], revision={"type": "integer"}),
        ok=_obj(["revision"], revision={"type": "integer"}),
        errors={"404": "no such revision"})},
    "/gsm/{port}/balance": {"post": _op(
        "Ask a SIM's balance now (USSD code from trunks[].sim.balance_code)",
        security=_SESSION_CSRF, role="supervisor",
        params=[{"name": "port", "in": "path", "required": True, "schema": _STR}],
        errors={"400": "no balance code configured", "404": "no GSM module on that port",
                "503": "the module is not in service or the network did not answer"})},
    "/calls/{call}/supervise": {"post": _op(
        "Ring a supervisor's extension into a call in progress: listen, whisper, barge",
        security=_SESSION_CSRF, role="supervisor",
        body=_obj(["extension"], extension=_STR,
                  mode={"enum": ["listen", "whisper", "barge"]}),
        params=[{"name": "call", "in": "path", "required": True, "schema": _STR}],
        errors={"400": "not a call in progress, busy extension or bad field"})},
    "/calls/{call}/supervision": {"post": _op(
        "Change the supervisor's mode in a call",
        security=_SESSION_CSRF, role="supervisor",
        body=_obj(["mode"], mode={"enum": ["listen", "whisper", "barge"]}),
        params=[{"name": "call", "in": "path", "required": True, "schema": _STR}],
        errors={"400": "no supervisor in that call, or bad mode"})},
    "/agents/{agent}/force": {"post": _op(
        "A supervisor forces an agent's state",
        security=_SESSION_CSRF, role="supervisor",
        body=_obj(["state"], state={"enum": ["available", "paused", "logged_out"]}),
        params=[{"name": "agent", "in": "path", "required": True, "schema": _STR}],
        errors={"400": "bad state", "404": "no such agent"})},
    "/queues/move": {"post": _op(
        "A supervisor moves a waiting caller to another queue",
        security=_SESSION_CSRF, role="supervisor",
        body=_obj(["call", "queue"], call=_STR, queue=_STR, keep_place={"type": "boolean"}),
        errors={"400": "bad field", "404": "no such waiting caller or queue"})},
    "/daynight": {
        "get": _op("Working hours: each time condition, open now, and its override",
                   security=_SESSION),
        "post": _op("Manual day/night override of every time condition (or back to auto)",
                    security=_SESSION_CSRF, role="supervisor",
                    body=_obj(["mode"], mode={"enum": ["day", "night", "auto"]}),
                    errors={"400": "bad mode, or no time conditions configured"})},
    "/queues": {"get": _op("Live queues and agents (wallboard)", security=_SESSION)},
    "/queues/kpis": {"get": _op(
        "KPIs of DOMAIN.md per queue and agent for a period, from the queue log",
        security=_SESSION,
        params=[{"name": "since", "in": "query", "schema": {"type": "number"}},
                {"name": "until", "in": "query", "schema": {"type": "number"}},
                {"name": "queue", "in": "query", "schema": _STR,
                 "description": "that queue and the agents that were its members"}],
        errors={"400": "bad parameter (the message names it), or unknown queue"})},
    "/agents/{agent}/{action}": {"post": _op(
        "An agent logs in, out, pauses (with a reason), unpauses or ends wrap-up",
        security=_SESSION_CSRF, role="supervisor",
        body=_obj([], reason={"type": "string", "maxLength": 32}),
        params=[{"name": "agent", "in": "path", "required": True, "schema": _STR},
                {"name": "action", "in": "path", "required": True,
                 "schema": {"enum": ["login", "logout", "pause", "unpause", "wrapup_done"]}}],
        errors={"400": "the agent cannot do that now", "404": "no such agent or action"})},
    "/callbacks": {
        "get": _op("Callback jobs (all sources), newest first; open=1: the open ones only",
                   security=_SESSION, role="supervisor",
                   params=[{"name": "since", "in": "query", "schema": {"type": "number"}},
                           {"name": "until", "in": "query", "schema": {"type": "number"}},
                           {"name": "open", "in": "query", "schema": {"enum": ["0", "1"]}}],
                   ok={"type": "array", "items": {"type": "object"}},
                   errors={"400": "bad parameter"}),
        "post": _op("Ask the box to call a number back and connect it to a queue (in working "
                    "hours, inside the window if given)",
                    security=_SESSION_CSRF, role="supervisor",
                    body=_obj(["number", "queue"], number=_STR, queue=_STR,
                              window={"type": "array", "items": {"type": "number"},
                                      "minItems": 2, "maxItems": 2},
                              priority={"type": "integer", "minimum": 0, "maximum": 9},
                              note={"type": "string", "maxLength": 200},
                              request_id={"type": "string", "maxLength": 128}),
                    ok=_obj(["result", "job"], result={"enum": [
                        "created", "merged", "duplicate_request"]}, reason=_STR,
                        job={"type": "object"}),
                    errors={"400": "bad fields, each named in issues[{field, message}] "
                                   "(malformed or blacklisted number, unknown queue, window)",
                            "503": "callbacks are switched off"})},
    "/callbacks/{id}": {"delete": _op(
        "Cancel an open callback job (a dial in progress is abandoned)",
        security=_SESSION_CSRF, role="supervisor",
        params=[{"name": "id", "in": "path", "required": True, "schema": _STR}],
        errors={"404": "no such job"})},
    # -- CSV exports of a period (webui/export.py) -----------------------------------------
    **{f"/export/{name}.csv": {"get": _csv_export(summary, kpi)}
       for name, summary, kpi in (
           ("queue-log", "The queue event log of the period (every transition)", False),
           ("queue-kpis", "Per-queue KPIs of DOMAIN.md for the period", True),
           ("agent-kpis", "Per-agent KPIs of DOMAIN.md for the period (with queue: that "
                          "queue's members)", True),
           ("cdr", "Call records that started in the period, oldest first", False),
           ("callbacks", "Callback jobs created in the period and their outcomes", False))},
    **_CAMPAIGN_PATHS,
    "/prompts": {"get": _op("Uploaded voice prompts", security=_SESSION)},
    "/prompts/{name}": {
        "put": _op("Upload a prompt: the body is an 8 kHz mono 16-bit PCM WAV",
                   security=_SESSION_CSRF, role="admin",
                   params=[{"name": "name", "in": "path", "required": True, "schema": _STR}],
                   errors={"400": "not an 8 kHz mono 16-bit WAV (says what), or a bad name",
                           "413": "too large"}),
        "delete": _op("Delete a prompt", security=_SESSION_CSRF, role="admin",
                      params=[{"name": "name", "in": "path", "required": True,
                               "schema": _STR}],
                      errors={"404": "no such prompt"})},
    "/voicemail/{ext}": {"get": _op(
        "Messages of a mailbox, new first", security=_SESSION, role="supervisor",
        params=[{"name": "ext", "in": "path", "required": True, "schema": _STR}],
        errors={"404": "no such mailbox"})},
    "/voicemail/{ext}/{id}": {
        "get": _op("A message as an 8 kHz mono WAV (audio/wav)", security=_SESSION,
                   role="supervisor",
                   params=[{"name": "ext", "in": "path", "required": True, "schema": _STR},
                           {"name": "id", "in": "path", "required": True, "schema": _STR}],
                   errors={"404": "no such mailbox or message"}),
        "delete": _op("Delete a message", security=_SESSION_CSRF, role="supervisor",
                      params=[{"name": "ext", "in": "path", "required": True,
                               "schema": _STR},
                              {"name": "id", "in": "path", "required": True,
                               "schema": _STR}],
                      errors={"404": "no such mailbox or message"})},
    "/recordings": {"get": _op("Call recordings, newest first", security=_SESSION,
                               role="supervisor")},
    "/recordings/{name}": {"get": _op(
        "A recording (YYYY/MM/DD/<call id>.wav) as a stereo WAV (audio/wav)",
        security=_SESSION, role="supervisor",
        params=[{"name": "name", "in": "path", "required": True, "schema": _STR}],
        errors={"404": "no such recording"})},
    "/sim/state": {"get": _op("Simulated devices (simulated board only)", security=_SESSION,
                              errors={"404": "no simulated board"})},
    "/sim/trunks/{port}/call": _sim("A far end calls in on a trunk port",
                                    _obj([], caller=_NUMBER, called=_NUMBER)),
    "/sim/trunks/{port}/answer": _sim("The far end answers"),
    "/sim/trunks/{port}/hangup": _sim("The far end hangs up"),
    "/sim/trunks/{port}/press": _sim("The far end presses keys (DTMF)",
                                     _obj(["digits"], digits=_DIGITS)),
    "/sim/phones/{port}/offhook": _sim("The phone goes off-hook"),
    "/sim/phones/{port}/onhook": _sim("The phone goes on-hook"),
    "/sim/phones/{port}/flash": _sim("The phone flashes the hook"),
    "/sim/phones/{port}/press": _sim("The phone presses keys (DTMF)",
                                     _obj(["digits"], digits=_DIGITS)),
}

_DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "edgepbx admin API",
        "version": "1",
        "description": (
            "JSON API of the edgepbx box. Sign in with POST /auth/login (or /auth/setup on "
            "first boot); the session cookie then authenticates, and every POST/PUT/PATCH/"
            "DELETE must also carry the session's CSRF token in X-CSRF-Token. Errors are "
            "{\"error\": message}; an invalid configuration gives 422 with \"issues\"."
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "security": _SESSION,
    "paths": _PATHS,
    "components": {
        "securitySchemes": {
            "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "edgepbx_session"},
            "csrfToken": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
        },
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {
                "error": _STR,
                "id": {"type": "string", "description": "500 only: find it in the log"},
                "issues": {"type": "array", "items": _obj(["path", "message"], path=_STR,
                                                          message=_STR)},
            }},
            "Me": _obj(["username", "role", "csrf_token"], username=_STR,
                       role={"enum": ["admin", "supervisor", "viewer"]}, csrf_token=_STR),
        },
    },
}


def openapi_document() -> dict[str, Any]:
    return copy.deepcopy(_DOCUMENT)
