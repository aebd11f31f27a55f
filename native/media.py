"""The media engine: all channel slots of the box, processed in one C call per tick.

A `MediaEngine` owns N channel slots. Each tick the media thread hands it the rx highway
(N * block G.711 codes from the ports, slot s at [s * block, (s + 1) * block)) and gets
the tx highway back: decoded, DTMF-detected, conference-mixed, with tones, DTMF and
prompts played, encoded per slot codec. See native/csrc/media.h for the C side.

Threading: the C engine has no locks. This wrapper holds an internal `threading.Lock`
around every C call (and only around it), so a media thread may `tick()` while the asyncio
thread issues `play_*`, `join` and `poll_events`. The GIL is released during the C calls
(cffi does that), so the tick does not stall the asyncio loop. Nothing calls back into
Python from C.

This module owns the binding only: call policy (who hears whom) lives in firmware.
"""

from __future__ import annotations

import enum
import itertools
import threading
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TypeVar

from native._native import ffi, lib
from native.amd import HANG_MS as VAD_HANG_MS
from native.amd import ON_MS as VAD_ON_MS
from native.amd import THRESHOLD_DBM0 as VAD_THRESHOLD_DBM0
from native.amd import TONE_GAIN_DB as VAD_TONE_GAIN_DB
from native.amd import WHAT as VAD_WHAT
from native.amd import check_settings as check_vad
from native.callerid import STANDARDS as CID_STANDARDS
from native.callerid import CallerId, label_fsk, result_to_caller_id
from native.dsp import DTMF_DIGITS, Pcm, ToneSegment, pcm_to_bytes, tone_segments_to_c

__all__ = ["Codec", "MediaEngine", "MediaEvent", "ToneSegment"]

_T = TypeVar("_T")


class Codec(enum.IntEnum):
    """G.711 law of a slot (values match the C ME_ALAW / ME_ULAW)."""

    ALAW = lib.ME_ALAW
    ULAW = lib.ME_ULAW


EventKind = Literal["dtmf_start", "dtmf_end", "playback_done", "tone_detected", "tone_ended",
                    "silence", "caller_id", "vad_start", "vad_end"]

_EVENT_KINDS: dict[int, EventKind] = {
    lib.ME_EV_DTMF_START: "dtmf_start",
    lib.ME_EV_DTMF_END: "dtmf_end",
    lib.ME_EV_PLAYBACK_DONE: "playback_done",
    lib.ME_EV_TONE_DETECTED: "tone_detected",
    lib.ME_EV_TONE_ENDED: "tone_ended",
    lib.ME_EV_SILENCE: "silence",
    lib.ME_EV_CALLER_ID: "caller_id",
    lib.ME_EV_VAD_START: "vad_start",
    lib.ME_EV_VAD_END: "vad_end",
}


@dataclass(frozen=True)
class MediaEvent:
    """Something happened on a slot; time_ms is engine time (ticks * block / 8)."""

    slot: int
    kind: EventKind
    digit: str | None
    time_ms: int
    tone: str | None = None   # tone_detected / tone_ended: the tone's name; vad_*: voice|tone
    caller_id: CallerId | None = None   # for caller_id: the message received


class MediaEngine:
    """N channel slots (1..256) with blocks of `block` samples (160 = 20 ms, 80 = 10 ms).

    Slots start disabled (they transmit the codec's silence code) until
    `configure_slot()` enables them.
    """

    MAX_SLOTS: int = lib.ME_MAX_SLOTS

    def __init__(self, nslots: int, block: int = 160) -> None:
        if not isinstance(nslots, int) or not 1 <= nslots <= lib.ME_MAX_SLOTS:
            raise ValueError(f"nslots must be 1..{lib.ME_MAX_SLOTS}, got {nslots!r}")
        if not isinstance(block, int) or not 8 <= block <= lib.ME_MAX_BLOCK or block % 8:
            raise ValueError(
                f"block must be a multiple of 8 in 8..{lib.ME_MAX_BLOCK}, got {block!r}"
            )
        e = lib.me_new(nslots, block)
        if e == ffi.NULL:
            raise MemoryError("me_new")
        self._e: Any = ffi.gc(e, lib.me_free)
        self._nslots = nslots
        self._block = block
        self._lock = threading.Lock()
        self._conf_ids = itertools.count(1 << 31)  # connect() ids; keep below for yours
        self._tx = ffi.new("uint8_t[]", nslots * block)
        self._ev = ffi.new("me_event_t *")
        self._tone_names: dict[int, list[str]] = {}
        self._cid_standard: dict[int, int] = {}
        self._cid_res = ffi.new("cid_result_t *")

    # -- plumbing ----------------------------------------------------------------------

    @property
    def nslots(self) -> int:
        return self._nslots

    @property
    def block(self) -> int:
        return self._block

    @property
    def time_ms(self) -> int:
        """Engine time: ticks * block / 8."""
        return int(self._call(lib.me_time_ms))

    @property
    def events_dropped(self) -> int:
        """Events lost because the engine's ring buffer was full."""
        return int(self._call(lib.me_events_dropped))

    def _call(self, fn: Callable[..., _T], *args: object) -> _T:
        with self._lock:
            if self._e is None:
                raise ValueError("media engine is closed")
            return fn(self._e, *args)

    def _slot(self, slot: int) -> int:
        if not isinstance(slot, int) or isinstance(slot, bool) or not 0 <= slot < self._nslots:
            raise ValueError(f"slot must be 0..{self._nslots - 1}, got {slot!r}")
        return slot

    def _check(self, rc: int, what: str, slot: int | None = None) -> int:
        if rc >= 0:
            return rc
        where = f" on slot {slot}" if slot is not None else ""
        if rc == lib.ME_ESLOT:
            raise ValueError(f"{what}: slot {slot} out of range 0..{self._nslots - 1}")
        if rc == lib.ME_EDISABLED:
            raise ValueError(f"{what}: slot {slot} is disabled")
        if rc == lib.ME_ENOMEM:
            raise MemoryError(f"{what}{where}")
        raise ValueError(f"{what}{where}: invalid argument")

    def close(self) -> None:
        """Free the C engine now (idempotent); later calls raise ValueError."""
        with self._lock:
            if self._e is not None:
                ffi.release(self._e)
                self._e = None

    def __enter__(self) -> MediaEngine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- slots and conferences ---------------------------------------------------------

    def configure_slot(
        self,
        slot: int,
        codec: Codec = Codec.ALAW,
        enabled: bool = True,
        dtmf_detect: bool = True,
    ) -> None:
        """Set a slot's codec and switches. Enabling it (or its DTMF detection) restarts
        the detector; disabling it stops its playback without a playback_done."""
        self._slot(slot)
        try:
            codec = Codec(codec)
        except ValueError:
            raise ValueError(f"unknown codec {codec!r}") from None
        rc = self._call(lib.me_configure_slot, slot, int(codec), int(enabled), int(dtmf_detect))
        self._check(rc, "configure_slot", slot)

    def join(self, slot: int, conference_id: int, listen_only: bool = False) -> None:
        """Put a slot in a conference (id 1..2**32-1): it hears all other members;
        a listen-only member is not heard by anyone. Joining another leaves the first."""
        self._slot(slot)
        if not isinstance(conference_id, int) or not 1 <= conference_id < 2**32:
            raise ValueError(f"conference_id must be 1..2**32-1, got {conference_id!r}")
        self._check(self._call(lib.me_join, slot, conference_id, int(listen_only)), "join", slot)

    def leave(self, slot: int) -> None:
        """Take a slot out of its conference (if any)."""
        self._slot(slot)
        self._check(self._call(lib.me_leave, slot), "leave", slot)

    def connect(self, a: int, b: int) -> int:
        """Cross-connect two slots (a fresh two-member conference); returns its id.

        Ids from connect() are >= 2**31; use smaller ones for your own conferences."""
        self._slot(a)
        self._slot(b)
        if a == b:
            raise ValueError(f"cannot connect slot {a} to itself")
        conf = next(self._conf_ids)
        if conf >= 2**32:
            raise ValueError("conference ids exhausted")
        self.join(a, conf)
        self.join(b, conf)
        return conf

    # -- playback ----------------------------------------------------------------------

    def play_tone(self, slot: int, segments: Sequence[ToneSegment], repeat: bool = True) -> None:
        """Play a cadenced tone instead of the slot's conference audio."""
        self._slot(slot)
        arr = tone_segments_to_c(segments)
        rc = self._call(lib.me_play_tone, slot, arr, len(segments), int(bool(repeat)))
        self._check(rc, "play_tone", slot)

    def play_dtmf(
        self,
        slot: int,
        digits: str,
        on_ms: int = 80,
        off_ms: int = 80,
        level_dbm0: float = -10.0,
    ) -> None:
        """Send DTMF digits on a slot; playback_done follows the last digit's gap."""
        self._slot(slot)
        if not digits or set(digits) - DTMF_DIGITS:
            raise ValueError(f"digits must be a non-empty string of 0-9*#A-D, got {digits!r}")
        if len(digits) > lib.DTMF_GEN_QUEUE_LEN:
            raise ValueError(f"at most {lib.DTMF_GEN_QUEUE_LEN} digits at once")
        if not isinstance(on_ms, int) or not 1 <= on_ms <= 10000:
            raise ValueError(f"on_ms must be 1..10000, got {on_ms!r}")
        if not isinstance(off_ms, int) or not 0 <= off_ms <= 10000:
            raise ValueError(f"off_ms must be 0..10000, got {off_ms!r}")
        if not -60.0 <= level_dbm0 <= 3.14:
            raise ValueError(f"level_dbm0 must be -60..+3.14, got {level_dbm0!r}")
        rc = self._call(
            lib.me_play_dtmf, slot, digits.encode("ascii"), level_dbm0, 0.0, on_ms, off_ms
        )
        self._check(rc, "play_dtmf", slot)

    def play_pcm(self, slot: int, pcm: Pcm) -> None:
        """Play a PCM prompt (16-bit, 8 kHz; copied, so the caller may reuse it)."""
        self._slot(slot)
        raw = pcm_to_bytes(pcm)
        n = len(raw) // 2
        if not 1 <= n <= lib.ME_MAX_PCM_SAMPLES:
            raise ValueError(f"prompt must have 1..{lib.ME_MAX_PCM_SAMPLES} samples, got {n}")
        rc = self._call(lib.me_play_pcm, slot, ffi.from_buffer("int16_t[]", raw), n)
        self._check(rc, "play_pcm", slot)

    def stop_playback(self, slot: int) -> None:
        """Stop whatever the slot plays (no playback_done); conference audio resumes."""
        self._slot(slot)
        self._check(self._call(lib.me_stop_playback, slot), "stop_playback", slot)

    def playing(self, slot: int) -> bool:
        """True while the slot plays a tone, DTMF or a prompt."""
        self._slot(slot)
        return bool(self._check(self._call(lib.me_playing, slot), "playing", slot))

    # -- line echo canceller and tone detection ----------------------------------------

    def configure_echo(self, slot: int, tail_ms: int | None = 128, nlp: bool = True,
                       cng: bool = True) -> None:
        """Cancel line echo on a slot (tail 64..256 ms); ``tail_ms=None`` switches it off.
        The reference is what the slot transmitted, so it belongs on legs that meet an
        analog hybrid (FXO lines, E1 channels to analog subscribers)."""
        self._slot(slot)
        if tail_ms is None:
            rc = self._call(lib.me_configure_echo, slot, 0, 0)
        else:
            if not 64 <= tail_ms <= 256:
                raise ValueError(f"echo tail must be 64..256 ms, got {tail_ms}")
            options = (lib.ECHO_OPT_NLP if nlp else 0) | (lib.ECHO_OPT_CNG if nlp and cng
                                                           else 0)
            rc = self._call(lib.me_configure_echo, slot, int(tail_ms), options)
        self._check(rc, "configure_echo", slot)

    def configure_cpd(self, slot: int, country: str | None = "EU",
                      names: Sequence[str] | None = None, silence_ms: int = 0,
                      threshold_dbm0: float = -36.0, silence_dbm0: float = -50.0) -> None:
        """Detect a country's call-progress tones (busy, congestion, ringback, dial, SIT,
        fax…) on a slot's rx audio; events ``tone_detected``/``tone_ended`` name the tone,
        ``silence`` follows ``silence_ms`` of quiet. ``country=None`` switches it off."""
        self._slot(slot)
        if country is None:
            self._check(self._call(lib.me_configure_cpd, slot, ffi.NULL, 0, 0.0, 0.0, 0),
                        "configure_cpd", slot)
            self._tone_names.pop(slot, None)
            return
        from native.cpt import CONFIRM, DETECT_TONES, _tone_set, plan

        p = plan(country)
        tones = {n: p[n] for n in (names or DETECT_TONES)}
        arr = _tone_set(tones, CONFIRM)
        rc = self._call(lib.me_configure_cpd, slot, arr, len(tones), float(threshold_dbm0),
                        float(silence_dbm0), int(silence_ms))
        self._check(rc, "configure_cpd", slot)
        self._tone_names[slot] = list(tones)

    def configure_vad(self, slot: int, on: bool = True,
                      threshold_dbm0: float = VAD_THRESHOLD_DBM0, on_ms: int = VAD_ON_MS,
                      hang_ms: int = VAD_HANG_MS, tone_gain_db: float = VAD_TONE_GAIN_DB
                      ) -> None:
        """Voice activity on a slot's rx audio (native/csrc/amd.h): events ``vad_start`` /
        ``vad_end`` with ``tone`` "voice" (speech-like) or "tone" (a steady tone).
        ``on=False`` switches it off."""
        self._slot(slot)
        if on:
            check_vad(threshold_dbm0, on_ms, hang_ms, tone_gain_db)
        rc = self._call(lib.me_configure_vad, slot, int(on), float(threshold_dbm0),
                        int(on_ms), int(hang_ms), float(tone_gain_db))
        self._check(rc, "configure_vad", slot)

    def configure_cid(self, slot: int, standard: str | None,
                      threshold_dbm0: float | None = None) -> None:
        """Receive on-hook caller ID on a slot's rx audio ("bell202", "v23" or "dtmf";
        None switches it off). Each message arrives as a ``caller_id`` event carrying a
        `native.callerid.CallerId` (an FSK one labelled by its measured mark frequency)."""
        self._slot(slot)
        if standard is None:
            std = -1
        else:
            if standard not in CID_STANDARDS:
                raise ValueError(f"unknown caller ID standard {standard!r}: use one of "
                                 f"{', '.join(CID_STANDARDS)} or None")
            std = CID_STANDARDS[standard]
        if threshold_dbm0 is not None and not -70.0 <= threshold_dbm0 < 0.0:
            raise ValueError(f"threshold_dbm0 must be -70..0 (exclusive), got {threshold_dbm0}")
        rc = self._call(lib.me_configure_cid, slot, std, float(threshold_dbm0 or 0.0))
        self._check(rc, "configure_cid", slot)
        if std < 0:
            self._cid_standard.pop(slot, None)
        else:
            self._cid_standard[slot] = std

    # -- supervision and recording -----------------------------------------------------

    def whisper(self, slot: int, target: int | None) -> None:
        """Let ``slot``'s audio reach ``target`` only (None stops). Combined with listen-only
        membership this is the supervisor's whisper mode (coaching an agent)."""
        self._slot(slot)
        t = -1 if target is None else self._slot(target)
        if t == slot:
            raise ValueError(f"whisper: slot {slot} cannot whisper to itself")
        self._check(self._call(lib.me_whisper, slot, t), "whisper", slot)

    def supervise(self, supervisor: int, conference_id: int, mode: str,
                  agent: int | None = None) -> None:
        """Put ``supervisor`` on a conference in one of the modes of DOMAIN.md:
        ``listen`` (hears everyone, heard by none), ``whisper`` (also heard by ``agent``
        only) or ``barge`` (a full member: everyone hears them)."""
        if mode not in ("listen", "whisper", "barge"):
            raise ValueError(f"supervise: mode must be listen, whisper or barge, not {mode!r}")
        if mode == "whisper" and agent is None:
            raise ValueError("supervise: whisper needs the agent's slot")
        self.join(supervisor, conference_id, listen_only=mode != "barge")
        self.whisper(supervisor, agent if mode == "whisper" else None)

    def record(self, slot: int, on: bool = True) -> None:
        """Start (or stop) the recording tap of a slot; drain it with :meth:`read_recording`
        at least every 2 s."""
        self._slot(slot)
        self._check(self._call(lib.me_record, slot, int(on)), "record", slot)

    def read_recording(self, slot: int, max_frames: int = 16000) -> array:
        """Drain up to ``max_frames`` stereo frames (rx, tx interleaved) from the tap."""
        self._slot(slot)
        if not 0 < max_frames <= lib.ME_REC_FRAMES:
            raise ValueError(f"max_frames must be 1..{lib.ME_REC_FRAMES}")
        buf = ffi.new("int16_t[]", 2 * max_frames)
        n = self._check(self._call(lib.me_record_read, slot, buf, max_frames),
                        "read_recording", slot)
        out = array("h")
        out.frombytes(ffi.buffer(buf, 4 * n)[:])
        return out

    def recording_dropped(self, slot: int) -> int:
        """Frames of the tap lost because it was not drained in time."""
        self._slot(slot)
        return int(self._call(lib.me_record_dropped, slot))

    # -- the tick ----------------------------------------------------------------------

    def tick(self, rx: bytes | bytearray | memoryview) -> bytes:
        """Process one block of every slot: rx highway in, tx highway out."""
        expected = self._nslots * self._block
        if len(rx) != expected:
            raise ValueError(
                f"rx highway has {len(rx)} bytes, expected {expected} "
                f"({self._nslots} slots x {self._block} samples)"
            )
        src = ffi.from_buffer("uint8_t[]", rx)
        with self._lock:
            if self._e is None:
                raise ValueError("media engine is closed")
            rc = lib.me_tick(self._e, src, self._tx, expected)
            tx = bytes(ffi.buffer(self._tx, expected))
        self._check(rc, "tick")
        return tx

    def poll_events(self) -> list[MediaEvent]:
        """Pop every queued event, oldest first."""
        out: list[MediaEvent] = []
        with self._lock:
            if self._e is None:
                raise ValueError("media engine is closed")
            ev = self._ev
            while lib.me_poll_event(self._e, ev) == 1:
                kind = _EVENT_KINDS.get(ev.type)
                if kind is None:
                    continue
                if kind in ("dtmf_start", "dtmf_end"):
                    out.append(MediaEvent(ev.slot, kind, chr(ev.value), int(ev.time_ms)))
                elif kind in ("tone_detected", "tone_ended"):
                    names = self._tone_names.get(ev.slot, [])
                    name = names[ev.value] if 0 <= ev.value < len(names) else str(ev.value)
                    out.append(MediaEvent(ev.slot, kind, None, int(ev.time_ms), name))
                elif kind in ("vad_start", "vad_end"):
                    out.append(MediaEvent(ev.slot, kind, None, int(ev.time_ms),
                                          VAD_WHAT.get(ev.value, str(ev.value))))
                elif kind == "caller_id":
                    std = self._cid_standard.get(ev.slot)
                    if std is None or lib.me_cid_result(self._e, ev.slot, self._cid_res) != 1:
                        continue
                    cid = label_fsk(result_to_caller_id(std, self._cid_res))
                    out.append(MediaEvent(ev.slot, kind, None, int(ev.time_ms), caller_id=cid))
                else:
                    out.append(MediaEvent(ev.slot, kind, None, int(ev.time_ms)))
        return out
