"""Caller ID line policy (drivers/analog/callerid.py) and the FXO port's offer logic.

The ring program is pure (steps with durations), so its timing is checked against the
standards' margins by adding up the steps: a fake clock without any sleeping. The FXO
port is driven with ring events carrying explicit timestamps and with decoded messages,
as the DAA and the media engine would deliver them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import pytest

from drivers.analog import callerid
from drivers.analog.callerid import Presentation, ring_program
from drivers.analog.fxo import FxoPort
from drivers.analog.fxs import RING_CADENCES
from drivers.channel import ChannelEvent, ChannelReleased, ChannelSetup
from native.callerid import CallerId, decode_all

WHEN = datetime(2024, 3, 15, 12, 30)


def timeline(steps: list[callerid.RingStep]) -> list[tuple[float, str]]:
    """(start time, what) of every step: 'send' or the feed."""
    t, out = 0.0, []
    for s in steps:
        out.append((t, s.action if s.action == "send" else str(s.feed)))
        t += s.hold_s
    out.append((t, "end"))
    return out


def ring_edges(tl: list[tuple[float, str]]) -> tuple[list[float], list[float]]:
    """Start and end times of the ring bursts."""
    starts, ends, ringing = [], [], False
    for t, what in tl:
        if what == "ringing" and not ringing:
            starts.append(t)
            ringing = True
        elif what != "ringing" and ringing and what != "send":
            ends.append(t)
            ringing = False
    return starts, ends


@pytest.mark.parametrize("country", sorted(RING_CADENCES))
@pytest.mark.parametrize("mode", ["bell202", "v23"])
def test_data_after_the_first_ring_keeps_the_margins(country: str, mode: str) -> None:
    data = callerid.signal(mode, Presentation("+79161234567", "A Rather Long Caller Name"),
                           WHEN)
    data_s = len(data) / 8000
    cadence = RING_CADENCES[country]
    tl = timeline(ring_program(mode, cadence, data_s))
    sends = [t for t, w in tl if w == "send"]
    assert len(sends) == 1
    starts, ends = ring_edges(tl)
    first_end = max(e for e in ends if e <= sends[0])
    # GR-30-CORE / EN 300 659-1: >= 500 ms after the ring, >= 200 ms before the next
    assert sends[0] - first_end >= 0.5
    next_ring = min([s for s in starts if s > sends[0]] + [tl[-1][0]])
    assert next_ring - (sends[0] + data_s) >= 0.2
    # the program rings the cadence's first cycle (the driver repeats it afterwards)
    assert len(starts) == (len(cadence) + 1) // 2


@pytest.mark.parametrize("mode", ["v23-dtas", "dtmf"])
def test_data_before_the_first_ring(mode: str) -> None:
    data = callerid.signal(mode, Presentation("+441632960000"), WHEN, "GB")
    steps = ring_program(mode, RING_CADENCES["UK"], len(data) / 8000)
    tl = timeline(steps)
    assert tl[0] == (0.0, "reverse")
    send = next(t for t, w in tl if w == "send")
    first_ring = next(t for t, w in tl if w == "ringing")
    assert send >= 0.1                               # reversal to alert >= 100 ms
    assert first_ring - (send + len(data) / 8000) >= 0.2   # data end to ring >= 200 ms
    forward = next(t for t, w in tl if w == "forward")
    assert send < forward <= first_ring              # normal polarity back before ringing


def test_short_pauses_are_stretched_to_fit() -> None:
    steps = ring_program("v23", (0.4, 0.2, 0.4, 0.6), 0.9)
    tl = timeline(steps)
    send = next(t for t, w in tl if w == "send")
    assert send - 1.0 >= 0.5 and tl[-1][0] - (send + 0.9) >= 0.2


def test_off_is_the_plain_cadence() -> None:
    assert [s.hold_s for s in ring_program("off", (1.0, 4.0), 1.0)] == [1.0, 4.0]
    assert [s.feed for s in ring_program("v23", (1.0, 4.0), 0.0)] == ["ringing", "forward"]


def test_dtas_alert_then_fsk_decodes() -> None:
    pcm = callerid.signal("v23-dtas", Presentation("0123456789", "Ann"), WHEN)
    # 100 ms of 2130 + 2750 Hz, 100 ms gap, then the FSK
    assert max(abs(x) for x in pcm[:800]) > 1000
    assert max(abs(x) for x in pcm[820:1580]) == 0
    (cid,) = decode_all(pcm[1600:])
    assert (cid.standard, cid.number, cid.name, cid.datetime) == (
        "v23", "0123456789", "Ann", "03151230")


@pytest.mark.parametrize(("who", "expect"), [
    (Presentation("+79161234567", "Ivan"), ("+79161234567", "Ivan", None)),
    (Presentation(None, withheld=True), (None, None, "P")),
    (Presentation(None), (None, None, "O")),
    (Presentation("101", "José Müller"), ("101", "Jose Muller", None)),   # ASCII only
])
def test_fsk_presentation(who: Presentation, expect: tuple[str | None, ...]) -> None:
    (cid,) = decode_all(callerid.signal("bell202", who, WHEN))
    assert (cid.number, cid.name, cid.absence) == expect
    assert cid.standard == "bell202" and cid.datetime == "03151230"


@pytest.mark.parametrize(("number", "country", "digits"), [
    ("+79161234567", "RU", "89161234567"),
    ("+79161234567", "SE", "0079161234567"),
    ("+46812345678", "SE", "0812345678"),
    ("+12025550123", "US", "12025550123"),
    ("+33123456789", "UA", "0033123456789"),
    ("84951234567", "RU", "84951234567"),
])
def test_dtmf_numbers_in_the_national_form(number: str, country: str, digits: str) -> None:
    assert callerid.dtmf_number(number, country) == digits
    (cid,) = decode_all(callerid.signal("dtmf", Presentation(number), WHEN, country))
    assert cid.number == digits


def test_country_table_and_settings() -> None:
    assert callerid.resolve("US") == "bell202"
    assert callerid.resolve("GB") == callerid.resolve("UK") == "v23-dtas"
    assert callerid.resolve("SE") == "dtmf"
    assert callerid.resolve("ZZ") == "v23"
    assert callerid.resolve("US", "dtmf") == "dtmf"
    with pytest.raises(ValueError, match="caller ID setting"):
        callerid.resolve("US", "fsk")
    from firmware.config.schema import CALLER_ID_MODES

    assert CALLER_ID_MODES == callerid.SETTINGS


# -- FXO: when the call is offered --------------------------------------------------------


class FakeDaa:
    off_hook = False

    def set_hook(self, off_hook: bool) -> None:
        self.off_hook = off_hook

    def on_ring(self, cb: Callable[[bool, float], None]) -> None:
        self.ring = cb

    def on_polarity(self, cb: Callable[[int, float], None]) -> None:
        pass

    def on_loop_current(self, cb: Callable[[bool, float], None]) -> None:
        pass


class FakeMedia:
    def __init__(self) -> None:
        self.cid: dict[int, str | None] = {}

    def play_dtmf(self, slot: int, digits: str, on_ms: int = 80, off_ms: int = 80,
                  level_dbm0: float = -10.0) -> None:
        pass

    def configure_cid(self, slot: int, standard: str | None,
                      threshold_dbm0: float | None = None) -> None:
        self.cid[slot] = standard


async def fxo(country: str = "RU", setting: str = "auto"
              ) -> tuple[FxoPort, FakeDaa, FakeMedia, list[ChannelEvent]]:
    daa, media = FakeDaa(), FakeMedia()
    port = FxoPort("fxo1", 4, daa, media, receiver=media, country=country, caller_id=setting)
    events: list[ChannelEvent] = []
    port.bind(events.append)
    await port.start()
    return port, daa, media, events


def cid(number: str | None, name: str | None = None, absence: str | None = None,
        valid: bool = True) -> CallerId:
    return CallerId("v23", number=number, name=name, absence=absence, valid=valid)


def setups(events: list[ChannelEvent]) -> list[ChannelSetup]:
    return [e for e in events if isinstance(e, ChannelSetup)]


async def test_fxo_receiver_follows_the_mode() -> None:
    port, _, media, _ = await fxo("US")
    assert media.cid[4] == "bell202"
    port.configure(country="SE")
    assert media.cid[4] == "dtmf"
    port.configure(caller_id="off")
    assert media.cid[4] is None
    with pytest.raises(ValueError):
        port.configure(caller_id="nonsense")


async def test_fxo_offers_when_the_caller_id_arrives_after_the_first_ring() -> None:
    port, daa, _, events = await fxo()
    daa.ring(True, 10.0)
    daa.ring(False, 10.8)
    assert setups(events) == []                      # waiting for the caller ID
    port.caller_id_received(cid("+74951234567", "ACME"))
    (s,) = setups(events)
    assert (s.caller, s.caller_name, s.caller_withheld) == ("+74951234567", "ACME", False)
    daa.ring(True, 14.0)                              # the second ring changes nothing
    assert len(setups(events)) == 1 and port.rings == 2
    await port.release()


async def test_fxo_without_caller_id_offers_on_the_second_ring() -> None:
    port, daa, _, events = await fxo()
    daa.ring(True, 10.0)
    daa.ring(False, 10.4)
    daa.ring(True, 10.6)                             # a double ring's second burst
    assert setups(events) == [] and port.rings == 1
    daa.ring(False, 11.0)
    port.caller_id_received(cid(None, valid=False))   # corrupt: still unknown
    daa.ring(True, 14.0)
    (s,) = setups(events)
    assert (s.caller, s.caller_withheld, port.rings) == (None, False, 2)
    await port.release()


async def test_fxo_caller_id_before_the_first_ring() -> None:
    port, daa, _, events = await fxo("GB")
    port.caller_id_received(cid(None, absence="P"))  # after reversal + DT-AS
    daa.ring(True, 10.0)
    assert setups(events) == []                      # could still be an RP-AS pulse
    await asyncio.sleep(callerid.ALERT_PULSE_MAX_S + 0.05)
    (s,) = setups(events)
    assert (s.caller, s.caller_withheld) == (None, True)
    await port.release()


async def test_fxo_mode_off_offers_on_the_first_ring() -> None:
    port, daa, _, events = await fxo(setting="off")
    daa.ring(True, 10.0)
    await asyncio.sleep(callerid.ALERT_PULSE_MAX_S + 0.05)   # a ring, not an RP-AS
    assert len(setups(events)) == 1
    await port.release()


async def test_fxo_ringing_that_stops_before_the_offer_releases_nothing() -> None:
    port, daa, _, events = await fxo()
    daa.ring(True, 10.0)
    daa.ring(False, 10.8)
    port._caller_gave_up()                            # RING_GONE_S later
    assert not any(isinstance(e, (ChannelSetup, ChannelReleased)) for e in events)
    assert port.state.value == "idle"
