"""The configuration sections of calls the box places itself: callbacks and campaigns.

Owns the schema and the semantic checks of ``time_conditions`` (named working-hours
schedules, shared with the router), ``blacklist``, ``callback`` and ``campaigns``.
``schema.py`` merges ``PROPERTIES`` into the document schema and calls ``semantic_issues``
from its semantic pass; kept apart so the ACD and routing branches editing ``schema.py``
do not collide with this one.

The checks build the same objects the engines build (``TimeCondition.from_config``,
``normalize_number``), so a document that validates never fails to load there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from firmware.campaigns.amd import AMD_SCHEMA
from firmware.numbers import MalformedNumber, normalize_number, normalize_prefix
from firmware.timeconditions import DAY_NAMES, OVERRIDES, TimeCondition, TimeConditionError

_ID: Final = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{0,31}$"}
_LABEL: Final = {"type": "string", "maxLength": 64}
_HHMM: Final = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"}
_SECONDS_LIST: Final = {
    "type": "array", "maxItems": 10,
    "items": {"type": "number", "minimum": 0, "maximum": 7 * 86400},
}
CAMPAIGN_MODES: Final = ("preview", "progressive", "predictive", "autoinformer")


def _closed(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required,
            "properties": properties}


def _nullable(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"anyOf": [{"type": "null"}, dict(schema)]}


_SOURCE_RULE: Final = _closed([], {
    "enabled": {"type": "boolean"},
    "queue": _nullable(_ID),
    "min_wait_s": {"type": "number", "minimum": 0, "maximum": 3600},
})

PROPERTIES: Final[dict[str, Any]] = {
    "time_conditions": {
        "type": "array",
        "items": _closed(["id", "weekly"], {
            "id": _ID,
            "name": _LABEL,
            "weekly": {"type": "array", "maxItems": 50, "items": _closed(
                ["days", "start", "end"],
                {"days": {"type": "array", "minItems": 1, "uniqueItems": True,
                          "items": {"enum": list(DAY_NAMES)}},
                 "start": _HHMM, "end": _HHMM},
            )},
            # "YYYY-MM-DD" (that day) or "MM-DD" (every year)
            "holidays": {"type": "array", "maxItems": 400, "items": {
                "type": "string", "pattern": r"^(\d{4}-)?\d{2}-\d{2}$"}},
            "override": {"enum": list(OVERRIDES)},
        }),
    },
    # Numbers never called (callbacks, campaigns); a trailing * makes a prefix.
    "blacklist": {
        "type": "array",
        "items": _closed(["number"], {
            "number": {"type": "string", "minLength": 1, "maxLength": 32},
            "note": _LABEL,
        }),
    },
    "callback": _closed([], {
        "enabled": {"type": "boolean"},
        "mode": {"enum": ["customer_first", "agent_first"]},
        "max_concurrent": {"type": "integer", "minimum": 1, "maximum": 60},
        "ring_timeout_s": {"type": "number", "minimum": 5, "maximum": 300},
        "working_hours": _nullable(_ID),     # a time condition; null: any time
        "dedup_window_s": {"type": "number", "minimum": 0, "maximum": 7 * 86400},
        "daily_limit": {"type": "integer", "minimum": 0, "maximum": 100},
        "detect_machine": {"type": "boolean"},
        "caller_id": _nullable({"type": "string", "pattern": r"^\+?[0-9]{1,20}$"}),
        "announcement": _nullable({"type": "string", "minLength": 1, "maxLength": 128}),
        "retry": _closed([], {
            "max_attempts": {"type": "integer", "minimum": 1, "maximum": 20},
            "busy": _SECONDS_LIST, "no_answer": _SECONDS_LIST, "failed": _SECONDS_LIST,
            "machine": _SECONDS_LIST, "customer_hangup": _SECONDS_LIST,
            "agent_unavailable": _SECONDS_LIST, "interrupted": _SECONDS_LIST,
        }),
        "missed": _SOURCE_RULE,
        "abandoned": _SOURCE_RULE,
        # Operator prefixes of each SIM, for least-cost trunk choice.
        "trunks": {"type": "array", "items": _closed(["trunk", "prefixes"], {
            "trunk": _ID,
            "prefixes": {"type": "array", "items": {
                "type": "string", "pattern": r"^\+?[0-9 ]{1,20}$"}},
        })},
    }),
    "campaigns": {
        "type": "array",
        "items": _closed(["id", "name", "mode"], {
            "id": _ID,
            "name": _LABEL,
            "mode": {"enum": list(CAMPAIGN_MODES)},
            "enabled": {"type": "boolean"},
            "queue": _nullable(_ID),
            "working_hours": _nullable(_ID),
            "abandon_cap_pct": {"type": "number", "minimum": 0, "maximum": 10},
            "max_attempts": {"type": "integer", "minimum": 1, "maximum": 20},
            "retry": _closed([], {"busy": _SECONDS_LIST, "no_answer": _SECONDS_LIST,
                                  "failed": _SECONDS_LIST, "machine": _SECONDS_LIST,
                                  "interrupted": _SECONDS_LIST}),
            "max_channels": {"type": "integer", "minimum": 1, "maximum": 60},
            "ring_timeout_s": {"type": "number", "minimum": 5, "maximum": 120},
            "message": _nullable({"type": "string", "minLength": 1, "maxLength": 128}),
            "confirm_digit": _nullable({"type": "string", "pattern": "^[0-9*#]$"}),
            "caller_id": _nullable({"type": "string", "pattern": r"^\+?[0-9]{1,20}$"}),
            "amd": AMD_SCHEMA,       # answering-machine detection (firmware/campaigns/amd.py)
        }),
    },
}

Issue = Callable[[list[str | int], str], None]


def _q(value: object) -> str:
    return '"' + str(value).replace('"', '\\"') + '"'


def _items(doc: Mapping[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    value = doc.get(key)
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _path_parts(path: str) -> list[str | int]:
    """``weekly[0].days[1]`` -> ``["weekly", 0, "days", 1]``."""
    parts: list[str | int] = []
    for chunk in path.replace("]", "").split("."):
        for j, piece in enumerate(chunk.split("[")):
            if piece:
                parts.append(int(piece) if j else piece)
    return parts


def semantic_issues(
    doc: Mapping[str, Any],
    issue: Issue,
    *,
    queues: set[str],
    trunk_ports: Mapping[str, str],
    port_kind: Callable[[str], str],
) -> None:
    """Report (through ``issue``) every meaning problem of these sections."""
    system = doc.get("system")
    country = str(system.get("country", "RU")) if isinstance(system, dict) else "RU"

    conditions: set[str] = set()
    for i, tc in _items(doc, "time_conditions"):
        tc_id = tc.get("id")
        if isinstance(tc_id, str):
            if tc_id in conditions:
                issue(["time_conditions", i, "id"], f"duplicate time condition {_q(tc_id)}")
            conditions.add(tc_id)
        try:
            TimeCondition.from_config(tc, "UTC")
        except (TimeConditionError, TypeError, AttributeError) as exc:
            path = getattr(exc, "path", "")
            message = str(exc).removeprefix(f"{path}: ") if path else str(exc)
            issue(["time_conditions", i, *_path_parts(path)], message)

    seen_numbers: dict[str, int] = {}
    for i, entry in _items(doc, "blacklist"):
        raw = entry.get("number")
        if not isinstance(raw, str):
            continue
        try:
            if raw.endswith("*"):
                key = normalize_prefix(raw[:-1], country) + "*"
            else:
                key = normalize_number(raw, country)
        except MalformedNumber as exc:
            issue(["blacklist", i, "number"], str(exc))
            continue
        if key in seen_numbers:
            issue(["blacklist", i, "number"],
                  f"{_q(raw)} is already listed as blacklist[{seen_numbers[key]}]")
        seen_numbers.setdefault(key, i)

    def check_queue(parts: list[str | int], value: object) -> None:
        if isinstance(value, str) and value not in queues:
            issue(parts, f"unknown queue {_q(value)}")

    def check_hours(parts: list[str | int], value: object) -> None:
        if isinstance(value, str) and value not in conditions:
            issue(parts, f"unknown time condition {_q(value)}")

    callback = doc.get("callback")
    if isinstance(callback, dict):
        check_hours(["callback", "working_hours"], callback.get("working_hours"))
        for source in ("missed", "abandoned"):
            rule = callback.get(source)
            if isinstance(rule, dict):
                check_queue(["callback", source, "queue"], rule.get("queue"))
        missed = callback.get("missed")
        if (isinstance(missed, dict) and missed.get("enabled") is True
                and missed.get("queue") is None):
            issue(["callback", "missed", "queue"],
                  "automatic callback of missed calls needs a queue to connect them to")
        seen_trunks: set[str] = set()
        for j, entry in _items(callback, "trunks"):
            trunk = entry.get("trunk")
            if not isinstance(trunk, str):
                continue
            parts: list[str | int] = ["callback", "trunks", j, "trunk"]
            if trunk not in trunk_ports:
                issue(parts, f"unknown trunk {_q(trunk)}")
            elif port_kind(trunk_ports[trunk]) != "gsm":
                issue(parts, f"trunk {_q(trunk)} is not a SIM: operator prefixes are for GSM")
            if trunk in seen_trunks:
                issue(parts, f"duplicate trunk {_q(trunk)}")
            seen_trunks.add(trunk)

    campaign_ids: set[str] = set()
    for i, campaign in _items(doc, "campaigns"):
        cid = campaign.get("id")
        if isinstance(cid, str):
            if cid in campaign_ids:
                issue(["campaigns", i, "id"], f"duplicate campaign {_q(cid)}")
            campaign_ids.add(cid)
        mode = campaign.get("mode")
        queue = campaign.get("queue")
        check_queue(["campaigns", i, "queue"], queue)
        check_hours(["campaigns", i, "working_hours"], campaign.get("working_hours"))
        if mode in ("preview", "progressive", "predictive") and queue is None:
            issue(["campaigns", i, "queue"], f"a {mode} campaign needs the queue of its agents")
        if mode == "autoinformer" and campaign.get("message") is None:
            issue(["campaigns", i, "message"], "an autoinformer campaign needs a message")
        if mode != "autoinformer" and campaign.get("confirm_digit") is not None:
            issue(["campaigns", i, "confirm_digit"], "only an autoinformer asks for a digit")
