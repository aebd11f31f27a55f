"""Internal numbers against the country's emergency numbers (issue #5): none may equal an
emergency number, be the start of one or begin with one; a change of country re-checks
every number; the first-boot numbering is valid in every country the box knows."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from drivers.board import known_port_ids
from drivers.board.sim import SimBoard
from firmware.calls.dialplan import Dialplan, FeatureCodes
from firmware.calls.numbering import PLANS, emergency_clash
from firmware.config import ConfigStore, ConfigValidationError, default_document, find_issues

SIM_BOARD = known_port_ids(SimBoard.layout())


def office(country: str, *numbers: str) -> dict[str, Any]:
    """The first-boot document of the simulated board in ``country``, its extensions
    renumbered to ``numbers`` in order."""
    doc = default_document(SIM_BOARD, country=country)
    for ext, number in zip(doc["extensions"], numbers, strict=False):
        ext.update(number=number, name=f"Extension {number}")
    for route in doc["routes"]:
        route["destination"] = {"type": "extension", "target": doc["extensions"][0]["number"]}
    return doc


def messages(doc: dict[str, Any]) -> list[str]:
    return [str(issue) for issue in find_issues(doc, SIM_BOARD)]


def test_the_issue_message_names_the_number_the_country_and_the_service() -> None:
    assert messages(office("RU", "101")) == [
        'extensions[0].number: "101" is an emergency number in RU (fire service); '
        "choose another number"]


@pytest.mark.parametrize("country, number, service", [
    (country, number, service)
    for country, plan in sorted(PLANS.items()) for number, service in plan.emergency.items()
])
def test_every_emergency_number_of_every_country_is_refused_as_an_extension(
        country: str, number: str, service: str) -> None:
    assert messages(office(country, "201", number)) == [
        f'extensions[1].number: "{number}" is an emergency number in {country} ({service}); '
        "choose another number"]


@pytest.mark.parametrize("number, emergency", [
    ("10", "101"), ("11", "112"), ("1011", "101"), ("10499", "104"), ("1120", "112"),
])
def test_the_start_of_an_emergency_number_or_a_longer_one_is_refused(
        number: str, emergency: str) -> None:
    """Digits are collected one at a time: "10" would cut 101 off, and 1011 could never be
    dialed (101 goes out as soon as it is complete)."""
    (message,) = messages(office("RU", number))
    assert message.startswith(f'extensions[0].number: "{number}" ')
    assert f"emergency number {emergency} in RU" in message
    assert message.endswith("; choose another number")


@pytest.mark.parametrize("country, number", [
    ("RU", "100"), ("RU", "105"), ("RU", "113"), ("US", "101"), ("US", "112"),
    ("PL", "101"), ("DE", "101"), ("UK", "911"), ("EU", "999"),
])
def test_numbers_clear_of_the_country_plan_are_accepted(country: str, number: str) -> None:
    assert messages(office(country, number)) == []


def test_gb_is_the_uk_and_an_unknown_country_keeps_112() -> None:
    assert '"999" is an emergency number in GB' in messages(office("GB", "999"))[0]
    assert '"112" is an emergency number in FR' in messages(office("FR", "112"))[0]
    assert messages(office("FR", "101")) == []


def test_every_reference_to_an_extension_is_an_extension_number() -> None:
    """Queue and ring-group members, agents and destinations name extensions, so none can
    be an emergency number either: "101" in RU is refused as an unknown extension."""
    doc = office("RU")
    doc["queues"] = [{"id": "q", "name": "Q", "members": ["101"]}]
    doc["ring_groups"] = [{"id": "g", "name": "G", "strategy": "ringall", "members": ["101"]}]
    doc["agents"] = [{"id": "ann", "name": "Ann", "extension": "101"}]
    doc["routes"][0]["destination"] = {"type": "voicemail", "target": "101"}
    doc["routes"][1]["destination"] = {"type": "extension", "target": "101"}
    assert sorted(messages(doc)) == sorted([
        'queues[0].members[0]: unknown extension "101"',
        'ring_groups[0].members[0]: unknown extension "101"',
        'agents[0].extension: unknown extension "101"',
        'routes[0].destination: unknown extension "101"',
        'routes[1].destination: unknown extension "101"',
    ])


def test_feature_codes_and_park_slots_clash_with_no_country() -> None:
    """The box's other dialable numbers are fixed (not in the document): feature codes
    start with "*" and the park slots are 701..709; none may shadow an emergency number."""
    defaults = FeatureCodes()
    codes = [getattr(defaults, f.name) for f in fields(defaults) if f.name != "park_prefix"]
    assert all(code.startswith("*") for code in codes)
    for country in [*PLANS, "GB"]:
        assert Dialplan(country=country).emergency_clashes() == []
        assert [c for c in codes if emergency_clash(c, country)] == []
    assert emergency_clash("*101", "RU") is None


BOARD_SIZES = [(4, 2, 2, 30), (0, 2, 2, 30), (1, 0, 0, 0), (12, 0, 0, 60), (24, 4, 4, 30),
               (120, 0, 0, 136), (720, 0, 0, 0)]


@pytest.mark.parametrize("fxs, fxo, gsm, e1", BOARD_SIZES,
                         ids=[f"{s[0]}fxs-{s[1]}fxo-{s[2]}gsm-{s[3]}e1" for s in BOARD_SIZES])
def test_the_default_numbering_is_valid_in_every_country(
        fxs: int, fxo: int, gsm: int, e1: int) -> None:
    ports = known_port_ids(SimBoard.layout(fxs, fxo, gsm, e1))
    doc = default_document(ports)
    numbers = [int(e["number"]) for e in doc["extensions"]]
    assert len(numbers) == fxs and numbers[:2] == [201, 202][:fxs]
    assert numbers == sorted(set(numbers))
    for country in [*PLANS, "GB"]:
        doc["system"]["country"] = country
        assert find_issues(doc, ports) == [], country
    if fxs > 700:   # 201.. reaches 9xx: 911 (US) and 997..999 (PL, UK) are passed over
        assert not {911, 997, 998, 999} & set(numbers) and 910 in numbers and 912 in numbers


def store_with(path: Path, doc: dict[str, Any]) -> ConfigStore:
    store = ConfigStore.open(path, SIM_BOARD)
    store.commit(doc, author="test")
    return store


@pytest.mark.parametrize("country, number, message", [
    ("RU", "101", '"101" is an emergency number in RU (fire service)'),
    ("UA", "103", '"103" is an emergency number in UA (ambulance)'),
    ("DE", "110", '"110" is an emergency number in DE (police)'),
    ("PL", "99", '"99" is the start of the emergency number 997 in PL (police)'),
    ("UK", "9990", '"9990" begins with the emergency number 999 in UK (emergency services)'),
])
def test_changing_the_country_rechecks_every_number_and_refuses_the_change_whole(
        tmp_path: Path, country: str, number: str, message: str) -> None:
    with store_with(tmp_path / "config.json", office("US", "201", number)) as store:
        rev, before = store.revision, store.current
        applied: list[dict[str, Any]] = []
        store.subscribe(lambda _old, new: applied.append(new))
        doc = store.current
        doc["system"]["country"] = country
        with pytest.raises(ConfigValidationError) as caught:
            store.commit(doc, author="test")
        assert [str(i) for i in caught.value.issues] == [
            f"extensions[1].number: {message}; choose another number"]
        assert (store.revision, store.current, applied) == (rev, before, [])
        reopened = ConfigStore.open(tmp_path / "config.json", SIM_BOARD)
        assert (reopened.revision, reopened.current) == (rev, before)
        reopened.close()
        # renumbered in the same change, the new country is accepted
        doc["extensions"][1]["number"] = "205"
        assert store.commit(doc, author="test") == rev + 1
        assert store.current["system"]["country"] == country


def test_a_refused_change_does_not_touch_other_sections(tmp_path: Path) -> None:
    """One commit that switches to RU and renames the box is refused as a whole."""
    with store_with(tmp_path / "config.json", office("US", "101")) as store:
        doc = store.current
        doc["system"].update(country="RU", name="Moscow office")
        with pytest.raises(ConfigValidationError):
            store.commit(doc, author="test")
        assert store.current["system"] == office("US")["system"]
