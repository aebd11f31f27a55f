"""Telephone numbers as the box compares and dials them.

Owns one canonical spelling of a subscriber number so that the blacklist, the callback
de-duplication, daily limits and the trunk advisor's operator prefixes all compare like with
like: ``8 (916) 123-45-67``, ``+7 916 1234567`` and ``79161234567`` are one number,
``+79161234567``.

Canonical form: ``+`` and the E.164 digits when the country code is known (written with
``+``, an international prefix, the national trunk prefix, or as a full national number of
the country's fixed length); otherwise the digits as given (a local number reachable only
over a line of that area). Anything else (letters, a ``+`` in the middle, too few or too many
digits) raises ``MalformedNumber`` saying why. Short numbers (under 5 digits: extensions,
emergency and service codes) are refused: they are never callback or campaign targets.

Pure functions, no I/O, no state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MIN_DIGITS: Final = 5       # shorter: an extension or a service/emergency code
MAX_DIGITS: Final = 15      # ITU-T E.164
MIN_INTERNATIONAL: Final = 8  # country code + a believable subscriber number
_SEPARATORS: Final = frozenset(" -().\u00a0/\t")


class MalformedNumber(ValueError):
    """A string that is not a telephone number; str() says what is wrong with it."""


@dataclass(frozen=True, slots=True)
class NumberingPlan:
    country_code: str | None
    trunk_prefixes: tuple[str, ...]      # national (long-distance) prefixes: "8", "0"
    international_prefixes: tuple[str, ...]  # "810", "00", "011"
    national_length: int | None = None   # digits of a full national number, when fixed


# A few plans the box ships with; other countries get the common European convention and
# keep national numbers unchanged (no country code to add).
PLANS: Final[dict[str, NumberingPlan]] = {
    "RU": NumberingPlan("7", ("8",), ("810", "00"), 10),
    "KZ": NumberingPlan("7", ("8",), ("810", "00"), 10),
    "US": NumberingPlan("1", ("1",), ("011",), 10),
    "CA": NumberingPlan("1", ("1",), ("011",), 10),
    "GB": NumberingPlan("44", ("0",), ("00",)),
    "DE": NumberingPlan("49", ("0",), ("00",)),
    "FR": NumberingPlan("33", ("0",), ("00",), 9),
    "IT": NumberingPlan("39", (), ("00",)),
    "ES": NumberingPlan("34", (), ("00",), 9),
    "UA": NumberingPlan("380", ("0",), ("00",), 9),
}
_DEFAULT_PLAN: Final = NumberingPlan(None, ("0",), ("00",))


def plan_for(country: str) -> NumberingPlan:
    return PLANS.get(country.upper(), _DEFAULT_PLAN)


def normalize_number(raw: str, country: str = "RU") -> str:
    """The canonical form of ``raw`` dialled from ``country`` (see the module doc)."""
    if not isinstance(raw, str):
        raise MalformedNumber(f"number must be text, not {type(raw).__name__}")
    text = raw.strip()
    if not text:
        raise MalformedNumber("number is empty")
    international = text.startswith("+")
    body = text[1:] if international else text
    digits: list[str] = []
    for ch in body:
        if ch in _SEPARATORS:
            continue
        if ch == "+":
            raise MalformedNumber(f"{raw!r}: '+' is allowed only at the start")
        if not ("0" <= ch <= "9"):
            raise MalformedNumber(f"{raw!r}: unexpected character {ch!r}")
        digits.append(ch)
    number = "".join(digits)
    if not number:
        raise MalformedNumber(f"{raw!r} has no digits")
    plan = plan_for(country)
    if not international:
        for prefix in sorted(plan.international_prefixes, key=len, reverse=True):
            if number.startswith(prefix) and len(number) > len(prefix) + 4:
                international, number = True, number[len(prefix):]
                break
    if not international and plan.country_code is not None:
        national = plan.national_length
        cc = plan.country_code
        trunk = next(
            (p for p in plan.trunk_prefixes
             if number.startswith(p) and (national is None or len(number) == len(p) + national)),
            None,
        )
        if trunk is not None and len(number) - len(trunk) >= MIN_DIGITS:
            international, number = True, cc + number[len(trunk):]
        elif national is not None and len(number) == national:
            international, number = True, cc + number
        elif (national is not None and len(number) == len(cc) + national
              and number.startswith(cc)):
            international = True
    if international:
        if len(number) < MIN_INTERNATIONAL:
            raise MalformedNumber(f"{raw!r}: too short for an international number")
        if len(number) > MAX_DIGITS:
            raise MalformedNumber(f"{raw!r}: longer than {MAX_DIGITS} digits")
        if number[0] == "0":
            raise MalformedNumber(f"{raw!r}: a country code never starts with 0")
        return "+" + number
    if len(number) < MIN_DIGITS:
        raise MalformedNumber(f"{raw!r}: too short (under {MIN_DIGITS} digits)")
    if len(number) > MAX_DIGITS:
        raise MalformedNumber(f"{raw!r}: longer than {MAX_DIGITS} digits")
    return number


def is_valid_number(raw: str, country: str = "RU") -> bool:
    try:
        normalize_number(raw, country)
    except MalformedNumber:
        return False
    return True


def national_form(number: str, country: str = "RU") -> str:
    """The digits to dial from ``country`` over a fixed line (FXO/E1) for a canonical number."""
    if not number.startswith("+"):
        return number
    plan = plan_for(country)
    digits = number[1:]
    international = plan.international_prefixes[0] + digits
    if plan.country_code is not None and digits.startswith(plan.country_code):
        trunk = plan.trunk_prefixes[0] if plan.trunk_prefixes else ""
        national = trunk + digits[len(plan.country_code):]
        # A home number whose national part begins like a prefix ("+44 0…" dialled as
        # "00…", "+7 10…" as "810…") would reach another number: dial it internationally.
        try:
            if normalize_number(national, country) == number:
                return national
        except MalformedNumber:
            pass
        return international
    return international


def normalize_prefix(raw: str, country: str) -> str:
    """A number prefix in canonical spelling: ``+7 809`` -> ``+7809``; digits kept as given."""
    text = "".join(ch for ch in raw.strip() if ch not in " -().")
    if text.startswith("+"):
        if not text[1:].isdigit() or not 1 <= len(text) - 1 <= 14:
            raise MalformedNumber(f"{raw!r} is not a number prefix")
        return text
    if not text.isdigit():
        raise MalformedNumber(f"{raw!r} is not a number prefix")
    # Written nationally ("8916") or with an international prefix ("810 49"): rewrite the
    # prefix as normalize_number() would rewrite a whole number; a local prefix stays.
    plan = plan_for(country)
    for intl in sorted(plan.international_prefixes, key=len, reverse=True):
        if text.startswith(intl) and len(text) > len(intl):
            return "+" + text[len(intl):]
    if plan.country_code is not None:
        for trunk in plan.trunk_prefixes:
            if text.startswith(trunk) and len(text) > len(trunk):
                return "+" + plan.country_code + text[len(trunk):]
    return text


def matches_prefix(number: str, prefix: str) -> bool:
    """A canonical number against a canonical prefix (``+7916``): plain string prefix."""
    return number.startswith(prefix)
