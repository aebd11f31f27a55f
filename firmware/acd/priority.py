"""A caller's priority in a queue: from the route, their number (VIP list) or their tags.

Owns the rule "which priority does this caller get on entering this queue". The ACD core
orders callers by priority, then arrival (``CallerArrived.priority``); the queue adapter
(firmware/calls/queues.py) asks :class:`VipLists` for each caller it admits. Three
sources, the highest wins:

- the route: the destination that sent the caller to the queue may carry a priority
  (``{"type": "queue", "target": "sales", "priority": 3}``, on an inbound route or an IVR
  choice — "press 1 if your line is down");
- the number, per queue: ``vip: [{"prefix": "+7916555", "priority": 5}, ...]``; a whole
  number is a prefix too. Prefixes are written as the installer likes (``8 916 555``) and
  compared in canonical form (firmware/numbers.py); the longest matching prefix wins;
- a tag: the directory lists contacts with tags (``{"number", "name", "tags": ["gold"]}``)
  and a queue gives tags a priority (``tag_priority: {"gold": 4}``).

No match, a withheld or malformed number: priority 0 (or the route's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from firmware.numbers import MalformedNumber, matches_prefix, normalize_number, normalize_prefix


class VipLists:
    """Each queue's VIP prefixes (longest first) and tag priorities; the directory's tags."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.country = str(doc.get("system", {}).get("country", "RU"))
        self._rules: dict[str, list[tuple[str, int]]] = {}
        self._tag_priority: dict[str, dict[str, int]] = {}
        for q in doc.get("queues", []):
            rules = [(normalize_prefix(str(v["prefix"]), self.country), int(v["priority"]))
                     for v in q.get("vip", [])]
            if rules:
                self._rules[q["id"]] = sorted(rules, key=lambda r: len(r[0]), reverse=True)
            if q.get("tag_priority"):
                self._tag_priority[q["id"]] = {str(t): int(p)
                                               for t, p in q["tag_priority"].items()}
        self._tags: dict[str, frozenset[str]] = {}
        for entry in doc.get("directory", []):
            if entry.get("tags"):
                try:
                    number = normalize_number(str(entry["number"]), self.country)
                except MalformedNumber:
                    continue
                self._tags[number] = frozenset(map(str, entry["tags"]))

    def priority(self, queue: str, number: str | None, route: int = 0) -> int:
        """The caller's priority in ``queue``: the highest of the route's (``route``), the
        VIP list's and their tags'."""
        rules = self._rules.get(queue)
        tag_priority = self._tag_priority.get(queue)
        if not number or not (rules or tag_priority):
            return route
        try:
            canonical = normalize_number(number, self.country)
        except MalformedNumber:
            return route
        best = route
        if rules:
            best = max(best, next((p for prefix, p in rules
                                   if matches_prefix(canonical, prefix)), 0))
        if tag_priority:
            best = max([best, *(tag_priority.get(t, 0)
                                for t in self._tags.get(canonical, ()))])
        return best
