"""The sticky-agent memory rebuilt from the stored queue log (firmware/acd/log.py)."""

from __future__ import annotations

from firmware.acd.log import QueueEvent, last_agents


def test_last_agent_per_number_from_connects_and_callback_connects() -> None:
    log = [
        QueueEvent(1.0, "enter", "sales", "c1", "", 0.0, "+79160000001"),
        QueueEvent(2.0, "connect", "sales", "c1", "ann", 1.0, ""),
        QueueEvent(3.0, "enter", "sales", "c2", "", 0.0, "+79160000002"),
        QueueEvent(4.0, "abandon", "sales", "c2", "", 1.0, ""),
        QueueEvent(5.0, "enter", "support", "c3", "", 0.0, "+79160000001"),
        QueueEvent(6.0, "callback_connect", "support", "c3", "bob", 1.0, ""),
        QueueEvent(7.0, "connect", "sales", "c9", "zed", 1.0, ""),     # entered before the cut
        QueueEvent(8.0, "enter", "sales", "c4", "", 0.0, ""),          # number withheld
        QueueEvent(9.0, "connect", "sales", "c4", "ann", 1.0, ""),
    ]
    assert last_agents(log) == {"+79160000001": ("bob", 6.0)}
