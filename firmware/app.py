"""The composition root: reads the configuration, picks the board, wires the services.

This is the one place that chooses a backend (simulated board or hardware), opens the
stores, starts the media plane and the call engine, and owns start-up and shutdown order:

    start:  data dir → board layout → config store (first-boot defaults) → event store
            → media engine → board ports (GSM: SMS listeners, saved SMS parts, recovery
            log) → SIM trunks (limits from the configuration) → call engine (SIM trunk
            policy, prompts, voicemail, recordings, queues) → SIM period tick → media
            thread → recordings janitor
    stop:   janitor, SIM tick → calls released (records written) → ports closed
            → media thread → stores

Data dir layout: ``config.json``, ``events.sqlite``, ``prompts/`` (uploaded 8 kHz WAVs),
``voicemail/<ext>/`` (messages and their ``index.json``), ``recordings/YYYY/MM/DD/``.

SIM trunks (firmware/trunks): the call engine asks :class:`SimTrunkPolicy` which SIM an
outbound call takes and for its permit; limits come from ``trunks[].sim`` and are applied
again on every committed revision; a SIM disabled for quota is an engine alert; ``tick()``
runs every :data:`SIM_TICK_S` to re-enable SIMs at their period's end.  SMS: received and
sent messages are stored (sent ones with their TP-MR references, their status updated by
status reports) and published to ``subscribe()`` queues.

`Box` is also the implementation of the service façade (firmware.service.BoxService) that
the web UI, the console and the cloud link call.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import fcntl
import functools
import logging
import os
import re
import time
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

from drivers.analog.fxo import FxoPort
from drivers.analog.fxs import FxsPort
from drivers.board import PortSpec, known_port_ids
from drivers.board.sim import SimBoard
from drivers.channel import Cause, Channel, ChannelKind
from drivers.gsm.atengine import GsmError
from drivers.gsm.modem import GsmChannel
from drivers.gsm.pdu import SmsStatusReport
from drivers.gsm.recovery import ResetRecord
from drivers.gsm.sms import ReceivedSms, SentSms, SmsSendError
from drivers.sim.analog import SimError
from firmware import __version__
from firmware.acd.kpi import DEFAULT_SHORT_ABANDON_S
from firmware.acd.log import last_agents
from firmware.calls.callbacks import CallbackRunner
from firmware.calls.campaigns import CampaignRunner
from firmware.calls.dialplan import Dialplan
from firmware.calls.engine import CallEngine
from firmware.calls.prompts import NAME as PROMPT_NAME
from firmware.calls.prompts import PromptError, PromptStore, read_wav_8k
from firmware.calls.queues import QueueService
from firmware.calls.recording import RecordingArchive, RetentionPolicy
from firmware.calls.voicemail import MessageWaitingLamps, VoicemailError, VoicemailStore
from firmware.config import ConfigStore, default_document
from firmware.media import MediaRuntime
from firmware.reports import ExportTable, PeriodReports
from firmware.service import (
    MAX_PROMPT_BYTES,
    BadRequest,
    NotFound,
    Refused,
    ServiceError,
    Unavailable,
)
from firmware.store import Cdr, EventStore, SmsRecord
from firmware.trunks import SimTrunkPolicy, SimTrunks, TrunkRefused, limits_from_document
from native.media import Codec, MediaEngine, MediaEvent

log = logging.getLogger(__name__)

BLOCK = 160   # samples per media tick: 20 ms at 8 kHz
JANITOR_S = 3600.0   # recordings retention runs at start and then this often
SMS_KEY_KEEP_S = 30 * 86400.0   # a received PDU's exactly-once key outlives its deletion


def retention_policy(doc: dict[str, Any]) -> RetentionPolicy:
    rec = doc.get("recording", {})
    return RetentionPolicy(keep_days=rec.get("keep_days", 90), max_mb=rec.get("max_mb", 2048),
                           min_free_mb=rec.get("min_free_mb", 200),
                           compressed=rec.get("format", "wav") == "alaw")
SIM_TICK_S = 60.0   # SIMs disabled for quota come back within this of their period's end
BALANCE_EVERY_S = 6 * 3600.0   # SIM balances are asked this often (USSD)
SMS_TO = re.compile(r"^\+?[0-9]{3,20}$")
SMS_MAX_CHARS = 1530  # ten parts of 7-bit text: a longer message is a mistake
SENT_REMEMBERED = 512  # sent messages whose status reports are matched in memory
SMS_REPORT_WINDOW_S = 3 * 86400.0  # after a restart, reports are awaited this long


# National language tables of TS 23.038 annex A (1 Turkish, 2 Spanish, 3 Portuguese,
# 4-13 Bengali, Gujarati, Hindi, Kannada, Malayalam, Oriya, Punjabi, Tamil, Telugu, Urdu)
# that phones sold in a country read. A table is announced only when the default alphabet
# cannot carry a text, and costs header octets in every part; elsewhere the text goes UCS2.
_SMS_LANGUAGES_BY_COUNTRY: dict[str, tuple[int, ...]] = {
    "TR": (1,), "ES": (2,), "PT": (3,), "BR": (3,),
    "IN": (6, 4, 5, 7, 8, 9, 10, 11, 12, 13),
    "BD": (4,), "PK": (13,), "LK": (11,),
}


def sms_national_languages(country: str) -> tuple[int, ...]:
    """The shift tables an SMS sent from a box in ``country`` may use (see above); the
    Iberian and Turkish tables elsewhere, as before any country was known."""
    return _SMS_LANGUAGES_BY_COUNTRY.get(country.upper(), (1, 2, 3))


class StartupError(Exception):
    """A problem that stops the box from starting; str() is the one-line explanation."""


@dataclass(frozen=True, slots=True)
class BoardSize:
    """Port counts of the simulated board (the default is the shipped appliance's)."""

    fxs: int = 4
    fxo: int = 2
    gsm: int = 2
    e1_channels: int = 30


@dataclass(slots=True)
class Settings:
    data_dir: Path
    simulated: bool = True
    country: str | None = None    # None: from the configuration
    board: BoardSize = BoardSize()   # simulated board only (benchmarks, larger test rigs)


class DataDirLock:
    """One box process per data directory (a second `run` or an `import` is refused)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "edgepbx.pid"
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StartupError(f"the box is already running on {self.path.parent} "
                               f"(pid {other})") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self._fd)
            self._fd = None


def prepare_data_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise StartupError(f"cannot create data directory {path}: {exc.strerror}") from None
    if not os.access(path, os.W_OK):
        raise StartupError(f"data directory {path} is not writable")
    return path


def board_ports(simulated: bool, size: BoardSize = BoardSize()) -> list[PortSpec]:
    if simulated:
        return SimBoard.layout(size.fxs, size.fxo, size.gsm, size.e1_channels)
    raise StartupError("no board file found for this hardware (image/boards/); "
                       "hardware boards arrive with the port drivers: run with --sim")


def open_config(data_dir: Path, ports: list[PortSpec]) -> ConfigStore:
    return ConfigStore.open(data_dir / "config.json", known_port_ids(ports))


class SimulatorFacade:
    """`SimulatorControl` over the simulated board, with the façade's error types."""

    def __init__(self, board: SimBoard) -> None:
        self._board = board

    def state(self) -> dict[str, Any]:
        return self._board.control.state()

    async def _do(self, name: str, port: str, *args: Any) -> None:
        try:
            await getattr(self._board.control, name)(port, *args)
        except KeyError:
            raise NotFound(f"no simulated device on port {port!r}") from None
        except SimError as exc:
            raise BadRequest(str(exc)) from None

    async def trunk_call(self, port: str, caller: str | None, called: str | None = None,
                         caller_name: str | None = None) -> None:
        await self._do("trunk_call", port, caller, called, caller_name)

    async def far_answer(self, port: str) -> None:
        await self._do("far_answer", port)

    async def far_hangup(self, port: str) -> None:
        await self._do("far_hangup", port)

    async def far_press(self, port: str, digits: str) -> None:
        await self._do("far_press", port, digits)

    async def phone_offhook(self, port: str) -> None:
        await self._do("phone_offhook", port)

    async def phone_onhook(self, port: str) -> None:
        await self._do("phone_onhook", port)

    async def phone_flash(self, port: str) -> None:
        await self._do("phone_flash", port)

    async def phone_press(self, port: str, digits: str) -> None:
        await self._do("phone_press", port, digits)


def store_received_sms(store: EventStore, sms: ReceivedSms) -> int | None:
    """A received SMS (or its raw PDUs, if undecodable) → the store and, in the same
    transaction, its keys (:attr:`ReceivedSms.keys`) and the cloud outbox (topic "sms").

    Returns the new record's id, or ``None`` when every key was stored before: the box died
    between storing the message and deleting it from the module, and read it again at
    start; it is not stored twice, and the driver may delete it now.  Raising (the store
    failed) keeps it on the module."""
    sms_id, new = store.add_received_sms(SmsRecord(
        ts=time.time(), direction="in", modem=sms.modem, peer=sms.sender, text=sms.text,
        encoding=sms.encoding, iccid=sms.iccid, imei=sms.imei,
        sent_ts=None if sms.timestamp is None else sms.timestamp.isoformat(),
        smsc=sms.smsc, parts=sms.parts, missing=list(sms.missing), error=sms.error,
        raw_pdus=list(sms.raw_pdus)), sms.keys, outbox_topic="sms")
    if not new:
        log.info("SMS already stored; only deleted from the module now",
                 extra={"sms": sms_id, "modem": sms.modem, "parts": sms.parts})
        return None
    return sms_id


class Box:
    """The running box: every service wired; implements firmware.service.BoxService."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started_at = time.time()
        self._lock = DataDirLock(settings.data_dir)
        self.config: ConfigStore | None = None
        self.store: EventStore | None = None
        self.media: MediaEngine | None = None
        self.board: SimBoard | None = None
        self.engine: CallEngine | None = None
        self.runtime: MediaRuntime | None = None
        self._sim: SimulatorFacade | None = None
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.channels: dict[str, Channel] = {}
        self._channel_by_slot: dict[int, Channel] = {}
        self._silence_s: dict[int, int] = {}     # analog line slot -> silence_hangup_s
        self.prompts = PromptStore(settings.data_dir / "prompts")
        self.voicemail = VoicemailStore(settings.data_dir / "voicemail")
        self.recordings = RecordingArchive(settings.data_dir / "recordings")
        self._janitor: asyncio.Task[None] | None = None
        self.sim_trunks: SimTrunks | None = None
        self.trunk_policy: SimTrunkPolicy | None = None
        self._sim_tick: asyncio.Task[None] | None = None
        self._sent: dict[int, tuple[SentSms, int]] = {}  # id(sent) → (sent, stored id)
        self.callbacks: CallbackRunner | None = None
        self.lamps: MessageWaitingLamps | None = None   # message waiting lamps (FXS)
        self.campaigns: CampaignRunner | None = None

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        s = self.settings
        prepare_data_dir(s.data_dir)
        self._lock.acquire()
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        s = self.settings
        ports = board_ports(s.simulated, s.board)
        self.config = open_config(s.data_dir, ports)
        if self.config.is_empty:
            doc = default_document(known_port_ids(ports))
            if s.country:
                doc["system"]["country"] = s.country
            rev = self.config.commit(doc, author="system", comment="first-boot defaults")
            log.info("first boot: default configuration written", extra={"revision": rev})
        doc = self.config.current
        country = s.country or doc["system"]["country"]
        self.store = EventStore.open(s.data_dir / "events.sqlite")
        codec = Codec.ULAW if country.upper() in ("US", "CA", "JP") else Codec.ALAW
        self.media = MediaEngine(len(ports), BLOCK)
        for p in ports:
            self.media.configure_slot(p.slot, codec=codec, enabled=True, dtmf_detect=True)
            if p.kind in (ChannelKind.FXO, ChannelKind.PRI):
                # Legs that meet an analog hybrid: cancel the line echo (128 ms tail).
                self.media.configure_echo(p.slot, 128)
            if p.kind is ChannelKind.FXO:
                # Disconnect supervision by tone: busy/congestion after the far end hung up.
                self.media.configure_cpd(p.slot, country, names=("busy", "congestion"))
        size = s.board
        self.board = SimBoard(country=country, block=BLOCK, codec=codec, fxs=size.fxs,
                              fxo=size.fxo, gsm=size.gsm, e1_channels=size.e1_channels)
        await self.board.start(self.media)
        self.channels = dict(self.board.channels)
        self._channel_by_slot = {ch.slot: ch for ch in self.channels.values()}
        self._apply_lines(doc)
        gsm = {pid: ch for pid, ch in self.channels.items() if isinstance(ch, GsmChannel)}
        for channel in gsm.values():
            sms = channel.modem.sms
            sms.on_received(self._store_sms)  # received SMS → store + cloud outbox
            sms.on_status(self._sms_status)
            sms.use_part_store(self.store)    # direct parts survive a restart
        self._rearm_sms_reports(gsm)
        for port, recovery in self.board.recoveries.items():
            recovery.on_reset(functools.partial(self._gsm_reset, port))
        self.sim_trunks = SimTrunks(self.store)
        self.trunk_policy = SimTrunkPolicy(
            self.sim_trunks, lambda port: gsm[port].modem.iccid if port in gsm else None)
        self.trunk_policy.configure(limits_from_document(doc))
        self.sim_trunks.on_change(self._sim_changed)
        port_ids = [p.id for p in ports]
        self.engine = CallEngine(self.channels, self.media, self._store_cdr,
                                 Dialplan.from_document(doc, port_ids), prompts=self.prompts,
                                 trunk_policy=self.trunk_policy)
        self.engine.voicemail = self.voicemail
        self.engine.recordings = self.recordings
        self._apply_storage(doc)
        self.engine.add_listener(self._publish)
        self.engine.queues = QueueService(self.engine, doc, log_sink=self.store.add_queue_events)
        self._remember_sticky_agents(doc)
        self.callbacks = CallbackRunner(self.engine, self.store, doc)
        self.callbacks.start()       # recovers what a restart interrupted, dials what is due
        self.campaigns = CampaignRunner(self.engine, self.store, doc)
        self.campaigns.start()       # settles interrupted dials; campaigns start stopped
        self.engine.on_day_night = self._day_night_toggle
        # Message waiting lamps: every lamp phone is told its mailbox now and on changes.
        self.lamps = MessageWaitingLamps(self.voicemail, {
            c.id: c for c in self.channels.values() if isinstance(c, FxsPort)})
        self.lamps.configure(self.engine.dialplan.extensions.values())
        self.engine.add_listener(self.lamps.on_event)
        self.lamps.start()
        self.config.subscribe(lambda old, new: self._apply(new, port_ids))
        self._sim_tick = asyncio.get_running_loop().create_task(self._tick_sims(),
                                                                name="sim-trunk-tick")
        self.runtime = MediaRuntime(self.media, self.board.highway, asyncio.get_running_loop(),
                                    self._media_event)
        self.runtime.start()
        self._sim = SimulatorFacade(self.board)
        self._janitor = asyncio.get_running_loop().create_task(self._run_janitor(),
                                                               name="recordings-janitor")
        log.info("box started", extra={"ports": len(ports), "simulated": s.simulated,
                                       "config_revision": self.config.revision})

    def _apply_storage(self, doc: dict[str, Any]) -> None:
        self.voicemail.max_messages = int(doc.get("voicemail", {}).get("max_messages", 100))
        self.recordings.policy = retention_policy(doc)

    async def _run_janitor(self) -> None:
        """Recordings retention and the received-SMS keys' expiry, at start and hourly (a
        failure is logged, never fatal)."""
        while True:
            try:
                await asyncio.to_thread(self.recordings.sweep)
            except Exception:
                log.exception("recordings janitor failed")
            try:
                if self.store is not None:
                    gone = self.store.prune_received_sms_keys(time.time() - SMS_KEY_KEEP_S)
                    if gone:
                        log.info("received-SMS keys expired", extra={"keys": gone})
            except Exception:
                log.exception("received-SMS key expiry failed")
            await asyncio.sleep(JANITOR_S)

    def _apply(self, doc: dict[str, Any], port_ids: list[str]) -> None:
        """A committed revision, live: routing tables, queues, SIM limits, storage, analog."""
        if self.engine is not None:
            self.engine.apply(Dialplan.from_document(doc, port_ids))
            if self.engine.queues is not None:
                self.engine.queues.apply_config(doc)
            if self.lamps is not None:
                self.lamps.configure(self.engine.dialplan.extensions.values())
        if self.callbacks is not None:
            self.callbacks.apply_config(doc)
        if self.campaigns is not None:
            self.campaigns.apply_config(doc)
        if self.trunk_policy is not None:
            self.trunk_policy.configure(limits_from_document(doc))
        self._apply_storage(doc)
        self._apply_lines(doc)

    async def _tick_sims(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(SIM_TICK_S)
            ticks += 1
            if self.sim_trunks is not None:
                try:
                    self.sim_trunks.tick()
                except Exception:
                    log.exception("SIM trunk tick failed")
            if ticks % int(BALANCE_EVERY_S // SIM_TICK_S) == 0:
                for port in [p for p, ch in self.channels.items() if isinstance(ch, GsmChannel)]:
                    try:
                        await self.gsm_balance(port)
                    except ServiceError as exc:
                        log.info("balance check skipped", extra={"port": port,
                                                                 "reason": str(exc)})
                    except Exception:
                        log.exception("balance check failed", extra={"port": port})

    async def gsm_balance(self, port: str) -> dict[str, Any]:
        """Ask a SIM's balance with its configured USSD code (``trunks[].sim.balance_code``);
        the answer is stored with the SIM's state and returned."""
        ch = self.channels.get(port)
        if not isinstance(ch, GsmChannel):
            raise NotFound(f"no GSM module on port {port!r}")
        iccid = ch.modem.iccid
        if self.sim_trunks is None or iccid is None or not ch.modem.in_service:
            raise Unavailable(f"{port}: the module is not in service")
        from drivers.gsm.ussd import UssdError

        async def ussd(code: str) -> str:
            answer = await ch.modem.ussd.request(code)
            return answer.text or ""

        from firmware.trunks.accounting import TrunkRefused

        try:
            text = await self.sim_trunks.check_balance(iccid, ussd)
        except TrunkRefused:
            raise BadRequest(f"{port}: no SIM limits configured (trunks[].sim)") from None
        except UssdError as exc:
            raise Unavailable(f"{port}: the network did not answer the balance request: "
                              f"{exc}") from None
        if text is None:
            raise BadRequest(f"{port}: no balance code configured (trunks[].sim.balance_code)")
        self._publish({"type": "balance", "port": port, "iccid": iccid, "balance": text})
        return {"port": port, "iccid": iccid, "balance": text, "ts": time.time()}

    async def stop(self) -> None:
        for task in (self._janitor, self._sim_tick):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._janitor = None
        self._sim_tick = None
        if self.lamps is not None:
            await self.lamps.stop()
        if self.callbacks is not None:
            self.callbacks.close()    # no new dials; dials in flight are settled at start
        if self.campaigns is not None:
            self.campaigns.close()
        if self.engine is not None:
            await self.engine.shutdown()
            if self.engine.queues is not None:
                self.engine.queues.close()
        if self.board is not None:
            await self.board.stop()
        if self.runtime is not None:
            self.runtime.stop()
            self.runtime = None
        if self.media is not None:
            self.media.close()
            self.media = None
        if self.store is not None:
            self.store.close()
            self.store = None
        if self.config is not None:
            self.config.close()
            self.config = None
        self._lock.release()
        log.info("box stopped")

    def _apply_lines(self, doc: dict[str, Any]) -> None:
        """What the configuration sets on the lines, live from the document: country, time
        zone and caller ID of the analog ports (system.caller_id, overridden per port by
        ports.<id>.caller_id); the SMS national
        language tables the GSM modules may announce, from the country; and the
        disconnect supervision of each analog line: ``polarity_reversal`` (the exchange
        signals answer and clear-down by reversing the line; without it answer is the end
        of dialing and clear-down a loop-current break or busy/congestion tone) and
        ``silence_hangup_s`` (0: off; else that long without a sound from the line in an
        answered call means the far end is gone — the net under lines that give nothing)."""
        system = doc["system"]
        country = self.settings.country or system["country"]
        ports = doc.get("ports", {})
        for ch in self.channels.values():
            port = ports.get(ch.id, {})
            setting = port.get("caller_id", system.get("caller_id", "auto"))
            if isinstance(ch, FxsPort):
                ch.configure(country=country, caller_id=setting, timezone=system["timezone"])
            elif isinstance(ch, FxoPort):
                ch.configure(country=country, caller_id=setting)
                ch.answer_on_polarity = bool(port.get("polarity_reversal", False))
                silence_s = int(port.get("silence_hangup_s", 0))
                if self._silence_s.get(ch.slot, 0) != silence_s:
                    self._silence_s[ch.slot] = silence_s
                    self._arm_line_detector(ch.slot)
            elif isinstance(ch, GsmChannel):
                ch.modem.sms.national_languages = sms_national_languages(country)

    def _arm_line_detector(self, slot: int) -> None:
        """(Re)start the call-progress detector of an analog line: busy/congestion tone,
        and silence after the line's ``silence_hangup_s`` counted from now."""
        assert self.media is not None
        country = self.settings.country or self._cfg().current["system"]["country"]
        self.media.configure_cpd(slot, country, names=("busy", "congestion"),
                                 silence_ms=self._silence_s.get(slot, 0) * 1000)

    def _line_silent(self, line: FxoPort) -> None:
        """``silence_hangup_s`` of quiet on an analog line. It counts only when the whole
        run fell inside the answered call: one that began before (an idle line, ringing)
        restarts the count, so a call is never cut short of the configured silence."""
        assert self.engine is not None
        since = self.engine.answered_since(line.id)
        if since is not None and self.engine.clock() - since >= self._silence_s.get(line.slot, 0):
            log.info("silence on the line: the far end hung up",
                     extra={"port": line.id, "silence_s": self._silence_s.get(line.slot)})
            line.far_end_gone(Cause.NORMAL_CLEARING)
        else:
            self._arm_line_detector(line.slot)

    def _media_event(self, ev: MediaEvent) -> None:
        """Media-plane events: to the call engine, tone supervision and caller ID of
        analog lines."""
        if ev.kind == "caller_id":
            line = self._channel_by_slot.get(ev.slot)
            if isinstance(line, FxoPort) and ev.caller_id is not None:
                line.caller_id_received(ev.caller_id)
            return
        if self.campaigns is not None:
            self.campaigns.on_media_event(ev)     # answer and machine detection first
        if self.engine is not None:
            self.engine.on_media_event(ev)
        if ev.kind == "silence":
            line = self._channel_by_slot.get(ev.slot)
            if isinstance(line, FxoPort):
                self._line_silent(line)
        if ev.kind == "tone_detected" and ev.tone in ("busy", "congestion"):
            ch = self._channel_by_slot.get(ev.slot)
            if isinstance(ch, FxoPort):
                log.info("busy tone on the line: the far end hung up",
                         extra={"port": ch.id, "tone": ev.tone})
                ch.far_end_gone(Cause.NORMAL_CLEARING)

    # -- records and live events ----------------------------------------------------------
    def _store_sms(self, sms: ReceivedSms) -> None:
        """A received SMS → the store, once (:func:`store_received_sms`), and the live
        events.  Returning lets the driver delete it from the module; raising keeps it
        there."""
        assert self.store is not None
        sms_id = store_received_sms(self.store, sms)
        if sms_id is not None:
            self._publish({"type": "sms", "direction": "in", "id": sms_id,
                           "modem": sms.modem, "peer": sms.sender})

    def _rearm_sms_reports(self, gsm: dict[str, GsmChannel]) -> None:
        """Messages sent before a restart still waiting for their status reports: tell the
        modems their references again, so a report that arrives now updates the record."""
        if self.store is None:
            return
        since = time.time() - SMS_REPORT_WINDOW_S
        for ch in gsm.values():
            iccid = ch.modem.iccid
            if iccid is None:
                continue
            for rec in self.store.sms(since=since, iccid=iccid, limit=SENT_REMEMBERED,
                                      direction="out"):
                if rec.status not in ("sent", "pending") or not rec.refs or rec.id is None:
                    continue
                sent = SentSms(ch.id, rec.peer or "", rec.text or "", list(rec.refs), True,
                               sent_at=rec.ts)
                ch.modem.sms.expect_report(sent)
                self._sent[id(sent)] = (sent, rec.id)

    def _sms_status(self, sent: SentSms, report: SmsStatusReport) -> None:
        """A status report matched to a message we sent: its stored status follows."""
        entry = self._sent.get(id(sent))
        if entry is None or entry[0] is not sent or self.store is None:
            return
        status = sent.state
        self.store.set_sms_status(entry[1], status)
        log.info("SMS status", extra={"sms": entry[1], "status": status,
                                      "report": report.status_text})
        self._publish({"type": "sms_status", "id": entry[1], "status": status})

    def _gsm_reset(self, port: str, record: ResetRecord) -> None:
        """Every recovery step on a GSM module → the event log, and the live events."""
        data = record.to_json()
        if self.store is not None:
            self.store.log_event("gsm_reset", port, data, ts=record.ts)
        self._publish({"type": "gsm_reset", "port": port, **data})

    def _sim_changed(self, iccid: str, enabled: bool, reason: str) -> None:
        port = self.trunk_policy.port_of(iccid) if self.trunk_policy else None
        if not enabled and self.engine is not None:
            self.engine.alert("SIM disabled", iccid=iccid, port=port, reason=reason)
        else:
            log.info("SIM enabled again", extra={"iccid": iccid, "port": port,
                                                 "reason": reason})
        self._publish({"type": "sim", "iccid": iccid, "port": port, "enabled": enabled,
                       "reason": reason})

    def _store_cdr(self, record: dict[str, Any]) -> None:
        assert self.store is not None
        self.store.add_cdr(Cdr(**record), outbox_topic="cdr")
        self._publish({"type": "cdr", "call_id": record["call_id"]})
        if self.callbacks is not None:
            try:
                self.callbacks.on_cdr(record)     # a missed call → its callback
            except Exception:
                log.exception("missed-call callback failed", extra={"call": record["call_id"]})

    def _publish(self, event: dict[str, Any]) -> None:
        for q in list(self._subscribers):
            if q.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(event)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=500)
        self._subscribers.add(q)
        return q

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    # -- BoxService -----------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return {"name": self.config.current["system"]["name"] if self.config else "edgepbx",
                "version": __version__, "board": "simulated" if self.settings.simulated
                else "hardware", "simulated": self.settings.simulated,
                "uptime_s": round(time.time() - self.started_at, 1),
                "config_revision": self.config.revision if self.config else 0,
                "media_ticks": self.runtime.ticks if self.runtime else 0}

    def ports(self) -> list[dict[str, Any]]:
        """Every channel; a phone port also shows its extension's ``messages_waiting``."""
        out = []
        for ch in self.channels.values():
            d = ch.describe()
            ext = self.engine.dialplan.by_port.get(ch.id) if self.engine else None
            if ext is not None and ext.voicemail and self.engine is not None:
                d["messages_waiting"] = self.engine.messages_waiting(ext.number)
            out.append(d)
        return out

    def calls(self) -> list[dict[str, Any]]:
        return self.engine.calls() if self.engine else []

    def cdrs(self, limit: int = 100, offset: int = 0, since: float | None = None,
             until: float | None = None) -> list[dict[str, Any]]:
        assert self.store is not None
        rows = self.store.cdrs(since=since, until=until, limit=limit, offset=offset)
        return [asdict(r) if is_dataclass(r) else dict(r) for r in rows]  # type: ignore[arg-type]

    # -- SMS --------------------------------------------------------------------------------
    def _gsm_channel(self, port_or_iccid: str) -> GsmChannel:
        ch = self.channels.get(port_or_iccid)
        if isinstance(ch, GsmChannel):
            return ch
        for ch in self.channels.values():
            if isinstance(ch, GsmChannel) and ch.modem.iccid == port_or_iccid:
                return ch
        raise NotFound(f"no GSM module in port or with SIM {port_or_iccid!r}")

    async def send_sms(self, port_or_iccid: str, to: str, text: str) -> dict[str, Any]:
        if self.store is None:
            raise Unavailable("the box is not running")
        to = to.strip() if isinstance(to, str) else ""
        if not SMS_TO.match(to):
            raise BadRequest("to: a phone number of 3 to 20 digits, optionally after '+'")
        if not isinstance(text, str) or not text:
            raise BadRequest("text: must not be empty")
        if len(text) > SMS_MAX_CHARS:
            raise BadRequest(f"text: at most {SMS_MAX_CHARS} characters")
        ch = self._gsm_channel(port_or_iccid)
        modem = ch.modem
        if not modem.sms.ready or not modem.in_service:
            raise Unavailable(f"{ch.id}: cannot send SMS now ({modem.service[1]})")
        iccid = self.trunk_policy.sim_of(ch.id) if self.trunk_policy else None
        if iccid is not None and self.sim_trunks is not None:
            try:
                self.sim_trunks.check_sms(iccid, to)
            except TrunkRefused as exc:
                raise Refused(str(exc)) from None
        record = SmsRecord(ts=time.time(), direction="out", modem=ch.id, peer=to, text=text,
                           iccid=modem.iccid, imei=modem.imei)
        try:
            sent = await modem.sms.send(to, text)
        except ValueError as exc:
            raise BadRequest(f"text: {exc}") from None
        except SmsSendError as exc:
            self.store.add_sms(SmsRecord(**{**asdict(record), "refs": list(exc.sent),
                                            "status": "failed", "error": str(exc)}))
            raise Unavailable(f"{ch.id}: the module refused the message: {exc}") from None
        except GsmError as exc:
            raise Unavailable(f"{ch.id}: {exc}") from None
        parts = len(sent.references)
        stored = SmsRecord(**{**asdict(record), "refs": list(sent.references),
                              "parts": parts, "status": sent.state})
        sms_id = self.store.add_sms(stored, outbox_topic="sms")
        if iccid is not None and self.sim_trunks is not None:
            for _ in range(parts):  # each part is an SMS the operator counts
                self.sim_trunks.sms_sent(iccid, to)
        self._sent[id(sent)] = (sent, sms_id)
        while len(self._sent) > SENT_REMEMBERED:
            del self._sent[next(iter(self._sent))]
        self._publish({"type": "sms", "direction": "out", "id": sms_id, "modem": ch.id,
                       "peer": to})
        return {**asdict(stored), "id": sms_id}

    def sms(self, limit: int = 100, since: float | None = None, iccid: str | None = None,
            direction: str | None = None) -> list[dict[str, Any]]:
        if self.store is None:
            return []
        if direction not in (None, "in", "out"):
            raise BadRequest("direction: 'in' or 'out'")
        return [r.to_json() for r in self.store.sms(since=since, iccid=iccid, limit=limit,
                                                     direction=direction)]

    def _cfg(self) -> ConfigStore:
        if self.config is None:
            raise ServiceError("the configuration store is not open")
        return self.config

    def config_current(self) -> dict[str, Any]:
        return self._cfg().current

    def config_revision(self) -> int:
        return self._cfg().revision

    def config_revisions(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._cfg().revisions()]

    def config_validate(self, document: dict[str, Any]) -> None:
        self._cfg().validate(document)

    async def config_commit(self, document: dict[str, Any], author: str,
                            comment: str = "") -> int:
        rev = self._cfg().commit(document, author=author, comment=comment)
        self._publish({"type": "config", "revision": rev})
        return rev

    async def config_rollback(self, rev: int, author: str) -> int:
        try:
            self._cfg().get_revision(rev)
        except (KeyError, LookupError):
            raise NotFound(f"no configuration revision {rev}") from None
        new = self._cfg().rollback(rev, author=author)
        self._publish({"type": "config", "revision": new})
        return new

    # -- ACD ------------------------------------------------------------------------------
    def queues(self) -> dict[str, Any]:
        """Live queue and agent figures (the wallboard)."""
        q = self.engine.queues if self.engine else None
        return q.snapshot() if q is not None else {"queues": {}, "agents": {}}

    def _remember_sticky_agents(self, doc: dict[str, Any]) -> None:
        """Sticky agents survive a restart: who last spoke to each number within the
        longest ``sticky_days`` of any queue, from the stored queue log."""
        days = max((float(q.get("sticky_days", 0)) for q in doc.get("queues", [])), default=0)
        if days <= 0 or self.store is None or self.engine is None or not self.engine.queues:
            return
        # a day more: a caller who entered before the cut-off may be answered after it
        since = time.time() - (days + 1) * 86400
        events = (ev for batch in self.store.iter_queue_events(since) for ev in batch)
        core = self.engine.queues.core
        for number, (agent, when) in last_agents(events).items():
            core.remember_agent(number, agent, when)

    # -- period reports (queue log, KPIs, CDRs, callback jobs): firmware/reports.py ------
    def _reports(self) -> PeriodReports:
        if self.store is None:
            raise Unavailable("the box is not running")
        return PeriodReports(self.store, lambda: (q["id"] for q in
                                                  self._cfg().current.get("queues", [])),
                             time.time)

    def queue_kpis(self, since: float | None = None, until: float | None = None,
                   queue: str | None = None) -> dict[str, Any]:
        """The KPIs of DOMAIN.md for a period, recomputed from the stored queue log."""
        return self._reports().kpis(since, until, queue)

    def export(self, table: str, since: float, until: float, queue: str | None = None,
               short_abandon_s: float = DEFAULT_SHORT_ABANDON_S) -> ExportTable:
        """A period's report as a table whose rows are read in batches."""
        return self._reports().table(table, since, until, queue, short_abandon_s)

    # -- working hours ----------------------------------------------------------------------
    def day_night_state(self) -> dict[str, Any]:
        """Each time condition: open now or not, and its manual override."""
        from firmware.timeconditions import TimeCondition

        doc = self._cfg().current
        tz = doc["system"]["timezone"]
        now = time.time()
        return {"time_conditions": [
            {"id": tc["id"], "override": tc.get("override", "auto"),
             "open": TimeCondition.from_config(tc, tz).is_open(now)}
            for tc in doc.get("time_conditions", [])]}

    async def day_night(self, mode: str, author: str) -> dict[str, Any]:
        """Manual override of every time condition: day, night, or auto (the schedule)."""
        if mode not in ("day", "night", "auto"):
            raise BadRequest(f"mode must be day, night or auto, not {mode!r}")
        doc = self._cfg().current
        if not doc.get("time_conditions"):
            raise BadRequest("no time conditions are configured (time_conditions)")
        for tc in doc["time_conditions"]:
            tc["override"] = mode
        await self.config_commit(doc, author=author, comment=f"day/night: {mode}")
        return self.day_night_state()

    async def _day_night_toggle(self, extension: str) -> str:
        """*28: back to the schedule if overridden, else the opposite of now."""
        state = self.day_night_state()["time_conditions"]
        if not state:
            raise BadRequest("no time conditions are configured")
        if any(tc["override"] != "auto" for tc in state):
            mode = "auto"
        else:
            mode = "night" if state[0]["open"] else "day"
        await self.day_night(mode, author=f"ext {extension}")
        return mode

    def supervise(self, call_id: str, extension: str, mode: str = "listen") -> None:
        """A supervisor's phone joins a call: listen, whisper (to the agent) or barge."""
        if self.engine is None:
            raise Unavailable("the call engine is not running")
        try:
            self.engine.supervise(call_id, extension, mode)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None

    def set_supervision(self, call_id: str, mode: str) -> None:
        if self.engine is None:
            raise Unavailable("the call engine is not running")
        try:
            self.engine.set_supervision(call_id, mode)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None

    def agent_force(self, agent: str, state: str, reason: str = "supervisor") -> None:
        """A supervisor forces an agent's state: available, paused or logged_out."""
        self._acd_event("ForceAgentState", agent, state, reason)

    def queue_move(self, call_id: str, queue: str, keep_place: bool = True) -> None:
        """A supervisor moves a waiting caller to another queue."""
        q = self.engine.queues if self.engine else None
        if q is None or call_id not in q.callers:
            raise NotFound(f"no caller {call_id!r} waiting in a queue")
        if queue not in q.core.queues:
            raise NotFound(f"no queue {queue!r}")
        from firmware.acd import messages as m
        from firmware.acd.core import AcdError

        try:
            q.feed(m.MoveCaller(call_id, queue, keep_place))
        except AcdError as exc:
            raise BadRequest(str(exc)) from None

    def _acd_event(self, name: str, agent: str, *args: Any) -> None:
        q = self.engine.queues if self.engine else None
        if q is None:
            raise Unavailable("the ACD is not running")
        if agent not in q.core.agents:
            raise NotFound(f"no agent {agent!r}")
        from firmware.acd import messages as m
        from firmware.acd.core import AcdError

        try:
            q.feed(getattr(m, name)(agent, *args))
        except (AcdError, ValueError, TypeError) as exc:
            raise BadRequest(str(exc)) from None

    def agent_action(self, agent: str, action: str, reason: str = "break") -> None:
        q = self.engine.queues if self.engine else None
        if q is None:
            raise Unavailable("the ACD is not running")
        if agent not in q.core.agents:
            raise NotFound(f"no agent {agent!r}")
        from firmware.acd.core import AcdError

        try:
            q.agent_action(agent, action, reason)
        except (AcdError, ValueError) as exc:
            raise BadRequest(str(exc)) from None

    # -- callbacks ------------------------------------------------------------------------
    def _callbacks(self) -> CallbackRunner:
        if self.callbacks is None:
            raise Unavailable("the box is not running")
        return self.callbacks

    def callback_request(self, number: str, queue: str,
                         window: tuple[float, float] | None = None, source: str = "web", *,
                         request_id: str | None = None, priority: int = 0,
                         note: str = "") -> dict[str, Any]:
        """Ask the box to call ``number`` back and connect it to ``queue`` (in working
        hours, inside ``window`` if given). ``CallbackRequestError`` (a BadRequest naming
        every bad field) when it cannot be accepted; nothing is written then."""
        runner = self._callbacks()
        result = runner.service.request(number, queue, window, source,
                                        request_id=request_id, priority=priority, note=note)
        runner.pump()
        return result

    def callback_jobs(self, since: float | None = None, until: float | None = None,
                      open_only: bool = False) -> list[dict[str, Any]]:
        return self._callbacks().service.jobs(since, until, open_only)

    def callback_job(self, job_id: str) -> dict[str, Any]:
        return self._callbacks().service.job(job_id)

    def callback_cancel(self, job_id: str, actor: str = "web") -> dict[str, Any]:
        runner = self._callbacks()
        job = runner.service.cancel(job_id, actor)
        runner.pump()
        return job

    # -- outbound campaigns (firmware/calls/campaigns.py, firmware/campaigns) --------------
    def _campaign(self, campaign: str) -> tuple[CampaignRunner, dict[str, Any]]:
        if self.campaigns is None:
            raise Unavailable("the box is not running")
        entry = next((c for c in self._cfg().current.get("campaigns", [])
                      if c.get("id") == campaign), None)
        if entry is None or campaign not in self.campaigns.dialers:
            raise NotFound(f"no campaign {campaign!r}")
        return self.campaigns, entry

    def campaigns_list(self) -> list[dict[str, Any]]:
        runner = self.campaigns
        return [dict(c, state=runner.states.get(c["id"], "stopped") if runner else "stopped")
                for c in self._cfg().current.get("campaigns", [])]

    async def campaign_put(self, entry: dict[str, Any], author: str) -> dict[str, Any]:
        """Create or replace the campaign ``entry["id"]`` (a configuration revision; the
        schema checks mode, queue, cap and hours); an autoinformer's message must be an
        uploaded prompt."""
        message = entry.get("message")
        if entry.get("mode") == "autoinformer" and isinstance(message, str) \
                and not self._prompt_path(message).exists():
            raise BadRequest(f'field "message": no prompt {message!r}: upload it first')
        doc = copy.deepcopy(self._cfg().current)
        others = [c for c in doc.get("campaigns", []) if c.get("id") != entry.get("id")]
        doc["campaigns"] = [*others, entry]
        rev = await self.config_commit(doc, author, f"campaign {entry.get('id')}")
        return {"revision": rev, "campaign": entry}

    async def campaign_delete(self, campaign: str, author: str) -> int:
        self._campaign(campaign)
        doc = copy.deepcopy(self._cfg().current)
        doc["campaigns"] = [c for c in doc["campaigns"] if c.get("id") != campaign]
        return await self.config_commit(doc, author, f"delete campaign {campaign}")

    def campaign_import(self, campaign: str, data: bytes) -> dict[str, Any]:
        """Import a contact CSV: the good rows, and every bad row by line."""
        from firmware.callback import CallbackSettings
        from firmware.campaigns import ContactImportError, import_contacts

        self._campaign(campaign)
        assert self.store is not None
        settings = CallbackSettings.from_document(self._cfg().current)
        try:
            report = import_contacts(self.store, campaign, data, time.time(),
                                     country=settings.country, timezone=settings.timezone,
                                     blacklist=settings.blacklist)
        except ContactImportError as exc:
            raise BadRequest(str(exc)) from None
        return {"import_id": report.import_id, "imported": report.imported,
                "errors": [{"line": e.line, "reason": e.reason} for e in report.errors]}

    def campaign_control(self, campaign: str, action: str) -> dict[str, Any]:
        runner, _entry = self._campaign(campaign)
        states = {"start": "running", "pause": "paused", "stop": "stopped"}
        if action not in states:
            raise BadRequest(f"campaign action must be start, pause or stop, not {action!r}")
        runner.set_state(campaign, states[action])
        return {"campaign": campaign, "state": runner.states[campaign]}

    def campaign_preview(self, campaign: str, agent: str, action: str) -> dict[str, Any]:
        """An agent's preview: ``next`` (the contact held for them), ``call`` or ``skip``."""
        from firmware.calls.campaigns import CampaignError

        runner, _entry = self._campaign(campaign)
        try:
            if action == "next":
                contact = runner.preview_next(campaign, agent)
                return {"contact": None if contact is None else contact.to_json()}
            if action == "call":
                return {"dialling": runner.preview_call(campaign, agent)}
            if action == "skip":
                runner.preview_skip(campaign, agent)
                return {"skipped": True}
        except CampaignError as exc:
            raise BadRequest(str(exc)) from None
        raise BadRequest(f"preview action must be next, call or skip, not {action!r}")

    def campaign_results(self, campaign: str) -> list[dict[str, Any]]:
        from firmware.campaigns.reports import contact_results

        self._campaign(campaign)
        assert self.store is not None
        return contact_results(self.store, campaign)

    def campaign_summary(self, campaign: str) -> dict[str, Any]:
        from firmware.campaigns.reports import summary

        runner, entry = self._campaign(campaign)
        assert self.store is not None
        tz = self._cfg().current["system"].get("timezone", "UTC")
        out = summary(self.store, campaign, tz, float(entry.get("abandon_cap_pct", 3)))
        out["state"] = runner.states.get(campaign, "stopped")
        return out

    def campaign_results_csv(self, campaign: str) -> str:
        from firmware.campaigns.reports import results_csv

        return results_csv(self.campaign_results(campaign))

    # -- prompts, voicemail, recordings ---------------------------------------------------
    def _prompt_path(self, name: str) -> Path:
        if not PROMPT_NAME.match(name) or not name.endswith(".wav"):
            raise BadRequest(f"prompt name {name!r}: letters, digits, '_', '-', '.', "
                             "ending in .wav")
        directory = self.prompts.directory
        assert directory is not None
        return directory / name

    def prompts_list(self) -> list[dict[str, Any]]:
        directory = self.prompts.directory
        if directory is None or not directory.exists():
            return []
        return [{"name": p.name, "size": p.stat().st_size,
                 "duration_s": round(max(0, p.stat().st_size - 44) / 16000, 2)}
                for p in sorted(directory.glob("*.wav"))]

    def prompt_put(self, name: str, data: bytes) -> dict[str, Any]:
        path = self._prompt_path(name)
        if len(data) > MAX_PROMPT_BYTES:
            raise BadRequest(f"prompt too large: {len(data)} bytes, at most {MAX_PROMPT_BYTES}")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".upload")
        tmp.write_bytes(data)
        try:
            pcm = read_wav_8k(tmp)
        except PromptError as exc:
            tmp.unlink()
            raise BadRequest(str(exc).replace(tmp.name, name)) from None
        os.replace(tmp, path)
        self.prompts.forget(name)
        return {"name": name, "size": len(data), "duration_s": round(len(pcm) / 8000, 2)}

    def prompt_delete(self, name: str) -> None:
        path = self._prompt_path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            raise NotFound(f"no prompt {name!r}") from None
        self.prompts.forget(name)

    def _mailbox(self, extension: str) -> str:
        ext = self.engine.dialplan.extensions.get(extension) if self.engine else None
        if ext is None or not ext.voicemail:
            raise NotFound(f"no mailbox {extension!r}")
        return extension

    def voicemail_list(self, extension: str) -> list[dict[str, Any]]:
        return [m.to_json() for m in self.voicemail.messages(self._mailbox(extension))]

    def voicemail_file(self, extension: str, message_id: str) -> Path:
        try:
            path = self.voicemail.path(self._mailbox(extension), message_id)
        except VoicemailError as exc:
            raise NotFound(str(exc)) from None
        if not path.is_file():
            raise NotFound(f"no message {message_id!r}")
        return path

    def voicemail_delete(self, extension: str, message_id: str) -> None:
        try:
            gone = self.voicemail.delete(self._mailbox(extension), message_id)
        except VoicemailError as exc:
            raise NotFound(str(exc)) from None
        if not gone:
            raise NotFound(f"no message {message_id!r}")
        if self.engine is not None:
            self.engine.mailbox_changed(extension)

    def recordings_list(self) -> list[dict[str, Any]]:
        return self.recordings.describe()

    def recording_file(self, name: str) -> Path:
        path = self.recordings.resolve(name)
        if path is None:
            raise NotFound(f"no recording {name!r}")
        return path

    def audit(self, actor: str, action: str, detail: dict[str, Any]) -> None:
        if self.store is not None:
            self.store.audit(actor, action, detail)

    @property
    def sim(self) -> SimulatorFacade | None:
        return self._sim
