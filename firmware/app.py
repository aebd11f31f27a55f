"""The composition root: reads the configuration, picks the board, wires the services.

This is the one place that chooses a backend (simulated board or hardware), opens the
stores, starts the media plane and the call engine, and owns start-up and shutdown order:

    start:  data dir → board layout → config store (first-boot defaults) → event store
            → media engine → board ports → call engine → media thread
    stop:   calls released (records written) → ports closed → media thread → stores

`Box` is also the implementation of the service façade (firmware.service.BoxService) that
the web UI, the console and the cloud link call.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

from drivers.analog.fxo import FxoPort
from drivers.board import PortSpec, known_port_ids
from drivers.board.sim import SimBoard
from drivers.channel import Cause, Channel, ChannelKind
from drivers.gsm.modem import GsmChannel
from drivers.gsm.sms import ReceivedSms
from drivers.sim.analog import SimError
from firmware import __version__
from firmware.calls.dialplan import Dialplan
from firmware.calls.engine import CallEngine
from firmware.calls.queues import QueueService
from firmware.config import ConfigStore, default_document
from firmware.media import MediaRuntime
from firmware.service import BadRequest, NotFound, ServiceError, Unavailable
from firmware.store import Cdr, EventStore, SmsRecord
from native.media import Codec, MediaEngine, MediaEvent

log = logging.getLogger(__name__)

BLOCK = 160   # samples per media tick: 20 ms at 8 kHz


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

    async def trunk_call(self, port: str, caller: str | None, called: str | None = None) -> None:
        await self._do("trunk_call", port, caller, called)

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
        for channel in self.channels.values():
            if isinstance(channel, GsmChannel):  # received SMS → store + cloud outbox
                channel.modem.sms.on_received(self._store_sms)
        port_ids = [p.id for p in ports]
        self.engine = CallEngine(self.channels, self.media, self._store_cdr,
                                 Dialplan.from_document(doc, port_ids))
        self.engine.add_listener(self._publish)
        self.engine.queues = QueueService(self.engine, doc, log_sink=self.store.add_queue_events)

        def apply(old: dict[str, Any], new: dict[str, Any]) -> None:
            if self.engine is not None:
                self.engine.apply(Dialplan.from_document(new, port_ids))
                if self.engine.queues is not None:
                    self.engine.queues.apply_config(new)

        self.config.subscribe(apply)
        self.runtime = MediaRuntime(self.media, self.board.highway, asyncio.get_running_loop(),
                                    self._media_event)
        self.runtime.start()
        self._sim = SimulatorFacade(self.board)
        log.info("box started", extra={"ports": len(ports), "simulated": s.simulated,
                                       "config_revision": self.config.revision})

    async def stop(self) -> None:
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

    def _media_event(self, ev: MediaEvent) -> None:
        """Media-plane events: to the call engine, and tone supervision of analog lines."""
        if self.engine is not None:
            self.engine.on_media_event(ev)
        if ev.kind == "tone_detected" and ev.tone in ("busy", "congestion"):
            ch = self._channel_by_slot.get(ev.slot)
            if isinstance(ch, FxoPort):
                log.info("busy tone on the line: the far end hung up",
                         extra={"port": ch.id, "tone": ev.tone})
                ch.far_end_gone(Cause.NORMAL_CLEARING)

    # -- records and live events ----------------------------------------------------------
    def _store_sms(self, sms: ReceivedSms) -> None:
        """A received SMS (or its raw PDUs, if undecodable) → the store and, in the same
        transaction, the cloud outbox (topic "sms").  Raising keeps it on the module."""
        assert self.store is not None
        self.store.add_sms(SmsRecord(
            ts=time.time(), direction="in", modem=sms.modem, peer=sms.sender, text=sms.text,
            encoding=sms.encoding, iccid=sms.iccid, imei=sms.imei,
            sent_ts=None if sms.timestamp is None else sms.timestamp.isoformat(),
            smsc=sms.smsc, parts=sms.parts, missing=list(sms.missing), error=sms.error,
            raw_pdus=list(sms.raw_pdus)), outbox_topic="sms")

    def _store_cdr(self, record: dict[str, Any]) -> None:
        assert self.store is not None
        self.store.add_cdr(Cdr(**record), outbox_topic="cdr")
        self._publish({"type": "cdr", "call_id": record["call_id"]})

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
        return [ch.describe() for ch in self.channels.values()]

    def calls(self) -> list[dict[str, Any]]:
        return self.engine.calls() if self.engine else []

    def cdrs(self, limit: int = 100, offset: int = 0, since: float | None = None,
             until: float | None = None) -> list[dict[str, Any]]:
        assert self.store is not None
        rows = self.store.cdrs(since=since, until=until, limit=limit, offset=offset)
        return [asdict(r) if is_dataclass(r) else dict(r) for r in rows]  # type: ignore[arg-type]

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

    def queue_kpis(self, since: float | None = None, until: float | None = None
                   ) -> dict[str, Any]:
        """The KPIs of DOMAIN.md for a period, recomputed from the stored queue log."""
        from firmware.acd.kpi import kpis

        assert self.store is not None
        return kpis(self.store.queue_events(since, until), since, until, now=time.time())

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

    def audit(self, actor: str, action: str, detail: dict[str, Any]) -> None:
        if self.store is not None:
            self.store.audit(actor, action, detail)

    @property
    def sim(self) -> SimulatorFacade | None:
        return self._sim
