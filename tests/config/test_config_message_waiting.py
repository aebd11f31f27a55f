"""Configuration of the message waiting indication per extension and of RP-AS caller ID."""

from __future__ import annotations

import pytest

from firmware.calls.dialplan import Dialplan
from tests.config.test_config_schema import messages, sample


@pytest.mark.parametrize("how", ["stutter", "lamp", "both"])
def test_message_waiting_choices_are_accepted_and_reach_the_dial_plan(how: str) -> None:
    doc = sample()
    doc["extensions"][0]["message_waiting"] = how
    assert messages(doc) == []
    number = doc["extensions"][0]["number"]
    assert Dialplan.from_document(doc, ["fxs1", "fxs2"]).extensions[number].message_waiting == how


def test_message_waiting_defaults_to_both() -> None:
    doc = sample()
    doc["extensions"][0].pop("message_waiting", None)
    number = doc["extensions"][0]["number"]
    assert Dialplan.from_document(doc, ["fxs1"]).extensions[number].message_waiting == "both"


def test_a_bad_message_waiting_choice_is_named() -> None:
    doc = sample()
    doc["extensions"][0]["message_waiting"] = "blink"
    (found,) = messages(doc)
    assert found.startswith("extensions[0].message_waiting: 'blink' is not one of")
    assert all(choice in found for choice in ("stutter", "lamp", "both"))


def test_rpas_caller_id_is_a_setting() -> None:
    doc = sample()
    doc["system"]["caller_id"] = "v23-rpas"
    doc["ports"]["fxo1"] = {"caller_id": "v23-rpas"}
    assert messages(doc) == []
    doc["system"]["caller_id"] = "rpas"
    (found,) = messages(doc)
    assert found.startswith("system.caller_id: 'rpas' is not one of") and "v23-rpas" in found
