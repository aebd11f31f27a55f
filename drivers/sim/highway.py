"""A simulated TDM highway: the G.711 stream between the ports and the media engine.

On hardware the port modules put one G.711 byte per slot per 125 µs on a PCM highway, and
the host reads and writes it in blocks. Here every slot may have a simulated device attached
(a phone on an FXS port, the far party of a trunk); each tick the highway hands every active
device the audio its port transmitted and collects what the device sends back, encoded in
the slot's codec. The highway also paces the media clock in real time, as the hardware's
frame sync does.
"""

from __future__ import annotations

import threading
import time
from array import array
from typing import Protocol

from native.dsp import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from native.media import Codec

_SILENCE = {Codec.ALAW: 0xD5, Codec.ULAW: 0xFF}
# Decode the whole highway at once when more than 1 slot in this many has a device talking
# (one block costs ~2 µs to decode alone, the whole highway ~0.35 µs a block).
_WHOLE_DECODE_RATIO = 6


class AudioDevice(Protocol):
    @property
    def listening(self) -> bool:
        """Connected to the line this tick (a phone's caller ID unit listens on-hook)."""
        ...

    def hear(self, pcm: array) -> None: ...

    def speak(self, n: int) -> array | None: ...   # None: silence (nothing to encode)


class SimHighway:
    def __init__(self, nslots: int, block: int = 160, codec: Codec = Codec.ALAW) -> None:
        self.nslots = nslots
        self.block = block
        self.codec = codec
        self._devices: dict[int, AudioDevice] = {}
        self._lock = threading.Lock()
        self._silence_block = bytes([_SILENCE[codec]]) * block
        self._next_deadline: float | None = None
        self.ticks = 0
        self.late_ticks = 0

    @property
    def tick_s(self) -> float:
        return self.block / 8000.0

    def attach(self, slot: int, device: AudioDevice) -> None:
        if not 0 <= slot < self.nslots:
            raise ValueError(f"slot {slot} outside the highway (0..{self.nslots - 1})")
        with self._lock:
            self._devices[slot] = device

    def wait_tick(self) -> None:
        """Sleep until the next frame boundary (real-time pacing of the media clock)."""
        now = time.monotonic()
        if self._next_deadline is None:
            self._next_deadline = now
        self._next_deadline += self.tick_s
        delay = self._next_deadline - now
        if delay > 0:
            time.sleep(delay)
        elif delay < -0.2:
            # Far behind (machine stalled): resynchronise instead of bursting.
            self.late_ticks += 1
            self._next_deadline = now

    def exchange(self, tx: bytes) -> bytes:
        """Deliver one block of tx (engine → ports) and return one block of rx."""
        b = self.block
        decode = alaw_decode if self.codec is Codec.ALAW else ulaw_decode
        encode = alaw_encode if self.codec is Codec.ALAW else ulaw_encode
        rx = bytearray(self._silence_block * self.nslots)
        with self._lock:
            listening = [(slot, dev) for slot, dev in self._devices.items() if dev.listening]
        # Decoding costs a C call per block: with many devices listening, one call for the
        # whole highway and slices of it is cheaper (the samples are the same).
        whole = decode(tx) if len(listening) * _WHOLE_DECODE_RATIO > self.nslots else None
        for slot, dev in listening:
            lo = slot * b
            dev.hear(whole[lo:lo + b] if whole is not None else decode(tx[lo:lo + b]))
            pcm = dev.speak(b)
            if pcm is not None:
                rx[lo:lo + b] = encode(pcm)
        self.ticks += 1
        return bytes(rx)
