"""GSM modules as trunk channels: AT engine, modem driver, dialects, simulator.

Layers, bottom up (each usable and tested on its own):

* :mod:`~drivers.gsm.atparser` — sans-I/O AT line parser (bytes in, events out);
* :mod:`~drivers.gsm.atengine` — asyncio engine over a serial port: one command in
  flight, URCs routed while it waits, timeouts, port loss (:class:`AtEngine`);
* :mod:`~drivers.gsm.modem` — :class:`GsmModem` (initialisation, SIM/PIN, registration,
  signal, health) and :class:`GsmChannel`, the uniform channel of :mod:`drivers.channel`;
* :mod:`~drivers.gsm.dialects` — where SIMCom, Quectel and Huawei modules differ;
* :mod:`~drivers.gsm.simulator` — :class:`SimModem`, a module on a pseudo-terminal.

Wiring (the composition root's job; the channel never opens devices itself)::

    engine = await AtEngine.open_serial("/dev/ttyUSB2")          # or sim.device_path
    modem = GsmModem(engine, "gsm1", pin=cfg.pin, own_number=cfg.msisdn)
    channel = GsmChannel("gsm1", slot=12, modem=modem)
    channel.bind(call_engine.on_channel_event)
    await channel.start()        # never raises: trouble is ChannelStatus(in_service=False)
    ...
    await channel.stop()         # releases any call, closes the port

Not yet here (later issues): SMS in PDU mode, USSD, full dialect tables, SIM limits,
power-cycling a hung module (read ``GsmModem.missed_health_checks``), re-attaching a
re-enumerated USB port.
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
