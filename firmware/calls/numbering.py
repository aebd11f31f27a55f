"""What kind of number a dialed string is, per country: the basis of class of service and
of the toll-fraud guard.

Classes, from least to most expensive: ``emergency`` (always allowed), ``internal`` (an
extension or feature of the box), ``local``, ``national``, ``mobile``, ``international``,
``premium`` (premium-rate and other shared-cost abuse targets).

How a number is classified: emergency numbers first; then a number dialed in E.164 form
(``+CC…``) or with the country's international prefix is international unless CC is the
box's own country; a national number (``+CC…`` of our country, or the trunk prefix followed
by the national significant number (NSN), or an NSN of full length) is classified by its
NSN prefix (mobile and premium ranges); a short number is local. The facts are the national
numbering plans' (ITU-T E.164 country codes, the regulators' published plans), kept coarse:
the ranges that matter for cost and fraud.
"""

from __future__ import annotations

from dataclasses import dataclass

CLASSES = ("emergency", "internal", "local", "national", "mobile", "international", "premium")
RANK = {name: i for i, name in enumerate(CLASSES)}

# Class of service an extension may hold: the most expensive class it may dial.
COS_LEVELS = ("internal", "local", "national", "mobile", "international")


@dataclass(frozen=True, slots=True)
class NumberingPlan:
    country_code: str                        # E.164, without "+"; "" for a generic plan
    trunk_prefix: str                        # national (trunk) prefix: "8" RU, "0" UK/DE
    nsn_length: int                          # digits of a national significant number
    emergency: tuple[str, ...]
    international_prefixes: tuple[str, ...]  # what dials abroad from a fixed line
    mobile: tuple[str, ...] = ()             # NSN prefixes of mobile ranges
    premium: tuple[str, ...] = ()            # NSN prefixes of premium-rate ranges


PLANS: dict[str, NumberingPlan] = {
    "RU": NumberingPlan("7", "8", 10, ("112", "101", "102", "103", "104"), ("810",),
                        mobile=("9",), premium=("809", "803")),
    "UA": NumberingPlan("380", "0", 9, ("112", "101", "102", "103", "104"), ("00",),
                        mobile=("39", "50", "63", "66", "67", "68", "73", "9"),
                        premium=("900",)),
    "PL": NumberingPlan("48", "", 9, ("112", "997", "998", "999"), ("00",),
                        mobile=("45", "5", "6", "72", "73", "78", "79", "88"),
                        premium=("70",)),
    "UK": NumberingPlan("44", "0", 10, ("999", "112"), ("00",),
                        mobile=("7",), premium=("9", "87")),
    "US": NumberingPlan("1", "1", 10, ("911",), ("011",), premium=("900", "976")),
    "DE": NumberingPlan("49", "0", 10, ("112", "110"), ("00",),
                        mobile=("15", "16", "17"), premium=("900", "137")),
    "EU": NumberingPlan("", "0", 9, ("112",), ("00",), premium=("90",)),
}


def plan_for(country: str) -> NumberingPlan:
    return PLANS.get(country.upper(), PLANS["EU"])


def _nsn_class(nsn: str, plan: NumberingPlan) -> str:
    if any(nsn.startswith(p) for p in plan.premium):
        return "premium"
    if any(nsn.startswith(p) for p in plan.mobile):
        return "mobile"
    return "national"


def classify(number: str, country: str) -> str:
    """The class of an external number as dialed (after the route's digit manipulation)."""
    plan = plan_for(country)
    digits = number.strip()
    if digits in plan.emergency:
        return "emergency"
    if digits.startswith("+"):
        if plan.country_code and digits[1:].startswith(plan.country_code):
            return _nsn_class(digits[1 + len(plan.country_code):], plan)
        return "international"
    if any(digits.startswith(p) for p in plan.international_prefixes):
        return "international"
    if plan.trunk_prefix and digits.startswith(plan.trunk_prefix) \
            and len(digits) == len(plan.trunk_prefix) + plan.nsn_length:
        return _nsn_class(digits[len(plan.trunk_prefix):], plan)
    if not plan.trunk_prefix and len(digits) == plan.nsn_length:
        return _nsn_class(digits, plan)
    if len(digits) < plan.nsn_length:
        return "local"
    return "national"


def cos_allows(cos: str, number_class: str) -> bool:
    """Whether an extension of class of service ``cos`` may dial a number of this class.
    Emergency numbers are always allowed; premium-rate numbers never by class of service
    (only an explicit allow-list of the toll-fraud guard opens them)."""
    if number_class == "emergency":
        return True
    if number_class == "premium":
        return False
    return RANK[number_class] <= RANK.get(cos, RANK["internal"])
