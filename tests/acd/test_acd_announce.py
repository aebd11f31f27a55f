"""The queue announcement's composition (firmware/calls/announce.py), prompt by prompt."""

from __future__ import annotations

from array import array

from firmware.calls.announce import queue_announcement, spoken_minutes


class Prompts:
    """Each prompt is one sample whose value names it; missing ones return None."""

    def __init__(self, names: list[str]) -> None:
        self.codes = {name: i + 1 for i, name in enumerate(names)}
        self.asked: list[str | None] = []

    def load(self, name: str | None) -> array | None:
        self.asked.append(name)
        code = self.codes.get(name or "")
        return None if code is None else array("h", [code])

    def said(self, pcm: array | None) -> list[str]:
        names = {v: k for k, v in self.codes.items()}
        return [] if pcm is None else [names[v] for v in pcm]


ALL = ["queue-position.wav", "queue-wait.wav", "queue-minutes.wav",
       *(f"digit-{d}.wav" for d in range(10))]


def test_position_and_wait_are_said_digit_by_digit() -> None:
    p = Prompts(ALL)
    assert p.said(queue_announcement(p, 12, 185)) == [
        "queue-position.wav", "digit-1.wav", "digit-2.wav",
        "queue-wait.wav", "digit-4.wav", "queue-minutes.wav"]      # 185 s: about 4 minutes


def test_wait_rounds_up_to_whole_minutes_and_never_says_zero() -> None:
    assert [spoken_minutes(s) for s in (0, 1, 60, 61, 119, 120)] == [1, 1, 1, 2, 2, 2]
    p = Prompts(ALL)
    assert p.said(queue_announcement(p, 1, None)) == ["queue-position.wav", "digit-1.wav"]


def test_missing_prompts_are_skipped_and_none_means_the_fallback() -> None:
    p = Prompts(["digit-3.wav", "queue-minutes.wav"])
    assert p.said(queue_announcement(p, 3, 60)) == ["digit-3.wav", "queue-minutes.wav"]
    assert queue_announcement(Prompts([]), 3, 60) is None
