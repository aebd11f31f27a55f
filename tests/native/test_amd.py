"""The voice/tone activity detector (native/csrc/amd.h): alone and per media-engine slot."""

from __future__ import annotations

import math
import pathlib
from array import array

import pytest
from sanitize_build import needs_gcc, run_sanitized

from drivers.sim import voices
from native.amd import VoiceActivity
from native.cpt import tone
from native.dsp import ToneGenerator, alaw_decode, alaw_encode
from native.media import Codec, MediaEngine

B = 160


def line(pcm: array) -> array:
    return array("h", alaw_decode(alaw_encode(pcm)))


def sine(ms: int, freqs: tuple[float, ...], level_dbm0: float = -13.0) -> array:
    amp = 32768.0 * 10 ** ((level_dbm0 - 3.14) / 20) / len(freqs)
    return array("h", (int(sum(amp * math.sin(2 * math.pi * f * i / 8000) for f in freqs))
                       for i in range(ms * 8)))


def test_words_are_voice_with_their_edges() -> None:
    audio = line(voices.silence(500) + voices.utterance([400, 300], 200, seed=3)
                 + voices.silence(500))
    events = VoiceActivity().process(audio)
    assert [(e.what, e.kind) for e in events] == [("voice", "start"), ("voice", "end")] * 2
    starts = [e.ms for e in events if e.kind == "start"]
    ends = [e.ms for e in events if e.kind == "end"]
    assert abs(starts[0] - 500) <= 30 and abs(ends[0] - 900) <= 40
    assert abs(starts[1] - 1100) <= 30 and abs(ends[1] - 1400) <= 40


@pytest.mark.parametrize("freqs", [(425.0,), (1000.0,), (1400.0,), (440.0, 480.0),
                                   (400.0, 450.0), (350.0, 440.0)])
def test_steady_tones_are_tones_not_voice(freqs: tuple[float, ...]) -> None:
    events = VoiceActivity().process(line(voices.silence(200) + sine(1000, freqs)
                                          + voices.silence(300)))
    assert [(e.what, e.kind) for e in events] == [("tone", "start"), ("tone", "end")]
    assert abs(events[0].ms - 200) <= 30 and abs(events[1].ms - 1200) <= 30


def test_ringback_cadence_is_tone_bursts() -> None:
    gen = ToneGenerator(tone("RU", "ringback"), repeat=True)
    events = VoiceActivity().process(line(gen.generate(8000 * 9)))
    assert {e.what for e in events} == {"tone"}
    assert sum(e.kind == "start" for e in events) == 3     # 0.8 s on, 3.2 s off


def test_quiet_lines_and_hum_are_not_voice() -> None:
    assert VoiceActivity().process(line(voices.silence(2000))) == []
    quiet = voices.utterance([500], seed=1, level_dbm0=-50.0)
    assert VoiceActivity().process(line(quiet)) == []          # below -42 dBm0


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="onset"):
        VoiceActivity(on_ms=5)
    with pytest.raises(ValueError, match="threshold"):
        VoiceActivity(threshold_dbm0=3.0)


def test_media_engine_reports_voice_per_slot() -> None:
    speech = voices.silence(200) + voices.utterance([400], seed=2) + voices.silence(400)
    with MediaEngine(2, B) as e:
        for s in (0, 1):
            e.configure_slot(s, codec=Codec.ALAW)
        e.configure_vad(1)
        silent = bytes([0xD5]) * B
        events = []
        for i in range(0, len(speech) - B + 1, B):
            block = alaw_encode(speech[i:i + B])
            e.tick(block + block)                  # the same audio on both slots
            events += [ev for ev in e.poll_events() if ev.kind.startswith("vad")]
        e.tick(silent * 2)
        assert [(ev.slot, ev.kind, ev.tone) for ev in events] == [
            (1, "vad_start", "voice"), (1, "vad_end", "voice")]
        assert abs(events[0].time_ms - 200) <= 30 and abs(events[1].time_ms - 600) <= 40
        e.configure_vad(1, False)
        with pytest.raises(ValueError, match="hangover"):
            e.configure_vad(0, hang_ms=5000)


@pytest.mark.slow
@needs_gcc
def test_detector_under_sanitizers(tmp_path: pathlib.Path) -> None:
    run_sanitized(tmp_path, "sanitize_amd")
