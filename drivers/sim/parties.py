"""Simulated people at the ends of lines: they speak (DTMF), listen, and remember.

A party has a *mouth* (what it sends into its port: DTMF from a native generator, silence
otherwise) and *ears* (what the port sends it: run through a native DTMF detector and a
level meter). The media thread calls :meth:`speak` and :meth:`hear` once per tick; the
asyncio side calls :meth:`press`; a lock keeps the two apart.
"""

from __future__ import annotations

import math
import operator
import threading
from array import array

from native.dsp import DtmfDetector, DtmfGenerator, ToneGenerator, ToneSegment


class SimParty:
    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._gen = DtmfGenerator(level_dbm0=-8.0, on_ms=90, off_ms=90)
        self._det = DtmfDetector()
        self._tone: ToneGenerator | None = None
        self._active = False                # ears and mouth connected to a line
        self.heard_digits = ""              # DTMF heard, in order
        self.heard_level_dbm0 = -99.0       # level of the last block heard
        self.heard_audio_ms = 0             # how long something louder than -45 dBm0 was heard
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
            return bool(self._gen.busy)

    # -- media thread ---------------------------------------------------------------------
    def speak(self, n: int) -> array | None:
        """The next n samples into the line; None while the party is silent."""
        with self._lock:
            if self._tone is not None:
                return self._tone.generate(n)
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
            for ev in events:
                if ev.kind == "start":
                    self.heard_digits += ev.digit

    def reset_ears(self) -> None:
        with self._lock:
            self.heard_digits = ""
            self.heard_audio_ms = 0

    def describe(self) -> dict[str, object]:
        with self._lock:
            return {"name": self.name, "active": self.active, "heard_digits": self.heard_digits,
                    "heard_level_dbm0": round(self.heard_level_dbm0, 1),
                    "heard_audio_ms": self.heard_audio_ms}
