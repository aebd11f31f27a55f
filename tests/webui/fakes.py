"""In-memory stand-ins for the service façade (firmware.service), for the web UI tests.

They keep what a test needs to assert on (calls made, audit entries, subscribers) and
raise the same error types as the real box.
"""

from __future__ import annotations

import asyncio
import copy
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware.service import BadRequest, NotFound, SimulatorControl


@dataclass(frozen=True)
class Issue:
    path: str
    message: str


class FakeConfigValidationError(ValueError):
    """Shaped like firmware.config.ConfigValidationError: ``.issues`` with path/message."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("\n".join(f"{i.path}: {i.message}" for i in issues))
        self.issues = issues


def _modem(n: int, **over: Any) -> dict[str, Any]:
    """A GSM module as drivers.gsm describes it (the fields the UI reads)."""
    modem = {"name": f"gsm{n}", "model": "SIMCOM_SIM800L", "imei": f"86010000000000{n}",
             "own_number": f"+7900000000{n}", "sim_state": "READY", "pin_rejected": False,
             "registration": 1, "registration_text": "home", "operator": "SimNet", "rssi": 20,
             "signal_dbm": -73, "in_service": True,
             "service_detail": "registered, home network: SimNet", "responsive": True}
    modem.update(over)
    return modem


# the shapes of firmware.app.Box.ports(): driver details per kind, one row per B-channel
PORTS: list[dict[str, Any]] = [
    {"id": "fxs1", "kind": "fxs", "slot": 0, "state": "alerting", "off_hook": False,
     "ringing": True},
    {"id": "fxs2", "kind": "fxs", "slot": 1, "state": "active", "off_hook": True,
     "ringing": False},
    {"id": "fxo1", "kind": "fxo", "slot": 4, "state": "idle", "off_hook": False, "rings": 0},
    {"id": "gsm1", "kind": "gsm", "slot": 6, "state": "inbound", "modem": _modem(1),
     "call": {"direction": "in", "number": "0601"}},
    *({"id": f"e1.{n}", "kind": "pri", "slot": 7 + n, "state": "active" if n == 3 else "idle",
       "bchan": n} for n in range(1, 31)),
]

# a call from gsm1 ringing fxs1, and one on E1 B-channel 3 talking to fxs2 (as calls() says)
CALLS: list[dict[str, Any]] = [
    {"id": "k1", "state": "ringing", "direction": "inbound", "caller": "0601",
     "called": "+79000000001", "trunk": "gsm1", "extension": "201", "start": 1_700_000_100.0,
     "answer": None, "digits": "",
     "legs": [{"channel": "gsm1", "kind": "gsm", "role": "caller", "released_at": None},
              {"channel": "fxs1", "kind": "fxs", "role": "callee", "released_at": None}]},
    {"id": "k2", "state": "active", "direction": "inbound", "caller": "0144",
     "called": "0155500100", "trunk": "e1", "extension": "202", "start": 1_700_000_050.0,
     "answer": 1_700_000_060.0, "digits": "",
     "legs": [{"channel": "e1.3", "kind": "pri", "role": "caller", "released_at": None},
              {"channel": "fxs2", "kind": "fxs", "role": "callee", "released_at": None}]},
]


def _phone(**over: Any) -> dict[str, Any]:
    phone = {"active": False, "heard_digits": "", "heard_level_dbm0": -99.0,
             "heard_audio_ms": 0, "off_hook": False, "ringing": False, "ring_bursts": 0,
             "linefeed": "forward"}
    phone.update(over)
    return phone


def _far(**over: Any) -> dict[str, Any]:
    far = {"active": False, "heard_digits": "", "heard_level_dbm0": -99.0, "heard_audio_ms": 0,
           "call_state": "idle"}
    far.update(over)
    return far


class FakeSim:
    def __init__(self) -> None:
        self.actions: list[tuple[Any, ...]] = []
        # the shape of drivers.board.sim.SimBoardControl.state(); tests may change it
        self.devices: dict[str, Any] = {
            "phones": {"fxs1": _phone(name="fxs1", ringing=True, ring_bursts=1),
                       "fxs2": _phone(name="fxs2", active=True, off_hook=True,
                                      heard_level_dbm0=-66.1, heard_digits="5")},
            "trunks": {"fxo1": _far(name="fxo1", caller=None, line_off_hook=False),
                       "gsm1": _far(name="gsm1-far", call_state="incoming", dialed=None),
                       "e1.3": _far(name="e1.3", active=True, call_state="active",
                                    caller="0144", called="0155500100")},
        }

    def _port(self, port: str) -> None:
        if port not in {p["id"] for p in PORTS}:
            raise NotFound(f"no port {port}")

    def state(self) -> dict[str, Any]:
        return copy.deepcopy(self.devices)

    async def trunk_call(self, port: str, caller: str | None, called: str | None = None) -> None:
        self._port(port)
        self.actions.append(("trunk_call", port, caller, called))

    async def far_answer(self, port: str) -> None:
        self._port(port)
        self.actions.append(("far_answer", port))

    async def far_hangup(self, port: str) -> None:
        self._port(port)
        self.actions.append(("far_hangup", port))

    async def far_press(self, port: str, digits: str) -> None:
        self._port(port)
        self.actions.append(("far_press", port, digits))

    async def phone_offhook(self, port: str) -> None:
        self._port(port)
        self.actions.append(("phone_offhook", port))

    async def phone_onhook(self, port: str) -> None:
        self._port(port)
        self.actions.append(("phone_onhook", port))

    async def phone_flash(self, port: str) -> None:
        self._port(port)
        self.actions.append(("phone_flash", port))

    async def phone_press(self, port: str, digits: str) -> None:
        self._port(port)
        self.actions.append(("phone_press", port, digits))


class FakeBox:
    """A BoxService in memory. ``fail_info`` makes info() raise (the 500 path)."""

    def __init__(self, sim: SimulatorControl | None = None) -> None:
        self._sim = sim
        self.fail_info: Exception | None = None
        self.document: dict[str, Any] = {
            "system": {"name": "office", "timezone": "UTC"},
            "extensions": [{"number": "201", "name": "Reception", "port": "fxs1"},
                           {"number": "202", "name": "Extension 202", "port": "fxs2"}]}
        self.revisions: list[dict[str, Any]] = [
            {"revision": 1, "author": "factory", "time": 1_700_000_000.0, "comment": "initial"}
        ]
        self.history: dict[int, dict[str, Any]] = {1: copy.deepcopy(self.document)}
        self.ports_list = copy.deepcopy(PORTS)
        self.calls_list = copy.deepcopy(CALLS)
        # the shape of firmware.store.Cdr as JSON, newest first
        self.records = [
            {"id": i + 1, "call_id": f"c{i}", "start_ts": 1_700_000_000.0 + 60 * i,
             "end_ts": 1_700_000_030.0 + 60 * i, "answer_ts": 1_700_000_005.0 + 60 * i,
             "caller": "0601", "called": f"2{i:02d}", "direction": "inbound",
             "disposition": "answered" if i % 2 else "no_answer", "cause": 16,
             "trunk": "gsm1", "extension": "201", "route": "Inbound gsm1", "wait_s": 5.0,
             "talk_s": 25.0 + i if i % 2 else 0.0, "legs": [], "digits": ""}
            for i in range(50)
        ][::-1]
        self.cdr_calls: list[dict[str, Any]] = []
        self.kpi_calls: list[tuple[float | None, float | None]] = []
        self.export_store: Any = None       # a firmware.store.EventStore, set by a test
        self.export_calls: list[tuple[Any, ...]] = []
        self.agent_actions: list[tuple[str, str, str]] = []
        self.callback_list: list[dict[str, Any]] = []
        self.campaign_list: list[dict[str, Any]] = []
        self.previews: list[tuple[str, str, str]] = []
        self.daynight = "auto"
        self.audits: list[tuple[str, str, dict[str, Any]]] = []
        self.subscribers: list[asyncio.Queue[dict[str, Any]]] = []
        # the shape of firmware.store.SmsRecord as JSON, newest first
        self.messages: list[dict[str, Any]] = [
            {"id": 1, "ts": 1_700_000_000.0, "direction": "in", "modem": "gsm1",
             "peer": "+79165550000", "text": "Call me back", "encoding": "gsm7",
             "iccid": "89701000000000000001", "imei": "860100000000001", "sent_ts": None,
             "smsc": None, "parts": 1, "missing": [], "refs": [], "status": "", "error": None,
             "raw_pdus": []}]
        self.sms_calls: list[dict[str, Any]] = []
        self.sms_error: Exception | None = None

    def info(self) -> dict[str, Any]:
        if self.fail_info is not None:
            raise self.fail_info
        return {"name": "office", "version": "0.1.0", "board": "sim",
                "simulated": self._sim is not None, "uptime_s": 12.5,
                "config_revision": self.config_revision()}

    def ports(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.ports_list)

    def calls(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.calls_list)

    async def gsm_balance(self, port: str) -> dict[str, Any]:
        from firmware.service import NotFound

        if port != "gsm1":
            raise NotFound(f"no GSM module on port {port!r}")
        return {"port": port, "iccid": "89701000000000000001", "balance": "Balance 12.50",
                "ts": 1.0}

    def day_night_state(self) -> dict[str, Any]:
        return {"time_conditions": [{"id": "office", "override": self.daynight,
                                     "open": self.daynight != "night"}]}

    async def day_night(self, mode: str, author: str) -> dict[str, Any]:
        self.daynight = mode
        self.agent_actions.append((author, "daynight", mode))
        return self.day_night_state()

    def queues(self) -> dict[str, Any]:
        return {"queues": {"sales": {"waiting": 1, "callbacks": 0, "longest_wait_s": 4.0,
                                     "staffed": 1, "ready": 1, "available": 0}},
                "agents": {"ann": {"state": "on_call", "reason": "", "since": 0.0,
                                   "caller": "c1", "queues": ["sales"], "calls": 3}}}

    def queue_kpis(self, since: float | None = None, until: float | None = None,
                   queue: str | None = None) -> dict[str, Any]:
        if queue not in (None, "sales"):
            raise BadRequest(f'queue: no queue "{queue}" is configured or in the queue log')
        self.kpi_calls.append((since, until))
        return {"queues": {"sales": {"offered": 2, "answered": 1}}, "agents": {}}

    # -- CSV exports: firmware.reports over an in-memory event store -----------------------
    def export(self, table: str, since: float, until: float, queue: str | None = None,
               short_abandon_s: float = 5.0) -> Any:
        """The real report code over the store the test filled (``export_store``)."""
        from firmware.reports import PeriodReports

        assert self.export_store is not None, "a test sets box.export_store first"
        self.export_calls.append((table, since, until, queue, short_abandon_s))
        return PeriodReports(self.export_store, lambda: ["sales", "support"],
                             lambda: until).table(table, since, until, queue,
                                                  short_abandon_s)

    def supervise(self, call_id: str, extension: str, mode: str = "listen") -> None:
        from firmware.service import BadRequest

        if call_id != "k1":
            raise BadRequest(f"call {call_id!r} is not a call in progress")
        self.agent_actions.append((call_id, f"supervise:{extension}", mode))

    def set_supervision(self, call_id: str, mode: str) -> None:
        self.agent_actions.append((call_id, "supervision", mode))

    def agent_force(self, agent: str, state: str, reason: str = "supervisor") -> None:
        from firmware.service import NotFound

        if agent != "ann":
            raise NotFound(f"no agent {agent!r}")
        self.agent_actions.append((agent, "force", state))

    def queue_move(self, call_id: str, queue: str, keep_place: bool = True) -> None:
        self.agent_actions.append((call_id, "move", queue))

    def agent_action(self, agent: str, action: str, reason: str = "break") -> None:
        from firmware.service import BadRequest, NotFound

        if agent != "ann":
            raise NotFound(f"no agent {agent!r}")
        if action == "login":
            raise BadRequest("agent 'ann' is already logged in")
        self.agent_actions.append((agent, action, reason))

    def callback_request(self, number: str, queue: str,
                         window: tuple[float, float] | None = None, source: str = "web", *,
                         request_id: str | None = None, priority: int = 0,
                         note: str = "") -> dict[str, Any]:
        from firmware.callback import CallbackRequestError, FieldIssue

        issues = []
        if number.endswith("9999999"):
            issues.append(FieldIssue("number", f"number {number} is blacklisted"))
        if queue != "sales":
            issues.append(FieldIssue("queue", f"unknown queue {queue!r}"))
        if issues:
            raise CallbackRequestError(issues)
        job = {"id": f"cb-{len(self.callback_list) + 1}", "number": number, "queue": queue,
               "window": list(window) if window else None, "source": source,
               "priority": priority, "state": "pending"}
        self.callback_list.append(job)
        return {"result": "created", "reason": "", "job": dict(job)}

    def callback_jobs(self, since: float | None = None, until: float | None = None,
                      open_only: bool = False) -> list[dict[str, Any]]:
        return [dict(j) for j in self.callback_list
                if not open_only or j["state"] == "pending"]

    def callback_cancel(self, job_id: str, actor: str = "web") -> dict[str, Any]:
        from firmware.service import NotFound

        for job in self.callback_list:
            if job["id"] == job_id:
                job["state"] = "cancelled"
                return dict(job)
        raise NotFound(f"no callback job {job_id!r}")

    # -- outbound campaigns: an in-memory list, same errors as the box --------------------
    def _fake_campaign(self, campaign: str) -> dict[str, Any]:
        from firmware.service import NotFound

        found = next((c for c in self.campaign_list if c["id"] == campaign), None)
        if found is None:
            raise NotFound(f"no campaign {campaign!r}")
        return found

    def campaigns_list(self) -> list[dict[str, Any]]:
        return [dict(c) for c in self.campaign_list]

    async def campaign_put(self, entry: dict[str, Any], author: str) -> dict[str, Any]:
        from firmware.service import BadRequest

        if entry.get("mode") not in ("preview", "progressive", "predictive", "autoinformer"):
            raise BadRequest(f'field "mode": unknown mode {entry.get("mode")!r}')
        if entry.get("mode") == "autoinformer" and not (
                self._files() / str(entry.get("message"))).exists():
            raise BadRequest(f'field "message": no prompt {entry.get("message")!r}')
        self.campaign_list = [c for c in self.campaign_list if c["id"] != entry["id"]]
        self.campaign_list.append(dict(entry, state="stopped"))
        return {"revision": len(self.campaign_list), "campaign": entry}

    async def campaign_delete(self, campaign: str, author: str) -> int:
        self._fake_campaign(campaign)
        self.campaign_list = [c for c in self.campaign_list if c["id"] != campaign]
        return 1

    def campaign_import(self, campaign: str, data: bytes) -> dict[str, Any]:
        self._fake_campaign(campaign)
        lines = data.decode().splitlines()[1:]
        bad = [{"line": i + 2, "reason": "malformed number"} for i, row in enumerate(lines)
               if not row.split(",")[0].lstrip("+").isdigit()]
        return {"import_id": "imp-1", "imported": len(lines) - len(bad), "errors": bad}

    def campaign_control(self, campaign: str, action: str) -> dict[str, Any]:
        from firmware.service import BadRequest

        states = {"start": "running", "pause": "paused", "stop": "stopped"}
        if action not in states:
            raise BadRequest(f"campaign action must be start, pause or stop, not {action!r}")
        self._fake_campaign(campaign)["state"] = states[action]
        return {"campaign": campaign, "state": states[action]}

    def campaign_preview(self, campaign: str, agent: str, action: str) -> dict[str, Any]:
        self._fake_campaign(campaign)
        self.previews.append((campaign, agent, action))
        return {"contact": {"id": 1, "number": "+79161230001"}} if action == "next" else {}

    def campaign_results(self, campaign: str) -> list[dict[str, Any]]:
        self._fake_campaign(campaign)
        return [{"id": 1, "number": "+79161230001", "status": "answered", "attempts": 1}]

    def campaign_summary(self, campaign: str) -> dict[str, Any]:
        self._fake_campaign(campaign)
        return {"campaign": campaign, "live_answers": 4, "abandoned": 1,
                "abandon_rate_pct": 25.0, "abandon_cap_pct": 3.0}

    def campaign_results_csv(self, campaign: str) -> str:
        self._fake_campaign(campaign)
        return "contact,number,status\r\n1,+79161230001,answered\r\n"

    def cdrs(self, limit: int = 100, offset: int = 0, since: float | None = None,
             until: float | None = None) -> list[dict[str, Any]]:
        self.cdr_calls.append({"limit": limit, "offset": offset, "since": since,
                               "until": until})
        return self.records[offset:offset + limit]

    async def send_sms(self, port_or_iccid: str, to: str, text: str) -> dict[str, Any]:
        if self.sms_error is not None:
            raise self.sms_error
        if port_or_iccid not in ("gsm1", "89701000000000000001"):
            raise NotFound(f"no GSM module in port or with SIM {port_or_iccid!r}")
        record = {**self.messages[-1], "id": len(self.messages) + 1, "direction": "out",
                  "peer": to, "text": text, "refs": [7], "status": "sent"}
        self.messages.insert(0, record)
        self.publish({"type": "sms", "direction": "out", "id": record["id"]})
        return record

    def sms(self, limit: int = 100, since: float | None = None, iccid: str | None = None,
            direction: str | None = None) -> list[dict[str, Any]]:
        self.sms_calls.append({"limit": limit, "since": since, "iccid": iccid,
                               "direction": direction})
        return [m for m in self.messages if direction in (None, m["direction"])][:limit]

    def config_current(self) -> dict[str, Any]:
        return copy.deepcopy(self.document)

    def config_revision(self) -> int:
        return int(self.revisions[-1]["revision"])

    def config_revisions(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.revisions)

    def config_validate(self, document: dict[str, Any]) -> None:
        issues = []
        if not isinstance(document.get("system"), dict):
            issues.append(Issue("system", "required"))
        for i, ext in enumerate(document.get("extensions", [])):
            if not isinstance(ext, dict) or "number" not in ext:
                issues.append(Issue(f"extensions/{i}/number", "required"))
        if issues:
            raise FakeConfigValidationError(issues)

    async def config_commit(self, document: dict[str, Any], author: str,
                            comment: str = "") -> int:
        self.config_validate(document)
        rev = self.config_revision() + 1
        self.document = copy.deepcopy(document)
        self.history[rev] = copy.deepcopy(document)
        self.revisions.append({"revision": rev, "author": author, "time": 1_700_000_500.0,
                               "comment": comment})
        return rev

    async def config_rollback(self, rev: int, author: str) -> int:
        if rev not in self.history:
            raise NotFound(f"no revision {rev}")
        return await self.config_commit(self.history[rev], author, f"rollback to {rev}")

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self.subscribers.remove(queue)

    def publish(self, event: dict[str, Any]) -> None:
        for queue in self.subscribers:
            queue.put_nowait(event)

    # prompts, voicemail, recordings: files in a temporary directory
    def _files(self) -> Path:
        if not hasattr(self, "_dir"):
            self._dir = Path(tempfile.mkdtemp(prefix="fakebox-"))
        return self._dir

    def prompts_list(self) -> list[dict[str, Any]]:
        return [{"name": p.name, "size": p.stat().st_size, "duration_s": 0.0}
                for p in sorted(self._files().glob("*.wav"))]

    def prompt_put(self, name: str, data: bytes) -> dict[str, Any]:
        if not data.startswith(b"RIFF"):
            raise BadRequest(f"{name}: not a PCM WAV file")
        (self._files() / name).write_bytes(data)
        return {"name": name, "size": len(data), "duration_s": 0.0}

    def prompt_delete(self, name: str) -> None:
        try:
            (self._files() / name).unlink()
        except FileNotFoundError:
            raise NotFound(f"no prompt {name!r}") from None

    def voicemail_list(self, extension: str) -> list[dict[str, Any]]:
        if extension != "201":
            raise NotFound(f"no mailbox {extension!r}")
        return [{"id": "m1", "mailbox": "201", "caller": "0601", "ts": 1.0,
                 "duration_s": 2.0, "status": "new"}]

    def voicemail_file(self, extension: str, message_id: str) -> Path:
        if (extension, message_id) != ("201", "m1"):
            raise NotFound(f"no message {message_id!r}")
        path = self._files() / "m1.vm"
        path.write_bytes(b"RIFFvoicemail")
        return path

    def voicemail_delete(self, extension: str, message_id: str) -> None:
        self.voicemail_file(extension, message_id)

    def recordings_list(self) -> list[dict[str, Any]]:
        return [{"name": "2024/05/01/c1.wav", "size": 12, "mtime": 1.0}]

    def recording_file(self, name: str) -> Path:
        if name != "2024/05/01/c1.wav":
            raise NotFound(f"no recording {name!r}")
        path = self._files() / "c1.rec"
        path.write_bytes(b"RIFFrecording")
        return path

    def audit(self, actor: str, action: str, detail: dict[str, Any]) -> None:
        self.audits.append((actor, action, detail))

    @property
    def sim(self) -> SimulatorControl | None:
        return self._sim
