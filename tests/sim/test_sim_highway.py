"""The simulated highway hands every active device exactly the audio of its slot, and puts
exactly what each device says (silence when it says nothing) on the way back, whether it
decodes slot by slot (few devices) or the whole highway at once (many)."""

from __future__ import annotations

from array import array

import pytest

from drivers.sim.highway import SimHighway
from drivers.sim.parties import SimParty
from native.dsp import alaw_decode, alaw_encode
from native.media import Codec


class Recorder:
    def __init__(self, say: array | None) -> None:
        self.listening = True
        self.heard: list[array] = []
        self.say = say

    def hear(self, pcm: array) -> None:
        self.heard.append(pcm)

    def speak(self, n: int) -> array | None:
        return self.say


@pytest.mark.parametrize("talking", [1, 3, 12])          # per-slot and whole-highway decode
def test_each_device_hears_its_slot_and_is_heard(talking: int) -> None:
    block, nslots = 16, 12
    hw = SimHighway(nslots, block, Codec.ALAW)
    tx = bytes((slot * 37 + i * 11) % 256 for slot in range(nslots) for i in range(block))
    devices = {}
    for slot in range(talking):
        say = array("h", [(slot + 1) * 100 * (-1) ** i for i in range(block)]) \
            if slot % 2 else None
        devices[slot] = Recorder(say)
        hw.attach(slot, devices[slot])
    rx = hw.exchange(tx)
    for slot in range(nslots):
        got = rx[slot * block:(slot + 1) * block]
        dev = devices.get(slot)
        if dev is None or dev.say is None:
            assert got == bytes([0xD5]) * block
        else:
            assert got == alaw_encode(dev.say)
        if dev is not None:
            assert dev.heard == [alaw_decode(tx[slot * block:(slot + 1) * block])]


def test_party_level_and_keys_through_steady_and_changing_audio() -> None:
    party = SimParty("p")
    party.active = True
    assert party.speak(160) is None                      # silent: nothing to encode
    loud = array("h", [8000, -8000] * 80)
    for pcm in (loud, array("h", loud), array("h", [0] * 160), array("h", [0] * 160), loud):
        party.hear(pcm)
    assert party.heard_level_dbm0 > -10 and party.heard_audio_ms == 60
    party.hear(array("h", [0] * 160))
    assert party.heard_level_dbm0 < -90
    party.press("5")
    assert party.speak(160) is not None
