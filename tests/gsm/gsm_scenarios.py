"""Scenario bodies shared by tests/gsm (simulated module) and hil-tests/gsm (a real one).

Each takes a started :class:`~drivers.gsm.modem.GsmModem` and what it needs to know about
the SIM, and checks what an installer would: nothing here knows whether the other end is
the simulator or a module on the bench (after python-can's back-to-back tests).
"""

from __future__ import annotations

import asyncio

from drivers.gsm.modem import GsmModem
from drivers.gsm.sms import ReceivedSms, SentSms


async def identify(modem: GsmModem) -> None:
    info = modem.info()
    assert info["imei"] and str(info["imei"]).isdigit() and len(str(info["imei"])) == 15
    assert info["iccid"] and len(str(info["iccid"])) >= 18
    assert info["imsi"] and str(info["imsi"]).isdigit()
    assert info["sim_state"] == "READY"
    assert info["in_service"] is True, info["service_detail"]
    signal = await modem.refresh_signal()
    assert signal is None or -113 <= signal <= -51


async def sms_to_self(modem: GsmModem, own_number: str, text: str,
                      timeout: float = 60.0) -> tuple[SentSms, ReceivedSms]:
    """Send ``text`` to the SIM's own number; it comes back whole, with a status report."""
    got: asyncio.Queue[ReceivedSms] = asyncio.Queue()
    reports: asyncio.Queue[str] = asyncio.Queue()
    modem.sms.on_received(got.put_nowait)
    modem.sms.on_status(lambda sent, report: reports.put_nowait(sent.state))
    sent = await modem.sms.send(own_number, text, status_report=True)
    assert sent.references and all(r >= 0 for r in sent.references)
    async with asyncio.timeout(timeout):
        received = await got.get()
        while sent.state not in ("delivered", "failed"):
            await reports.get()
    assert received.text == text and received.complete
    assert sent.state == "delivered"
    return sent, received


async def ussd_balance(modem: GsmModem, code: str) -> str:
    answer = await modem.ussd.request(code)
    assert answer.status in (0, 1) and answer.text
    return answer.text
