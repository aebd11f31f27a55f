"""Every dialect row against the simulator speaking that module's dialect over a pty:
identification, ICCID, calls (hang-up command, call progress), SMS and USSD."""

from __future__ import annotations

import pytest

from drivers.channel import (
    Cause,
    ChannelAnswered,
    ChannelEvent,
    ChannelProgress,
    ChannelReleased,
)
from drivers.gsm.dialects import DIALECTS
from drivers.gsm.modem import GsmChannel, GsmTimings
from drivers.gsm.simulator import E173, E1550, EC25, M35, PROFILES, SIM800, SIM7600, UC15
from drivers.gsm.sms import ReceivedSms
from tests.gsm.rig import Rig, wait_until

EXPECTED = {
    SIM800: "simcom",
    SIM7600: "simcom-lte",
    M35: "quectel-2g",
    UC15: "quectel",
    EC25: "quectel",
    E1550: "huawei",
    E173: "huawei",
}
FAST = GsmTimings(ring_grace=0.1, clcc_interval=0.1, cause_grace=0.05, answer_timeout=2.0,
                  hangup_timeout=2.0, dtmf_timeout=2.0, clcc_timeout=1.0)


def test_every_profile_has_a_dialect() -> None:
    assert set(EXPECTED) == set(PROFILES.values())
    assert set(EXPECTED.values()) == set(DIALECTS)


@pytest.mark.parametrize("profile", list(EXPECTED), ids=lambda p: p.name)
async def test_dialect_end_to_end(profile: object, leak_check: None) -> None:
    r = await Rig.open(profile)  # type: ignore[arg-type]
    channel = GsmChannel("gsm1", 3, r.modem, timings=FAST)
    events: list[ChannelEvent] = []
    channel.bind(events.append)
    try:
        modem = r.modem
        assert modem.dialect.name == EXPECTED[profile]  # type: ignore[index]
        assert modem.iccid == r.sim.identity.iccid and modem.imei == r.sim.identity.imei
        assert modem.in_service
        await channel.start()
        # SMS in, with the dialect's storage and indications.
        got: list[ReceivedSms] = []
        modem.sms.on_received(got.append)
        r.sim.deliver_text("+447700900999", "dialect " * 30)
        await wait_until(lambda: got)
        assert got[0].text == "dialect " * 30
        # USSD in the dialect's encoding.
        assert (await modem.ussd.request("*100#")).text == "Balance: 12.34 EUR"
        # An outgoing call: progress, answer, far hang-up with its cause.
        await channel.place_call("+447700900555")
        await wait_until(lambda: any(isinstance(e, ChannelProgress) for e in events))
        r.sim.far_answer()
        await wait_until(lambda: any(isinstance(e, ChannelAnswered) for e in events))
        await channel.release()
        assert r.sim.call_state == "idle"
        hangups = [c for c in r.sim.commands if c in ("ATH", "AT+CHUP")]
        assert hangups == [modem.dialect.hangup_command]
        await channel.place_call("+447700900555")
        await wait_until(lambda: r.sim.call_state == "alerting")
        r.sim.far_busy()
        await wait_until(lambda: any(isinstance(e, ChannelReleased) for e in events))
        released = [e for e in events if isinstance(e, ChannelReleased)]
        assert released[-1].cause is Cause.USER_BUSY
        # Signal: Huawei tells by itself (^RSSI), the others are asked (+CSQ).
        r.sim.set_signal(25)
        if profile in (E1550, E173):
            await wait_until(lambda: modem.rssi == 25)
        else:
            assert await modem.refresh_signal() == -63
    finally:
        await channel.stop()
        await r.sim.stop()
