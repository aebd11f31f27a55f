"""The GSM scenarios of tests/gsm against a real module on the bench.

Run when ``EDGEPBX_HIL_GSM`` names the module's AT port; skipped (reason printed with
``-rs``) otherwise::

    EDGEPBX_HIL_GSM=/dev/ttyUSB2 EDGEPBX_HIL_GSM_NUMBER=+447700900123 \\
        .venv/bin/python -m pytest hil-tests/gsm -rs

Wiring the bench:

* a module of one of the dialects (SIM800/SIM7600, M35/UC15/EC25, E1550/E173) with an
  active SIM that can send SMS to itself and has a balance USSD code; its AT port is
  ``EDGEPBX_HIL_GSM`` (for USB modules the "AT"/"modem" interface: ttyUSB2 on EC25/SIM7600,
  ttyUSB0 on Huawei sticks; for UART modules a 3.3 V USB-serial adapter on TXD/RXD/GND,
  115200 8N1, and the module's own supply able to deliver 2 A peaks);
* ``EDGEPBX_HIL_GSM_NUMBER``: the SIM's own number (SMS loop test; skipped without it);
* ``EDGEPBX_HIL_GSM_USSD``: the balance code (default ``*100#``);
* ``EDGEPBX_HIL_GSM_PIN``: the SIM's PIN if it has one (tried once, never twice);
* power-key test: ``EDGEPBX_HIL_GSM_PWRKEY=/dev/gpiochip0:17`` names the GPIO line that
  drives the module's PWRKEY through an NPN transistor (line high = key pressed);
  skipped without it.

The tests send a few SMS and one USSD request on the SIM (they cost what the tariff says).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "gsm"))

import gsm_scenarios  # noqa: E402

from drivers.gsm.atengine import AtEngine  # noqa: E402
from drivers.gsm.modem import GsmModem, probe  # noqa: E402

PORT = os.environ.get("EDGEPBX_HIL_GSM")
pytestmark = pytest.mark.skipif(
    not PORT, reason="EDGEPBX_HIL_GSM does not name a GSM module's serial port")


@pytest.fixture
async def modem() -> AsyncIterator[GsmModem]:
    assert PORT
    engine = await AtEngine.open_serial(PORT)
    m = GsmModem(engine, "hil", pin=os.environ.get("EDGEPBX_HIL_GSM_PIN"),
                 command_timeout=10.0)
    await m.initialise()
    yield m
    await m.close()


async def test_probe_any_module() -> None:
    assert PORT
    engine = await AtEngine.open_serial(PORT)
    try:
        info = await probe(engine)
    finally:
        await engine.close()
    assert info["imei"] and info["sim_state"]


async def test_identify(modem: GsmModem) -> None:
    await gsm_scenarios.identify(modem)


async def test_ussd_balance(modem: GsmModem) -> None:
    text = await gsm_scenarios.ussd_balance(modem, os.environ.get("EDGEPBX_HIL_GSM_USSD",
                                                                  "*100#"))
    print(f"balance answer: {text!r}")


@pytest.mark.parametrize("text", ["edgepbx HIL €[]", "edgepbx HIL 😀 Привет",
                                  "edgepbx HIL long " + "x" * 300])
async def test_sms_to_self(modem: GsmModem, text: str) -> None:
    number = os.environ.get("EDGEPBX_HIL_GSM_NUMBER")
    if not number:
        pytest.skip("EDGEPBX_HIL_GSM_NUMBER (the SIM's own number) is not set")
    await gsm_scenarios.sms_to_self(modem, number, text, timeout=120)


async def test_cfun_reset_recovers(modem: GsmModem) -> None:
    from drivers.gsm.recovery import ModemRecovery, RecoveryPolicy

    recovery = ModemRecovery(modem, policy=RecoveryPolicy(answer_wait=60))
    assert await recovery.recover("HIL test")
    assert recovery.history[-1].outcome.startswith("recovered")


async def test_power_key_cycle(modem: GsmModem) -> None:
    line = os.environ.get("EDGEPBX_HIL_GSM_PWRKEY")
    if not line:
        pytest.skip("EDGEPBX_HIL_GSM_PWRKEY (gpiochip:line of PWRKEY) is not set")
    from drivers.gsm.recovery import ModemRecovery, PowerKey, RecoveryPolicy, periphery_gpio

    chip, number = line.rsplit(":", 1)
    key = PowerKey(periphery_gpio(chip, int(number)))
    recovery = ModemRecovery(modem, power_key=key, policy=RecoveryPolicy(answer_wait=60))
    try:
        assert await recovery._power_cycle() == "recovered"
    finally:
        key.close()
