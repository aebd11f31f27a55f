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

Emergency numbers also bound the box's own numbering: no internal number (extension...)
may equal one, be the start of one or start with one (``emergency_clash``), since digits
are collected one at a time and either number would shadow the other. The dial plan
checks emergency numbers before anything internal, so even a stale configuration with
such a clash sends an emergency call out.
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
    emergency: dict[str, str]                # number -> the service it reaches
    international_prefixes: tuple[str, ...]  # what dials abroad from a fixed line
    mobile: tuple[str, ...] = ()             # NSN prefixes of mobile ranges
    premium: tuple[str, ...] = ()            # NSN prefixes of premium-rate ranges


_GENERAL = "general emergency number"

PLANS: dict[str, NumberingPlan] = {
    "RU": NumberingPlan("7", "8", 10,
                        {"112": _GENERAL, "101": "fire service", "102": "police",
                         "103": "ambulance", "104": "gas emergency service"}, ("810",),
                        mobile=("9",), premium=("809", "803")),
    "UA": NumberingPlan("380", "0", 9,
                        {"112": _GENERAL, "101": "fire service", "102": "police",
                         "103": "ambulance", "104": "gas emergency service"}, ("00",),
                        mobile=("39", "50", "63", "66", "67", "68", "73", "9"),
                        premium=("900",)),
    "PL": NumberingPlan("48", "", 9,
                        {"112": _GENERAL, "997": "police", "998": "fire service",
                         "999": "ambulance"}, ("00",),
                        mobile=("45", "5", "6", "72", "73", "78", "79", "88"),
                        premium=("70",)),
    "UK": NumberingPlan("44", "0", 10, {"999": "emergency services", "112": _GENERAL},
                        ("00",), mobile=("7",), premium=("9", "87")),
    "US": NumberingPlan("1", "1", 10, {"911": "emergency services"}, ("011",),
                        premium=("900", "976")),
    "DE": NumberingPlan("49", "0", 10,
                        {"112": "fire service and ambulance", "110": "police"}, ("00",),
                        mobile=("15", "16", "17"), premium=("900", "137")),
    "EU": NumberingPlan("", "0", 9, {"112": _GENERAL}, ("00",), premium=("90",)),
}


def plan_for(country: str) -> NumberingPlan:
    """The plan of ``country`` (GB, the ISO code, is the UK); the generic one if unknown."""
    code = country.upper()
    return PLANS.get("UK" if code == "GB" else code, PLANS["EU"])


def emergency_clash(number: str, country: str) -> str | None:
    """How internal ``number`` collides with an emergency number of ``country``: the same
    number, the start of one ("10" of "101") or a number beginning with one ("1011"); said
    in words naming the service. None when it is clear, or is a feature code ("*...")."""
    if not number or number.startswith("*"):
        return None
    for emergency, service in plan_for(country).emergency.items():
        where = f"in {country} ({service})"
        if number == emergency:
            return f'"{number}" is an emergency number {where}'
        if emergency.startswith(number):
            return f'"{number}" is the start of the emergency number {emergency} {where}'
        if number.startswith(emergency):
            return f'"{number}" begins with the emergency number {emergency} {where}'
    return None


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
