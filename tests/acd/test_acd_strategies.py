"""Every distribution strategy's choice, on crafted states."""

from __future__ import annotations

from collections import Counter

import pytest

from firmware.acd import messages as m
from tests.acd.helpers import core_with, of


def rung(out: list) -> list[str]:
    return [c.agent for c in of(m.RingAgent, out)]


def serve(core, caller: str, agent: str, start: float, end: float) -> None:
    """A whole call: arrive at start, answered by ``agent`` at once, ended at ``end``."""
    out = core.handle(m.CallerArrived(caller, "q", caller), start)
    assert rung(out) == [agent], out
    core.handle(m.AgentAnswered(caller, agent), start)
    core.handle(m.CallEnded(caller), end)


def test_ring_all_rings_every_free_member_and_the_first_answer_wins() -> None:
    core = core_with({"q": {"strategy": "ring_all"}})
    out = core.handle(m.CallerArrived("c1", "q"), 1.0)
    assert rung(out) == ["a1", "a2", "a3"]
    out = core.handle(m.AgentAnswered("c1", "a2"), 2.0)
    assert of(m.Bridge, out) == [m.Bridge("c1", "a2")]
    assert sorted(c.agent for c in of(m.CancelRing, out)) == ["a1", "a3"]
    assert core.agents["a1"].state == "available" and core.agents["a3"].state == "available"
    # A late answer from a cancelled leg is dropped, not bridged.
    assert core.handle(m.AgentAnswered("c1", "a1"), 2.1) == [m.CancelRing("c1", "a1")]
    core.check_invariants()


def test_linear_takes_the_first_free_member_in_order() -> None:
    core = core_with({"q": {"strategy": "linear"}})
    assert rung(core.handle(m.CallerArrived("c1", "q"), 1.0)) == ["a1"]
    assert rung(core.handle(m.CallerArrived("c2", "q"), 1.0)) == ["a2"]
    # a1 rejects: c1 goes to the next free member (not back to a1 within retry_s)...
    assert rung(core.handle(m.AgentRejected("c1", "a1"), 2.0)) == ["a3"]
    # ...and a1, first in order, takes the next caller.
    assert rung(core.handle(m.CallerArrived("c3", "q"), 2.0)) == ["a1"]


def test_round_robin_remembers_the_last_member() -> None:
    core = core_with({"q": {"strategy": "round_robin"}})
    serve(core, "c1", "a1", 1, 2)
    serve(core, "c2", "a2", 3, 4)
    serve(core, "c3", "a3", 5, 6)
    serve(core, "c4", "a1", 7, 8)
    # a2 is busy: the next after a1 that is free is a3.
    core.handle(m.CallerArrived("x", "q"), 9)
    core.handle(m.AgentAnswered("x", "a2"), 9)
    serve(core, "c5", "a3", 10, 11)


def test_longest_idle_takes_the_agent_free_the_longest() -> None:
    core = core_with({"q": {"strategy": "longest_idle"}})
    serve(core, "c1", "a1", 1, 30)  # a1 idle since 30
    serve(core, "c2", "a2", 2, 10)  # a2 idle since 10
    serve(core, "c3", "a3", 3, 20)  # a3 idle since 20
    assert rung(core.handle(m.CallerArrived("c4", "q"), 40)) == ["a2"]


def test_fewest_least_talk_and_uniform_load_read_the_agents_counters() -> None:
    for strategy, setup, expected in [
        ("fewest_calls", {"a1": 5, "a2": 2, "a3": 3}, "a2"),
        ("least_talk_time", {"a1": 300.0, "a2": 500.0, "a3": 100.0}, "a3"),
        ("uniform_load", {"a1": 50.0, "a2": 10.0, "a3": 90.0}, "a2"),
    ]:
        core = core_with({"q": {"strategy": strategy}})
        for aid, value in setup.items():
            if strategy == "fewest_calls":
                core.agents[aid].queues["q"].calls = value
            elif strategy == "least_talk_time":
                core.agents[aid].talk_s = value
            else:
                core.agents[aid].busy_s = value
        assert rung(core.handle(m.CallerArrived("c", "q"), 100.0)) == [expected], strategy


def test_fewest_calls_counts_calls_answered_from_this_queue() -> None:
    core = core_with({"q": {"strategy": "fewest_calls"}})
    serve(core, "c1", "a1", 1, 2)  # all at 0 calls: tie -> longest idle -> a1
    serve(core, "c2", "a2", 3, 4)
    serve(core, "c3", "a3", 5, 6)
    assert rung(core.handle(m.CallerArrived("c4", "q"), 7)) == ["a1"]  # tie at 1: idle


def test_random_is_uniform_and_weighted_random_follows_weights() -> None:
    counts: Counter[str] = Counter()
    core = core_with({"q": {"strategy": "random"}}, seed=7)
    for i in range(3000):
        (agent,) = rung(core.handle(m.CallerArrived(f"c{i}", "q"), i))
        counts[agent] += 1
        core.handle(m.CallerHungUp(f"c{i}"), i)
    assert all(abs(n / 3000 - 1 / 3) < 0.04 for n in counts.values()), counts

    counts.clear()
    core = core_with(
        {"q": {"strategy": "weighted_random",
               "members": [("a1", 0, 0, 1.0), ("a2", 0, 0, 3.0)]}},
        agents=["a1", "a2"], seed=7,
    )
    for i in range(4000):
        (agent,) = rung(core.handle(m.CallerArrived(f"c{i}", "q"), i))
        counts[agent] += 1
        core.handle(m.CallerHungUp(f"c{i}"), i)
    assert abs(counts["a2"] / 4000 - 0.75) < 0.03, counts


def test_random_choices_repeat_with_the_seed() -> None:
    def run(seed: int) -> list[str]:
        core = core_with({"q": {"strategy": "random"}}, seed=seed)
        picks = []
        for i in range(50):
            picks += rung(core.handle(m.CallerArrived(f"c{i}", "q"), i))
            core.handle(m.CallerHungUp(f"c{i}"), i)
        return picks

    assert run(3) == run(3)
    assert run(3) != run(4)


SKILLED = [("a1", 0, 3), ("a2", 0, 7), ("a3", 0, 5)]


@pytest.mark.parametrize(
    ("strategy", "required", "expected"),
    [("skills_most", 0, "a2"), ("skills_least", 0, "a1"), ("skills_least", 4, "a3")],
)
def test_skills_based_most_or_least_qualified(strategy: str, required: int,
                                              expected: str) -> None:
    core = core_with({"q": {"strategy": strategy, "members": SKILLED, "skill_min": required}})
    assert rung(core.handle(m.CallerArrived("c", "q"), 1.0)) == [expected]


def test_skill_requirement_relaxes_as_the_wait_grows() -> None:
    core = core_with({"q": {
        "strategy": "skills_most", "members": SKILLED, "skill_min": 9,
        "skill_relax": ((30.0, 6), (60.0, 4)),
    }})
    core.handle(m.AgentPause("a2", "break"), 0.0)  # the 7 is away
    assert rung(core.handle(m.CallerArrived("c", "q"), 0.0)) == []  # needs 9: nobody
    assert rung(core.handle(m.CallerArrived("d", "q", skill=6), 1.0)) == []  # needs 6
    # a2 (7) is back: c is ahead but a2 does not meet 9; d (6) behind it gets a2.
    assert rung(core.handle(m.AgentUnpause("a2"), 2.0)) == ["a2"]
    assert core.agents["a2"].caller.id == "d"
    core.handle(m.AgentAnswered("d", "a2"), 2.0)
    # c (needs 9) waits; at 30 s it needs 6 (nobody free meets it); at 60 s, 4 -> a3 (5).
    assert core.next_deadline() == 30.0
    assert rung(core.on_timer(30.0)) == []
    assert rung(core.on_timer(59.9)) == []
    assert rung(core.on_timer(60.0)) == ["a3"]


def test_penalty_tiers_offer_the_lowest_penalty_first() -> None:
    core = core_with({"q": {"strategy": "linear",
                            "members": [("a1", 2), ("a2", 0), ("a3", 1)]}})
    assert rung(core.handle(m.CallerArrived("c1", "q"), 1.0)) == ["a2"]
    assert rung(core.handle(m.CallerArrived("c2", "q"), 1.0)) == ["a3"]
    assert rung(core.handle(m.CallerArrived("c3", "q"), 1.0)) == ["a1"]


def test_sticky_agent_within_the_days_else_the_strategy() -> None:
    core = core_with({"q": {"strategy": "linear", "sticky_days": 2}})
    core.handle(m.CallerArrived("c1", "q", "+7900"), 0.0)
    core.handle(m.AgentRejected("c1", "a1"), 1.0)  # -> a2 rings
    core.handle(m.AgentAnswered("c1", "a2"), 2.0)
    core.handle(m.CallEnded("c1"), 60.0)
    # The same number a day later: a2 although linear would pick a1.
    assert rung(core.handle(m.CallerArrived("c2", "q", "+7900"), 86400.0)) == ["a2"]
    core.handle(m.CallerHungUp("c2"), 86401.0)
    # Busy sticky agent: the strategy's choice.
    core.handle(m.CallerArrived("x", "q", "+1"), 86402.0)  # a1 rings for x
    core.handle(m.AgentAnswered("x", "a1"), 86402.0)
    core.handle(m.CallerArrived("y", "q", "+2"), 86402.0)  # a2 rings for y
    core.handle(m.AgentAnswered("y", "a2"), 86402.0)
    assert rung(core.handle(m.CallerArrived("c3", "q", "+7900"), 86403.0)) == ["a3"]
    core.handle(m.CallerHungUp("c3"), 86404.0)
    core.handle(m.CallEnded("y"), 86405.0)
    # Three days after the last talk: too old, back to the strategy (a2 last talked at 2 s
    # with +7900; by now more than 2 days).
    core.handle(m.CallEnded("x"), 3 * 86400.0)
    assert rung(core.handle(m.CallerArrived("c4", "q", "+7900"), 3 * 86400.0)) == ["a1"]
