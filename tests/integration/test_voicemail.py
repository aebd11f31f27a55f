"""Voicemail, message waiting and retrieval by phone, on the simulated board.

Driven as people would: a caller on a trunk leaves a message (DTMF audio is the "speech"),
the extension's phone then hears stutter dial tone, dials ``*97`` and hears the message —
the very digits the caller pressed — and deletes it with ``7``.
"""

from __future__ import annotations

import asyncio
import wave
from typing import Any

from tests.conftest import wait_for
from tests.integration.test_pbx_features import (
    all_idle,
    cdr,
    configure,
    hang_up,
    hears,
    phone,
    rings,
    route_to,
)


def ext(doc: dict[str, Any], number: str) -> dict[str, Any]:
    return next(e for e in doc["extensions"] if e["number"] == number)


async def leave_message(box: Any, caller: str, digits: str) -> None:
    await box.sim.trunk_call("gsm1", caller)
    await rings(box, "fxs2")
    await wait_for(lambda: [c for c in box.calls() if c["state"] == "voicemail"], 8,
                   what="the caller to reach voicemail")
    await asyncio.sleep(1.8)                     # greeting (a tone: no prompt) and beep
    await box.sim.far_press("gsm1", digits)
    await asyncio.sleep(0.2 * len(digits) + 0.6)
    await box.sim.far_press("gsm1", "#")         # done


async def stutter(box: Any, port: str, seconds: float = 1.2) -> bool:
    """True if the phone hears an interrupted tone (loud and silent blocks in turn)."""
    levels = []
    for _ in range(int(seconds / 0.02)):
        levels.append(phone(box, port)["heard_level_dbm0"])
        await asyncio.sleep(0.02)
    return max(levels) > -25 and min(levels) < -50


async def test_voicemail_on_no_answer_mwi_and_retrieval(box):
    await configure(box, lambda d: (ext(d, "202").update(ring_s=5),
                                    route_to(d, "gsm1", {"type": "extension", "target": "202"})))
    await leave_message(box, "+79161230100", "4567")
    await wait_for(lambda: box.voicemail.messages("202"), 8, what="the message stored")
    msg = box.voicemail.messages("202")[0]
    assert (msg.caller, msg.status) == ("+79161230100", "new") and msg.duration_s >= 1.0
    with wave.open(str(box.voicemail.path("202", msg.id))) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
    await wait_for(lambda: box.sim.state()["trunks"]["gsm1"]["call_state"] == "idle", 5,
                   what="the box to hang up after the message")
    rec = await cdr(box)
    assert any(leg.get("voicemail") == f"202/{msg.id}" for leg in rec["legs"])
    port = next(p for p in box.ports() if p["id"] == "fxs2")
    assert port["messages_waiting"] == 1
    await all_idle(box)

    # Message waiting: stutter dial tone on 202, a steady one on 203.
    await box.sim.phone_offhook("fxs3")
    await wait_for(lambda: phone(box, "fxs3")["heard_level_dbm0"] > -25, 3, what="dial tone")
    assert not await stutter(box, "fxs3")
    await hang_up(box, "fxs3")
    await box.sim.phone_offhook("fxs2")
    await wait_for(lambda: phone(box, "fxs2")["heard_level_dbm0"] > -25, 3, what="dial tone")
    assert await stutter(box, "fxs2")

    await box.sim.phone_press("fxs2", "*97")
    await hears(box, "fxs2", "4567", timeout=8)  # the caller's own digits, played back
    await box.sim.phone_press("fxs2", "7")       # delete
    await wait_for(lambda: not box.voicemail.messages("202"), 8, what="the message deleted")
    assert not box.voicemail.path("202", msg.id).exists()
    await wait_for(lambda: box.engine.messages_waiting("202") == 0, 3, what="MWI off")
    await hang_up(box, "fxs2")
    await all_idle(box)
    await box.sim.phone_offhook("fxs2")
    await wait_for(lambda: phone(box, "fxs2")["heard_level_dbm0"] > -25, 3, what="dial tone")
    assert not await stutter(box, "fxs2")
    await hang_up(box, "fxs2")
    await all_idle(box)


async def test_voicemail_destination_busy_extension_short_message_and_full_box(box):
    await configure(box, lambda d: (
        d.update(voicemail={"max_messages": 1}),
        route_to(d, "gsm1", {"type": "voicemail", "target": "202"})))
    # Hanging up at the beep leaves nothing.
    await box.sim.trunk_call("gsm1", "+79161230101")
    await wait_for(lambda: [c for c in box.calls() if c["state"] == "voicemail"], 8,
                   what="voicemail")
    await asyncio.sleep(1.6)
    await box.sim.far_hangup("gsm1")
    await all_idle(box)
    assert box.voicemail.messages("202") == []
    # The extension is busy (off-hook): a caller still leaves a message.
    await configure(box, lambda d: route_to(d, "gsm1", {"type": "extension", "target": "202"}))
    await box.sim.phone_offhook("fxs2")
    await box.sim.trunk_call("gsm1", "+79161230102")
    await wait_for(lambda: [c for c in box.calls() if c["state"] == "voicemail"], 8,
                   what="voicemail on busy")
    await asyncio.sleep(1.8)
    await box.sim.far_press("gsm1", "123")
    await asyncio.sleep(1.2)
    await box.sim.far_hangup("gsm1")             # hanging up ends the message too
    await wait_for(lambda: box.voicemail.messages("202"), 8, what="the message")
    # The box is full now (max 1): the next caller is refused politely.
    await box.sim.trunk_call("gsm1", "+79161230103")
    await wait_for(lambda: box.sim.state()["trunks"]["gsm1"]["call_state"] == "idle", 8,
                   what="the full mailbox to hang up")
    assert len(box.voicemail.messages("202")) == 1
    await hang_up(box, "fxs2")
    await all_idle(box)


async def test_prompt_upload_is_checked_and_used_as_the_greeting(box):
    import io

    import pytest

    from firmware.service import BadRequest

    def wav(rate: int, channels: int, seconds: float = 0.5) -> bytes:
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(b"\0\0" * channels * int(rate * seconds))
        return buf.getvalue()

    with pytest.raises(BadRequest, match="16000 Hz, 2 channel"):
        box.prompt_put("vm-greeting.wav", wav(16000, 2))
    with pytest.raises(BadRequest, match="prompt name"):
        box.prompt_put("../x.wav", wav(8000, 1))
    info = box.prompt_put("vm-greeting.wav", wav(8000, 1))
    assert info["duration_s"] == 0.5
    assert [p["name"] for p in box.prompts_list()] == ["vm-greeting.wav"]
    assert box.prompts.load("vm-greeting.wav") is not None
    box.prompt_delete("vm-greeting.wav")
    assert box.prompts_list() == []
