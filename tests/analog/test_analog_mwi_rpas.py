"""RP-AS caller ID and the message waiting lamp in the analog line policy and drivers:
the programs' timing against ETSI EN 300 659-1, the FXO port telling an alerting pulse
from a ring, and the FXS port sending the lamp only while the line is quiet."""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Callable
from datetime import datetime

import pytest

from drivers.analog import callerid, fxs
from drivers.analog.chips import LineFeed
from drivers.analog.fxo import FxoPort
from drivers.analog.fxs import RING_CADENCES, FxsPort
from drivers.channel import ChannelEvent, ChannelSetup
from native.callerid import CallerId, Receiver, decode_all, label_fsk
from tests.analog.test_analog_callerid import FakeDaa, FakeMedia

WHEN = datetime(2024, 3, 15, 12, 30)


def timeline(steps: list[callerid.RingStep]) -> list[tuple[float, float, str]]:
    """(start, end, what) of every step: 'send' or the feed."""
    t, out = 0.0, []
    for s in steps:
        out.append((t, t + s.hold_s, s.action if s.action == "send" else str(s.feed)))
        t += s.hold_s
    return out


def test_rpas_program_keeps_the_windows() -> None:
    data = callerid.signal("v23-rpas", callerid.Presentation("+441632960000"), WHEN, "GB")
    data_s = len(data) / 8000
    tl = timeline(callerid.ring_program("v23-rpas", RING_CADENCES["UK"], data_s))
    pulse, gap, send = tl[0], tl[1], tl[2]
    assert pulse[2] == "ringing" and 0.2 <= pulse[1] - pulse[0] <= 0.3     # RP-AS
    assert gap[2] == "forward" and send[2] == "send"
    assert 0.5 <= send[0] - pulse[1] <= 0.8          # RP-AS end to FSK start
    first_ring = next(t for t, _, w in tl[3:] if w == "ringing")
    assert first_ring - (send[0] + data_s) >= 0.2     # FSK end to the first ring
    assert "reverse" not in [w for *_, w in tl]       # no line reversal with RP-AS
    # the pulse is shorter than any ring burst of any cadence, and the limit between
    assert pulse[1] - pulse[0] < callerid.ALERT_PULSE_MAX_S < min(
        min(c[0::2]) for c in RING_CADENCES.values())
    # no DT-AS in the audio: it starts with the FSK channel seizure
    (found,) = decode_all(data, "v23")
    assert found.number == "+441632960000" and found.start_ms < 400


@pytest.mark.parametrize(("mode", "first", "standard"), [
    ("bell202", "send", "bell202"), ("v23", "reverse", "v23"),
    ("v23-dtas", "reverse", "v23"), ("dtmf", "reverse", "v23"), ("v23-rpas", "ringing", "v23"),
])
def test_mwi_program_and_signal(mode: str, first: str, standard: str) -> None:
    data = callerid.mwi_signal(mode, 3, WHEN)
    tl = timeline(callerid.mwi_program(mode, len(data) / 8000))
    assert tl[0][2] == first
    assert [w for *_, w in tl].count("ringing") == (1 if mode == "v23-rpas" else 0)
    if first == "reverse":
        assert tl[-1][2] == "forward"                 # normal polarity after the data
    (r,) = [label_fsk(x) for x in decode_all(data, "v23")]
    assert (r.standard, r.message_waiting) == (standard, True)
    assert r.messages == (None if standard == "bell202" else 3)
    assert r.datetime == (None if standard == "bell202" else "03151230")
    (off,) = decode_all(callerid.mwi_signal(mode, 0, WHEN), "v23")
    assert (off.message_waiting, off.messages) == (False, None)


def test_mwi_off_mode_sends_nothing() -> None:
    assert not callerid.mwi_signal("off", 2, WHEN)
    assert callerid.mwi_program("off", 1.0) == []


# -- FXO: a ring-pulse alert is not a ring ---------------------------------------------

async def test_fxo_rpas_is_not_a_ring_and_its_caller_id_is_taken() -> None:
    daa, media = FakeDaa(), FakeMedia()
    port = FxoPort("fxo1", 4, daa, media, receiver=media, country="GB", caller_id="v23-rpas")
    events: list[ChannelEvent] = []
    port.bind(events.append)
    await port.start()
    daa.ring(True, 10.0)
    daa.ring(False, 10.25)                            # RP-AS
    await asyncio.sleep(callerid.ALERT_PULSE_MAX_S + 0.05)
    assert (port.state.value, port.rings, port.alert_pulses) == ("idle", 0, 1)
    port.caller_id_received(CallerId("v23", number="01632960000"))
    assert not [e for e in events if isinstance(e, ChannelSetup)]
    daa.ring(True, 11.8)
    daa.ring(False, 12.2)                             # 0.4 s: a ring
    (s,) = [e for e in events if isinstance(e, ChannelSetup)]
    assert (s.caller, port.rings) == ("01632960000", 1)
    await port.release()


async def test_fxo_ignores_a_message_waiting_indication_as_caller() -> None:
    daa, media = FakeDaa(), FakeMedia()
    port = FxoPort("fxo1", 4, daa, media, receiver=media)
    await port.start()
    port.caller_id_received(CallerId("v23", message_waiting=True, messages=2))
    assert port.message_waiting is True and port.last_caller_id is None
    daa.ring(True, 10.0)
    await asyncio.sleep(callerid.ALERT_PULSE_MAX_S + 0.05)
    assert port._pending_cid is None                  # noqa: SLF001 - nothing to offer
    await port.release()


# -- FXS: the lamp goes only while the line is quiet -------------------------------------

class FakeSlic:
    def __init__(self) -> None:
        self.linefeed = LineFeed.OPEN
        self.feeds: list[LineFeed] = []
        self.off_hook = False
        self.cb: Callable[[bool, float], None] = lambda off, ts: None

    def set_linefeed(self, mode: LineFeed) -> None:
        self.linefeed = mode
        self.feeds.append(mode)

    def on_hook_change(self, callback: Callable[[bool, float], None]) -> None:
        self.cb = callback

    def hook(self, off: bool) -> None:
        self.off_hook = off
        self.cb(off, asyncio.get_running_loop().time())


class RecordingMedia:
    def __init__(self) -> None:
        self.played: list[array] = []
        self.stopped = 0

    def play_pcm(self, slot: int, pcm: array) -> None:
        self.played.append(pcm)

    def stop_playback(self, slot: int) -> None:
        self.stopped += 1


def lamp_states(media: RecordingMedia) -> list[bool | None]:
    rx = Receiver("v23")
    return [r.message_waiting for pcm in media.played for r in rx.feed(pcm + array(
        "h", bytes(1600)))]


async def fxs_port(monkeypatch: pytest.MonkeyPatch) -> tuple[FxsPort, FakeSlic, RecordingMedia]:
    monkeypatch.setattr(fxs, "MWI_SETTLE_S", 0.05)
    slic, media = FakeSlic(), RecordingMedia()
    port = FxsPort("fxs1", 0, slic, "DE", media)
    await port.start()
    return port, slic, media


async def test_fxs_lamp_waits_for_on_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    port, slic, media = await fxs_port(monkeypatch)
    slic.hook(True)                                   # the phone is in use
    port.set_message_waiting(2)
    await asyncio.sleep(0.3)
    assert media.played == [] and port.describe()["message_waiting_pending"]
    slic.hook(False)
    await asyncio.sleep(fxs.FLASH_MAX_S + 0.2)        # hang-up confirmed, line settles
    await asyncio.sleep(2.0)                          # reversal, DT-AS, FSK, reversal back
    assert lamp_states(media) == [True]
    assert LineFeed.REVERSE in slic.feeds and slic.linefeed is LineFeed.FORWARD
    assert not port.describe()["message_waiting_pending"] and port.mwi_sent == 1
    await port.stop()


async def test_fxs_ringing_cuts_the_lamp_and_it_goes_after(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    port, slic, media = await fxs_port(monkeypatch)
    port.set_message_waiting(1)
    await asyncio.sleep(0.3)                          # transmission under way
    assert len(media.played) == 1
    await port.place_call("201", "555")               # a call: the lamp waits
    assert media.stopped >= 1 and port.describe()["message_waiting_pending"]
    await asyncio.sleep(1.2)
    assert slic.linefeed in (LineFeed.RINGING, LineFeed.FORWARD)
    await port.release()                              # the caller gave up
    await asyncio.sleep(2.2)
    assert lamp_states(media)[-1] is True and port.mwi_sent == 1
    await port.stop()
