"""A caller's priority in a queue from their number: the queue's VIP list.

Owns the rule "which priority does this caller get on entering this queue". The ACD core
orders callers by priority, then arrival (``CallerArrived.priority``); the queue adapter
(firmware/calls/queues.py) asks :class:`VipLists` for the number of each caller it admits.

Configuration, per queue: ``vip: [{"prefix": "+7916555", "priority": 5}, ...]``; a whole
number is a prefix too. Prefixes are written as the installer likes (``8 916 555``) and
compared in canonical form (firmware/numbers.py). The longest matching prefix wins; no
match, a withheld or malformed number: priority 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from firmware.numbers import MalformedNumber, matches_prefix, normalize_number, normalize_prefix


class VipLists:
    """Each queue's VIP prefixes, longest first."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.country = str(doc.get("system", {}).get("country", "RU"))
        self._rules: dict[str, list[tuple[str, int]]] = {}
        for q in doc.get("queues", []):
            rules = [(normalize_prefix(str(v["prefix"]), self.country), int(v["priority"]))
                     for v in q.get("vip", [])]
            if rules:
                self._rules[q["id"]] = sorted(rules, key=lambda r: len(r[0]), reverse=True)

    def priority(self, queue: str, number: str | None) -> int:
        rules = self._rules.get(queue)
        if not rules or not number:
            return 0
        try:
            canonical = normalize_number(number, self.country)
        except MalformedNumber:
            return 0
        return next((p for prefix, p in rules if matches_prefix(canonical, prefix)), 0)
