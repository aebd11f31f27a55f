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


def test_route_and_tag_priorities_the_highest_wins() -> None:
    d = vip_doc({"prefix": "+7916555", "priority": 3})
    d["queues"][0]["tag_priority"] = {"gold": 6, "silver": 2}
    d["directory"] = [{"number": "8 (916) 111-22-33", "name": "Gold Ltd", "tags": ["gold"]},
                      {"number": "+79165550000", "name": "Silver VIP", "tags": ["silver"]},
                      {"number": "+74950000000", "name": "Untagged"}]
    vip = VipLists(d)
    assert vip.priority("sales", "+79161112233") == 6            # tag, national spelling
    assert vip.priority("sales", "+79165550000") == 3            # VIP 3 beats silver 2
    assert vip.priority("sales", "+79165550000", route=5) == 5   # the route's is higher
    assert vip.priority("sales", "+74950000000") == 0
    assert vip.priority("sales", None, route=4) == 4             # withheld: the route's
    assert vip.priority("sales", "garbage", route=1) == 1
    assert vip.priority("support", "+79161112233") == 0          # another queue's tags


def test_priority_on_a_destination_that_is_not_a_queue_is_refused() -> None:
    from firmware.config import find_issues

    d = vip_doc()
    d["queues"][0]["tag_priority"] = {"Gold!": 3}
    d["directory"] = [{"number": "+79161112233", "name": "X", "tags": ["ok", "ok"]}]
    d["routes"] = [{"name": "r", "match": {"trunk": None},
                    "destination": {"type": "hangup", "priority": 3}}]
    found = [str(i) for i in find_issues(d, [])]
    assert any(f.startswith("queues[0].tag_priority") for f in found), found
    assert any(f.startswith("directory[0].tags") for f in found), found
    assert any(f.startswith("routes[0].destination.priority")
               and "only to a queue" in f for f in found), found
