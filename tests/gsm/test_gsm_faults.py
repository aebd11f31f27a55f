"""Faults against the simulated module over a pty: registration lost and regained, signal,
garbage, URC floods of 1,000/s (with a second modem that must not notice), a module
silent mid-call (call released, CFUN reset, then power-cycle through the GPIO power key),
reboots, SIM removal, re-enumeration under another tty path (found again by IMEI)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from drivers.channel import Cause, ChannelEvent, ChannelReleased, ChannelStatus
from drivers.gsm.atengine import AtEngine
from drivers.gsm.modem import GsmChannel, GsmTimings
from drivers.gsm.recovery import ModemRecovery, PowerKey, RecoveryPolicy, RecoveryState
from drivers.gsm.simulator import EC25, SIM800, SimModem, SimPowerKey
from drivers.gsm.sms import ReceivedSms
from tests.gsm.rig import Rig, wait_until

FAST = GsmTimings(ring_grace=0.1, clcc_interval=0.1, cause_grace=0.05, answer_timeout=2.0,
                  hangup_timeout=0.5, dtmf_timeout=1.0, clcc_timeout=0.3, silent_polls=2)
POLICY = RecoveryPolicy(answer_wait=1.5, power_off_wait=0.1, reattach_window=3.0,
                        reattach_interval=0.05, retry_backoff=0.2, probe_timeout=0.3)


async def test_registration_lost_and_regained(rig: Rig) -> None:
    states: list[tuple[bool, str]] = []
    rig.modem.on_service(lambda up, why: states.append((up, why)))
    rig.sim.set_registration(2)
    await wait_until(lambda: states and not states[-1][0])
    assert "searching" in states[-1][1]
    rig.sim.set_registration(5)
    await wait_until(lambda: states[-1][0])
    assert "roaming" in states[-1][1]


async def test_sim_removal_takes_the_module_out_of_service(rig: Rig) -> None:
    states: list[tuple[bool, str]] = []
    rig.modem.on_service(lambda up, why: states.append((up, why)))
    rig.sim.remove_sim()
    await wait_until(lambda: states and not states[-1][0])
    assert not rig.modem.in_service


async def test_garbage_and_unknown_codes_never_wedge_the_engine(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="drivers.gsm.atengine")
    rig.sim.emit_garbage(b"\x00\xff\x13\x80\x81garbage\r\n" + b"Z" * 5000 + b"\r\n")
    rig.sim.emit_urcs(["BOGUS LINE"])
    await asyncio.sleep(0.05)  # read while idle: garbage
    rig.sim.emit_urcs(["+XYZZY: 1,2", "^WEIRD:3"])  # unknown vendor codes, maybe mid-answer
    rig.sim.interleave_urc("+CMTI: \"SM\",99")  # a URC inside the next answer
    result = await rig.modem.command("AT+CSQ")
    assert result.ok and result.lines == ["+CSQ: 20,0"]
    assert rig.modem.engine.garbage_count >= 2
    assert any("not AT protocol" in r.message and "\\x80" in r.message for r in caplog.records)


async def test_malformed_answers_do_not_escape(rig: Rig) -> None:
    rig.sim.emit_urcs(['+CMTI: "SM"', "+CUSD: x", "+CREG: ,,", "+CDS: 5", "^RSSI:abc",
                       "+CLIP:", "+CMT: ,20"])
    await asyncio.sleep(0.1)
    assert (await rig.modem.command("AT")).ok  # still talking
    assert rig.modem.rssi == 20


async def _latencies(rig: Rig, count: int) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        result = await rig.modem.command("AT+CSQ", 2.0)
        assert result.ok and result.lines == ["+CSQ: 20,0"]
        out.append(time.perf_counter() - start)
    return out


async def test_urc_flood_with_two_modems(leak_check: None) -> None:
    a = await Rig.open(name="gsm1")
    b = await Rig.open(name="gsm2")
    try:
        a.sim.flood(1000, rate=1000.0)  # one second of 1,000 URCs/s on gsm1
        lat_a = await _latencies(a, 20)
        lat_b = await _latencies(b, 20)
        await wait_until(lambda: a.modem.engine.urc_count >= 1000, timeout=5)
        assert b.modem.engine.urc_count < 10  # the other module heard nothing of it
        assert max(lat_a) < 0.5 and max(lat_b) < 0.5
        assert a.modem.in_service and b.modem.in_service
    finally:
        await a.close()
        await b.close()


async def test_reboot_is_noticed_and_initialised_again(rig: Rig) -> None:
    faults: list[str] = []
    rig.modem.on_fault(faults.append)
    rig.sim.reboot()
    await wait_until(lambda: faults == ["module restarted"])
    await wait_until(lambda: rig.modem.initialised and rig.sim.cnmi == (2, 1, 0, 1, 0))
    assert rig.modem.restarts_seen == 1 and rig.sim.echo is False


async def test_silent_mid_call_then_cfun_then_power_cycle(leak_check: None) -> None:
    r = await Rig.open(SIM800, health_interval=0.1, health_timeout=0.2)
    key = SimPowerKey(r.sim, min_press=0.05)
    recovery = ModemRecovery(r.modem, power_key=PowerKey(key), policy=POLICY)
    records: list[str] = []
    recovery.on_reset(lambda rec: records.append(f"{rec.step}:{rec.outcome}"))
    states: list[RecoveryState] = []
    recovery.on_state(states.append)
    channel = GsmChannel("gsm1", 1, r.modem, timings=FAST)
    events: list[ChannelEvent] = []
    channel.bind(events.append)
    try:
        await channel.start()
        recovery.start()
        r.sim.incoming_call("+447700900999")
        await wait_until(lambda: channel.state.name == "INBOUND" and events)
        await channel.answer()
        assert r.sim.call_state == "active"
        r.sim.stop_answering(True)  # hung mid-call
        await wait_until(lambda: any(isinstance(e, ChannelReleased) for e in events), 6)
        released = [e for e in events if isinstance(e, ChannelReleased)][0]
        assert released.cause is Cause.TEMPORARY_FAILURE
        # Health checks miss → CFUN reset (no answer: hung) → power key → boots → back.
        await wait_until(lambda: RecoveryState.POWER_CYCLE in states, 10)
        await wait_until(lambda: recovery.state is RecoveryState.HEALTHY
                         and r.modem.in_service, 15)
        assert records[:2] == ["cfun-reset:no answer", "power-cycle:recovered"]
        assert key.presses == 2 and r.sim.power_cycles == 1
        assert r.modem.initialised and r.sim.echo is False
        assert any(isinstance(e, ChannelStatus) and e.in_service for e in events[-3:])
        await channel.place_call("+447700900555")  # usable again
        await wait_until(lambda: r.sim.call_state == "alerting")
        await channel.release()
    finally:
        await recovery.stop()
        await channel.stop()
        await r.sim.stop()


async def test_cfun_reset_recovers_a_confused_module(leak_check: None) -> None:
    r = await Rig.open(SIM800)
    recovery = ModemRecovery(r.modem, policy=POLICY)
    try:
        assert await recovery.recover("technician asked")
        assert [(str(h.step), h.reason, h.outcome) for h in recovery.history] == [
            ("cfun-reset", "technician asked", "recovered")]
        assert "AT+CFUN=1,1" in r.sim.commands and r.modem.initialised
    finally:
        await recovery.stop()
        await r.close()


async def test_usb_module_reenumerates_and_is_found_by_imei(leak_check: None) -> None:
    other = SimModem(profile=EC25)  # another module on the bus, not ours
    await other.start()
    other.identity.imei = "860000000000999"
    r = await Rig.open(EC25)
    paths_opened: list[str] = []

    async def opener(path: str) -> AtEngine:
        paths_opened.append(path)
        return await AtEngine.open_serial(path)

    recovery = ModemRecovery(
        r.modem, locate=lambda: [other.device_path, r.sim.device_path], open_port=opener,
        policy=POLICY)
    recovery.start()
    got: list[ReceivedSms] = []
    r.modem.sms.on_received(got.append)
    try:
        old_path = r.sim.device_path
        r.sim.reenumerate()  # a USB reset: the old tty vanishes, a new one appears
        assert r.sim.device_path != old_path
        await wait_until(lambda: recovery.state is RecoveryState.HEALTHY
                         and recovery.history, 5)
        assert [(str(h.step), h.outcome) for h in recovery.history] == [
            ("reattach", f"recovered on {r.sim.device_path}")]
        assert paths_opened[0] == other.device_path  # probed, not ours, closed again
        assert r.modem.in_service and r.modem.imei == r.sim.identity.imei
        # Subscriptions followed the module to its new port.
        r.sim.deliver_text("+447700900999", "after the USB reset")
        await wait_until(lambda: got)
    finally:
        await recovery.stop()
        await r.close()
        await other.stop()


async def test_silent_with_no_power_key_keeps_trying(leak_check: None) -> None:
    r = await Rig.open(SIM800, health_interval=0.1, health_timeout=0.1)
    recovery = ModemRecovery(r.modem, policy=POLICY)
    records: list[str] = []
    recovery.on_reset(lambda rec: records.append(f"{rec.step}:{rec.outcome}"))
    try:
        r.modem.start_health_check()
        recovery.start()
        r.sim.stop_answering(True)
        await wait_until(lambda: recovery.state is RecoveryState.FAILED, 6)
        assert records[:2] == ["cfun-reset:no answer", "power-cycle:not configured (no power key)"]
        assert not r.modem.in_service
        r.sim.stop_answering(False)  # it comes back by itself: the next round succeeds
        await wait_until(lambda: recovery.state is RecoveryState.HEALTHY, 6)
    finally:
        await recovery.stop()
        await r.close()


async def test_unanswered_command_gets_a_timeout_and_engine_stays_usable(rig: Rig) -> None:
    from drivers.gsm.atengine import AtTimeout
    rig.sim.stop_answering(True)
    with pytest.raises(AtTimeout):
        await rig.modem.command("AT+CSQ", 0.2)
    rig.sim.stop_answering(False)
    assert (await rig.modem.command("AT+CSQ")).lines == ["+CSQ: 20,0"]


async def test_health_check_survives_a_restart_under_it_and_still_sees_a_hang(
        leak_check: None) -> None:
    """The module reboots by itself while the health check's AT is in flight: the check is
    aborted, not counted, and health checking goes on, so a later hang is still seen."""
    r = await Rig.open(SIM800, health_interval=0.05, health_timeout=1.0)
    try:
        r.modem.start_health_check()
        checks = r.sim.commands.count("AT")
        await wait_until(lambda: r.sim.commands.count("AT") > checks)   # checking
        while not r.modem.engine.busy:                  # its AT in flight, then reboot
            await asyncio.sleep(0.002)
        r.sim.reboot()
        await wait_until(lambda: r.modem.restarts_seen == 1 and r.modem.initialised, 5)
        assert r.modem.missed_health_checks == 0        # an aborted check is no miss
        r.sim.stop_answering(True)                      # later: hung
        await wait_until(lambda: r.modem.missed_health_checks >= 2, 8)
        assert not r.modem.responsive
    finally:
        await r.close()
