"""`edgepbx gsm ...`: probe and raw AT against the simulated module (the command runs as a
child process on the simulator's pty), the PDU tools, and bad input as one-line errors."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from drivers.gsm import pdu
from drivers.gsm.simulator import E173, SimModem, SimProfile

DELIVER_HELLO = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"


async def edgepbx(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "firmware.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("profile", [None, E173], ids=["sim800", "e173"])
async def test_probe(profile: SimProfile | None) -> None:
    async with (SimModem(profile=profile) if profile else SimModem()) as sim:
        status, out, err = await edgepbx("gsm", "probe", sim.device_path)
        assert status == 0, err
        info = json.loads(out)
        assert info["imei"] == sim.identity.imei and info["iccid"] == sim.identity.iccid
        assert info["imsi"] == sim.identity.imsi and info["sim_state"] == "READY"
        assert info["registration"] == "home" and info["operator"] == "SimNet"
        assert info["signal_dbm"] == -73
        assert info["dialect"] == ("huawei" if profile else "simcom")


async def test_raw_at_and_silent_module() -> None:
    async with SimModem() as sim:
        status, out, err = await edgepbx("gsm", "at", sim.device_path, "AT+CSQ")
        assert status == 0, err
        assert json.loads(out) == {"command": "AT+CSQ", "ok": True, "result": "OK",
                                   "lines": ["+CSQ: 20,0"], "code": None, "detail": ""}
        status, out, _ = await edgepbx("gsm", "at", sim.device_path, "AT+NOPE")
        assert status == 0 and json.loads(out)["ok"] is False
        sim.stop_answering(True)
        status, _, err = await edgepbx("gsm", "probe", sim.device_path, "--timeout", "0.3")
        assert status == 2 and err.count("\n") == 1 and "no answer to AT" in err
        status, _, err = await edgepbx("gsm", "at", sim.device_path, "AT", "--timeout", "0.3")
        assert status == 2 and "no answer" in err and "Traceback" not in err


def test_sms_decode_and_encode(capsys: pytest.CaptureFixture[str]) -> None:
    from firmware.cli import main

    assert main(["gsm", "sms-decode", DELIVER_HELLO]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "sender": "27838890001", "smsc": "+27381000015",
        "timestamp": "1999-03-29T15:16:59+02:00", "text": "hellohello", "encoding": "gsm7",
        "concat": None}
    assert main(["gsm", "sms-encode", "--to", "+447700900123", "--text", "x" * 200]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["tpdu_length"] for p in out["pdus"]] == [153, 61]
    part = pdu.decode(out["pdus"][0]["hex"], mobile_originated=True)
    assert isinstance(part, pdu.SmsSubmit) and part.concat is not None
    concat_pdu = pdu.encode_deliver("+1", "part", pdu.dt.datetime(2024, 1, 1, tzinfo=pdu.dt.UTC),
                                    concat=pdu.Concat(7, 3, 2))
    assert main(["gsm", "sms-decode", concat_pdu]) == 0
    assert json.loads(capsys.readouterr().out)["concat"] == {
        "reference": 7, "total": 3, "sequence": 2}


@pytest.mark.parametrize("args, message", [
    (["gsm", "sms-decode", "zz"], "not hexadecimal"),
    (["gsm", "sms-decode", "0791ABC"], "odd number"),
    (["gsm", "sms-decode", DELIVER_HELLO[:30]], "truncated"),
    (["gsm", "sms-encode", "--to", "call me", "--text", "x"], "not a phone number"),
    (["gsm", "probe", "/dev/edgepbx-no-such-port"], "no such serial port"),
    (["gsm", "at", "/dev/edgepbx-no-such-port", "AT"], "no such serial port"),
])
async def test_bad_input_is_one_line(args: list[str], message: str) -> None:
    status, out, err = await edgepbx(*args)
    assert status == 2 and out == ""
    assert err.startswith("edgepbx: error: ") and message in err and err.count("\n") == 1
