"""GSM modules as trunk channels: AT engine, modem driver, dialects, simulator.

Layers, bottom up (each usable and tested on its own):

* :mod:`~drivers.gsm.atparser` — sans-I/O AT line parser (bytes in, events out);
* :mod:`~drivers.gsm.atengine` — asyncio engine over a serial port: one command in
  flight, URCs routed while it waits, timeouts, port loss (:class:`AtEngine`);
* :mod:`~drivers.gsm.modem` — :class:`GsmModem` (initialisation, SIM/PIN, registration,
  signal, health) and :class:`GsmChannel`, the uniform channel of :mod:`drivers.channel`;
* :mod:`~drivers.gsm.dialects` — where SIMCom, Quectel and Huawei modules differ;
* :mod:`~drivers.gsm.gsm7` / :mod:`~drivers.gsm.pdu` — the GSM 7-bit alphabet (TS 23.038,
  national shift tables) and the SMS PDU codec (TS 23.040), sans-I/O;
* :mod:`~drivers.gsm.sms` — ``modem.sms``: PDU-mode SMS, storage sweeps, reassembly,
  status reports; :mod:`~drivers.gsm.ussd` — ``modem.ussd``: balance checks;
* :mod:`~drivers.gsm.recovery` — :class:`ModemRecovery`: CFUN reset → power key (GPIO) →
  USB re-attach by IMEI/ICCID, each step visible and logged;
* :mod:`~drivers.gsm.simulator` — :class:`SimModem`, a module on a pseudo-terminal that
  speaks each dialect (``SimProfile``), with a simulated power key.

Wiring (the composition root's job; the channel never opens devices itself)::

    engine = await AtEngine.open_serial("/dev/ttyUSB2")          # or sim.device_path
    modem = GsmModem(engine, "gsm1", pin=cfg.pin, own_number=cfg.msisdn)
    channel = GsmChannel("gsm1", slot=12, modem=modem)
    channel.bind(call_engine.on_channel_event)
    modem.sms.on_received(store_sms)   # received SMS (or raw PDUs) → store + outbox
    recovery = ModemRecovery(modem, power_key=PowerKey(periphery_gpio("/dev/gpiochip0", 17)),
                             locate=lambda: glob("/dev/serial/by-id/*"))
    await channel.start()        # never raises: trouble is ChannelStatus(in_service=False)
    recovery.start()
    ...
    await recovery.stop(); await channel.stop()   # releases any call, closes the port

Not here: SIM limits and least-cost choice (firmware/trunks), the Indian national
language tables of TS 23.038 (decoded with the default tables), text-mode SMS.
"""

from drivers.gsm.atengine import AtCommandError, AtEngine, AtResult, AtTimeout, GsmError, PortClosed
from drivers.gsm.modem import GsmChannel, GsmModem, GsmTimings, PinError, SimError

__all__ = [
    "AtCommandError",
    "AtEngine",
    "AtResult",
    "AtTimeout",
    "GsmChannel",
    "GsmError",
    "GsmModem",
    "GsmTimings",
    "PinError",
    "PortClosed",
    "SimError",
]
