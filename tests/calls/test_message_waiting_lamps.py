"""MessageWaitingLamps: which phones are told what and when (firmware/calls/voicemail.py),
against a real VoicemailStore on disk and ports that record what they were asked."""

from __future__ import annotations

import asyncio
from array import array
from pathlib import Path

from firmware.calls.dialplan import Extension
from firmware.calls.voicemail import MessageWaitingLamps, VoicemailStore


class Port:
    def __init__(self) -> None:
        self.sent: list[int] = []

    def set_message_waiting(self, messages: int) -> None:
        self.sent.append(messages)


def ext(number: str, port: str, how: str = "both", voicemail: bool = True) -> Extension:
    return Extension(number, "", port, voicemail=voicemail, message_waiting=how)


def message(store: VoicemailStore, mailbox: str) -> None:
    store.add(mailbox, array("h", bytes(16000)), caller="+79161234567")


async def lamps(tmp_path: Path, refresh_s: float = 3600.0
                ) -> tuple[MessageWaitingLamps, VoicemailStore, dict[str, Port]]:
    store = VoicemailStore(tmp_path / "vm")
    ports = {"fxs1": Port(), "fxs2": Port(), "fxs3": Port()}
    service = MessageWaitingLamps(store, ports, refresh_s=refresh_s)
    service.configure([ext("201", "fxs1"), ext("202", "fxs2", "stutter"),
                       ext("203", "fxs3", voicemail=False)])
    return service, store, ports


async def test_start_tells_every_lamp_phone_and_only_those(tmp_path: Path) -> None:
    service, store, ports = await lamps(tmp_path)
    message(store, "201")
    service.start()
    await asyncio.sleep(0)
    assert (ports["fxs1"].sent, ports["fxs2"].sent, ports["fxs3"].sent) == ([1], [], [])
    await service.stop()


async def test_only_transitions_are_sent(tmp_path: Path) -> None:
    service, store, ports = await lamps(tmp_path)
    service.start()
    await asyncio.sleep(0)
    for count in (1, 2, 3, 0, 0, 1):
        service.on_event({"type": "mwi", "extension": "201", "messages_waiting": count})
    service.on_event({"type": "voicemail", "extension": "201"})     # not a count
    service.on_event({"type": "mwi", "extension": "202", "messages_waiting": 4})
    assert ports["fxs1"].sent == [0, 1, 0, 1] and ports["fxs2"].sent == []
    await service.stop()


async def test_refresh_sends_again(tmp_path: Path) -> None:
    service, store, ports = await lamps(tmp_path, refresh_s=0.05)
    message(store, "201")
    service.start()
    await asyncio.sleep(0.18)
    await service.stop()
    assert len(ports["fxs1"].sent) >= 3 and set(ports["fxs1"].sent) == {1}


async def test_configuration_changes(tmp_path: Path) -> None:
    service, store, ports = await lamps(tmp_path)
    message(store, "201")
    message(store, "202")
    service.start()
    await asyncio.sleep(0)
    # 202 wants the lamp now: told at once; 201 moves to fxs3: fxs1 goes dark
    service.configure([ext("201", "fxs3"), ext("202", "fxs2", "lamp")])
    assert ports["fxs2"].sent == [1]
    assert ports["fxs1"].sent == [1, 0] and ports["fxs3"].sent == [1]
    # 202 back to stutter only: its lamp is turned off
    service.configure([ext("201", "fxs3"), ext("202", "fxs2", "stutter")])
    assert ports["fxs2"].sent == [1, 0]
    await service.stop()
