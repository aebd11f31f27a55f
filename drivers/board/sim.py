"""The simulated board: 4 FXS, 2 FXO, 2 GSM and one E1 span of 30 B-channels by default.

Every port is the real port driver over a simulated device:

- FXS: `FxsPort` over a `SimSlic`, with a `SimPhone` on the line;
- FXO: `FxoPort` over a `SimDaa`, with a `SimCoLine` (the exchange and the far caller);
- GSM: `GsmChannel` / `GsmModem` / `AtEngine` over a real pseudo-terminal, talking AT to a
  `SimModem`, with a far party on the module's voice path, and a `ModemRecovery` that
  resets a hung module (CFUN, then its simulated power key) — `recoveries[port]`; the
  composition root logs their resets;
- E1: `PriBChannel` over `SimPriSpan` (the far switch at the Q.931 primitive level).

Audio of every port travels on a `SimHighway` as G.711. `SimBoardControl` is what a person
(through the simulator API) or a test uses to act as the people on those lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from drivers.analog.fxo import CallerIdReceiver, FxoPort, InbandDialer
from drivers.analog.fxs import CallerIdSender, FxsPort
from drivers.board import PortSpec, default_layout
from drivers.channel import Channel, ChannelKind
from drivers.gsm.atengine import AtEngine
from drivers.gsm.modem import GsmChannel, GsmModem
from drivers.gsm.recovery import ModemRecovery, PowerKey, RecoveryPolicy
from drivers.gsm.simulator import SimIdentity, SimModem, SimPowerKey
from drivers.pri.bchannel import PriBChannel
from drivers.sim.analog import SimCoLine, SimDaa, SimError, SimPhone, SimSlic
from drivers.sim.highway import SimHighway
from drivers.sim.parties import Callee, CalleeBook, SimParty, play_callee
from drivers.sim.pri import SimPriSpan
from native.media import Codec

log = logging.getLogger(__name__)

# Health checks of the simulated modules (the driver's defaults; tests shorten them).
GSM_HEALTH_INTERVAL_S = 30.0
GSM_HEALTH_TIMEOUT_S = 2.0
# A simulated module boots in a fraction of a second: waits shorter than a real module's.
GSM_RECOVERY_POLICY = RecoveryPolicy(answer_wait=5.0, power_off_wait=0.5, retry_backoff=5.0,
                                     max_backoff=60.0, probe_timeout=1.0)
# The FXS line test (is a phone plugged in?): a hardware board file sets its own period
# (a REN test takes about a second per port); the simulated line measures at once, so it
# is tested often and an unplugged phone is noticed within seconds.
SIM_LINE_TEST_S = 1.0


class MediaPlane(InbandDialer, CallerIdSender, CallerIdReceiver, Protocol):
    """What the analog ports need of the media engine (native.media.MediaEngine fits)."""


class SimGsmModule:
    """A GSM module on the simulated board: the pty modem and the far party of its calls."""

    def __init__(self, port_id: str, index: int) -> None:
        self.port_id = port_id
        imei = f"86{index:02d}0000000000{index}"[:15]
        self.modem = SimModem(identity=SimIdentity(
            imei=imei, imsi=f"25001000000000{index}"[:15],
            iccid=f"8970100000000000000{index}"[:20], own_number=f"+7900000000{index}",
            operator="SimNet"))
        self.far = SimParty(f"{port_id}-far")
        self.power_key = SimPowerKey(self.modem)  # the module's power key on a GPIO line
        self.modem.on_call_state = self._call_state
        self.callees: CalleeBook | None = None     # called parties with a behaviour
        self._script: asyncio.Task[None] | None = None

    def _call_state(self, state: Any) -> None:
        value = str(getattr(state, "value", state))
        active = value == "active"
        if active and not self.far.active:
            self.far.reset_ears()
        self.far.active = active
        if value == "dialing" and self.callees is not None and self._script is None:
            callee = self.callees.lookup(self.modem.dialed_number or "")
            if callee is not None:
                self._script = asyncio.get_running_loop().create_task(
                    play_callee(callee, _GsmCallee(self)))
                self._script.add_done_callback(lambda _t: setattr(self, "_script", None))


class _GsmCallee:
    """A GSM call's far end as a callee script drives it (CONNECT, BUSY, NO CARRIER)."""

    def __init__(self, module: SimGsmModule) -> None:
        self.modem = module.modem
        self.party: SimParty = module.far

    async def answer(self) -> None:
        self.modem.far_answer()

    async def refuse(self, kind: str) -> None:
        if kind == "busy":
            self.modem.far_busy()
        else:
            self.modem.far_hangup()

    async def hangup(self) -> None:
        self.modem.far_hangup()

    def in_call(self) -> bool:
        return str(getattr(self.modem.call_state, "value", self.modem.call_state)) != "idle"


class SimBoard:
    def __init__(self, country: str = "EU", block: int = 160, codec: Codec = Codec.ALAW,
                 fxs: int = 4, fxo: int = 2, gsm: int = 2, e1_channels: int = 30) -> None:
        self.country = country
        self.ports: list[PortSpec] = default_layout(fxs, fxo, gsm, e1_channels)
        self.highway = SimHighway(len(self.ports), block, codec)
        self.channels: dict[str, Channel] = {}
        self.phones: dict[str, SimPhone] = {}
        self.lines: dict[str, SimCoLine] = {}
        self.gsm: dict[str, SimGsmModule] = {}
        self.span = SimPriSpan("e1", e1_channels)
        self.callees = CalleeBook()         # how the numbers the box dials behave
        self.span.callees = self.callees
        self._engines: list[AtEngine] = []
        self.recoveries: dict[str, ModemRecovery] = {}
        self.control = SimBoardControl(self)

    @staticmethod
    def layout(fxs: int = 4, fxo: int = 2, gsm: int = 2, e1_channels: int = 30
               ) -> list[PortSpec]:
        return default_layout(fxs, fxo, gsm, e1_channels)

    async def start(self, media: MediaPlane) -> None:
        """Build and start every port; `media` (the MediaEngine) plays and hears in-band
        signals for the analog ports: DTMF dialing and caller ID."""
        for p in self.ports:
            if p.kind is ChannelKind.FXS:
                slic = SimSlic()
                phone = SimPhone(p.id, slic)
                self.phones[p.id] = phone
                self.highway.attach(p.slot, phone)
                self.channels[p.id] = FxsPort(p.id, p.slot, slic, self.country, media=media,
                                              line_test_s=SIM_LINE_TEST_S)
            elif p.kind is ChannelKind.FXO:
                daa = SimDaa()
                line = SimCoLine(p.id, daa, country=self.country)
                line.callees = self.callees
                self.lines[p.id] = line
                self.highway.attach(p.slot, line)
                self.channels[p.id] = FxoPort(p.id, p.slot, daa, media, receiver=media,
                                              country=self.country)
            elif p.kind is ChannelKind.GSM:
                module = SimGsmModule(p.id, len(self.gsm) + 1)
                module.callees = self.callees
                self.gsm[p.id] = module
                await module.modem.start()
                engine = await AtEngine.open_serial(module.modem.device_path)
                self._engines.append(engine)
                modem = GsmModem(engine, p.id, own_number=module.modem.identity.own_number,
                                 health_interval=GSM_HEALTH_INTERVAL_S,
                                 health_timeout=GSM_HEALTH_TIMEOUT_S)
                recovery = ModemRecovery(modem, power_key=PowerKey(module.power_key),
                                         policy=GSM_RECOVERY_POLICY)
                self.recoveries[p.id] = recovery
                self.channels[p.id] = GsmChannel(p.id, p.slot, modem, recovery=recovery)
                self.highway.attach(p.slot, module.far)
            elif p.kind is ChannelKind.PRI:
                bchan = int(p.id.split(".")[1])
                self.highway.attach(p.slot, self.span.far[bchan])
                self.channels[p.id] = PriBChannel(p.id, p.slot, self.span, bchan)
        for ch in self.channels.values():
            await ch.start()
        for recovery in self.recoveries.values():
            recovery.start()

    async def stop(self) -> None:
        for recovery in self.recoveries.values():
            with contextlib.suppress(Exception):
                await recovery.stop()
        for ch in self.channels.values():
            try:
                await asyncio.wait_for(ch.stop(), timeout=2.0)
            except Exception:
                log.exception("port did not stop cleanly", extra={"port": ch.id})
        for engine in self._engines:
            with contextlib.suppress(Exception):
                await engine.close()
        for module in self.gsm.values():
            with contextlib.suppress(Exception):
                await module.modem.stop()


class SimBoardControl:
    """The people on the simulated lines. Unknown port → KeyError; bad action → SimError."""

    def __init__(self, board: SimBoard) -> None:
        self.board = board

    def state(self) -> dict[str, Any]:
        b = self.board
        return {
            "phones": {pid: ph.describe() for pid, ph in b.phones.items()},
            "trunks": {
                **{pid: line.describe() for pid, line in b.lines.items()},
                **{pid: dict(m.far.describe(), call_state=str(
                    getattr(m.modem.call_state, "value", m.modem.call_state)),
                    dialed=m.modem.dialed_number) for pid, m in b.gsm.items()},
                **{f"e1.{n}": dict(f.describe(), call_state=f.call_state, called=f.called,
                                   caller=f.caller)
                   for n, f in b.span.far.items() if f.call_state != "idle"},
            },
        }

    def callee(self, number: str, callee: Callee | None) -> None:
        """How ``number`` behaves when the box dials it (None: it is a plain far end)."""
        self.board.callees.set(number, callee)

    def _phone(self, port: str) -> SimPhone:
        return self.board.phones[port]

    def _far_party(self, port: str) -> SimParty:
        b = self.board
        if port in b.lines:
            return b.lines[port]
        if port in b.gsm:
            return b.gsm[port].far
        return b.span.far[self._bchan(port)]

    def _bchan(self, port: str) -> int:
        if not port.startswith("e1."):
            raise KeyError(port)
        try:
            n = int(port[3:])
        except ValueError:
            raise KeyError(port) from None
        if n not in self.board.span.far:
            raise KeyError(port)
        return n

    async def trunk_call(self, port: str, caller: str | None, called: str | None = None,
                         caller_name: str | None = None) -> None:
        """A far end calls in; caller None: withheld. caller_name reaches an analog line's
        caller ID only (the other simulated trunks carry no name)."""
        b = self.board
        if port in b.gsm:
            modem = b.gsm[port].modem
            if str(getattr(modem.call_state, "value", modem.call_state)) != "idle":
                raise SimError(f"{port}: the module is already in a call")
            modem.incoming_call(caller)
        elif port in b.lines:
            await b.lines[port].incoming_call(caller, caller_name)
        else:
            await b.span.incoming_call(self._bchan(port), caller, called)

    async def far_answer(self, port: str) -> None:
        b = self.board
        if port in b.gsm:
            modem = b.gsm[port].modem
            if str(getattr(modem.call_state, "value", modem.call_state)) not in (
                    "dialing", "alerting"):
                raise SimError(f"{port}: no outgoing call to answer")
            modem.far_answer()
        elif port in b.lines:
            await b.lines[port].far_answer()
        else:
            await b.span.far_answer(self._bchan(port))

    async def far_hangup(self, port: str) -> None:
        b = self.board
        if port in b.gsm:
            modem = b.gsm[port].modem
            if str(getattr(modem.call_state, "value", modem.call_state)) == "idle":
                raise SimError(f"{port}: no call to hang up")
            modem.far_hangup()
        elif port in b.lines:
            await b.lines[port].far_hangup()
        else:
            await b.span.far_hangup(self._bchan(port))

    async def far_press(self, port: str, digits: str) -> None:
        party = self._far_party(port)
        if not party.active:
            raise SimError(f"{port}: no call in progress to press keys in")
        party.press(digits)

    async def phone_offhook(self, port: str) -> None:
        self._phone(port).offhook()

    async def phone_onhook(self, port: str) -> None:
        self._phone(port).onhook()

    async def phone_unplug(self, port: str) -> None:
        self._phone(port).unplug()

    async def phone_plug(self, port: str) -> None:
        self._phone(port).plug()

    async def phone_flash(self, port: str) -> None:
        await self._phone(port).flash()

    async def phone_press(self, port: str, digits: str) -> None:
        phone = self._phone(port)
        if not phone.off_hook:
            raise SimError(f"{port}: pick the phone up before pressing keys")
        phone.press(digits)
