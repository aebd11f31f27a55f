"""The configuration document: its JSON Schema, its semantic rules and its first-boot value.

Owns what a valid document is. It knows nothing of files, revisions or TinyDB (see
``storage`` and ``store``) and nothing of a particular board: the ports a document may name
are passed in by the caller as ``known_ports`` (from ``drivers/board``).

Validation runs in two passes and reports every problem it finds, not just the first:

1. structure, by JSON Schema draft 2020-12 (``jsonschema``): types, patterns, required and
   unknown keys (every object is closed with ``additionalProperties: false`` so a typo never
   passes silently);
2. meaning, in code: references (ports, extensions, trunks, queues, ring groups exist),
   duplicates, conflicting port use, regular expressions that compile. These checks are
   written defensively so they still run, and still report, on a document whose structure
   is partly wrong.

Each problem is a ``ValidationIssue(path, message)``; the path is written like
``routes[2].destination`` and the message names the offending value.

Growing the document: add the new section as an optional property here (with its semantic
checks), and when a change is not backward compatible bump ``SCHEMA_VERSION`` and register an
upgrade step in ``_UPGRADES`` so stored and imported documents of the old version are
converted, not rejected.

Port ids follow the board's convention: ``fxsN`` (phone ports, for extensions), ``fxoN``
(analog lines), ``gsmN`` (SIM modules), and ``<span>.<channel>`` for the B-channels of a
digital span (``e1.1`` .. ``e1.30``); a trunk may name the span itself (``e1``).
"""

from __future__ import annotations

import copy
import itertools
import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from typing import Any, Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as _SchemaError

from firmware.calls.numbering import PLANS, emergency_clash
from firmware.config import outbound_schema
from firmware.config.errors import ConfigError, ConfigValidationError, ValidationIssue
from firmware.numbers import MalformedNumber, normalize_number

SCHEMA_VERSION: Final = 1

DESTINATION_TYPES: Final = (
    "extension", "ring_group", "queue", "ivr", "voicemail", "external", "announcement",
    "hangup", "busy", "callback",
)
# Destination types whose target names another object; the others take no target, except
# "external" (an outside number), "announcement" (a prompt file name) and "callback"
# (reject the call and call the caller back, connected to a queue, ring group or extension).
_TARGET_KINDS: Final = {"extension": "extension", "ring_group": "ring group", "queue": "queue",
                        "ivr": "IVR menu", "voicemail": "extension"}
_TARGET_SECTION: Final = {"extension": "extension", "ring_group": "ring_group",
                          "queue": "queue", "ivr": "ivr", "voicemail": "extension"}
_EXTERNAL_NUMBER: Final = re.compile(r"^\+?[0-9]{2,20}$")
_PROMPT_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
COS_LEVELS: Final = ("internal", "local", "national", "mobile", "international")
# On-hook caller ID on analog ports (drivers/analog/callerid.py has the per-country table
# that "auto" follows and the timing of each mode).
CALLER_ID_MODES: Final = ("auto", "bell202", "v23", "v23-dtas", "v23-rpas", "dtmf", "off")
MESSAGE_WAITING_INDICATIONS: Final = ("stutter", "lamp", "both")
RING_STRATEGIES: Final = ("ringall", "sequential", "cascading")
# Numbers a phone dials to reach something inside the box, as (section, key). Each must
# stay clear of the country's emergency numbers: not one, not the start of one, not
# beginning with one (firmware/calls/numbering.emergency_clash). Feature codes ("*...")
# and the fixed park slots (701..709) clash with no country's plan (tests/config checks).
INTERNAL_NUMBERS: Final = (("extensions", "number"),)

_ID: Final = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{0,31}$"}
_EXTENSION_NUMBER: Final = {"type": "string", "pattern": "^[0-9]{2,6}$"}
_DIGITS: Final = {"type": "string", "pattern": "^[0-9*#]{1,20}$"}
# A number a route matches: as dialed, or international with "+" (compared canonically)
_MATCH_NUMBER: Final = {"type": "string", "pattern": "^(\\+[0-9]{1,19}|[0-9*#]{1,20})$"}
_LABEL: Final = {"type": "string", "maxLength": 64}
_QUOTA: Final = {"anyOf": [{"type": "null"}, {"type": "number", "minimum": 0,
                                                 "maximum": 1_000_000}]}
_SIM_LIMITS: Final = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "concurrent_calls": {"type": "integer", "minimum": 1, "maximum": 4},
        "minutes_per_day": _QUOTA,
        "minutes_per_month": _QUOTA,
        "sms_per_day": _QUOTA,
        "sms_per_month": _QUOTA,
        "recipients_per_day": _QUOTA,
        "recipients_per_month": _QUOTA,
        "max_call_s": {"anyOf": [{"type": "null"},
                                 {"type": "integer", "minimum": 10, "maximum": 86400}]},
        # Numbers this SIM's operator serves (least-cost choice): "+7916", "8916"...
        "prefixes": {"type": "array", "maxItems": 500,
                     "items": {"type": "string", "pattern": "^\\+?[0-9]{1,15}$"}},
        "cost_on_net": {"type": "number", "minimum": 0, "maximum": 1000},
        "cost_off_net": {"type": "number", "minimum": 0, "maximum": 1000},
        "balance_code": {"anyOf": [{"type": "null"},
                                   {"type": "string", "pattern": "^[*#0-9]{2,30}$"}]},
    },
}
_PORT_ID: Final = {"type": "string", "minLength": 1, "maxLength": 16}


def _closed(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


def _nullable(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"anyOf": [{"type": "null"}, dict(schema)]}


_DESTINATION: Final = _closed(
    ["type"],
    {"type": {"enum": list(DESTINATION_TYPES)}, "target": {"type": "string", "maxLength": 64},
     # A queue destination may raise the caller's priority in it (route, IVR choice):
     # firmware/acd/priority.py. Meaningless elsewhere, refused there.
     "priority": {"type": "integer", "minimum": 0, "maximum": 9}},
)
_TAG: Final = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,31}$"}


DOCUMENT_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://edgepbx.example/schema/config-1.json",
    "title": "edgepbx configuration document",
    **_closed(
        ["schema", "system", "extensions", "trunks", "routes", "outbound"],
        {
            "schema": {"const": SCHEMA_VERSION},
            "system": _closed(
                ["name", "country", "timezone", "language"],
                {
                    "name": {"type": "string", "minLength": 1, "maxLength": 64},
                    "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                    "timezone": {"type": "string", "minLength": 1, "maxLength": 64},
                    "language": {"type": "string", "pattern": "^[a-z]{2}(-[A-Z]{2})?$"},
                    # caller ID on the analog ports; default "auto" (by country)
                    "caller_id": {"enum": list(CALLER_ID_MODES)},
                },
            ),
            # Per-port settings; keys are port ids (checked against the board in code).
            "ports": {
                "type": "object",
                "additionalProperties": _closed(
                    [], {"enabled": {"type": "boolean"}, "label": _LABEL,
                         # analog ports only: overrides system.caller_id
                         "caller_id": {"enum": list(CALLER_ID_MODES)},
                         # analog lines only (FXO): how the far end's hang-up shows —
                         # the exchange reverses polarity (answer and clear-down) or not;
                         # and, 0 = off, this long without a sound ends an answered call
                         "polarity_reversal": {"type": "boolean"},
                         "silence_hangup_s": {"anyOf": [
                             {"const": 0}, {"type": "integer", "minimum": 5,
                                            "maximum": 3600}]}}
                ),
            },
            # Names for outside numbers: caller ID with name on the phones.
            "directory": {
                "type": "array",
                "items": _closed(
                    ["number", "name"],
                    {"number": {"type": "string", "pattern": r"^\+?[0-9]{2,20}$"},
                     "name": {"type": "string", "minLength": 1, "maxLength": 50},
                     # Tags of the contact ("gold", "key-account"): queues may give
                     # tagged callers priority (queues[].tag_priority).
                     "tags": {"type": "array", "maxItems": 16, "uniqueItems": True,
                              "items": _TAG}},
                ),
            },
            "extensions": {
                "type": "array",
                "items": _closed(
                    ["number", "name", "port", "enabled"],
                    {
                        "number": _EXTENSION_NUMBER,
                        "name": _LABEL,
                        # null: an extension without a physical port (reachable by
                        # ring groups and queues only, or a future IP phone).
                        "port": _nullable(_PORT_ID),
                        "enabled": {"type": "boolean"},
                        # the most expensive class of number it may dial (toll-fraud
                        # limits apply on top); default "mobile"
                        "cos": {"enum": list(COS_LEVELS)},
                        "voicemail": {"type": "boolean"},
                        "call_waiting": {"type": "boolean"},
                        "pickup_group": _nullable(_ID),
                        "ring_s": {"type": "integer", "minimum": 5, "maximum": 300},
                        "record": {"type": "boolean"},
                        # new voicemail shown by stutter dial tone, the phone's lamp
                        # (on-hook FSK message waiting), or both (default)
                        "message_waiting": {"enum": list(MESSAGE_WAITING_INDICATIONS)},
                    },
                ),
            },
            "trunks": {
                "type": "array",
                "items": _closed(
                    ["id", "port", "enabled", "max_concurrent"],
                    {
                        "id": _ID,
                        "port": _PORT_ID,
                        "enabled": {"type": "boolean"},
                        "label": _LABEL,
                        "max_concurrent": {"type": "integer", "minimum": 1, "maximum": 1000},
                        # A GSM trunk's SIM as a trunk (firmware/trunks): limits, quotas
                        # (null or absent: none), least-cost data. Counters follow the SIM
                        # (ICCID) found in the slot.
                        "sim": _SIM_LIMITS,
                    },
                ),
            },
            "routes": {
                "type": "array",
                "items": _closed(
                    ["name", "match", "destination"],
                    {
                        "name": {"type": "string", "minLength": 1, "maxLength": 64},
                        # Absent or null criteria match anything.
                        "match": _closed(
                            [],
                            {
                                "trunk": _nullable(_ID),
                                "called": _nullable(_MATCH_NUMBER),
                                "caller_prefix": _nullable(_MATCH_NUMBER),
                            },
                        ),
                        "destination": _DESTINATION,
                        "record": {"type": "boolean"},
                        # working hours: outside them the call goes to night_destination
                        "time_condition": _nullable(_ID),
                        "night_destination": _DESTINATION,
                    },
                ),
            },
            "outbound": {
                "type": "array",
                "items": _closed(
                    ["name", "pattern", "trunks"],
                    {
                        "name": {"type": "string", "minLength": 1, "maxLength": 64},
                        "pattern": {"type": "string", "minLength": 1, "maxLength": 200},
                        "trunks": {"type": "array", "minItems": 1, "items": _ID},
                        "strip": {"type": "integer", "minimum": 0, "maximum": 20},
                        "prepend": {"type": "string", "pattern": "^[0-9*#+]{0,20}$"},
                        # caller ID shown: the trunk's own, the extension's, none, or
                        # a fixed number
                        "caller_id": {"type": "string",
                                      "pattern": "^(trunk|extension|hidden|\\+?[0-9]{2,20})$"},
                    },
                ),
            },
            # ACD queues (firmware/acd). A member is an extension number (an agent at that
            # extension, penalty 0) or {"agent": id, "penalty", "skill", "weight"}.
            "queues": {
                "type": "array",
                "items": _closed(
                    ["id", "name"],
                    {
                        "id": _ID,
                        "name": _LABEL,
                        "members": {
                            "type": "array",
                            "items": {
                                "anyOf": [
                                    _EXTENSION_NUMBER,
                                    _closed(
                                        ["agent"],
                                        {
                                            "agent": _ID,
                                            "penalty": {
                                                "type": "integer", "minimum": 0, "maximum": 100
                                            },
                                            "skill": {
                                                "type": "integer", "minimum": 0, "maximum": 100
                                            },
                                            "weight": {
                                                "type": "number",
                                                "exclusiveMinimum": 0,
                                                "maximum": 1000,
                                            },
                                        },
                                    ),
                                ]
                            },
                        },
                        # Checked in code, so an unknown name is reported as such.
                        "strategy": {"type": "string", "maxLength": 32},
                        "wrap_up_s": {"type": "number", "minimum": 0, "maximum": 3600},
                        "ring_timeout_s": {"type": "number", "minimum": 3, "maximum": 600},
                        "retry_s": {"type": "number", "minimum": 0, "maximum": 600},
                        "max_wait_s": _nullable(
                            {"type": "number", "minimum": 1, "maximum": 86400}
                        ),
                        "max_len": _nullable({"type": "integer", "minimum": 1, "maximum": 10000}),
                        "overflow": _closed(
                            ["type"],
                            {
                                "type": {"enum": list(DESTINATION_TYPES)},
                                "target": {"type": "string"},
                            },
                        ),
                        "join_empty": {"enum": ["always", "staffed", "ready"]},
                        "leave_empty": {"enum": ["never", "staffed", "ready"]},
                        "music": _LABEL,
                        "announce": _closed(
                            [],
                            {
                                "every_s": {"type": "number", "minimum": 10, "maximum": 3600},
                                "first_s": {"type": "number", "minimum": 0, "maximum": 3600},
                            },
                        ),
                        # Callback in queue: the key turns it on (null: no callback);
                        # see firmware/calls/queues.py.
                        "callback_key": _nullable({"type": "string", "pattern": "^[0-9*#]$"}),
                        "callback_dial": {"enum": ["customer_first", "agent_first"]},
                        "callback_number": {"enum": ["caller_id", "ask"]},
                        "callback_max": _nullable(
                            {"type": "integer", "minimum": 1, "maximum": 10000}),
                        "callback_offer_s": _nullable(
                            {"type": "number", "minimum": 0, "maximum": 86400}),
                        "callback_offer_with_announce": {"type": "boolean"},
                        "sticky_days": {"type": "number", "minimum": 0, "maximum": 365},
                        "skill_min": {"type": "integer", "minimum": 0, "maximum": 100},
                        "skill_relax": {
                            "type": "array",
                            "items": _closed(
                                ["after_s", "min"],
                                {
                                    "after_s": {"type": "number", "minimum": 0, "maximum": 86400},
                                    "min": {"type": "integer", "minimum": 0, "maximum": 100},
                                },
                            ),
                        },
                        "auto_pause_after": {"type": "integer", "minimum": 0, "maximum": 100},
                        "record": {"type": "boolean"},   # record the queue's calls
                        # VIP callers: priority by number prefix (firmware/acd/priority.py)
                        "vip": {"type": "array", "maxItems": 1000, "items": _closed(
                            ["prefix", "priority"],
                            {"prefix": {"type": "string",
                                        "pattern": "^\\+?[0-9][0-9 ().-]{0,23}$"},
                             "priority": {"type": "integer", "minimum": 1, "maximum": 9}})},
                        # Tagged callers (directory[].tags): priority by tag.
                        "tag_priority": {"type": "object", "maxProperties": 64,
                                         "propertyNames": _TAG,
                                         "additionalProperties": {
                                             "type": "integer", "minimum": 1, "maximum": 9}},
                    },
                ),
            },
            # ACD agents: an office extension or a remote agent's external number (reached
            # over a trunk). Static agents are logged in from the start; dynamic ones log in.
            "agents": {
                "type": "array",
                "items": _closed(
                    ["id", "name"],
                    {
                        "id": _ID,
                        "name": _LABEL,
                        "extension": _nullable(_EXTENSION_NUMBER),
                        "number": _nullable({"type": "string", "pattern": "^\\+?[0-9]{3,20}$"}),
                        "login": {"enum": ["static", "dynamic"]},
                    },
                ),
            },
            "ring_groups": {
                "type": "array",
                "items": _closed(
                    ["id", "name", "strategy", "members"],
                    {
                        "id": _ID,
                        "name": _LABEL,
                        "strategy": {"enum": list(RING_STRATEGIES)},
                        # an extension number, or {"target": extension or outside
                        # number (an employee's mobile), "delay_s": when it joins
                        # (cascading)}
                        "members": {"type": "array", "items": {"anyOf": [
                            _EXTENSION_NUMBER,
                            _closed(["target"], {
                                "target": {"type": "string", "pattern": "^\\+?[0-9]{2,20}$"},
                                "delay_s": {"type": "integer", "minimum": 0, "maximum": 600},
                            }),
                        ]}},
                        "ring_s": {"type": "integer", "minimum": 5, "maximum": 600},
                        "member_s": {"type": "integer", "minimum": 3, "maximum": 600},
                        "timeout_s": {"type": "integer", "minimum": 5, "maximum": 3600},
                        "failover": _DESTINATION,
                    },
                ),
            },
            "ivrs": {
                "type": "array",
                "items": _closed(
                    ["id", "name", "options"],
                    {
                        "id": _ID,
                        "name": _LABEL,
                        # a prompt file uploaded by the admin; null: a tone instead
                        "prompt": _nullable({"type": "string", "maxLength": 64}),
                        "options": {
                            "type": "object",
                            "propertyNames": {"pattern": "^[0-9*#]{1,4}$"},
                            "additionalProperties": _DESTINATION,
                        },
                        "timeout_s": {"type": "number", "minimum": 1, "maximum": 60},
                        "retries": {"type": "integer", "minimum": 1, "maximum": 10},
                        "direct_dial": {"type": "boolean"},
                        "timeout_destination": _DESTINATION,
                        "invalid_destination": _DESTINATION,
                    },
                ),
            },
            "security": _closed(
                [],
                {
                    # Toll-fraud guard: on by default with these values when absent.
                    "toll_fraud": _closed(
                        [],
                        {
                            "allow_international": {"type": "boolean"},
                            "allow_premium": {"type": "boolean"},
                            "blocked_prefixes": {"type": "array", "items": _DIGITS},
                            "max_outbound_concurrent": {"type": "integer", "minimum": 1,
                                                        "maximum": 1000},
                            "max_calls_per_hour_extension": {"type": "integer", "minimum": 1,
                                                             "maximum": 10000},
                            "max_calls_per_hour_trunk": {"type": "integer", "minimum": 1,
                                                         "maximum": 100000},
                            "max_call_s": {"type": "integer", "minimum": 60,
                                           "maximum": 86400},
                        },
                    ),
                },
            ),
            # Voicemail boxes (one per extension with ``voicemail: true``).
            "voicemail": _closed(
                [],
                {
                    "max_message_s": {"type": "integer", "minimum": 5, "maximum": 600},
                    "max_messages": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "max_silence_s": {"type": "integer", "minimum": 2, "maximum": 60},
                },
            ),
            # Call recording (routes[].record, extensions[].record) and its retention.
            "recording": _closed(
                [],
                {
                    "keep_days": {"type": "integer", "minimum": 1, "maximum": 3650},
                    "max_mb": {"type": "integer", "minimum": 10, "maximum": 1_000_000},
                    # no recording starts while the data partition has less free space
                    "min_free_mb": {"type": "integer", "minimum": 10, "maximum": 100_000},
                    "beep": {"type": "boolean"},
                    # wav: 16-bit PCM; alaw: G.711 A-law WAV, half the size
                    "format": {"enum": ["wav", "alaw"]},
                },
            ),
            # time_conditions, blacklist, callback, campaigns (see outbound_schema.py)
            **outbound_schema.PROPERTIES,
        },
    ),
}

Draft202012Validator.check_schema(DOCUMENT_SCHEMA)
_VALIDATOR: Final = Draft202012Validator(DOCUMENT_SCHEMA)


# --- ports ---------------------------------------------------------------------------------

_PORT_KIND = re.compile(r"^(fxs|fxo|gsm)\d+$")


def port_kind(port_id: str) -> str:
    """``fxs``, ``fxo``, ``gsm``, ``channel`` (a span's B-channel, ``e1.5``) or ``span``."""
    if "." in port_id:
        return "channel"
    match = _PORT_KIND.match(port_id)
    return match.group(1) if match else "span"


def _natural_key(port_id: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", port_id))


def _spans(known_ports: Iterable[str]) -> dict[str, int]:
    """Digital spans on the board and their channel counts: ``{"e1": 30}``."""
    spans: dict[str, int] = {}
    for port in known_ports:
        if "." in port:
            span = port.split(".", 1)[0]
            spans[span] = spans.get(span, 0) + 1
    return spans


# --- paths ---------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def format_path(parts: Iterable[str | int]) -> str:
    """``("routes", 2, "destination")`` -> ``routes[2].destination``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{_quote(part)}]"
    return out


def _quote(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


# --- structural pass -----------------------------------------------------------------------


def _schema_issues(doc: object) -> Iterator[ValidationIssue]:
    def order(error: _SchemaError) -> tuple[Any, ...]:
        return tuple((0, p) if isinstance(p, int) else (1, p) for p in error.absolute_path)

    for error in sorted(_VALIDATOR.iter_errors(doc), key=order):
        parts: list[str | int] = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            for key in error.instance:
                if key not in known:
                    yield ValidationIssue(
                        format_path([*parts, key]), f"unknown setting {_quote(key)}"
                    )
        elif error.validator == "required" and isinstance(error.instance, dict):
            for key in error.validator_value:
                if key not in error.instance:
                    yield ValidationIssue(format_path([*parts, key]), "required setting is missing")
        else:
            yield ValidationIssue(format_path(parts), error.message)


# --- semantic pass -------------------------------------------------------------------------


def _items(doc: Mapping[str, Any], section: str) -> Iterator[tuple[int, dict[str, Any]]]:
    value = doc.get(section)
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


def _str(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) else None


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


_SECTION_ORDER: Final = {name: rank for rank, name in enumerate(DOCUMENT_SCHEMA["properties"])}


def _semantic_issues(doc: Mapping[str, Any], known_ports: frozenset[str]) -> list[ValidationIssue]:
    found: list[tuple[list[str | int], str]] = []

    def issue(parts: list[str | int], message: str) -> None:
        found.append((parts, message))

    spans = _spans(known_ports)

    system = doc.get("system")
    if isinstance(system, dict):
        tz = _str(system, "timezone")
        if tz is not None and _timezones() and tz not in _timezones():
            issue(["system", "timezone"], f"unknown time zone {_quote(tz)}")

    ports = doc.get("ports")
    if isinstance(ports, dict):
        for port, settings in ports.items():
            if port not in known_ports:
                issue(["ports", port], f"unknown port {_quote(port)}")
            elif (isinstance(settings, dict) and "caller_id" in settings
                  and port_kind(port) not in ("fxs", "fxo")):
                issue(["ports", port, "caller_id"],
                      f"caller ID is an analog port setting: {_quote(port)} is not an "
                      "FXS or FXO port")
            if isinstance(settings, dict) and port in known_ports \
                    and port_kind(port) != "fxo":
                for setting in ("polarity_reversal", "silence_hangup_s"):
                    if setting in settings:
                        issue(["ports", port, setting],
                              f"{setting} is an analog line setting: {_quote(port)} is not "
                              "an FXO port")

    # Extensions: unique numbers, each on its own FXS port.
    extensions: dict[str, int] = {}
    port_owner: dict[str, str] = {}
    for i, ext in _items(doc, "extensions"):
        number = _str(ext, "number")
        if number is not None:
            if number in extensions:
                issue(["extensions", i, "number"], f"duplicate extension {_quote(number)}")
            else:
                extensions[number] = i
        port = _str(ext, "port")
        if port is None:
            continue
        if port not in known_ports:
            issue(["extensions", i, "port"], f"unknown port {_quote(port)}")
        elif port_kind(port) != "fxs":
            issue(["extensions", i, "port"], f"port {_quote(port)} is not a phone (FXS) port")
        elif port in port_owner:
            issue(
                ["extensions", i, "port"],
                f"port {_quote(port)} is already used by {port_owner[port]}",
            )
        else:
            port_owner[port] = f"extension {_quote(number or '?')}"

    # Internal numbers vs emergency numbers ("101" is the fire service in RU and UA).
    # Every commit validates the whole document, so changing system.country re-checks all.
    country = _str(system, "country") if isinstance(system, dict) else None
    if country is not None:
        for section, setting in INTERNAL_NUMBERS:
            for i, item in _items(doc, section):
                number = _str(item, setting)
                clash = emergency_clash(number, country) if number is not None else None
                if clash is not None:
                    issue([section, i, setting], f"{clash}; choose another number")

    # Directory: one name per number (however it is spelled), none for an extension.
    listed: dict[str, int] = {}
    for i, entry in _items(doc, "directory"):
        number = _str(entry, "number")
        if number is None:
            continue
        if number in extensions:
            issue(["directory", i, "number"],
                  f"{_quote(number)} is an extension: its name comes from the extension")
            continue
        try:
            canonical = normalize_number(number, country or "RU")
        except MalformedNumber:
            canonical = number
        if canonical in listed:
            issue(["directory", i, "number"],
                  f"{_quote(number)} is already listed as directory[{listed[canonical]}]")
        else:
            listed[canonical] = i

    # Trunks: unique ids, each on its own line port, a span or a span's channel.
    trunks: set[str] = set()
    span_owner: dict[str, str] = {}
    for i, trunk in _items(doc, "trunks"):
        trunk_id = _str(trunk, "id")
        if trunk_id is not None:
            if trunk_id in trunks:
                issue(["trunks", i, "id"], f"duplicate trunk {_quote(trunk_id)}")
            trunks.add(trunk_id)
        port = _str(trunk, "port")
        if port is None:
            continue
        if port not in known_ports and port not in spans:
            issue(["trunks", i, "port"], f"unknown port {_quote(port)}")
            continue
        if port_kind(port) == "fxs":
            issue(["trunks", i, "port"], f"port {_quote(port)} is a phone (FXS) port, not a line")
            continue
        owner = f"trunk {_quote(trunk_id or '?')}"
        # A span trunk takes the span and all its channels; a channel trunk takes its
        # channel and shares the span with other channel trunks (but not a span trunk).
        if port in spans:
            claimed = [port, *(p for p in known_ports if p.startswith(port + "."))]
        else:
            claimed = [port]
        span_of_channel = port.split(".", 1)[0] if "." in port else None
        clash = next((port_owner[p] for p in claimed if p in port_owner), None)
        if clash is None and span_of_channel is not None:
            clash = span_owner.get(span_of_channel)
        if clash is not None:
            issue(["trunks", i, "port"], f"port {_quote(port)} is already used by {clash}")
        else:
            for p in claimed:
                port_owner[p] = owner
            if port in spans:
                span_owner[port] = owner
        sim = trunk.get("sim")
        if isinstance(sim, dict):
            if port_kind(port) != "gsm":
                issue(["trunks", i, "sim"],
                      f"SIM limits need a GSM port; {_quote(port)} is not one")
            for per_day, per_month in (("minutes_per_day", "minutes_per_month"),
                                       ("sms_per_day", "sms_per_month"),
                                       ("recipients_per_day", "recipients_per_month")):
                day, month = sim.get(per_day), sim.get(per_month)
                if isinstance(day, int | float) and isinstance(month, int | float) \
                        and not isinstance(day, bool) and not isinstance(month, bool) \
                        and day > month:
                    issue(["trunks", i, "sim", per_day],
                          f"{day:g} a day exceeds the {month:g} of {per_month}")
            prefixes = sim.get("prefixes")
            if isinstance(prefixes, list):
                seen_prefixes: set[str] = set()
                for j, prefix in enumerate(prefixes):
                    if prefix in seen_prefixes:
                        issue(["trunks", i, "sim", "prefixes", j],
                              f"duplicate prefix {_quote(prefix)}")
                    if isinstance(prefix, str):
                        seen_prefixes.add(prefix)
        limit = trunk.get("max_concurrent")
        capacity = spans.get(port, 1)
        if isinstance(limit, int) and not isinstance(limit, bool) and limit > capacity:
            issue(
                ["trunks", i, "max_concurrent"],
                f"{limit} exceeds the {capacity} channel(s) of port {_quote(port)}",
            )

    # Outbound patterns first: external destinations must be reachable over one.
    outbound_patterns: list[re.Pattern[str]] = []
    for _i, rule in _items(doc, "outbound"):
        pattern = _str(rule, "pattern")
        if pattern is not None:
            try:
                outbound_patterns.append(re.compile(pattern))
            except re.error:
                pass  # reported below

    def routable(number: str) -> bool:
        return any(p.fullmatch(number) for p in outbound_patterns)

    groups: dict[str, set[str]] = {"ring_groups": set(), "queues": set(), "ivrs": set()}
    for section, noun in (("ring_groups", "ring group"), ("queues", "queue"),
                          ("ivrs", "IVR menu")):
        for i, group in _items(doc, section):
            group_id = _str(group, "id")
            if group_id is not None:
                if group_id in groups[section]:
                    issue([section, i, "id"], f"duplicate {noun} {_quote(group_id)}")
                groups[section].add(group_id)
            members = group.get("members")
            if section == "ring_groups" and isinstance(members, list):
                seen: set[str] = set()
                for j, member in enumerate(members):
                    if isinstance(member, dict):
                        member = member.get("target")
                    if not isinstance(member, str):
                        continue
                    outside = member.startswith("+") or len(member) > 6
                    if outside:
                        if not routable(member):
                            issue([section, i, "members", j],
                                  f"no outbound route matches {_quote(member)}")
                    elif member not in extensions:
                        issue([section, i, "members", j], f"unknown extension {_quote(member)}")
                    if member in seen:
                        issue([section, i, "members", j], f"duplicate member {_quote(member)}")
                    seen.add(member)

    targets: dict[str, set[str]] = {
        "extension": set(extensions),
        "ring_group": groups["ring_groups"],
        "queue": groups["queues"],
        "ivr": groups["ivrs"],
        "voicemail": set(extensions),
    }
    found += _acd_found(doc, targets)

    def check_destination(parts: list[str | int], destination: object) -> None:
        if not isinstance(destination, dict):
            return
        kind = _str(destination, "type")
        target = destination.get("target")
        if "priority" in destination and kind != "queue":
            issue([*parts, "priority"], "a priority applies only to a queue destination")
        if kind in _TARGET_KINDS:
            if isinstance(target, str) and target not in targets[kind]:
                issue(parts, f"unknown {_TARGET_KINDS[kind]} {_quote(target)}")
            elif target is None:
                issue([*parts, "target"], f"{_quote(kind)} needs a target")
        elif kind == "external":
            if not isinstance(target, str) or not _EXTERNAL_NUMBER.match(target):
                issue([*parts, "target"], "an external destination needs an outside number")
            elif not routable(target):
                issue([*parts, "target"], f"no outbound route matches {_quote(target)}")
        elif kind == "announcement":
            if isinstance(target, str) and not _PROMPT_NAME.match(target):
                issue([*parts, "target"], f"invalid prompt name {_quote(target)}")
        elif kind == "callback":
            if not isinstance(target, str):
                issue([*parts, "target"], "a callback destination needs the queue, ring group "
                                          "or extension to connect the callback to")
            elif not any(target in targets[k] for k in ("queue", "ring_group", "extension")):
                issue([*parts, "target"],
                      f"unknown queue, ring group or extension {_quote(target)}")
        elif kind in DESTINATION_TYPES and target is not None:
            issue([*parts, "target"], f"{_quote(kind)} takes no target")

    # Destinations reached without any caller input, to find loops that never end:
    # a ring group's failover, an IVR's timeout and invalid-input destinations.
    automatic: dict[tuple[str, str], list[tuple[str, str]]] = {}
    first_path: dict[tuple[str, str], list[str | int]] = {}

    def node(destination: object) -> tuple[str, str] | None:
        if isinstance(destination, dict):
            kind, target = _str(destination, "type"), destination.get("target")
            if kind in ("ring_group", "ivr") and isinstance(target, str):
                return kind, target
        return None

    for i, group in _items(doc, "ring_groups"):
        check_destination(["ring_groups", i, "failover"], group.get("failover"))
        gid, nxt = _str(group, "id"), node(group.get("failover"))
        if gid is not None and nxt is not None:
            automatic.setdefault(("ring_group", gid), []).append(nxt)
            first_path.setdefault(("ring_group", gid), ["ring_groups", i, "failover"])
    for i, menu in _items(doc, "ivrs"):
        options = menu.get("options")
        if isinstance(options, dict):
            if not options:
                issue(["ivrs", i, "options"], "a menu needs at least one option")
            for key, destination in options.items():
                check_destination(["ivrs", i, "options", key], destination)
        mid = _str(menu, "id")
        for key in ("timeout_destination", "invalid_destination"):
            check_destination(["ivrs", i, key], menu.get(key))
            nxt = node(menu.get(key))
            if mid is not None and nxt is not None:
                automatic.setdefault(("ivr", mid), []).append(nxt)
                first_path.setdefault(("ivr", mid), ["ivrs", i, key])
        prompt = menu.get("prompt")
        if isinstance(prompt, str) and not _PROMPT_NAME.match(prompt):
            issue(["ivrs", i, "prompt"], f"invalid prompt name {_quote(prompt)}")

    # Follow every automatic edge (a node may have two: timeout and invalid input).
    reported: set[tuple[str, str]] = set()

    def visit(current: tuple[str, str], path: list[tuple[str, str]]) -> None:
        for nxt in automatic.get(current, []):
            if nxt in path:
                cycle = path[path.index(nxt):]
                if not reported.intersection(cycle):
                    names = " -> ".join(f"{k.replace('_', ' ')} {_quote(t)}"
                                        for k, t in [*cycle, nxt])
                    issue(first_path[cycle[0]], f"routing loop without caller input: {names}")
                    reported.update(cycle)
            elif len(path) <= len(automatic):
                visit(nxt, [*path, nxt])

    for start in list(automatic):
        visit(start, [start])

    route_names: set[str] = set()
    route_matches: dict[tuple[Any, ...], int] = {}
    for i, route in _items(doc, "routes"):
        name = _str(route, "name")
        if name is not None:
            if name in route_names:
                issue(["routes", i, "name"], f"duplicate route {_quote(name)}")
            route_names.add(name)
        match = route.get("match")
        if isinstance(match, dict):
            trunk_ref = _str(match, "trunk")
            if trunk_ref is not None and trunk_ref not in trunks:
                issue(["routes", i, "match", "trunk"], f"unknown trunk {_quote(trunk_ref)}")
            key = tuple(match.get(k) for k in ("trunk", "called", "caller_prefix"))
            if all(isinstance(v, str | None) for v in key):
                if key in route_matches:
                    issue(
                        ["routes", i, "match"],
                        f"same match as routes[{route_matches[key]}], this route is never used",
                    )
                else:
                    route_matches[key] = i
        check_destination(["routes", i, "destination"], route.get("destination"))
        check_destination(["routes", i, "night_destination"], route.get("night_destination"))
        tc_ref = route.get("time_condition")
        if isinstance(tc_ref, str):
            known_tc = {tc.get("id") for _j, tc in _items(doc, "time_conditions")}
            if tc_ref not in known_tc:
                issue(["routes", i, "time_condition"], f"unknown time condition {_quote(tc_ref)}")
            elif route.get("night_destination") is None:
                issue(["routes", i, "night_destination"],
                      "a route with a time condition needs a night destination")

    outbound_names: set[str] = set()
    for i, rule in _items(doc, "outbound"):
        name = _str(rule, "name")
        if name is not None:
            if name in outbound_names:
                issue(["outbound", i, "name"], f"duplicate outbound route {_quote(name)}")
            outbound_names.add(name)
        pattern = _str(rule, "pattern")
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                issue(
                    ["outbound", i, "pattern"],
                    f"invalid regular expression {_quote(pattern)}: {exc}",
                )
        rule_trunks = rule.get("trunks")
        if isinstance(rule_trunks, list):
            seen_trunks: set[str] = set()
            for j, ref in enumerate(rule_trunks):
                if not isinstance(ref, str):
                    continue
                if ref not in trunks:
                    issue(["outbound", i, "trunks", j], f"unknown trunk {_quote(ref)}")
                elif ref in seen_trunks:
                    issue(["outbound", i, "trunks", j], f"duplicate trunk {_quote(ref)}")
                seen_trunks.add(ref)

    trunk_ports = {
        t["id"]: t["port"] for _, t in _items(doc, "trunks")
        if isinstance(t.get("id"), str) and isinstance(t.get("port"), str)
    }
    outbound_schema.semantic_issues(
        doc, issue, queues=groups["queues"], trunk_ports=trunk_ports, port_kind=port_kind
    )

    # Report in document order (section, then item), whatever order the checks ran in.
    def order(entry: tuple[list[str | int], str]) -> tuple[int, int]:
        parts = entry[0]
        section = _SECTION_ORDER.get(str(parts[0]), len(_SECTION_ORDER))
        item = parts[1] if len(parts) > 1 and isinstance(parts[1], int) else -1
        return section, item

    return [ValidationIssue(format_path(p), m) for p, m in sorted(found, key=order)]


def _acd_found(
    doc: Mapping[str, Any], targets: Mapping[str, set[str]]
) -> list[tuple[list[str | int], str]]:
    """Meaning of the ACD part: agents, queue members, strategies, overflow targets."""
    from firmware.acd.strategies import STRATEGIES

    found: list[tuple[list[str | int], str]] = []
    extensions = targets["extension"]
    agents: set[str] = set()
    for i, agent in _items(doc, "agents"):
        agent_id = _str(agent, "id")
        if agent_id is not None:
            if agent_id in agents:
                found.append((["agents", i, "id"], f"duplicate agent {_quote(agent_id)}"))
            agents.add(agent_id)
        ext = _str(agent, "extension")
        if ext is not None and ext not in extensions:
            found.append((["agents", i, "extension"], f"unknown extension {_quote(ext)}"))
        if ext is None and _str(agent, "number") is None:
            found.append(
                (["agents", i], "an agent needs an extension or an external number")
            )
    for i, queue in _items(doc, "queues"):
        queue_id = _str(queue, "id")
        members = queue.get("members")
        if isinstance(members, list):
            seen: set[str] = set()
            for j, member in enumerate(members):
                if isinstance(member, str):
                    ref, kind = member, "extension"
                    known = member in extensions or member in agents
                elif isinstance(member, dict) and isinstance(member.get("agent"), str):
                    ref, kind = member["agent"], "agent"
                    known = ref in agents
                else:
                    continue
                if not known:
                    found.append((["queues", i, "members", j], f"unknown {kind} {_quote(ref)}"))
                elif ref in seen:
                    found.append(
                        (["queues", i, "members", j], f"agent {_quote(ref)} is in the queue twice")
                    )
                seen.add(ref)
        if queue.get("callback_key") is None:   # callback-in-queue options need the key
            for option in ("callback_number", "callback_max", "callback_offer_s",
                           "callback_offer_with_announce"):
                if queue.get(option) not in (None, False):
                    found.append((["queues", i, option],
                                  "needs a callback_key (callback in queue is off)"))
        strategy = queue.get("strategy")
        if isinstance(strategy, str) and strategy not in STRATEGIES:
            found.append(
                (
                    ["queues", i, "strategy"],
                    f"unknown strategy {_quote(strategy)} (one of {', '.join(STRATEGIES)})",
                )
            )
        overflow = queue.get("overflow")
        if isinstance(overflow, dict):
            dest = _str(overflow, "type")
            target = overflow.get("target")
            if dest in _TARGET_KINDS:
                if isinstance(target, str) and target not in targets[dest]:
                    noun = _TARGET_KINDS[dest]
                    found.append((["queues", i, "overflow"], f"unknown {noun} {_quote(target)}"))
                elif target is None:
                    found.append(
                        (["queues", i, "overflow", "target"], f"{_quote(dest)} needs a target")
                    )
                elif dest == "queue" and target == queue_id:
                    found.append((["queues", i, "overflow"], "a queue cannot overflow to itself"))
            elif dest == "callback":
                if not isinstance(target, str) or not any(
                        target in targets[k] for k in ("queue", "ring_group", "extension")):
                    found.append((["queues", i, "overflow", "target"],
                                  f"unknown queue, ring group or extension {_quote(target)}"))
            elif dest in DESTINATION_TYPES and target is not None:
                found.append(
                    (["queues", i, "overflow", "target"], f"{_quote(dest)} takes no target")
                )
        found += _vip_issues(doc, i, queue)
    return found


def _vip_issues(doc: Mapping[str, Any], i: int, queue: Mapping[str, Any]
                ) -> list[tuple[list[str | int], str]]:
    """A VIP prefix must be a number prefix of the box's country (firmware/acd/priority.py)."""
    from firmware.numbers import MalformedNumber, normalize_prefix

    country = str(doc.get("system", {}).get("country", "RU"))
    found: list[tuple[list[str | int], str]] = []
    for j, vip in enumerate(queue.get("vip") or []):
        if isinstance(vip, dict) and isinstance(vip.get("prefix"), str):
            try:
                normalize_prefix(vip["prefix"], country)
            except MalformedNumber as exc:
                found.append((["queues", i, "vip", j, "prefix"], str(exc)))
    return found


def acd_issues(doc: Mapping[str, Any]) -> list[ValidationIssue]:
    """Problems of the ACD part of ``doc`` (``queues``, ``agents``), structure and meaning.

    For ``AcdCore.from_config``: it refuses a document whose ACD part is not valid, and
    needs no board (ports do not matter to queues).
    """
    issues = [
        issue
        for issue in _schema_issues(doc)
        if issue.path.startswith(("queues", "agents"))
    ]
    extensions = {
        number for _, ext in _items(doc, "extensions") if (number := _str(ext, "number"))
    }
    targets = {
        "extension": extensions,
        "ring_group": {g for _, r in _items(doc, "ring_groups") if (g := _str(r, "id"))},
        "queue": {q for _, r in _items(doc, "queues") if (q := _str(r, "id"))},
    }
    issues += [ValidationIssue(format_path(p), msg) for p, msg in _acd_found(doc, targets)]
    return list(dict.fromkeys(issues))


def find_issues(doc: object, known_ports: Iterable[str]) -> list[ValidationIssue]:
    """Every problem in ``doc`` (structure first, then meaning); empty if it is valid."""
    issues = list(_schema_issues(doc))
    if isinstance(doc, dict):
        issues += _semantic_issues(doc, frozenset(known_ports))
    unique: dict[ValidationIssue, None] = dict.fromkeys(issues)
    return list(unique)


def validate_document(doc: object, known_ports: Iterable[str]) -> None:
    """Raise ``ConfigValidationError`` listing every problem if ``doc`` is not valid."""
    issues = find_issues(doc, known_ports)
    if issues:
        raise ConfigValidationError(issues)


# --- versions ------------------------------------------------------------------------------

# from-version -> step producing the next version. Empty while there is only version 1.
_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def upgrade_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Bring a document of an older schema version up to ``SCHEMA_VERSION`` (a copy)."""
    version = doc.get("schema")
    if not isinstance(version, int) or isinstance(version, bool):
        return doc  # validation reports the bad or missing version
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"configuration schema {version} is newer than this firmware supports "
            f"({SCHEMA_VERSION})"
        )
    out = copy.deepcopy(doc)
    while version < SCHEMA_VERSION:
        step = _UPGRADES.get(version)
        if step is None:
            raise ConfigError(f"configuration schema {version} cannot be upgraded")
        out = step(out)
        version = out["schema"]
    return out


# --- first boot ----------------------------------------------------------------------------

# 2xx: 1xx holds emergency numbers in several countries (101-104 in RU and UA, 112, 110).
FIRST_EXTENSION: Final = 201


def default_document(
    known_ports: Iterable[str],
    *,
    name: str = "edgepbx",
    country: str = "RU",
    timezone: str = "Europe/Moscow",
    language: str = "en",
) -> dict[str, Any]:
    """A first-boot configuration for a board.

    One extension per phone port (201, 202, ... in port order, passing over any number
    that would clash with an emergency number of any country the box knows, so the
    default stays valid whatever country is chosen), one trunk per analog line
    and GSM module and one per digital span (the whole span), and an inbound route per
    trunk to the first extension (or hang-up on a board without phone ports). No outbound
    routes: nothing can dial out until the installer allows it (toll-fraud safe).
    """
    ports = sorted(set(known_ports), key=_natural_key)
    spans = _spans(ports)
    phone_ports = [p for p in ports if port_kind(p) == "fxs"]
    line_ports = [p for p in ports if port_kind(p) in ("fxo", "gsm")]

    free_numbers = (n for n in itertools.count(FIRST_EXTENSION)
                    if not any(emergency_clash(str(n), c) for c in PLANS))
    extensions = [
        {"number": str(n), "name": f"Extension {n}", "port": port, "enabled": True}
        for port, n in zip(phone_ports, free_numbers, strict=False)
    ]
    trunks: list[dict[str, Any]] = [
        {"id": port, "port": port, "enabled": True, "label": port.upper(), "max_concurrent": 1}
        for port in line_ports
    ]
    trunks += [
        {"id": span, "port": span, "enabled": True, "label": span.upper(), "max_concurrent": count}
        for span, count in sorted(spans.items())
    ]
    destination: dict[str, Any] = (
        {"type": "extension", "target": extensions[0]["number"]}
        if extensions
        else {"type": "hangup"}
    )
    routes = [
        {
            "name": f"Inbound {trunk['id']}",
            "match": {"trunk": trunk["id"], "called": None, "caller_prefix": None},
            "destination": dict(destination),
        }
        for trunk in trunks
    ]
    return {
        "schema": SCHEMA_VERSION,
        "system": {"name": name, "country": country, "timezone": timezone, "language": language},
        "ports": {},
        "extensions": extensions,
        "trunks": trunks,
        "routes": routes,
        "outbound": [],
        "queues": [],
        "ring_groups": [],
        "agents": [],
    }
