"""Outbound campaigns on the simulated board, driven through the channels.

The contacts are simulated called parties on the far side of the trunks
(drivers/sim/parties.py ``Callee``): a person who answers and says a short word, an
answering machine with a long greeting and a beep, busy, no answer, a number that does not
exist. They put real audio on the line, so the box's answer detection (trunk supervision,
the call-progress detector on a plain analog line) and answering-machine detection work on
it as on a real call. Agents are the phones on the FXS ports, on the extensions the
configuration has (never hard-coded numbers).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from drivers.sim.parties import Callee
from tests.conftest import wait_for
from tests.integration.test_pbx_features import all_idle, configure, hang_up, rings

PERSON = "+79161230001"
OTHER = "+79161230002"
THIRD = "+79161230003"


def only_trunk(doc: dict[str, Any], trunk_id: str) -> None:
    for t in doc["trunks"]:
        t["enabled"] = t["id"] == trunk_id


def campaign_doc(doc: dict[str, Any], mode: str, trunk_id: str = "e1", agents: int = 1,
                 **extra: Any) -> list[str]:
    """One campaign ``c1`` over ``trunk_id`` with the first ``agents`` extensions as the
    agents of queue ``out``; returns the agents' ports."""
    only_trunk(doc, trunk_id)
    exts = doc["extensions"][:agents]
    doc["agents"] = [{"id": f"a{i}", "name": f"Agent {i}", "extension": e["number"]}
                     for i, e in enumerate(exts)]
    doc["queues"] = [{"id": "out", "name": "Outbound", "strategy": "linear",
                      "members": [{"agent": f"a{i}"} for i in range(len(exts))],
                      "wrap_up_s": 0, "ring_timeout_s": 8}]
    entry: dict[str, Any] = {"id": "c1", "name": "Spring", "mode": mode,
                             "ring_timeout_s": 8, "max_attempts": 2,
                             "retry": {"busy": [1], "no_answer": [1], "failed": [1],
                                       "machine": [600]}}
    if mode != "autoinformer":
        entry["queue"] = "out"
    entry.update(extra)
    doc["campaigns"] = [entry]
    doc["callback"] = {"daily_limit": 0}
    return [e["port"] for e in exts]


async def setup(box: Any, mode: str, contacts: dict[str, Callee], **kw: Any) -> list[str]:
    ports: list[str] = []

    def change(doc: dict[str, Any]) -> None:
        ports.extend(campaign_doc(doc, mode, **kw))

    await configure(box, change)
    for number, callee in contacts.items():
        box.board.control.callee(number, callee)
    csv = "number,name\n" + "".join(f"{n},{i}\n" for i, n in enumerate(contacts))
    report = box.campaign_import("c1", csv.encode())
    assert report["imported"] == len(contacts) and report["errors"] == []
    return ports


def status(box: Any, number: str) -> str:
    return next(c["status"] for c in box.campaign_results("c1") if c["number"] == number)


async def settled(box: Any, number: str, wanted: str, timeout: float = 15) -> None:
    await wait_for(lambda: status(box, number) == wanted, timeout,
                   what=f"{number} to be {wanted} (is {status(box, number)})")


def trunk(box: Any, port: str) -> dict[str, Any]:
    """A trunk's far end (an idle B-channel is not listed: {})."""
    return dict(box.sim.state()["trunks"].get(port, {}))


def dialled(box: Any) -> list[str]:
    return list(box.board.callees.dialled)


async def test_progressive_agent_free_contact_answers_agent_talks(box):
    ports = await setup(box, "progressive", {PERSON: Callee("human", answer_after_s=1.0)})
    agent_port = ports[0]
    box.campaign_control("c1", "start")
    await wait_for(lambda: trunk(box, "e1.1").get("call_state") in ("outgoing", "alerting",
                                                                      "active"), 6,
                   what="the contact to be dialled on the E1")
    assert box.queues()["agents"]["a0"]["state"] == "reserved_outbound"   # held, not paused
    await rings(box, agent_port, 8)                  # the person answered: the agent rings
    await box.sim.phone_offhook(agent_port)
    await wait_for(lambda: status(box, PERSON) == "answered", 5, what="connected")
    # audio both ways: keys from each side heard on the other
    await box.sim.far_press("e1.1", "7")
    await wait_for(lambda: box.sim.state()["phones"][agent_port]["heard_digits"]
                   .endswith("7"), 5, what="the agent to hear the contact")
    await box.sim.phone_press(agent_port, "4")
    await wait_for(lambda: trunk(box, "e1.1")["heard_digits"].endswith("4"), 5,
                   what="the contact to hear the agent")
    await hang_up(box, agent_port)
    await all_idle(box)
    rec = next(c for c in box.cdrs() if c["route"] == "campaign")
    assert rec["direction"] == "outbound" and rec["disposition"] == "answered"
    assert rec["trunk"] == "e1" and rec["called"] == PERSON
    result = box.campaign_results("c1")[0]
    assert [a["outcome"] for a in result["attempts_log"]] == ["connected"]
    assert result["attempts_log"][0]["agent"] == "a0"
    box.campaign_control("c1", "stop")
    assert dialled(box) == ["89161230001"]           # dialled once, national form on E1
    # the queue's figures: a connected contact, not an offered (inbound) call
    await wait_for(lambda: box.queue_kpis()["queues"]["out"]["handled"] == 1, 5,
                   what="the contact's call handled in the KPIs")
    q = box.queue_kpis()["queues"]["out"]
    assert (q["offered"], q["answered"], q["outbound_connected"]) == (0, 0, 1)
    assert q["sl"]["20"] is None and q["max_queue_len"] == 0
    assert box.queue_kpis()["agents"]["a0"]["outbound_connected"] == 1


async def test_autoinformer_plays_and_records_the_confirmation(box, tmp_path: Path):
    from drivers.sim import voices
    from native.wavtools import write_pcm

    wav = tmp_path / "notice.wav"
    write_pcm(wav, voices.beep(1500, 600.0, -15.0))
    box.prompt_put("notice.wav", wav.read_bytes())
    await setup(box, "autoinformer",
                {PERSON: Callee("human", answer_after_s=0.5, press="1", press_after_s=2.0),
                 OTHER: Callee("human", answer_after_s=0.5)},
                message="notice.wav", confirm_digit="1", max_channels=2)
    box.campaign_control("c1", "start")
    # both contacts hear the 1.5 s message (the far ends measure what reaches them)
    await wait_for(lambda: sum(f.get("heard_audio_ms", 0) >= 1000
                               for f in box.sim.state()["trunks"].values()) == 2, 10,
                   what="both contacts to hear the message")
    await settled(box, PERSON, "confirmed")
    await settled(box, OTHER, "answered", 20)
    await all_idle(box)
    outcomes = {c["number"]: c["attempts_log"][-1]["outcome"] for c in box.campaign_results("c1")}
    assert outcomes == {PERSON: "confirmed", OTHER: "played"}


async def test_machine_is_detected_and_busy_no_answer_retry_then_fail(box):
    await setup(box, "autoinformer",
                {PERSON: Callee("machine", answer_after_s=0.5),
                 OTHER: Callee("busy"), THIRD: Callee("no_answer")},
                message="none.wav", max_channels=3, amd={"enabled": True})
    box.campaign_control("c1", "start")
    await settled(box, PERSON, "retry_wait", 15)
    results = {c["number"]: c for c in box.campaign_results("c1")}
    assert results[PERSON]["last_outcome"] == "machine"
    await settled(box, OTHER, "busy", 15)            # two attempts, busy both times
    await settled(box, THIRD, "no_answer", 30)
    box.campaign_control("c1", "stop")
    await all_idle(box)
    results = {c["number"]: c for c in box.campaign_results("c1")}
    assert [a["outcome"] for a in results[OTHER]["attempts_log"]] == ["busy", "busy"]
    assert [a["outcome"] for a in results[THIRD]["attempts_log"]] == ["no_answer",
                                                                       "no_answer"]
    assert dialled(box).count("89161230001") == 1    # the machine: retried in 10 min only


def far_end(box: Any, number: str) -> Any:
    """The E1 far end that was called as ``number`` (national form)."""
    national = "8" + number[2:]
    return next(f for f in box.board.span.far.values() if f.called == national)


async def test_predictive_dials_ahead_and_an_unstaffed_answer_is_abandoned(box, tmp_path):
    from drivers.sim import voices
    from native.wavtools import write_pcm

    apology = tmp_path / "apology.wav"              # about 1.1 s of speech
    write_pcm(apology, voices.utterance([450, 550], 120, seed=9))
    box.prompt_put("campaign-apology.wav", apology.read_bytes())
    contacts = {PERSON: Callee("human", answer_after_s=1.5),
                OTHER: Callee("human", answer_after_s=1.5),
                THIRD: Callee("human", answer_after_s=1.5)}
    ports = await setup(box, "predictive", contacts, agents=2, abandon_cap_pct=10,
                        amd={"enabled": True})
    box.campaign_control("c1", "start")
    # two agents free: the pacer (10 % cap, prior answer rate) dials three numbers at once
    await wait_for(lambda: len(dialled(box)) == 3, 5, what="three dials")
    box.campaign_control("c1", "pause")
    abandoned = await wait_for(lambda: [n for n in contacts if status(box, n) == "abandoned"],
                               15, what="one contact abandoned")
    assert len(abandoned) == 1
    far = far_end(box, abandoned[0])
    # the apology reached the person within 2 s of the end of their greeting, then the box
    # hung up on them
    await wait_for(lambda: far.call_state == "idle", 5, what="the box to hang up")
    assert far.heard_first_at is not None and far.said_until is not None
    assert 0.0 <= far.heard_first_at - far.said_until <= 2.0
    assert 900 <= far.heard_audio_ms <= 1500
    for port in ports:                               # both agents take their calls
        await rings(box, port, 8)
        await box.sim.phone_offhook(port)
    for number in contacts:
        if number not in abandoned:
            await settled(box, number, "answered", 8)
    for port in ports:
        await hang_up(box, port)
    await all_idle(box)
    summary = box.campaign_summary("c1")
    assert summary["live_answers"] == 3 and summary["abandoned"] == 1
    assert summary["abandon_rate_pct"] == 33.33 and summary["abandon_cap_pct"] == 10
    assert summary["days"][0]["abandoned"] == 1
    assert sorted(dialled(box)) == sorted("8" + n[2:] for n in contacts)


async def test_preview_agent_sees_the_contact_then_calls_or_skips(box):
    ports = await setup(box, "preview", {PERSON: Callee("human", answer_after_s=0.5),
                                         OTHER: Callee("human", answer_after_s=0.5)})
    box.campaign_control("c1", "start")
    first = box.campaign_preview("c1", "a0", "next")["contact"]
    assert first["number"] == PERSON and first["name"] == "0"
    assert box.campaign_preview("c1", "a0", "next")["contact"]["id"] == first["id"]  # held
    box.campaign_preview("c1", "a0", "skip")
    assert dialled(box) == []                        # previewing dials nothing
    assert box.campaign_preview("c1", "a0", "next")["contact"]["number"] == PERSON
    assert box.campaign_preview("c1", "a0", "call") == {"dialling": True}
    await rings(box, ports[0], 8)
    await box.sim.phone_offhook(ports[0])
    await settled(box, PERSON, "answered", 5)
    await hang_up(box, ports[0])
    await all_idle(box)
    assert dialled(box) == ["89161230001"]
    assert box.campaign_preview("c1", "a0", "next")["contact"]["number"] == OTHER


async def test_pause_stops_dialling_and_nothing_is_dialled_twice(box):
    ports = await setup(box, "progressive", {PERSON: Callee("human", answer_after_s=1.0),
                                             OTHER: Callee("human", answer_after_s=1.0)})
    box.campaign_control("c1", "start")
    await wait_for(lambda: len(dialled(box)) == 1, 5, what="the first dial")
    box.campaign_control("c1", "pause")
    await rings(box, ports[0], 8)
    await box.sim.phone_offhook(ports[0])
    await settled(box, PERSON, "answered", 5)
    await hang_up(box, ports[0])
    await all_idle(box)
    started = time.monotonic()
    while time.monotonic() - started < 3.0:          # paused: the free agent gets no dial
        assert len(dialled(box)) == 1
        await asyncio.sleep(0.2)
    assert status(box, OTHER) == "pending"
    box.campaign_control("c1", "start")
    await rings(box, ports[0], 10)
    await box.sim.phone_offhook(ports[0])
    await settled(box, OTHER, "answered", 5)
    await hang_up(box, ports[0])
    await all_idle(box)
    assert dialled(box) == ["89161230001", "89161230002"]


async def test_plain_analog_line_answer_busy_and_sit_by_the_call_progress_detector(box):
    """FXO lines without polarity reversal: only tones and voice tell what happened."""
    for line in box.board.lines.values():
        assert not line.reverses_polarity
    await setup(box, "autoinformer",
                {PERSON: Callee("human", answer_after_s=6.0), OTHER: Callee("busy"),
                 THIRD: Callee("sit")},
                trunk_id="fxo1", message="none.wav", max_channels=1, max_attempts=1)
    box.campaign_control("c1", "start")
    await settled(box, PERSON, "answered", 25)
    await settled(box, OTHER, "busy", 25)
    await settled(box, THIRD, "failed", 25)
    box.campaign_control("c1", "stop")
    await all_idle(box)
    rows = {c["number"]: c for c in box.campaign_results("c1")}
    assert [a["outcome"] for a in rows[PERSON]["attempts_log"]] == ["played"]
    answered_ts = rows[PERSON]["attempts_log"][0]["answered_ts"]
    started_ts = rows[PERSON]["attempts_log"][0]["started_ts"]
    # answered when the person spoke (after dialling and 6 s of ringback, long enough for
    # the detector to confirm it), not when dialling ended
    assert answered_ts - started_ts >= 8.0


async def test_gsm_trunk_connect_and_busy_supervision(box, tmp_path: Path):
    from drivers.sim import voices
    from native.wavtools import write_pcm

    wav = tmp_path / "notice.wav"
    write_pcm(wav, voices.utterance([400, 500, 400], 150, seed=4))
    box.prompt_put("notice.wav", wav.read_bytes())
    # the key comes while the box is still listening for a machine: a person, confirmed
    await setup(box, "autoinformer",
                {PERSON: Callee("human", answer_after_s=0.5, press="3", press_after_s=1.0),
                 OTHER: Callee("busy")},
                trunk_id="gsm1", message="notice.wav", confirm_digit="3", max_channels=1,
                max_attempts=1, amd={"enabled": True})
    box.campaign_control("c1", "start")
    await settled(box, PERSON, "confirmed", 15)
    await settled(box, OTHER, "busy", 15)
    box.campaign_control("c1", "stop")
    await all_idle(box)
    assert dialled(box) == [PERSON, OTHER]           # GSM: the international form
    rec = next(c for c in box.cdrs() if c["route"] == "campaign" and c["called"] == PERSON)
    assert rec["trunk"] == "gsm1" and rec["disposition"] == "answered"


async def test_autoinformer_leaves_its_message_after_a_machines_beep(box, tmp_path: Path):
    from drivers.sim import voices
    from native.wavtools import write_pcm

    wav = tmp_path / "notice.wav"                   # about 1.4 s
    write_pcm(wav, voices.utterance([400, 500, 300], 100, seed=5))
    box.prompt_put("notice.wav", wav.read_bytes())
    await setup(box, "autoinformer", {PERSON: Callee("machine", answer_after_s=0.5)},
                message="notice.wav", amd={"enabled": True, "after_machine": "message"})
    box.campaign_control("c1", "start")
    await settled(box, PERSON, "machine", 20)
    assert box.campaign_results("c1")[0]["last_outcome"] == "message_left"
    far = far_end(box, PERSON)
    await all_idle(box)
    # the message went onto the tape after the greeting and its beep, whole
    assert far.heard_first_at is not None and far.said_until is not None
    assert far.heard_first_at >= far.said_until
    assert 1000 <= far.heard_audio_ms <= 1400        # its 1.2 s of words (edges are quiet)


async def test_a_restart_during_a_dial_settles_it_and_the_campaign_waits_to_be_started(
        tmp_path: Path):
    from firmware.app import Box, Settings

    data = tmp_path / "data"
    box = Box(Settings(data_dir=data, simulated=True))
    await box.start()
    try:
        await setup(box, "autoinformer", {PERSON: Callee("no_answer")}, message="none.wav",
                    retry={"failed": [1], "no_answer": [1], "interrupted": [1]})
        box.campaign_control("c1", "start")
        await wait_for(lambda: status(box, PERSON) == "dialing", 5, what="the dial")
    finally:
        await box.stop()                             # power cut while it rings
    box = Box(Settings(data_dir=data, simulated=True))
    await box.start()
    try:
        row = box.campaign_results("c1")[0]
        assert row["status"] == "retry_wait" and row["last_outcome"] == "interrupted"
        assert box.campaign_summary("c1")["state"] == "stopped"
        await asyncio.sleep(2.0)                     # past the retry interval: still stopped
        assert dialled(box) == [] and status(box, PERSON) == "retry_wait"
        box.board.control.callee(PERSON, Callee("human", answer_after_s=0.5))
        box.campaign_control("c1", "start")
        await settled(box, PERSON, "answered", 15)
        await all_idle(box)
        assert dialled(box) == ["89161230001"]
        outcomes = [a["outcome"] for a in box.campaign_results("c1")[0]["attempts_log"]]
        assert outcomes == ["interrupted", "played"]
    finally:
        await box.stop()


async def test_campaigns_are_validated_before_anything_is_applied(box, tmp_path: Path):
    import pytest

    from firmware.config.errors import ConfigValidationError
    from firmware.service import BadRequest, NotFound

    await configure(box, lambda doc: campaign_doc(doc, "progressive"))
    before = box.config_revision()
    with pytest.raises(ConfigValidationError) as err:
        await box.campaign_put({"id": "c2", "name": "X", "mode": "predictive",
                                "queue": "nope", "abandon_cap_pct": 50}, "admin")
    paths = {i.path for i in err.value.issues}
    assert {"campaigns[1].queue", "campaigns[1].abandon_cap_pct"} <= paths, paths
    with pytest.raises(BadRequest, match="no prompt 'tell.wav'"):
        await box.campaign_put({"id": "c2", "name": "X", "mode": "autoinformer",
                                "message": "tell.wav"}, "admin")
    assert box.config_revision() == before           # nothing half-applied
    assert [c["id"] for c in box.campaigns_list()] == ["c1"]
    with pytest.raises(NotFound):
        box.campaign_control("c2", "start")
    bad = box.campaign_import("c1", b"number,name\n+79161230001,Ann\nnot-a-number,Bob\n")
    assert bad["imported"] == 1 and [e["line"] for e in bad["errors"]] == [3]
    with pytest.raises(BadRequest):
        box.campaign_import("c1", b"")
    await box.campaign_delete("c1", "admin")
    assert box.campaigns_list() == []
    await all_idle(box)


async def test_stop_hangs_up_dials_still_ringing(box):
    ports = await setup(box, "progressive", {PERSON: Callee("no_answer")},
                        ring_timeout_s=60, retry={"interrupted": [300]})
    box.campaign_control("c1", "start")
    await wait_for(lambda: status(box, PERSON) == "dialing", 5, what="the dial")
    assert box.queues()["agents"]["a0"]["state"] == "reserved_outbound"   # held
    box.campaign_control("c1", "stop")
    await all_idle(box)                                           # long before 60 s
    row = box.campaign_results("c1")[0]
    assert (row["status"], row["last_outcome"]) == ("retry_wait", "interrupted")
    assert box.queues()["agents"]["a0"]["state"] == "available"  # released
    assert dialled(box) == ["89161230001"] and ports
