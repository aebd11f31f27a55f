"""Voice activity for answer and answering-machine detection: talkspurt and tone edges.

Binding of native/csrc/amd.h. :class:`VoiceActivity` turns a line's received audio into
``VadEvent`` edges — ``voice`` (speech-like energy) or ``tone`` (one or two steady
sinusoids: ringback, a machine's beep, SIT) starting or ending, in ms from the start of the
stream. The media engine runs the same detector per slot (``MediaEngine.configure_vad``);
this class is for offline use and tests. The human-or-machine decision is firmware's
(firmware/campaigns/amd.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from native._native import ffi, lib
from native.dsp import Pcm, pcm_to_bytes

VadWhat = Literal["voice", "tone"]
WHAT: dict[int, VadWhat] = {lib.AMD_VOICE: "voice", lib.AMD_TONE: "tone"}

# Defaults of the detector (see amd.h): level threshold, onset and hangover, tonality.
THRESHOLD_DBM0 = -42.0
ON_MS = 30
HANG_MS = 60
TONE_GAIN_DB = 20.0


@dataclass(frozen=True, slots=True)
class VadEvent:
    what: VadWhat
    kind: Literal["start", "end"]
    ms: int


def check_settings(threshold_dbm0: float, on_ms: int, hang_ms: int,
                   tone_gain_db: float) -> None:
    """ValueError naming the setting out of range (the C side's limits)."""
    if not -70.0 <= threshold_dbm0 <= 0.0:
        raise ValueError(f"VAD threshold must be -70..0 dBm0, got {threshold_dbm0}")
    if not 10 <= on_ms <= 1000:
        raise ValueError(f"VAD onset must be 10..1000 ms, got {on_ms}")
    if not 10 <= hang_ms <= 2000:
        raise ValueError(f"VAD hangover must be 10..2000 ms, got {hang_ms}")
    if not 5.0 <= tone_gain_db <= 60.0:
        raise ValueError(f"VAD tone prediction gain must be 5..60 dB, got {tone_gain_db}")


class VoiceActivity:
    def __init__(self, threshold_dbm0: float = THRESHOLD_DBM0, on_ms: int = ON_MS,
                 hang_ms: int = HANG_MS, tone_gain_db: float = TONE_GAIN_DB) -> None:
        check_settings(threshold_dbm0, on_ms, hang_ms, tone_gain_db)
        s = lib.amd_vad_new()
        if s == ffi.NULL:
            raise MemoryError("amd_vad_new")
        self._s = ffi.gc(s, lib.amd_vad_free)
        lib.amd_vad_set(self._s, threshold_dbm0, on_ms, hang_ms, tone_gain_db)

    def process(self, pcm: Pcm) -> list[VadEvent]:
        """Feed PCM (any length) and return the edges it completed."""
        raw = pcm_to_bytes(pcm)
        n = len(raw) // 2
        if n == 0:
            return []
        cap = 4 * (n // lib.AMD_FRAME + 2)
        ev = ffi.new("amd_event_t[]", cap)
        k = lib.amd_vad_rx(self._s, ffi.from_buffer("int16_t[]", raw), n, ev, cap)
        if k < 0:
            raise ValueError("amd_vad_rx rejected its arguments")
        return [VadEvent(WHAT[ev[i].what], "start" if ev[i].type == lib.AMD_EV_START
                         else "end", int(ev[i].ms)) for i in range(k)]

    def frame_class(self) -> VadWhat | None:
        """The class of the last complete 10 ms frame (no hangover), None if quiet."""
        return WHAT.get(lib.amd_vad_frame_class(self._s))

    def reset(self) -> None:
        lib.amd_vad_reset(self._s)

    def close(self) -> None:
        """Free the C state now (also done when the object is collected)."""
        if self._s is not None:
            ffi.release(self._s)
            self._s = None  # type: ignore[assignment]
