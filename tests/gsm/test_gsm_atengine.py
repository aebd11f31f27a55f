"""The AT engine over a real pseudo-terminal, against the simulated module."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from drivers.gsm.atengine import AtCommandError, AtEngine, AtTimeout, PortClosed
from drivers.gsm.atparser import Urc
from drivers.gsm.simulator import SimModem


@pytest.fixture(autouse=True)
async def no_leaks() -> AsyncIterator[None]:
    """Fail a test that leaves tasks running or file descriptors open."""
    fds = set(os.listdir("/proc/self/fd"))
    yield
    await asyncio.sleep(0.01)
    current = asyncio.current_task()
    assert [t for t in asyncio.all_tasks() if t is not current and not t.done()] == []
    assert set(os.listdir("/proc/self/fd")) - fds == set()


@pytest.fixture
async def sim() -> AsyncIterator[SimModem]:
    async with SimModem() as modem:
        yield modem


@pytest.fixture
async def engine(sim: SimModem) -> AsyncIterator[AtEngine]:
    engine = await AtEngine.open_serial(sim.device_path)
    yield engine
    await engine.close()


async def test_command_and_response_with_echo_on(engine: AtEngine, sim: SimModem) -> None:
    assert sim.echo  # power-on default
    result = await engine.command("AT+CSQ", timeout=1.0)
    assert result.ok and result.lines == ["+CSQ: 20,0"] and result.line("+CSQ:") == "20,0"
    assert (await engine.command("ATE0", timeout=1.0)).ok
    assert not sim.echo
    result = await engine.command("AT+CGMI", timeout=1.0)
    assert result.lines == ["SIMCOM_Ltd"]


async def test_errors_are_results(engine: AtEngine) -> None:
    await engine.command("AT+CMEE=1", timeout=1.0)
    result = await engine.command("AT+NOSUCH", timeout=1.0)
    assert not result.ok and result.result == "+CME ERROR" and result.code == 100
    with pytest.raises(AtCommandError):
        result.check("AT+NOSUCH")


async def test_timeout_leaves_the_engine_usable(engine: AtEngine, sim: SimModem) -> None:
    sim.stop_answering(True)
    with pytest.raises(AtTimeout):
        await engine.command("AT+CSQ", timeout=0.2)
    with pytest.raises(AtTimeout):  # still silent: the re-sync fails too
        await engine.command("AT+CSQ", timeout=0.2)
    sim.stop_answering(False)
    result = await engine.command("AT+CSQ", timeout=1.0)
    assert result.ok and result.lines == ["+CSQ: 20,0"]


async def test_urc_between_response_lines_is_routed(engine: AtEngine, sim: SimModem) -> None:
    await engine.command("AT+CREG=1", timeout=1.0)
    seen: list[Urc] = []
    engine.on_urc("+CREG", seen.append)
    sim.interleave_urc("+CREG: 0")
    result = await engine.command("AT+CSQ", timeout=1.0)
    assert result.ok and result.lines == ["+CSQ: 20,0"]
    assert [u.raw for u in seen] == ["+CREG: 0"]
    # The same line during AT+CREG? is the response, not a URC.
    sim.set_registration(1)
    await asyncio.sleep(0.05)
    seen.clear()
    result = await engine.command("AT+CREG?", timeout=1.0)
    assert result.lines == ["+CREG: 1,1"] and seen == []


async def test_urcs_are_dispatched_while_a_command_waits(engine: AtEngine, sim: SimModem) -> None:
    everything: list[str] = []
    engine.on_any_urc(lambda urc: everything.append(urc.name))

    def broken(urc: Urc) -> None:
        raise RuntimeError("a handler bug must not kill the reader")

    engine.on_urc("RING", broken)
    sim.stop_answering(True)
    command = asyncio.create_task(engine.command("AT", timeout=1.0))
    await asyncio.sleep(0.05)
    sim.stop_answering(False)
    sim.emit_urcs(["RING", '+CMTI: "SM",1'])
    await asyncio.sleep(0.1)
    assert everything == ["RING", "+CMTI"]
    assert not command.done()  # still waiting for its answer
    with pytest.raises(AtTimeout):
        await command
    assert (await engine.command("AT", timeout=1.0)).ok


async def test_garbage_does_not_wedge(engine: AtEngine, sim: SimModem) -> None:
    sim.emit_garbage(b"\x00\xff\xfe binary \x01\x02" + bytes(range(256)) * 40)
    sim.emit_garbage(b"\r\nOK\r\n\r\nstray\r\n")  # late answers of nobody
    await asyncio.sleep(0.05)
    result = await engine.command("AT+CSQ", timeout=1.0)
    assert result.ok and result.lines == ["+CSQ: 20,0"]
    assert engine.garbage_count >= 2


async def test_port_going_away_is_noticed(engine: AtEngine, sim: SimModem) -> None:
    sim.stop_answering(True)
    command = asyncio.create_task(engine.command("AT", timeout=5.0))
    await asyncio.sleep(0.05)
    await sim.stop()
    await asyncio.wait_for(engine.closed.wait(), 2.0)
    with pytest.raises(PortClosed):
        await command
    with pytest.raises(PortClosed):
        await engine.command("AT", timeout=1.0)
    assert engine.close_reason


async def test_prompt_and_payload(engine: AtEngine, sim: SimModem) -> None:
    pdu = b"0011000B914477009001F00000AA0548656C6C6F"
    result = await engine.command("AT+CMGS=18", timeout=1.0, payload=pdu)  # echo still on
    assert result.ok and result.lines == ["+CMGS: 1"]
    assert sim.sent_sms == [pdu.decode()]
    # No prompt: the payload is not sent, ESC leaves the prompt, the engine recovers.
    sim.stop_answering(True)
    with pytest.raises(AtTimeout):
        await engine.command("AT+CMGS=18", timeout=0.2, expect_prompt=True, payload=pdu)
    sim.stop_answering(False)
    assert (await engine.command("AT", timeout=1.0)).ok
    assert len(sim.sent_sms) == 1
    with pytest.raises(ValueError):
        await engine.command("AT+CMGS=18", expect_prompt=True)


async def test_opening_a_missing_device_raises_port_closed() -> None:
    with pytest.raises(PortClosed):
        await AtEngine.open_serial("/dev/does-not-exist-gsm")
