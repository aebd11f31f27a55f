"""The media engine's per-slot on-hook caller ID receiver (me_configure_cid)."""

from __future__ import annotations

from array import array

import pytest

from native.callerid import encode
from native.dsp import alaw_encode, ulaw_encode
from native.media import Codec, MediaEngine, MediaEvent

B = 160


def run(engine: MediaEngine, slot: int, pcm: array, codec: Codec = Codec.ALAW) -> list[MediaEvent]:
    """Feed pcm (padded to whole blocks, 200 ms of silence after) into one slot."""
    enc = alaw_encode if codec is Codec.ALAW else ulaw_encode
    quiet = {Codec.ALAW: 0xD5, Codec.ULAW: 0xFF}
    pcm = pcm + array("h", bytes(2 * (B - len(pcm) % B + 1600)))
    events: list[MediaEvent] = []
    for at in range(0, len(pcm) - B + 1, B):
        rx = bytearray()
        for s in range(engine.nslots):
            rx += enc(pcm[at:at + B]) if s == slot else bytes([quiet[codec]]) * B
        engine.tick(bytes(rx))
        events += [ev for ev in engine.poll_events() if ev.kind == "caller_id"]
    return events


def silence(ms: int) -> array:
    return array("h", bytes(16 * ms))


@pytest.mark.parametrize(("std", "codec"), [("v23", Codec.ALAW), ("bell202", Codec.ULAW)])
def test_fsk_caller_id_on_a_slot_arrives_as_an_event(std: str, codec: Codec) -> None:
    with MediaEngine(3, B) as e:
        for s in range(3):
            e.configure_slot(s, codec=codec)
        e.configure_cid(1, std)
        e.configure_echo(1, 128)          # the receiver sits before the canceller
        sig = silence(300) + encode(std, "+79161234567", "Ivan Petrov", "03151230")  # type: ignore[arg-type]
        evs = run(e, 1, sig, codec)
        assert len(evs) == 1
        ev = evs[0]
        assert ev.slot == 1 and ev.caller_id is not None
        cid = ev.caller_id
        assert (cid.standard, cid.number, cid.name, cid.datetime, cid.valid) == (
            std, "+79161234567", "Ivan Petrov", "03151230", True)
        # event time: the end of the message, in engine time
        assert 300 + len(sig) // 8 - 400 < ev.time_ms <= 300 + len(sig) // 8 + 40
        # other slots hear nothing, and slot 0 (no receiver) stays quiet
        assert run(e, 0, sig, codec) == []


def test_dtmf_caller_id_and_absence() -> None:
    with MediaEngine(1, B) as e:
        e.configure_slot(0)
        e.configure_cid(0, "dtmf")
        evs = run(e, 0, silence(100) + encode("dtmf", "4951234567"))
        assert [ev.caller_id.number for ev in evs if ev.caller_id] == ["4951234567"]
        evs = run(e, 0, encode("dtmf", absence="P"))
        assert [ev.caller_id.absence for ev in evs if ev.caller_id] == ["P"]


def test_switched_off_and_reconfigured() -> None:
    with MediaEngine(1, B) as e:
        e.configure_slot(0)
        sig = encode("v23", "123", datetime="01010000")
        assert run(e, 0, sig) == []                   # off by default
        e.configure_cid(0, "v23")
        assert len(run(e, 0, sig)) == 1
        e.configure_cid(0, None)
        assert run(e, 0, sig) == []


def test_bad_arguments() -> None:
    with MediaEngine(2, B) as e:
        with pytest.raises(ValueError, match="caller ID standard"):
            e.configure_cid(0, "v.23")
        with pytest.raises(ValueError, match="slot"):
            e.configure_cid(2, "v23")
        with pytest.raises(ValueError, match="threshold"):
            e.configure_cid(0, "v23", threshold_dbm0=-80.0)
