"""Answering-machine detection: a person or a machine, from the first seconds after answer.

The media plane (native/csrc/amd.h, per slot) reports talkspurt edges — ``voice`` starting
and ending, and steady ``tone``s such as a machine's beep — in ms of engine time. This
module owns the decision, on an injected time base (ms), so it is tested on generated
audio and runs unchanged live.

The rule set is the classic one of telephony dialers, as documented for Asterisk's AMD
application (``amd.conf``: initial silence, greeting, after-greeting silence, total
analysis time, minimum word length, between-words silence, maximum number of words,
silence threshold): a person answers with a short greeting ("Hello?") and then waits for
the caller; a machine starts talking after a pause or talks on for several seconds::

    no voice for initial_silence_ms after answer               -> machine (initial silence)
    a word longer than max_word_ms                             -> machine (long word)
    voice spanning more than greeting_ms from its first word   -> machine (long greeting)
    more than max_words words                                  -> machine (too many words)
    a steady tone (beep) after some voice                      -> machine (beep)
    greeting, then after_greeting_silence_ms of silence        -> human
    nothing decided within total_analysis_ms                   -> notsure

A word is a talkspurt of at least min_word_ms (shorter ones — clicks, a breath — do not
count); talkspurts closer than between_words_silence_ms are one word (the detector's own
hangover already joins gaps under its ``hang_ms``). The silence threshold is the
detector's (``native.amd.THRESHOLD_DBM0``). ``notsure`` is treated as a person by the
dialer: dropping a person costs more than connecting a machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final, Literal

AmdResult = Literal["human", "machine", "notsure"]


@dataclass(frozen=True)
class AmdRules:
    initial_silence_ms: int = 2500
    greeting_ms: int = 1500
    after_greeting_silence_ms: int = 800
    total_analysis_ms: int = 5000
    min_word_ms: int = 100
    between_words_silence_ms: int = 50
    max_words: int = 3
    max_word_ms: int = 5000

    @classmethod
    def from_config(cls, entry: Mapping[str, Any] | None) -> AmdRules:
        """Rules from a campaign's ``amd`` section (missing keys: the defaults)."""
        if not entry:
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in entry.items() if k in known})


# The JSON schema of a campaign's ``amd`` section (firmware/config/outbound_schema.py).
AMD_SCHEMA: Final[dict[str, Any]] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "enabled": {"type": "boolean"},
        "after_machine": {"enum": ["hangup", "message"]},
        **{name: {"type": "integer", "minimum": lo, "maximum": hi} for name, (lo, hi) in {
            "initial_silence_ms": (500, 10000), "greeting_ms": (500, 10000),
            "after_greeting_silence_ms": (200, 5000), "total_analysis_ms": (1000, 15000),
            "min_word_ms": (20, 1000), "between_words_silence_ms": (20, 1000),
            "max_words": (1, 20), "max_word_ms": (500, 15000)}.items()},
    },
}


@dataclass(frozen=True)
class AmdDecision:
    result: AmdResult
    reason: str
    at_ms: int            # since the answer


class AnsweringMachineDetector:
    """Fed talkspurt edges (``voice``/``tone``, ``start``/``end``, engine ms) and the time;
    :meth:`decide` gives the decision once it is made (and keeps giving the same one)."""

    def __init__(self, rules: AmdRules, answered_ms: int) -> None:
        self.rules = rules
        self._t0 = answered_ms
        self._word_start: int | None = None       # a talkspurt in progress
        self._first_word: int | None = None
        self._last_end: int | None = None
        self._pending_end: int | None = None      # a talkspurt ended, maybe to be joined
        self.words = 0
        self._beep = False
        self.decision: AmdDecision | None = None

    def feed(self, what: str, kind: str, ms: int) -> AmdDecision | None:
        if self.decision is not None:
            return self.decision
        if what == "tone":
            if kind == "start" and (self._first_word is not None
                                    or self._word_start is not None):
                self._beep = True
            return self.decide(ms)
        if what != "voice":
            return self.decide(ms)
        if kind == "start":
            if (self._pending_end is not None and self._word_start is not None
                    and ms - self._pending_end < self.rules.between_words_silence_ms):
                self._pending_end = None          # the same word goes on
            else:
                self._close_word()
                self._word_start = ms
        elif self._word_start is not None:
            self._pending_end = ms
        return self.decide(ms)

    def _close_word(self) -> None:
        """A talkspurt that ended for good: count it if long enough."""
        if self._word_start is None or self._pending_end is None:
            return
        if self._pending_end - self._word_start >= self.rules.min_word_ms:
            self.words += 1
            if self._first_word is None:
                self._first_word = self._word_start
            self._last_end = self._pending_end
        self._word_start = self._pending_end = None

    def decide(self, now_ms: int) -> AmdDecision | None:
        if self.decision is not None:
            return self.decision
        r = self.rules
        if (self._pending_end is not None
                and now_ms - self._pending_end >= r.between_words_silence_ms):
            self._close_word()
        elapsed = now_ms - self._t0
        talking = self._word_start if self._pending_end is None else None
        greeting = self._first_word if self._first_word is not None else talking
        result: tuple[AmdResult, str] | None = None
        if self._beep:
            result = ("machine", "a beep after the greeting")
        elif talking is not None and now_ms - talking > r.max_word_ms:
            result = ("machine", f"a word longer than {r.max_word_ms} ms")
        elif self.words > r.max_words:
            result = ("machine", f"more than {r.max_words} words")
        elif greeting is not None and (
                (talking is not None and now_ms - greeting > r.greeting_ms)
                or (self._last_end is not None and self._last_end - greeting > r.greeting_ms)):
            result = ("machine", f"a greeting longer than {r.greeting_ms} ms")
        elif self._first_word is None and talking is None \
                and elapsed >= r.initial_silence_ms:
            result = ("machine", f"{r.initial_silence_ms} ms of silence after the answer")
        elif self.words > 0 and talking is None and self._last_end is not None \
                and self._pending_end is None \
                and now_ms - self._last_end >= r.after_greeting_silence_ms:
            result = ("human", f"a {self.words}-word greeting, then silence")
        elif elapsed >= r.total_analysis_ms:
            result = ("notsure", f"no decision in {r.total_analysis_ms} ms")
        if result is not None:
            self.decision = AmdDecision(result[0], result[1], elapsed)
        return self.decision
