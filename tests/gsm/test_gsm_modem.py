"""GsmModem and GsmChannel against the simulated module over a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable

import pytest

from drivers.channel import (
    Cause,
    ChannelAnswered,
    ChannelError,
    ChannelEvent,
    ChannelIdle,
    ChannelProgress,
    ChannelReleased,
    ChannelSetup,
    ChannelState,
    ChannelStatus,
)
from drivers.gsm.atengine import AtEngine, CommandAborted
from drivers.gsm.modem import GsmChannel, GsmModem, GsmTimings, PinError, rssi_to_dbm
from drivers.gsm.simulator import SimModem

OWN = "+447700900123"
FAST = GsmTimings(
    ring_grace=0.1,
    clcc_interval=0.1,
    cause_grace=0.05,
    answer_timeout=2.0,
    hangup_timeout=2.0,
    dtmf_timeout=2.0,
    clcc_timeout=1.0,
)


@pytest.fixture(autouse=True)
async def no_leaks() -> AsyncIterator[None]:
    """Fail a test that leaves tasks running or file descriptors open."""
    fds = set(os.listdir("/proc/self/fd"))
    yield
    await asyncio.sleep(0.01)
    current = asyncio.current_task()
    assert [t for t in asyncio.all_tasks() if t is not current and not t.done()] == []
    assert set(os.listdir("/proc/self/fd")) - fds == set()


class Recorder:
    """Collects channel events; ``await rec.next(Kind)`` waits for the next of a kind."""

    def __init__(self) -> None:
        self.events: list[ChannelEvent] = []
        self._seen = 0
        self._changed = asyncio.Event()

    def __call__(self, event: ChannelEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def next(self, kind: type[ChannelEvent], timeout: float = 2.0) -> ChannelEvent:
        async with asyncio.timeout(timeout):
            while True:
                for i in range(self._seen, len(self.events)):
                    if isinstance(self.events[i], kind):
                        self._seen = i + 1
                        return self.events[i]
                self._changed.clear()
                await self._changed.wait()

    def of(self, kind: type[ChannelEvent]) -> list[ChannelEvent]:
        return [e for e in self.events if isinstance(e, kind)]


async def wait_until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


@pytest.fixture
async def sim() -> AsyncIterator[SimModem]:
    async with SimModem(ring_interval=0.3, alerting_delay=0.15) as modem:
        yield modem


async def open_channel(sim: SimModem, **modem_args: object) -> tuple[GsmChannel, Recorder]:
    engine = await AtEngine.open_serial(sim.device_path)
    modem = GsmModem(engine, "gsm1", own_number=OWN, **modem_args)  # type: ignore[arg-type]
    channel = GsmChannel("gsm1", 7, modem, timings=FAST)
    recorder = Recorder()
    channel.bind(recorder)
    await channel.start()
    return channel, recorder


@pytest.fixture
async def gsm(sim: SimModem) -> AsyncIterator[tuple[GsmChannel, Recorder]]:
    channel, recorder = await open_channel(sim)
    yield channel, recorder
    await channel.stop()


# -- modem --------------------------------------------------------------------------------
def test_rssi_to_dbm() -> None:
    assert rssi_to_dbm(0) == -113
    assert rssi_to_dbm(20) == -73
    assert rssi_to_dbm(31) == -51
    assert rssi_to_dbm(99) is None


async def test_initialise_reads_identity_signal_registration(
    gsm: tuple[GsmChannel, Recorder], sim: SimModem
) -> None:
    channel, rec = gsm
    info = channel.modem.info()
    assert info["manufacturer"] == "SIMCOM_Ltd" and info["model"] == "SIMCOM_SIM800L"
    assert info["revision"] == sim.identity.revision
    assert info["imei"] == sim.identity.imei
    assert info["imsi"] == sim.identity.imsi
    assert info["iccid"] == sim.identity.iccid
    assert info["dialect"] == "simcom"
    assert info["sim_state"] == "READY"
    assert info["registration"] == 1 and info["operator"] == "SimNet"
    assert info["signal_dbm"] == -73 and info["in_service"] is True
    assert (sim.echo, sim.cmee, sim.clip, sim.crc, sim.creg_mode) == (False, 1, True, True, 1)
    assert channel.state is ChannelState.IDLE
    assert rec.of(ChannelStatus) == [
        ChannelStatus("gsm1", True, "registered, home network: SimNet")
    ]
    assert channel.describe()["kind"] == "gsm" and channel.describe()["slot"] == 7
    sim.set_signal(99)
    assert await channel.modem.refresh_signal() is None


async def test_pin_is_entered_once(sim: SimModem) -> None:
    sim.pin = "1234"
    sim.reboot()  # the SIM now asks for its PIN
    await asyncio.sleep(0.3)
    channel, rec = await open_channel(sim, pin="1234")
    try:
        assert channel.modem.sim_state == "READY"
        # Registration follows the PIN by a moment (+CREG URC).
        await wait_until(lambda: channel.state is ChannelState.IDLE)
        assert channel.modem.in_service
        assert sum(c.startswith("AT+CPIN=") for c in sim.commands) == 1
    finally:
        await channel.stop()


async def test_wrong_pin_is_never_retried(sim: SimModem) -> None:
    sim.pin = "1234"
    sim.reboot()
    await asyncio.sleep(0.3)
    channel, rec = await open_channel(sim, pin="0000")
    try:
        modem = channel.modem
        assert channel.state is ChannelState.OUT_OF_SERVICE
        assert rec.of(ChannelStatus) == [ChannelStatus("gsm1", False, "SIM PIN rejected")]
        assert modem.info()["pin_rejected"] is True
        with pytest.raises(PinError):
            await modem.initialise()
        assert sum(c.startswith("AT+CPIN=") for c in sim.commands) == 1
        with pytest.raises(ChannelError):
            await channel.place_call("+441234")
    finally:
        await channel.stop()


async def test_missing_pin_configuration(sim: SimModem) -> None:
    sim.pin = "1234"
    sim.reboot()
    await asyncio.sleep(0.3)
    channel, rec = await open_channel(sim)
    try:
        assert channel.state is ChannelState.OUT_OF_SERVICE
        assert not any(c.startswith("AT+CPIN=") for c in sim.commands)
        status = rec.of(ChannelStatus)[-1]
        assert isinstance(status, ChannelStatus) and not status.in_service
    finally:
        await channel.stop()


async def test_no_sim_is_out_of_service(sim: SimModem) -> None:
    sim.remove_sim()
    channel, rec = await open_channel(sim)
    try:
        assert channel.state is ChannelState.OUT_OF_SERVICE
        assert rec.of(ChannelStatus) == [ChannelStatus("gsm1", False, "SIM not inserted")]
        with pytest.raises(ChannelError):
            await channel.place_call("+441234")
        assert channel.state is ChannelState.OUT_OF_SERVICE
    finally:
        await channel.stop()


async def test_health_check_counts_missed_answers(sim: SimModem) -> None:
    channel, _ = await open_channel(sim, health_interval=0.1, health_timeout=0.1)
    try:
        modem = channel.modem
        await wait_until(lambda: modem.sms.sweeps > 0)  # the start-up SMS sweep is done
        sim.stop_answering(True)
        await asyncio.sleep(0.6)
        assert modem.missed_health_checks >= 2 and not modem.responsive
        assert modem.info()["responsive"] is False
        sim.stop_answering(False)
        await asyncio.sleep(0.6)
        assert modem.missed_health_checks == 0 and modem.responsive
    finally:
        await channel.stop()


async def test_module_restart_is_initialised_again(
    gsm: tuple[GsmChannel, Recorder], sim: SimModem
) -> None:
    channel, rec = gsm
    sim.reboot()
    await rec.next(ChannelStatus)  # the initial one
    status = await rec.next(ChannelStatus)
    assert isinstance(status, ChannelStatus) and not status.in_service
    status = await rec.next(ChannelStatus)
    assert isinstance(status, ChannelStatus) and status.in_service
    assert not sim.echo and sim.clip and channel.modem.restarts_seen == 1
    assert channel.state is ChannelState.IDLE


async def test_restart_under_a_command_fails_it_at_once_not_at_its_timeout(
    gsm: tuple[GsmChannel, Recorder], sim: SimModem
) -> None:
    """A module that reboots takes no command while it boots (the simulator is deaf until
    its boot URCs, as a real one is); the command it swallowed ends when RDY arrives."""
    channel, rec = gsm
    loop = asyncio.get_running_loop()
    while channel.modem.engine.busy:  # ours is the command in flight (no await after)
        await asyncio.sleep(0.01)
    sim.reboot()
    started = loop.time()
    with pytest.raises(CommandAborted, match="module restarted"):
        await channel.modem.engine.command("AT+CSQ", timeout=10.0)
    assert loop.time() - started < sim.boot_delay + 1.0  # not the 10 s timeout
    # Initialised again; the engine is usable.
    await rec.next(ChannelStatus)
    status = await rec.next(ChannelStatus)
    assert isinstance(status, ChannelStatus) and not status.in_service
    status = await rec.next(ChannelStatus)
    assert isinstance(status, ChannelStatus) and status.in_service
    result = await channel.modem.engine.command("AT+CSQ", timeout=2.0)
    assert result.ok and result.line("+CSQ")


# -- incoming calls -----------------------------------------------------------------------
async def test_incoming_call_setup_once_answer_far_hangup(
    gsm: tuple[GsmChannel, Recorder], sim: SimModem
) -> None:
    channel, rec = gsm
    sim.incoming_call("+447911123456")
    setup = await rec.next(ChannelSetup)
    assert setup == ChannelSetup("gsm1", caller="+447911123456", called=OWN, caller_withheld=False)
    assert channel.state is ChannelState.INBOUND
    await asyncio.sleep(0.8)  # RING and +CLIP repeat meanwhile
    assert len(rec.of(ChannelSetup)) == 1
    await channel.answer()
    assert channel.state is ChannelState.ACTIVE and sim.call_state == "active"
    await asyncio.sleep(0.3)  # polling does not disturb the call
    assert channel.state is ChannelState.ACTIVE
    sim.far_hangup()
    released = await rec.next(ChannelReleased)
    assert released == ChannelReleased("gsm1", Cause.NORMAL_CLEARING)
    await rec.next(ChannelIdle)
    assert channel.state is ChannelState.IDLE
    assert not [e for e in rec.events if isinstance(e, ChannelAnswered)]


async def test_incoming_withheld(gsm: tuple[GsmChannel, Recorder], sim: SimModem) -> None:
    channel, rec = gsm
    sim.incoming_call(None)
    setup = await rec.next(ChannelSetup)
    assert setup == ChannelSetup("gsm1", caller=None, called=OWN, caller_withheld=True)
    await channel.release(Cause.CALL_REJECTED)
    await rec.next(ChannelIdle)
    assert sim.call_state == "idle" and channel.state is ChannelState.IDLE


async def test_incoming_without_clip_is_offered_after_the_grace(
    gsm: tuple[GsmChannel, Recorder], sim: SimModem
) -> None:
    channel, rec = gsm
    sim.clip = False  # a network that sends no caller ID
    sim.incoming_call("+447911123456")
    setup = await rec.next(ChannelSetup)
    assert setup == ChannelSetup("gsm1", caller=None, called=OWN, caller_withheld=False)
    await asyncio.sleep(0.5)
    assert len(rec.of(ChannelSetup)) == 1
    await channel.answer()
    assert channel.state is ChannelState.ACTIVE


async def test_caller_gives_up_silently_before_answer(
    gsm: tuple[GsmChannel, Recorder], sim: SimModem
) -> None:
    channel, rec = gsm
    sim.incoming_call("+447911123456")
    await rec.next(ChannelSetup)
    sim.far_hangup(silent=True)  # no NO CARRIER: AT+CLCC tells
    released = await rec.next(ChannelReleased)
    assert released == ChannelReleased("gsm1", Cause.NORMAL_CLEARING)
    await rec.next(ChannelIdle)
    assert channel.state is ChannelState.IDLE
    with pytest.raises(ChannelError):
        await channel.answer()


# -- outgoing calls -----------------------------------------------------------------------
async def test_outgoing_call_progress_answer_digits_release(
    gsm: tuple[GsmChannel, Recorder], sim: SimModem
) -> None:
    channel, rec = gsm
    await channel.place_call("+441632960000")
    assert sim.dialed_number == "+441632960000"
    assert channel.state in (ChannelState.OUTBOUND, ChannelState.ALERTING)
    await rec.next(ChannelProgress)
    assert channel.state is ChannelState.ALERTING and sim.call_state == "alerting"
    sim.far_answer()
    await rec.next(ChannelAnswered)
    assert channel.state is ChannelState.ACTIVE
    await channel.send_digits("12#*")
    assert sim.sent_dtmf == ["1", "2", "#", "*"]
    await channel.release()
    await rec.next(ChannelIdle)
    assert channel.state is ChannelState.IDLE and sim.call_state == "idle"
    assert not rec.of(ChannelReleased)  # we released: no far-end release


@pytest.mark.parametrize(
    ("far_end", "cause"),
    [
        ("far_busy", Cause.USER_BUSY),
        ("far_no_answer", Cause.NO_ANSWER),
        ("far_hangup", Cause.NORMAL_CLEARING),
    ],
)
async def test_outgoing_call_ended_by_the_far_end(
    gsm: tuple[GsmChannel, Recorder], sim: SimModem, far_end: str, cause: Cause
) -> None:
    channel, rec = gsm
    await channel.place_call("+441632960000")
    await rec.next(ChannelProgress)
    getattr(sim, far_end)()
    assert await rec.next(ChannelReleased) == ChannelReleased("gsm1", cause)
    await rec.next(ChannelIdle)
    assert channel.state is ChannelState.IDLE
    # The channel is reusable at once.
    await channel.place_call("+441632960001")
    await rec.next(ChannelProgress)
    await channel.release()


async def test_far_hangup_of_an_active_outgoing_call(
    gsm: tuple[GsmChannel, Recorder], sim: SimModem
) -> None:
    channel, rec = gsm
    await channel.place_call("+441632960000")
    await rec.next(ChannelProgress)
    sim.far_answer()
    await rec.next(ChannelAnswered)
    sim.far_hangup()
    assert await rec.next(ChannelReleased) == ChannelReleased("gsm1", Cause.NORMAL_CLEARING)
    await rec.next(ChannelIdle)


async def test_call_lost_with_registration(gsm: tuple[GsmChannel, Recorder], sim: SimModem) -> None:
    channel, rec = gsm
    await channel.place_call("+441632960000")
    await rec.next(ChannelProgress)
    sim.set_registration(0)  # the sim drops the call: NO CARRIER
    assert await rec.next(ChannelReleased) == ChannelReleased("gsm1", Cause.NORMAL_CLEARING)
    await rec.next(ChannelIdle)
    assert channel.state is ChannelState.OUT_OF_SERVICE


# -- release from every state, commands in wrong states ------------------------------------
async def _drive_to(state: str, channel: GsmChannel, rec: Recorder, sim: SimModem) -> None:
    if state == "idle":
        return
    if state == "inbound":
        sim.incoming_call("+447911123456")
        await rec.next(ChannelSetup)
    elif state == "outbound":
        await channel.place_call("+441632960000")  # alerting comes 150 ms later
    elif state in ("alerting", "active"):
        await channel.place_call("+441632960000")
        await rec.next(ChannelProgress)
        if state == "active":
            sim.far_answer()
            await rec.next(ChannelAnswered)
    elif state == "inbound_active":
        sim.incoming_call("+447911123456")
        await rec.next(ChannelSetup)
        await channel.answer()
    elif state == "out_of_service":
        sim.set_registration(3)
        await rec.next(ChannelStatus)
        await rec.next(ChannelStatus)


@pytest.mark.parametrize(
    "state",
    ["idle", "inbound", "outbound", "alerting", "active", "inbound_active", "out_of_service"],
)
async def test_release_is_safe_in_every_state(
    gsm: tuple[GsmChannel, Recorder], sim: SimModem, state: str
) -> None:
    channel, rec = gsm
    await _drive_to(state, channel, rec, sim)
    before = len(rec.events)
    had_call = channel.state not in (ChannelState.IDLE, ChannelState.OUT_OF_SERVICE)
    await asyncio.gather(channel.release(), channel.release())  # twice, concurrently
    await channel.release()
    assert sim.call_state == "idle"
    assert channel.state is (
        ChannelState.OUT_OF_SERVICE if state == "out_of_service" else ChannelState.IDLE
    )
    new = rec.events[before:]
    assert new == ([ChannelIdle("gsm1")] if had_call else [])
    await asyncio.sleep(0.3)  # no late events from the old call
    assert rec.events[before:] == new


async def test_commands_in_wrong_states_change_nothing(
    gsm: tuple[GsmChannel, Recorder], sim: SimModem
) -> None:
    channel, rec = gsm
    with pytest.raises(ChannelError):
        await channel.answer()
    with pytest.raises(ChannelError):
        await channel.send_digits("1")
    with pytest.raises(ChannelError):
        await channel.place_call("not a number")
    with pytest.raises(ChannelError):
        await channel.place_call(None)
    assert channel.state is ChannelState.IDLE and sim.call_state == "idle"
    await _drive_to("active", channel, rec, sim)
    events = len(rec.events)
    with pytest.raises(ChannelError):
        await channel.place_call("+441234")
    with pytest.raises(ChannelError):
        await channel.answer()
    with pytest.raises(ChannelError):
        await channel.send_digits("12x")
    assert channel.state is ChannelState.ACTIVE and len(rec.events) == events
    assert sim.call_state == "active" and sim.sent_dtmf == []


# -- service ------------------------------------------------------------------------------
async def test_registration_lost_and_regained(
    gsm: tuple[GsmChannel, Recorder], sim: SimModem
) -> None:
    channel, rec = gsm
    await rec.next(ChannelStatus)  # in service after start
    sim.set_registration(2)
    lost = await rec.next(ChannelStatus)
    assert lost == ChannelStatus("gsm1", False, "not registered (searching)")
    assert channel.state is ChannelState.OUT_OF_SERVICE
    sim.set_registration(5)
    back = await rec.next(ChannelStatus)
    assert isinstance(back, ChannelStatus) and back.in_service
    assert channel.state is ChannelState.IDLE
    await asyncio.sleep(0.05)
    assert channel.modem.info()["registration_text"] == "roaming"


async def test_sim_removed(gsm: tuple[GsmChannel, Recorder], sim: SimModem) -> None:
    channel, rec = gsm
    await rec.next(ChannelStatus)
    sim.remove_sim()
    status = await rec.next(ChannelStatus)
    assert status == ChannelStatus("gsm1", False, "SIM not inserted")
    assert channel.state is ChannelState.OUT_OF_SERVICE


async def test_port_lost_during_a_call(gsm: tuple[GsmChannel, Recorder], sim: SimModem) -> None:
    channel, rec = gsm
    await _drive_to("active", channel, rec, sim)
    await sim.stop()
    assert await rec.next(ChannelReleased) == ChannelReleased("gsm1", Cause.TEMPORARY_FAILURE)
    await rec.next(ChannelIdle)
    assert channel.state is ChannelState.OUT_OF_SERVICE
    status = rec.of(ChannelStatus)[-1]
    assert isinstance(status, ChannelStatus) and not status.in_service
    await channel.release()  # still safe


async def test_simulator_reports_call_state_for_the_board(
    gsm: tuple[GsmChannel, Recorder], sim: SimModem
) -> None:
    channel, rec = gsm
    states: list[str] = []
    sim.on_call_state = states.append
    await _drive_to("active", channel, rec, sim)
    await channel.release()
    assert states == ["dialing", "alerting", "active", "idle"]
