"""The media engine through its Python wrapper."""

from __future__ import annotations

import math
import threading
from array import array

import pytest
from native_signals import DIGITS

from native.dsp import (
    DtmfGenerator,
    ToneSegment,
    alaw_decode,
    alaw_encode,
    ulaw_decode,
    ulaw_encode,
)
from native.media import Codec, MediaEngine, MediaEvent

B = 160
ENC = {Codec.ALAW: alaw_encode, Codec.ULAW: ulaw_encode}
DEC = {Codec.ALAW: alaw_decode, Codec.ULAW: ulaw_decode}
SILENCE = {Codec.ALAW: 0xD5, Codec.ULAW: 0xFF}


def sine(n: int, f: float, amp: float, phase: float = 0.0) -> array:
    return array("h", (round(amp * math.sin(2 * math.pi * f * i / 8000 + phase)) for i in range(n)))


class Highway:
    """Builds rx highways and reads tx highways for an engine."""

    def __init__(self, engine: MediaEngine, codecs: list[Codec] | None = None) -> None:
        self.e = engine
        self.codecs = codecs or [Codec.ALAW] * engine.nslots
        for s, c in enumerate(self.codecs):
            engine.configure_slot(s, codec=c)

    def rx(self, audio: dict[int, array]) -> bytes:
        out = bytearray()
        for s, c in enumerate(self.codecs):
            pcm = audio.get(s)
            out += ENC[c](pcm) if pcm is not None else bytes([SILENCE[c]]) * self.e.block
        return bytes(out)

    def slot(self, tx: bytes, s: int) -> bytes:
        b = self.e.block
        return tx[s * b : (s + 1) * b]

    def pcm(self, tx: bytes, s: int) -> array:
        return DEC[self.codecs[s]](self.slot(tx, s))

    def heard(self, audio: dict[int, array], s: int) -> array:
        """What slot s's rx audio becomes after its codec (the engine mixes decoded rx)."""
        return DEC[self.codecs[s]](ENC[self.codecs[s]](audio[s]))


def test_cross_connect_carries_audio_both_ways() -> None:
    with MediaEngine(4) as e:
        hw = Highway(e, [Codec.ALAW, Codec.ULAW, Codec.ALAW, Codec.ALAW])
        conf = e.connect(0, 1)
        assert conf > 0
        audio = {0: sine(B, 1000, 8000), 1: sine(B, 400, 3000)}
        rx = hw.rx(audio)
        tx = e.tick(rx)
        # A-law -> mu-law transcoding of slot 0 appears on slot 1, and back
        assert hw.slot(tx, 1) == ulaw_encode(hw.heard(audio, 0))
        assert hw.slot(tx, 0) == alaw_encode(hw.heard(audio, 1))
        # same codec end to end is transparent: slot 2 <-> 3
        e.connect(2, 3)
        audio[2] = sine(B, 700, 12000)
        tx = e.tick(hw.rx(audio))
        assert hw.slot(tx, 3) == hw.rx(audio)[2 * B : 3 * B]


def test_three_party_conference_sums_the_others_only() -> None:
    with MediaEngine(5) as e:
        hw = Highway(e)
        for s in (0, 2, 4):
            e.join(s, 7)
        audio = {
            0: sine(B, 500, 4000),
            2: sine(B, 900, 5000),
            4: sine(B, 1300, 6000),
            1: sine(B, 300, 9000),
        }
        tx = e.tick(hw.rx(audio))
        h = {s: hw.heard(audio, s) for s in audio}
        for me, others in ((0, (2, 4)), (2, (0, 4)), (4, (0, 2))):
            expected = array("h", (sum(h[o][i] for o in others) for i in range(B)))
            assert hw.slot(tx, me) == alaw_encode(expected)
        assert hw.slot(tx, 1) == bytes([0xD5]) * B  # not in a conference: silence
        assert hw.slot(tx, 3) == bytes([0xD5]) * B


def test_conference_sum_saturates() -> None:
    with MediaEngine(3) as e:
        hw = Highway(e)
        for s in range(3):
            e.join(s, 1)
        audio = {
            0: array("h", [30000] * B),
            1: array("h", [30000] * B),
            2: array("h", [-30000] * B),
        }
        tx = e.tick(hw.rx(audio))
        h = {s: hw.heard(audio, s) for s in audio}
        assert set(hw.pcm(tx, 2)) == {32256}  # clipped to A-law full scale
        assert hw.slot(tx, 2) == alaw_encode(array("h", [32767] * B))
        assert hw.slot(tx, 0) == alaw_encode(array("h", [h[1][0] + h[2][0]] * B))


def test_listen_only_hears_but_is_not_heard() -> None:
    with MediaEngine(3) as e:
        hw = Highway(e)
        e.join(0, 9)
        e.join(1, 9)
        e.join(2, 9, listen_only=True)
        audio = {0: sine(B, 500, 4000), 1: sine(B, 900, 5000), 2: sine(B, 1300, 6000)}
        tx = e.tick(hw.rx(audio))
        h = {s: hw.heard(audio, s) for s in audio}
        assert hw.slot(tx, 0) == alaw_encode(h[1])
        assert hw.slot(tx, 1) == alaw_encode(h[0])
        both = array("h", (a + b for a, b in zip(h[0], h[1], strict=True)))
        assert hw.slot(tx, 2) == alaw_encode(both)
        e.leave(2)
        tx = e.tick(hw.rx(audio))
        assert hw.slot(tx, 2) == bytes([0xD5]) * B


def test_disabled_slots_send_silence_codes() -> None:
    with MediaEngine(2) as e:
        e.configure_slot(1, codec=Codec.ULAW, enabled=False)
        e.connect(0, 1)
        tx = e.tick(bytes([0x00]) * 2 * B)
        assert tx == bytes([0xD5]) * B + bytes([0xFF]) * B  # slot 0 default: disabled A-law


@pytest.mark.parametrize("codec", [Codec.ALAW, Codec.ULAW])
@pytest.mark.parametrize("block", [160, 80])
def test_dtmf_on_rx_is_reported(codec: Codec, block: int) -> None:
    with MediaEngine(3, block=block) as e:
        hw = Highway(e, [codec] * 3)
        e.configure_slot(0, codec=codec, dtmf_detect=False)
        gen = DtmfGenerator(level_dbm0=-12.0, on_ms=60, off_ms=60)
        gen.queue(DIGITS)
        for _ in range(5):  # 5 blocks of silence first
            e.tick(hw.rx({}))
        t0 = e.time_ms
        events: list[MediaEvent] = []
        for _ in range(16 * 120 * 8 // block + 10):
            pcm = gen.generate(block)
            e.tick(hw.rx({0: pcm, 2: pcm}))
            events += e.poll_events()
        assert {ev.slot for ev in events} == {2}  # slot 0 has detection off
        assert "".join(ev.digit or "" for ev in events if ev.kind == "dtmf_start") == DIGITS
        assert [ev.kind for ev in events] == ["dtmf_start", "dtmf_end"] * 16
        for i, d in enumerate(DIGITS):
            start, end = events[2 * i], events[2 * i + 1]
            assert start.digit == end.digit == d
            assert abs(start.time_ms - (t0 + 120 * i)) <= 15
            assert abs(end.time_ms - (t0 + 120 * i + 60)) <= 15


def test_engine_dtmf_playback_is_detected_by_a_connected_slot() -> None:
    with MediaEngine(2) as e:
        hw = Highway(e)
        e.play_dtmf(0, "42#", on_ms=70, off_ms=50)
        events: list[MediaEvent] = []
        looped = bytes([0xD5]) * B
        for _ in range(40):
            tx = e.tick(bytes([0xD5]) * B + looped)
            looped = hw.slot(tx, 0)  # slot 0's tx comes back on slot 1's rx a tick later
            events += e.poll_events()
        digits = [ev.digit for ev in events if ev.slot == 1 and ev.kind == "dtmf_start"]
        assert digits == ["4", "2", "#"]
        done = [ev for ev in events if ev.kind == "playback_done"]
        assert [(ev.slot, ev.digit) for ev in done] == [(0, None)]


def test_play_tone_replaces_conference_audio_then_playback_done() -> None:
    with MediaEngine(2) as e:
        hw = Highway(e)
        e.connect(0, 1)
        audio = {1: sine(B, 300, 5000)}
        e.tick(hw.rx(audio))
        e.play_tone(0, [ToneSegment(1000, 0, -10, 50)], repeat=False)
        assert e.playing(0)
        t0 = e.time_ms
        tx = e.tick(hw.rx(audio))
        tone = hw.pcm(tx, 0)
        assert hw.slot(tx, 0) != alaw_encode(hw.heard(audio, 1))
        assert abs(max(tone) - 22827 * 10 ** (-10 / 20)) < 300
        tx = e.tick(hw.rx(audio))
        assert e.poll_events() == []
        tx = e.tick(hw.rx(audio))  # 40..60 ms: the tone ends at 50 ms
        assert not e.playing(0)
        assert e.poll_events() == [MediaEvent(0, "playback_done", None, t0 + 50)]
        silent = hw.slot(tx, 0)[80:]
        assert hw.slot(tx, 0)[:80].count(0xD5) <= 20 and silent == bytes([0xD5]) * 80
        tx = e.tick(hw.rx(audio))
        assert hw.slot(tx, 0) == alaw_encode(hw.heard(audio, 1))  # conference back


def test_repeating_tone_never_completes_and_stop_is_silent() -> None:
    with MediaEngine(1) as e:
        Highway(e)
        e.play_tone(0, [ToneSegment(425, 0, -13, 20), ToneSegment(0, 0, 0, 20)])
        for _ in range(20):
            e.tick(bytes([0xD5]) * B)
        assert e.playing(0)
        e.stop_playback(0)
        assert not e.playing(0)
        assert e.tick(bytes([0xD5]) * B) == bytes([0xD5]) * B
        assert e.poll_events() == []


def test_play_pcm_is_copied_and_played() -> None:
    with MediaEngine(1, block=80) as e:
        hw = Highway(e)
        prompt = sine(200, 600, 7000)
        e.play_pcm(0, prompt)
        prompt[:] = array("h", [0] * 200)  # the engine has its own copy
        out = b"".join(e.tick(hw.rx({})) for _ in range(3))
        assert out[:200] == alaw_encode(sine(200, 600, 7000))
        assert out[200:] == bytes([0xD5]) * 40
        assert e.poll_events() == [MediaEvent(0, "playback_done", None, 25)]


def test_new_playback_replaces_old_without_done() -> None:
    with MediaEngine(1) as e:
        Highway(e)
        e.play_pcm(0, array("h", [1000] * 1000))
        e.play_tone(0, [ToneSegment(800, 0, -10, 10)], repeat=False)
        e.tick(bytes([0xD5]) * B)
        assert [ev.kind for ev in e.poll_events()] == ["playback_done"]


def test_event_ring_overflow_drops_oldest() -> None:
    with MediaEngine(256, block=8) as e:
        Highway(e)
        for _ in range(5):
            for s in range(256):
                e.play_pcm(s, array("h", [1] * 8))
            e.tick(bytes([0xD5]) * 256 * 8)
        assert e.events_dropped == 5 * 256 - 1024
        events = e.poll_events()
        assert len(events) == 1024
        assert events[0].time_ms == 2  # ticks 0 (t=1 ms) was dropped
        assert events[-1].time_ms == 5


def test_bad_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError):
        MediaEngine(0)
    with pytest.raises(ValueError):
        MediaEngine(257)
    with pytest.raises(ValueError):
        MediaEngine(4, block=100)
    e = MediaEngine(4)
    with pytest.raises(ValueError, match=r"639.*640"):
        e.tick(bytes(639))
    for bad in (-1, 4, True, "1", 1.0):
        with pytest.raises(ValueError, match="slot"):
            e.configure_slot(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="codec"):
        e.configure_slot(0, codec=7)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="conference_id"):
        e.join(0, 0)
    with pytest.raises(ValueError, match="itself"):
        e.connect(1, 1)
    with pytest.raises(ValueError, match="disabled"):
        e.play_pcm(0, array("h", [1, 2]))
    e.configure_slot(0)
    with pytest.raises(ValueError, match="digits"):
        e.play_dtmf(0, "12x")
    with pytest.raises(ValueError, match="digits"):
        e.play_dtmf(0, "")
    with pytest.raises(ValueError):
        e.play_dtmf(0, "1", on_ms=0)
    with pytest.raises(ValueError, match="samples"):
        e.play_pcm(0, b"")
    with pytest.raises(ValueError):
        e.play_tone(0, [ToneSegment(5000)])
    with pytest.raises(ValueError):
        e.play_tone(0, [])
    e.close()
    e.close()
    with pytest.raises(ValueError, match="closed"):
        e.tick(bytes(640))
    with pytest.raises(ValueError, match="closed"):
        e.poll_events()


def test_ticking_thread_and_control_thread_together() -> None:
    e = MediaEngine(32, block=80)
    for s in range(32):
        e.configure_slot(s)
    stop = threading.Event()
    errors: list[BaseException] = []

    def media_thread() -> None:
        try:
            rx = bytes([0xD5]) * 32 * 80
            while not stop.is_set():
                e.tick(rx)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=media_thread)
    t.start()
    try:
        for i in range(2000):
            s = i % 32
            e.join(s, 1 + i % 5, listen_only=bool(i % 3 == 0))
            if i % 4 == 0:
                e.play_tone(s, [ToneSegment(425, 0, -13, 10)], repeat=False)
            elif i % 4 == 1:
                e.play_pcm(s, array("h", [100] * 100))
            elif i % 4 == 2:
                e.play_dtmf(s, "1", on_ms=10, off_ms=0)
            else:
                e.leave(s)
            e.poll_events()
    finally:
        stop.set()
        t.join()
    assert not errors
    e.close()
