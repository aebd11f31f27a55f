"""The number normaliser: one spelling per number, clear refusals, property-tested."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from firmware.callback.policy import Blacklist, normalize_prefix
from firmware.numbers import (
    PLANS,
    MalformedNumber,
    national_form,
    normalize_number,
)

CANONICAL = re.compile(r"^\+[1-9][0-9]{7,14}$|^[0-9]{5,15}$")


@pytest.mark.parametrize(
    "raw",
    ["+7 916 123-45-67", "8 (916) 123-45-67", "89161234567", "79161234567", "9161234567",
     "810 7 916 1234567", "00 7 916 123 45 67", "+7(916)1234567", " +7.916.123.45.67 "],
)
def test_russian_spellings_of_one_mobile_number(raw: str) -> None:
    assert normalize_number(raw, "RU") == "+79161234567"


@pytest.mark.parametrize(
    ("raw", "country", "canonical"),
    [
        ("030 1234567", "DE", "+49301234567"),
        ("0049 30 1234567", "DE", "+49301234567"),
        ("(212) 555-0100", "US", "+12125550100"),
        ("1 212 555 0100", "US", "+12125550100"),
        ("011 44 20 7946 0000", "US", "+442079460000"),
        ("1234567", "RU", "1234567"),          # a local number: kept as dialled
        ("12345", "ZZ", "12345"),
        ("0301234567", "ZZ", "0301234567"),    # unknown plan: national numbers unchanged
    ],
)
def test_other_plans_and_local_numbers(raw: str, country: str, canonical: str) -> None:
    assert normalize_number(raw, country) == canonical


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("112", "too short"),
        ("101", "too short"),
        ("+7 916 abc", "unexpected character 'a'"),
        ("7+916", "'+' is allowed only at the start"),
        ("+123", "too short for an international"),
        ("+7916123456789012", "longer than 15"),
        ("+0123456789", "never starts with 0"),
        ("--", "no digits"),
    ],
)
def test_malformed_numbers_say_why(raw: str, why: str) -> None:
    with pytest.raises(MalformedNumber, match=re.escape(why)):
        normalize_number(raw, "RU")


def test_national_form_for_fixed_lines() -> None:
    assert national_form("+79161234567", "RU") == "89161234567"
    assert national_form("+49301234567", "RU") == "81049301234567"
    assert national_form("+49301234567", "DE") == "0301234567"
    assert national_form("1234567", "RU") == "1234567"


def test_prefixes_and_blacklist() -> None:
    assert normalize_prefix("8916", "RU") == "+7916"
    assert normalize_prefix("+7 809", "RU") == "+7809"
    assert normalize_prefix("810 49", "RU") == "+49"
    blacklist = Blacklist.from_entries(
        [{"number": "8 916 000-00-01"}, {"number": "+7809*"}], "RU")
    assert "+79160000001" in blacklist
    assert "+78091234567" in blacklist
    assert "+79160000002" not in blacklist


countries = st.sampled_from(sorted(PLANS) + ["ZZ"])
separators = st.sampled_from([" ", "-", "(", ")", ".", "/", ""])


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="+0123456789 -().abc/#*", max_size=24), countries)
def test_never_crashes_and_output_is_canonical_and_stable(raw: str, country: str) -> None:
    try:
        number = normalize_number(raw, country)
    except MalformedNumber as exc:
        assert str(exc)  # always says why
        return
    assert CANONICAL.match(number), number
    assert normalize_number(number, country) == number  # idempotent


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\+[1-9][0-9]{7,14}", fullmatch=True), st.lists(separators, max_size=30),
       countries)
def test_separators_do_not_matter(number: str, seps: list[str], country: str) -> None:
    spelled = number[:1] + "".join(
        ch + (seps[i] if i < len(seps) else "") for i, ch in enumerate(number[1:]))
    assert normalize_number(spelled, country) == normalize_number(number, country) == number


# Hypothesis draws each test's seed from one process-wide generator, so whether a rare
# input is found depends on which property tests ran before in the same process. The
# inputs once found only in some orders are pinned here: home numbers whose national
# part begins like a trunk or international prefix.
@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"\+[1-9][0-9]{7,14}", fullmatch=True), countries)
@example("+44010000000", "GB")
@example("+71012345678", "RU")
@example("+33012345678", "FR")
@example("+380012345678", "UA")
@example("+10112345678", "US")
def test_national_form_round_trips(number: str, country: str) -> None:
    plan = PLANS.get(country)
    assume(plan is not None and plan.country_code is not None)
    assert plan is not None and plan.country_code is not None
    if number[1:].startswith(plan.country_code):
        # a home number round-trips when it has the plan's national length (when fixed)
        national = len(number) - 1 - len(plan.country_code)
        assume(plan.national_length in (None, national) and plan.trunk_prefixes)
    dialled = national_form(number, country)
    assert normalize_number(dialled, country) == number
