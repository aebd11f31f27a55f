"""Validation of the configuration document: structure, meaning, messages, first boot."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.config import (
    ConfigError,
    ConfigValidationError,
    ValidationIssue,
    default_document,
    find_issues,
    upgrade_document,
    validate_document,
)

SIM_BOARD = frozenset(
    {"fxs1", "fxs2", "fxs3", "fxs4", "fxo1", "fxo2", "gsm1", "gsm2"}
    | {f"e1.{n}" for n in range(1, 31)}
)


def messages(doc: object, ports: frozenset[str] = SIM_BOARD) -> list[str]:
    return [str(issue) for issue in find_issues(doc, ports)]


def sample() -> dict[str, Any]:
    """The brief's example document, extended with a queue and a ring group."""
    return {
        "schema": 1,
        "system": {
            "name": "edgepbx",
            "country": "RU",
            "timezone": "Europe/Moscow",
            "language": "en",
        },
        "ports": {"fxs1": {"enabled": True, "label": "Reception"}},
        "extensions": [
            {"number": "201", "name": "Reception", "port": "fxs1", "enabled": True},
            {"number": "202", "name": "Office", "port": "fxs2", "enabled": True},
        ],
        "trunks": [
            {
                "id": "gsm1",
                "port": "gsm1",
                "enabled": True,
                "label": "MTS SIM",
                "max_concurrent": 1,
            },
            {"id": "e1", "port": "e1", "enabled": True, "max_concurrent": 30},
        ],
        "routes": [
            {
                "name": "GSM in",
                "match": {"trunk": "gsm1", "called": None, "caller_prefix": None},
                "destination": {"type": "extension", "target": "201"},
            },
            {
                "name": "E1 in",
                "match": {"trunk": "e1"},
                "destination": {"type": "ring_group", "target": "all"},
            },
            {
                "name": "Sales line",
                "match": {"trunk": "e1", "called": "4950001"},
                "destination": {"type": "queue", "target": "support"},
            },
        ],
        "outbound": [
            {
                "name": "mobile",
                "pattern": "^8\\d{10}$",
                "trunks": ["gsm1"],
                "strip": 0,
                "prepend": "",
            }
        ],
        "queues": [{"id": "support", "name": "Support", "members": ["201"]}],
        "ring_groups": [
            {"id": "all", "name": "All", "strategy": "ringall", "members": ["201", "202"]}
        ],
    }


def test_sample_document_is_valid() -> None:
    assert messages(sample()) == []
    validate_document(sample(), SIM_BOARD)


@pytest.mark.parametrize(
    "ports",
    [
        SIM_BOARD,
        frozenset({"fxs1", "fxs2"}),
        frozenset({"gsm1"}),
        frozenset({f"e1.{n}" for n in range(1, 31)}),
        frozenset(),
        frozenset({f"fxs{n}" for n in range(1, 13)}),
    ],
    ids=["sim", "fxs-only", "gsm-only", "e1-only", "no-ports", "twelve-fxs"],
)
def test_default_document_validates_on_every_board(ports: frozenset[str]) -> None:
    doc = default_document(ports)
    assert messages(doc, ports) == []
    assert doc["outbound"] == []  # nothing dials out until the installer allows it


def test_default_document_for_the_simulated_board() -> None:
    doc = default_document(SIM_BOARD)
    assert [(e["number"], e["port"]) for e in doc["extensions"]] == [
        ("201", "fxs1"),
        ("202", "fxs2"),
        ("203", "fxs3"),
        ("204", "fxs4"),
    ]
    assert [(t["id"], t["max_concurrent"]) for t in doc["trunks"]] == [
        ("fxo1", 1),
        ("fxo2", 1),
        ("gsm1", 1),
        ("gsm2", 1),
        ("e1", 30),
    ]
    assert {r["match"]["trunk"] for r in doc["routes"]} == {"fxo1", "fxo2", "gsm1", "gsm2", "e1"}
    assert all(r["destination"] == {"type": "extension", "target": "201"} for r in doc["routes"])


def test_extensions_follow_natural_port_order() -> None:
    doc = default_document({f"fxs{n}" for n in range(1, 12)})
    assert [e["port"] for e in doc["extensions"]][:3] == ["fxs1", "fxs2", "fxs3"]
    assert doc["extensions"][10] == {
        "number": "211",
        "name": "Extension 211",
        "port": "fxs11",
        "enabled": True,
    }


def test_messages_from_the_brief() -> None:
    doc = sample()
    doc["routes"][2]["destination"]["target"] = "sales"
    doc["extensions"][1]["number"] = "201"
    doc["extensions"][0]["port"] = "fxs9"
    assert messages(doc) == [
        'extensions[0].port: unknown port "fxs9"',
        'extensions[1].number: duplicate extension "201"',
        'routes[2].destination: unknown queue "sales"',
        # the ring group's member 202 vanished with the renumbering
        'ring_groups[0].members[1]: unknown extension "202"',
    ]


def test_all_problems_are_reported_and_joined_in_the_error() -> None:
    doc = sample()
    doc["sytem"] = doc.pop("system")  # a typo must not pass silently
    doc["extensions"][0]["number"] = "1"
    doc["extensions"][1]["colour"] = "red"
    doc["trunks"][0]["max_concurrent"] = 0
    with pytest.raises(ConfigValidationError) as caught:
        validate_document(doc, SIM_BOARD)
    assert str(caught.value).splitlines() == [
        'sytem: unknown setting "sytem"',
        "system: required setting is missing",
        "extensions[0].number: '1' does not match '^[0-9]{2,6}$'",
        'extensions[1].colour: unknown setting "colour"',
        "trunks[0].max_concurrent: 0 is less than the minimum of 1",
        # every reference to the renumbered extension is reported too
        'routes[0].destination: unknown extension "201"',
        'queues[0].members[0]: unknown extension "201"',
        'ring_groups[0].members[0]: unknown extension "201"',
    ]
    assert caught.value.issues[0] == ValidationIssue("sytem", 'unknown setting "sytem"')


def test_structure_errors_name_the_value() -> None:
    doc = sample()
    doc["schema"] = 2
    doc["system"]["country"] = "Russia"
    doc["routes"][0]["destination"]["type"] = "fax"
    doc["routes"][1]["match"]["called"] = "12a"
    doc["extensions"][0]["enabled"] = "yes"
    found = messages(doc)
    assert "schema: 1 was expected" in found
    assert "system.country: 'Russia' does not match '^[A-Z]{2}$'" in found
    assert any(m.startswith("routes[0].destination.type: 'fax' is not one of") for m in found)
    assert any(m.startswith("routes[1].match.called: ") and "'12a'" in m for m in found)
    assert "extensions[0].enabled: 'yes' is not of type 'boolean'" in found


def test_destination_targets() -> None:
    doc = sample()
    doc["routes"][0]["destination"] = {"type": "hangup", "target": "201"}
    doc["routes"][1]["destination"] = {"type": "extension"}
    doc["routes"][2]["destination"] = {"type": "ring_group", "target": "nobody"}
    assert messages(doc) == [
        'routes[0].destination.target: "hangup" takes no target',
        'routes[1].destination.target: "extension" needs a target',
        'routes[2].destination: unknown ring group "nobody"',
    ]


def test_ports_and_trunks() -> None:
    doc = sample()
    doc["ports"]["e1.31"] = {"enabled": False}
    doc["trunks"] += [
        {"id": "e1-5", "port": "e1.5", "enabled": True, "max_concurrent": 1},  # inside span e1
        {"id": "gsm1", "port": "gsm2", "enabled": True, "max_concurrent": 2},
        {"id": "phone", "port": "fxs3", "enabled": True, "max_concurrent": 1},
    ]
    doc["extensions"].append({"number": "203", "name": "x", "port": "gsm2", "enabled": True})
    doc["extensions"].append({"number": "204", "name": "x", "port": "fxs1", "enabled": True})
    assert messages(doc) == [
        'ports["e1.31"]: unknown port "e1.31"',
        'extensions[2].port: port "gsm2" is not a phone (FXS) port',
        'extensions[3].port: port "fxs1" is already used by extension "201"',
        'trunks[2].port: port "e1.5" is already used by trunk "e1"',
        'trunks[3].id: duplicate trunk "gsm1"',
        'trunks[3].max_concurrent: 2 exceeds the 1 channel(s) of port "gsm2"',
        'trunks[4].port: port "fxs3" is a phone (FXS) port, not a line',
    ]


def test_channel_trunks_share_a_span() -> None:
    doc = sample()
    doc["trunks"][1] = {"id": "e1a", "port": "e1.1", "enabled": True, "max_concurrent": 1}
    doc["trunks"].append({"id": "e1b", "port": "e1.2", "enabled": True, "max_concurrent": 1})
    for route in doc["routes"][1:]:
        route["match"]["trunk"] = "e1a"
    doc["routes"][2]["match"]["trunk"] = "e1b"
    assert messages(doc) == []


def test_routes_and_outbound_references() -> None:
    doc = sample()
    doc["routes"].append(copy.deepcopy(doc["routes"][0]))
    doc["routes"][3]["match"]["trunk"] = "gsm9"
    doc["routes"].append(dict(copy.deepcopy(doc["routes"][0]), name="again"))
    doc["outbound"].append({"name": "mobile", "pattern": "^8(", "trunks": ["gsm1", "gsm1", "fxo1"]})
    found = messages(doc)
    assert found[:2] == [
        'routes[3].name: duplicate route "GSM in"',
        'routes[3].match.trunk: unknown trunk "gsm9"',
    ]
    assert found[2] == "routes[4].match: same match as routes[0], this route is never used"
    assert found[3] == 'outbound[1].name: duplicate outbound route "mobile"'
    assert found[4].startswith('outbound[1].pattern: invalid regular expression "^8(": ')
    assert found[5:] == [
        'outbound[1].trunks[1]: duplicate trunk "gsm1"',
        'outbound[1].trunks[2]: unknown trunk "fxo1"',
    ]


def test_unknown_time_zone() -> None:
    doc = sample()
    doc["system"]["timezone"] = "Mars/Olympus"
    assert messages(doc) == ['system.timezone: unknown time zone "Mars/Olympus"']


def test_not_an_object() -> None:
    assert messages([]) == ["[] is not of type 'object'"]


def test_upgrade_refuses_newer_documents() -> None:
    assert upgrade_document(sample()) == sample()
    newer = dict(sample(), schema=99)
    with pytest.raises(ConfigError, match="schema 99 is newer"):
        upgrade_document(newer)


# --- property tests: validation never crashes, whatever the document ----------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
SECTIONS = [
    "system",
    "ports",
    "extensions",
    "trunks",
    "routes",
    "outbound",
    "queues",
    "ring_groups",
]


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_value_gives_issues_not_exceptions(value: object) -> None:
    assert isinstance(find_issues(value, SIM_BOARD), list)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(SECTIONS),
    st.integers(min_value=0, max_value=3),
    st.text(max_size=6),
    json_values,
)
def test_damaged_documents_give_issues_not_exceptions(
    section: str, index: int, key: str, value: object
) -> None:
    doc = sample()
    target = doc[section]
    if isinstance(target, list) and target:
        item = target[index % len(target)]
        item[key if key else "name"] = value
    elif isinstance(target, dict):
        target[key] = value
    else:
        doc[section] = value
    issues = find_issues(doc, SIM_BOARD)
    assert all(isinstance(i, ValidationIssue) for i in issues)


def test_caller_id_settings() -> None:
    doc = sample()
    doc["system"]["caller_id"] = "v23-dtas"
    doc["ports"]["fxo1"] = {"caller_id": "off"}
    doc["ports"]["fxs2"] = {"caller_id": "dtmf"}
    assert messages(doc) == []
    doc["system"]["caller_id"] = "fsk"
    doc["ports"]["gsm1"] = {"caller_id": "v23"}
    found = messages(doc)
    assert len(found) == 2
    assert found[0].startswith("system.caller_id: 'fsk' is not one of")
    assert found[1] == ('ports.gsm1.caller_id: caller ID is an analog port setting: "gsm1" '
                        "is not an FXS or FXO port")


def test_directory() -> None:
    doc = sample()
    doc["directory"] = [{"number": "+79161234567", "name": "Ivan Petrov"},
                        {"number": "84951234567", "name": "ACME"}]
    assert messages(doc) == []
    doc["directory"] += [{"number": "89161234567", "name": "Ivan again"},
                         {"number": "201", "name": "Not here"},
                         {"number": "12ab", "name": "Bad"}]
    found = messages(doc)
    assert found == [
        "directory[4].number: '12ab' does not match '^\\\\+?[0-9]{2,20}$'",
        'directory[2].number: "89161234567" is already listed as directory[0]',
        'directory[3].number: "201" is an extension: its name comes from the extension',
    ]

def test_sim_limits_on_gsm_trunks() -> None:
    from firmware.config import default_document

    doc = default_document(sorted(SIM_BOARD))
    gsm = next(i for i, t in enumerate(doc["trunks"]) if t["port"] == "gsm1")
    fxo = next(i for i, t in enumerate(doc["trunks"]) if t["port"] == "fxo1")
    doc["trunks"][gsm]["sim"] = {"concurrent_calls": 1, "minutes_per_day": 60,
                                 "minutes_per_month": 1000, "sms_per_day": None,
                                 "max_call_s": 1800, "prefixes": ["+7916", "8916"],
                                 "cost_on_net": 0.1, "cost_off_net": 1.5,
                                 "balance_code": "*100#"}
    assert messages(doc) == []
    doc["trunks"][gsm]["sim"].update(minutes_per_day=2000, prefixes=["+7916", "+7916"],
                                     balance_code="balance?")
    doc["trunks"][fxo]["sim"] = {}
    assert sorted(messages(doc)) == sorted([
        f'trunks[{fxo}].sim: SIM limits need a GSM port; "fxo1" is not one',
        f"trunks[{gsm}].sim.balance_code: 'balance?' is not valid under any of the given "
        "schemas",
        f"trunks[{gsm}].sim.minutes_per_day: 2000 a day exceeds the 1000 of "
        "minutes_per_month",
        f'trunks[{gsm}].sim.prefixes[1]: duplicate prefix "+7916"',
    ])
