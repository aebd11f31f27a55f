"""VIP callers' priority by number prefix (firmware/acd/priority.py) and its validation."""

from __future__ import annotations

from firmware.acd.priority import VipLists
from tests.acd.test_acd_core import doc


def vip_doc(*rules: dict) -> dict:
    d = doc()
    d["system"] = {"country": "RU"}
    d["queues"][0]["vip"] = list(rules)
    return d


def test_longest_matching_prefix_wins_in_canonical_form() -> None:
    vip = VipLists(vip_doc({"prefix": "8 916", "priority": 2},
                           {"prefix": "+7916555", "priority": 7}))
    assert vip.priority("sales", "+79165551234") == 7
    assert vip.priority("sales", "89165551234") == 7          # national spelling of it
    assert vip.priority("sales", "+79161112233") == 2
    assert vip.priority("sales", "+74951112233") == 0
    assert vip.priority("support", "+79165551234") == 0       # another queue's list
    assert vip.priority("sales", None) == 0 and vip.priority("sales", "anonymous") == 0


def test_bad_prefixes_are_refused_by_path() -> None:
    from firmware.config import find_issues

    bad = vip_doc({"prefix": "+7916", "priority": 3},
                  {"prefix": "+12345678901234567", "priority": 3},
                  {"prefix": "x12", "priority": 3},
                  {"prefix": "+7", "priority": 12})
    found = [str(i) for i in find_issues(bad, [])]
    assert any(f.startswith("queues[0].vip[1].prefix") for f in found), found
    assert any(f.startswith("queues[0].vip[2].prefix") for f in found), found
    assert any(f.startswith("queues[0].vip[3].priority") for f in found), found
    assert not any("vip[0]" in f for f in found), found
