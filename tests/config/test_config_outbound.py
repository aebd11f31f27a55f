"""Configuration of callbacks, campaigns, blacklist and time conditions: path-named checks."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

from firmware.callback import CallbackSettings, ConfigTrunkAdvisor
from firmware.config import find_issues, validate_document

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "callback"))
from cbrig import office_document  # noqa: E402

SIM_BOARD = frozenset(
    {"fxs1", "fxs2", "fxs3", "fxs4", "fxo1", "fxo2", "gsm1", "gsm2"}
    | {f"e1.{n}" for n in range(1, 31)}
)


def good() -> dict[str, Any]:
    doc = office_document()
    doc["campaigns"] = [
        {"id": "renewals", "name": "Renewals", "mode": "predictive", "queue": "sales",
         "abandon_cap_pct": 3, "max_attempts": 3, "retry": {"busy": [600], "no_answer": [3600]},
         "working_hours": "office"},
        {"id": "reminder", "name": "Reminder", "mode": "autoinformer", "message": "reminder-1",
         "confirm_digit": "1", "max_channels": 4},
    ]
    return doc


def messages(doc: dict[str, Any]) -> list[str]:
    return [str(i) for i in find_issues(doc, SIM_BOARD)]


def test_the_office_document_is_valid_and_loads_in_the_engines() -> None:
    doc = good()
    validate_document(doc, SIM_BOARD)
    settings = CallbackSettings.from_document(doc)
    assert settings.queues == {"sales", "support"}
    assert settings.retry.delay_after("busy", 1) == 120
    assert ConfigTrunkAdvisor(doc).candidates("+79161234567")[0].trunk == "gsm1"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["callback"].update(working_hours="weekend"),
         'callback.working_hours: unknown time condition "weekend"'),
        (lambda d: d["callback"]["missed"].update(queue="nope"),
         'callback.missed.queue: unknown queue "nope"'),
        (lambda d: d["callback"]["missed"].update(queue=None),
         "callback.missed.queue: automatic callback of missed calls needs a queue"),
        (lambda d: d["callback"]["trunks"].append({"trunk": "fxo1", "prefixes": ["+7"]}),
         'callback.trunks[2].trunk: trunk "fxo1" is not a SIM'),
        (lambda d: d["callback"]["trunks"].append({"trunk": "gsm9", "prefixes": []}),
         'callback.trunks[2].trunk: unknown trunk "gsm9"'),
        (lambda d: d["callback"]["retry"].update(busy=[-1]),
         "callback.retry.busy[0]: -1 is less than the minimum of 0"),
        (lambda d: d["callback"].update(dedup="1h"),
         'callback.dedup: unknown setting "dedup"'),
        (lambda d: d["blacklist"].append({"number": "call me"}),
         "blacklist[2].number: 'call me': unexpected character 'c'"),
        (lambda d: d["blacklist"].append({"number": "8 916 000 06 66"}),
         'blacklist[2].number: "8 916 000 06 66" is already listed as blacklist[0]'),
        (lambda d: d["time_conditions"][0]["weekly"][0].update(end="09:00"),
         "time_conditions[0].weekly[0].end: a range must not be empty"),
        (lambda d: d["time_conditions"][0]["holidays"].append("2025-02-30"),
         "time_conditions[0].holidays[1]: holiday '2025-02-30' is not a date"),
        (lambda d: d["time_conditions"].append(copy.deepcopy(d["time_conditions"][0])),
         'time_conditions[1].id: duplicate time condition "office"'),
        (lambda d: d["campaigns"][0].update(queue=None),
         "campaigns[0].queue: a predictive campaign needs the queue of its agents"),
        (lambda d: d["campaigns"][0].update(queue="marketing"),
         'campaigns[0].queue: unknown queue "marketing"'),
        (lambda d: d["campaigns"][1].update(message=None),
         "campaigns[1].message: an autoinformer campaign needs a message"),
        (lambda d: d["campaigns"][0].update(confirm_digit="1"),
         "campaigns[0].confirm_digit: only an autoinformer asks for a digit"),
        (lambda d: d["campaigns"][0].update(abandon_cap_pct=12),
         "campaigns[0].abandon_cap_pct: 12 is greater than the maximum of 10"),
        (lambda d: d["campaigns"].append(dict(d["campaigns"][1])),
         'campaigns[2].id: duplicate campaign "reminder"'),
    ],
)
def test_each_problem_names_its_path(edit: Any, expected: str) -> None:
    doc = good()
    edit(doc)
    found = messages(doc)
    assert any(m.startswith(expected) for m in found), found


def test_every_problem_is_reported_at_once() -> None:
    doc = good()
    doc["callback"]["working_hours"] = "weekend"
    doc["campaigns"][0]["queue"] = "marketing"
    doc["blacklist"].append({"number": "12"})
    found = messages(doc)
    assert len(found) == 3, found
    # in document order
    assert [m.split(":")[0] for m in found] == [
        "blacklist[2].number", "callback.working_hours", "campaigns[0].queue"]
