"""Simulated people at the ends of lines: they speak (DTMF, voice), listen, and remember.

A party has a *mouth* (what it sends into its port: DTMF from a native generator, a tone,
or voice — speech-like audio from drivers/sim/voices.py — silence otherwise) and *ears*
(what the port sends it: run through a native DTMF detector and a level meter). The media
thread calls :meth:`speak` and :meth:`hear` once per tick; the asyncio side calls
:meth:`press` and :meth:`say`; a lock keeps the two apart.

Called parties with a behaviour: a :class:`Callee` in the board's :class:`CalleeBook` says
what happens when the box dials its number — a person who answers after a while, says a
short greeting and may press keys; an answering machine (a long greeting, then a beep);
busy; no answer; a number unobtainable (SIT). :func:`play_callee` acts it out on any
trunk's far end through a :class:`CalleeLine` (the trunk's own signals: CONNECT, BUSY, a
cause, a polarity reversal, or only tones on a plain analog line).
"""

from __future__ import annotations

import asyncio
import math
import operator
import threading
import time
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from drivers.sim import voices
from native.dsp import DtmfDetector, DtmfGenerator, ToneGenerator, ToneSegment


class SimParty:
    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._gen = DtmfGenerator(level_dbm0=-8.0, on_ms=90, off_ms=90)
        self._det = DtmfDetector()
        self._tone: ToneGenerator | None = None
        self._voice = array("h")            # speech still to send
        self._active = False                # ears and mouth connected to a line
        self.heard_digits = ""              # DTMF heard, in order
        self.heard_level_dbm0 = -99.0       # level of the last block heard
        self.heard_audio_ms = 0             # how long something louder than -45 dBm0 was heard
        self.heard_first_at: float | None = None   # time.monotonic() of the first of it
        self.said_until: float | None = None       # monotonic end of the last thing said
        self._last_heard = array("h")       # the media thread's level cache: block → level
        self._last_level = -99.0

    def press(self, digits: str) -> None:
        with self._lock:
            self._gen.queue(digits)

    def stop_talking(self) -> None:
        """The line went away: keys still sounding or queued are dropped (a real phone
        stops sending when it hangs up)."""
        with self._lock:
            self._gen.reset()
            self._tone = None
            self._voice = array("h")

    def say(self, pcm: array) -> None:
        """Speak ``pcm`` (8 kHz) into the line, after whatever is still being said."""
        with self._lock:
            self._tone = None
            queued = len(self._voice) / 8000
            self._voice.extend(pcm)
            self.said_until = time.monotonic() + queued + len(pcm) / 8000

    def play_tone(self, segments: list[ToneSegment]) -> None:
        """Send a tone into the line (an exchange's busy tone after the far end hung up)."""
        with self._lock:
            self._tone = ToneGenerator(segments, repeat=True)

    @property
    def active(self) -> bool:
        return self._active

    @active.setter
    def active(self, value: bool) -> None:
        if not value:
            self.stop_talking()
        self._active = value

    @property
    def listening(self) -> bool:
        """The highway exchanges audio with the party this tick."""
        return self._active

    @property
    def speaking(self) -> bool:
        with self._lock:
            return bool(self._gen.busy) or bool(self._voice)

    # -- media thread ---------------------------------------------------------------------
    def speak(self, n: int) -> array | None:
        """The next n samples into the line; None while the party is silent."""
        with self._lock:
            if self._tone is not None:
                return self._tone.generate(n)
            if self._voice and not self._gen.busy:
                out = self._voice[:n]
                del self._voice[:n]
                return out + array("h", bytes(2 * (n - len(out))))
            if not self._gen.busy:        # no key sounding or queued: silence
                return None
            return self._gen.generate(n)

    def hear(self, pcm: array) -> None:
        events = self._det.process(pcm)
        if pcm == self._last_heard:       # a steady line (silence, mostly): same level
            level = self._last_level
        else:
            power = sum(map(operator.mul, pcm, pcm)) / max(1, len(pcm))
            # 0 dBm0 is a sine of RMS 32768 * 10**(-3.14/20) / sqrt(2) (G.711 overload
            # +3.14 dBm0)
            level = 10.0 * math.log10(power / (32768.0**2 / 2.0) + 1e-12) + 3.14
            self._last_heard, self._last_level = pcm, level
        with self._lock:
            self.heard_level_dbm0 = level
            if level > -45.0:
                self.heard_audio_ms += len(pcm) // 8
                if self.heard_first_at is None:
                    self.heard_first_at = time.monotonic()
            for ev in events:
                if ev.kind == "start":
                    self.heard_digits += ev.digit

    def reset_ears(self) -> None:
        with self._lock:
            self.heard_digits = ""
            self.heard_audio_ms = 0
            self.heard_first_at = self.said_until = None

    def describe(self) -> dict[str, object]:
        with self._lock:
            return {"name": self.name, "active": self.active, "heard_digits": self.heard_digits,
                    "heard_level_dbm0": round(self.heard_level_dbm0, 1),
                    "heard_audio_ms": self.heard_audio_ms}


# == called parties with a behaviour ======================================================

CalleeKind = Literal["human", "machine", "busy", "no_answer", "sit"]


@dataclass(frozen=True)
class Callee:
    """How a called number behaves when the box dials it.

    human: answers after ``answer_after_s``, says a greeting of ``words_ms`` (default one
    short word), listens; ``press`` digits ``press_after_s`` after answering; hangs up
    after ``hangup_after_s`` (None: waits for the box). machine: answers, plays a long
    greeting (default eight words, about 4 s), then a beep, then records in silence.
    busy / sit: refuses at once (busy; number unobtainable). no_answer: rings on.
    """

    kind: CalleeKind
    answer_after_s: float = 1.0
    words_ms: tuple[int, ...] | None = None
    press: str = ""
    press_after_s: float = 2.5
    hangup_after_s: float | None = None
    seed: int = 0

    def greeting(self) -> array:
        if self.kind == "machine":
            words = self.words_ms or (420, 300, 520, 360, 600, 450, 300, 520)
            gaps = [150, 300, 120, 200, 250, 150, 400, 180][:max(0, len(words) - 1)]
            return voices.utterance(words, gaps + [150] * (len(words) - 1 - len(gaps)),
                                    seed=self.seed) + voices.silence(400) + voices.beep()
        return voices.utterance(self.words_ms or (450,), 150, seed=self.seed)


class CalleeBook:
    """Called parties by number; a number matches by its last 9 digits (the box may dial
    the national or the international form)."""

    def __init__(self) -> None:
        self._by_key: dict[str, Callee] = {}
        self.dialled: list[str] = []       # every number the box dialled, in order

    @staticmethod
    def _key(number: str) -> str:
        return "".join(c for c in number if c.isdigit())[-9:]

    def set(self, number: str, callee: Callee | None) -> None:
        if callee is None:
            self._by_key.pop(self._key(number), None)
        else:
            self._by_key[self._key(number)] = callee

    def update(self, callees: Iterable[tuple[str, Callee]]) -> None:
        for number, callee in callees:
            self.set(number, callee)

    def lookup(self, number: str) -> Callee | None:
        self.dialled.append(number)
        return self._by_key.get(self._key(number))


class CalleeLine(Protocol):
    """A trunk's far end, as a callee script drives it."""

    party: SimParty

    async def answer(self) -> None: ...

    async def refuse(self, kind: Literal["busy", "sit"]) -> None: ...

    async def hangup(self) -> None: ...

    def in_call(self) -> bool:
        """The call is still up (the box has not hung up)."""
        ...


async def play_callee(callee: Callee, line: CalleeLine) -> None:
    """Act ``callee`` out on ``line`` until the call ends (run as a task)."""
    if callee.kind in ("busy", "sit"):
        await asyncio.sleep(0.3)
        if line.in_call():
            await line.refuse(callee.kind)
        return
    if callee.kind == "no_answer":
        return
    greeting = callee.greeting()          # made before answering: no gap after it
    await asyncio.sleep(callee.answer_after_s)
    if not line.in_call():
        return
    await line.answer()
    await asyncio.sleep(0.15)             # the first words come just after the answer
    line.party.say(greeting)
    if callee.kind != "human":
        return
    loop = asyncio.get_running_loop()
    start = loop.time()
    if callee.press:
        await asyncio.sleep(callee.press_after_s)
        if not line.in_call():
            return
        line.party.press(callee.press)
    if callee.hangup_after_s is not None:
        await asyncio.sleep(max(0.0, callee.hangup_after_s - (loop.time() - start)))
        if line.in_call():
            await line.hangup()
