"""Campaign contact lists from CSV: broken rows by line, good rows in, nothing half-applied."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.callback import Blacklist
from firmware.campaigns import ContactImportError, import_contacts, parse_contacts
from firmware.store import EventStore

NOW = 1_741_000_000.0
BLACKLIST = Blacklist.from_entries([{"number": "+79160000666"}], "RU")

GOOD_AND_BAD = """\
Phone;Name;Priority;Scheduled;Contract
8 (916) 123-45-67;Anna;2;2025-03-04 10:30;A-1
+7 903 555 12 12;Boris;;;B-2
call me maybe;Clara;1;;C-3
+79160000666;Dmitri;1;;D-4
89161234567;Anna again;1;;A-5
+7 905 000 00 01;Eva;12;;E-6
+7 905 000 00 02;Fedor;1;next tuesday;F-7
+7 905 000 00 03;Galina;1

+7 905 000 00 04;Igor;0;2025-03-05T09:00:00+00:00;I-9
"""


def test_good_rows_imported_broken_rows_reported_by_line() -> None:
    contacts, errors = parse_contacts(GOOD_AND_BAD, country="RU", timezone="Europe/Moscow",
                                      blacklist=BLACKLIST)
    assert [(c.line, c.number) for c in contacts] == [
        (2, "+79161234567"), (3, "+79035551212"), (11, "+79050000004")]
    assert [str(e) for e in errors] == [
        "line 4: malformed number: 'call me maybe': unexpected character 'c'",
        "line 5: number +79160000666 is blacklisted",
        "line 6: number +79161234567 already on line 2",
        "line 7: priority '12' is not 0-9",
        "line 8: scheduled 'next tuesday' is not an ISO 8601 date/time",
        "line 9: 3 fields, the header has 5",
    ]
    anna, boris, igor = contacts
    assert (anna.name, anna.priority, anna.fields) == ("Anna", 2, {"Contract": "A-1"})
    assert anna.scheduled_ts == dt.datetime(
        2025, 3, 4, 10, 30, tzinfo=ZoneInfo("Europe/Moscow")).timestamp()
    assert boris.priority == 0 and boris.scheduled_ts is None
    assert igor.scheduled_ts == dt.datetime(2025, 3, 5, 9, tzinfo=dt.UTC).timestamp()


def test_import_writes_good_rows_and_skips_numbers_already_in_the_campaign() -> None:
    with EventStore.open(":memory:") as store:
        report = import_contacts(store, "renewals", GOOD_AND_BAD, NOW, country="RU",
                                 timezone="Europe/Moscow", blacklist=BLACKLIST)
        assert report.imported == 3 and len(report.errors) == 6
        contacts = store.campaign_contacts("renewals")
        assert [c.number for c in contacts] == ["+79161234567", "+79035551212", "+79050000004"]
        assert contacts[0].next_ts == contacts[0].scheduled_ts   # not before its schedule
        assert contacts[1].next_ts == NOW
        again = import_contacts(store, "renewals", "number\n+7 903 555-12-12\n+7 999 000 0000\n",
                                NOW, country="RU", timezone="UTC")
        assert again.imported == 1
        assert [str(e) for e in again.errors] == [
            "line 2: number +79035551212 is already in the campaign"]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("", "empty"),
        ("name,priority\nAnna,1\n", "no number column"),
        ("number,name,Name\n+79161234567,a,b\n", "duplicate columns"),
        ("number\n", "no contacts"),
        (b"number\n\x98\x98\n", "neither UTF-8 nor Windows-1251"),
        ("number\n\x00\n", "NUL"),
        ('number,name\n+79161234567,"unterminated\n', "unexpected end of data"),
    ],
)
def test_fatal_errors_import_nothing(data: str | bytes, why: str) -> None:
    with EventStore.open(":memory:") as store:
        with pytest.raises(ContactImportError, match=why):
            import_contacts(store, "c", data, NOW, country="RU", timezone="UTC")
        assert store.campaign_contacts("c") == []
        assert store.audit_log() == []


def test_windows_1251_and_bom() -> None:
    text = "Телефон;Имя;Договор\n8 916 123 45 67;Анна;Д-1\n"
    contacts, errors = parse_contacts(text.encode("cp1251"), country="RU", timezone="UTC")
    assert errors == [] and contacts[0].name == "Анна" and contacts[0].fields == {"Договор": "Д-1"}
    contacts, _ = parse_contacts("\ufeffnumber,name\n+79161234567,A\n".encode(),
                                 country="RU", timezone="UTC")
    assert contacts[0].number == "+79161234567"


def test_a_database_error_midway_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    with EventStore.open(":memory:") as store:
        real = store.audit

        def failing_audit(*args: object, **kwargs: object) -> int:
            raise RuntimeError("disk full")

        monkeypatch.setattr(store, "audit", failing_audit)
        with pytest.raises(RuntimeError, match="disk full"):
            import_contacts(store, "c", "number\n+79161234567\n+79161234568\n", NOW,
                            country="RU", timezone="UTC")
        monkeypatch.setattr(store, "audit", real)
        assert store.campaign_contacts("c") == []


cells = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(cells, cells, cells), max_size=20))
def test_any_table_is_parsed_or_refused_cleanly(rows: list[tuple[str, str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["number", "name", "priority"])
    writer.writerows(rows)
    try:
        contacts, errors = parse_contacts(buffer.getvalue(), country="RU", timezone="UTC")
    except ContactImportError as exc:
        assert str(exc)
        return
    # every data line is accounted for exactly once: imported or reported
    lines = [c.line for c in contacts] + [e.line for e in errors]
    assert len(lines) == len(set(lines))
    assert len({c.number for c in contacts}) == len(contacts)
    assert all(0 <= c.priority <= 9 for c in contacts)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.from_regex(r"\+7 9[0-9]{2} [0-9]{3}-[0-9]{2}-[0-9]{2}", fullmatch=True),
                min_size=1, max_size=30))
def test_valid_numbers_all_import_once(numbers: list[str]) -> None:
    text = "number\n" + "\n".join(numbers) + "\n"
    contacts, errors = parse_contacts(text, country="RU", timezone="UTC")
    assert len(contacts) == len(set(n.replace(" ", "").replace("-", "") for n in numbers))
    assert all("already on line" in e.reason for e in errors)
