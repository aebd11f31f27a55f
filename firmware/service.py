"""The service façade: everything the web UI, the console and the cloud link may ask of the box.

The web UI (webui/), the serial console (firmware/console) and the cloud sync all call this
one surface; none of them reaches into the call engine, the drivers or the stores directly.
`firmware.app.Box` implements it on a real or simulated board; tests of the front ends may
implement it with an in-memory fake.

Errors a front end must map to a user-facing message:
- :class:`firmware.config.ConfigValidationError` (str() lists ``path: message`` lines;
  ``.issues`` holds them as objects with ``path`` and ``message``),
- :class:`NotFound` (unknown port, revision, call…), :class:`BadRequest` (bad argument),
- :class:`Unavailable` (e.g. the simulator API on a real board, a module out of service),
- :class:`Refused` (a limit says no: a SIM's SMS quota...).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from firmware.reports import ExportTable

MAX_PROMPT_BYTES = 8 * 1024 * 1024     # a 8 kHz 16-bit prompt of about 8 minutes


class ServiceError(Exception):
    """Base of the errors the façade raises on purpose; str() is a user-facing message."""


class NotFound(ServiceError):
    pass


class BadRequest(ServiceError):
    pass


class Unavailable(ServiceError):
    pass


class Refused(ServiceError):
    """A limit refuses the request now (a SIM's quota); str() names the limit."""


class SimulatorControl(Protocol):
    """Drive the simulated board (present only when the box runs with --sim).

    Port ids are the board's (``fxs1``, ``fxo2``, ``gsm1``, ``e1.5``...). Every method returns
    quickly; what follows (ringing, answer, audio) happens on the simulated devices.
    """

    def state(self) -> dict[str, Any]:
        """Every simulated device: phones (hook, ringing, caller id shown, digits heard),
        far ends (call state, digits heard)."""
        ...

    async def trunk_call(self, port: str, caller: str | None, called: str | None = None) -> None:
        """A far end calls in on a trunk port (gsm*, fxo*, e1.N)."""
        ...

    async def far_answer(self, port: str) -> None: ...

    async def far_hangup(self, port: str) -> None: ...

    async def far_press(self, port: str, digits: str) -> None:
        """The far end on a trunk presses keys: DTMF audio into the call."""
        ...

    async def phone_offhook(self, port: str) -> None: ...

    async def phone_onhook(self, port: str) -> None: ...

    async def phone_flash(self, port: str) -> None: ...

    async def phone_press(self, port: str, digits: str) -> None:
        """The phone on an FXS port presses keys: DTMF audio, as a real phone sends."""
        ...


class BoxService(Protocol):
    def info(self) -> dict[str, Any]:
        """{"name", "version", "board", "simulated", "uptime_s", "config_revision"}"""
        ...

    def ports(self) -> list[dict[str, Any]]:
        """Every channel: {"id", "kind", "slot", "state", ...driver details}."""
        ...

    def calls(self) -> list[dict[str, Any]]:
        """Calls in progress: {"id", "state", "caller", "called", "legs": [...], "start"}."""
        ...

    def cdrs(self, limit: int = 100, offset: int = 0, since: float | None = None,
             until: float | None = None) -> list[dict[str, Any]]:
        """Call records, newest first (fields of firmware.store.Cdr as JSON)."""
        ...

    # configuration
    def config_current(self) -> dict[str, Any]: ...

    def config_revision(self) -> int: ...

    def config_revisions(self) -> list[dict[str, Any]]: ...

    def config_validate(self, document: dict[str, Any]) -> None: ...

    async def config_commit(self, document: dict[str, Any], author: str, comment: str = "") -> int:
        """Validate, commit as a new revision and apply live; returns the revision."""
        ...

    async def config_rollback(self, rev: int, author: str) -> int: ...

    # ACD
    def queues(self) -> dict[str, Any]:
        """Live figures: {"queues": {id: {waiting, longest_wait_s, staffed, ready…}},
        "agents": {id: {state, reason, since, caller, queues, calls}}}."""
        ...

    def queue_kpis(self, since: float | None = None, until: float | None = None,
                   queue: str | None = None) -> dict[str, Any]:
        """The KPIs of DOMAIN.md per queue and agent for a period (from the queue log);
        with ``queue``, that queue and its members only (BadRequest: unknown queue)."""
        ...

    def export(self, table: str, since: float, until: float, queue: str | None = None,
               short_abandon_s: float = 5.0) -> ExportTable:
        """A period's report (``firmware.reports.TABLES``) whose rows are read in batches;
        every parameter is checked before it returns (BadRequest naming it)."""
        ...

    def agent_action(self, agent: str, action: str, reason: str = "break") -> None:
        """login | logout | pause | unpause | wrapup_done (NotFound, BadRequest)."""
        ...

    # callbacks
    def callback_request(self, number: str, queue: str,
                         window: tuple[float, float] | None = None, source: str = "web", *,
                         request_id: str | None = None, priority: int = 0,
                         note: str = "") -> dict[str, Any]:
        """Call ``number`` back into ``queue``: {"result", "reason", "job"}; a BadRequest
        with ``issues`` (``.field``, ``.message``) naming every bad field."""
        ...

    def callback_jobs(self, since: float | None = None, until: float | None = None,
                      open_only: bool = False) -> list[dict[str, Any]]:
        """Callback jobs created in the period (or the open ones)."""
        ...

    def callback_cancel(self, job_id: str, actor: str = "web") -> dict[str, Any]:
        """Cancel an open job (NotFound); returns the job."""
        ...

    # outbound campaigns (NotFound: no such campaign; BadRequest: bad input, named)
    def campaigns_list(self) -> list[dict[str, Any]]: ...

    async def campaign_put(self, entry: dict[str, Any], author: str) -> dict[str, Any]:
        """Create or replace a campaign: {"revision", "campaign"}."""
        ...

    async def campaign_delete(self, campaign: str, author: str) -> int: ...

    def campaign_import(self, campaign: str, data: bytes) -> dict[str, Any]:
        """Import a contact CSV: {"import_id", "imported", "errors": [{line, reason}]}."""
        ...

    def campaign_control(self, campaign: str, action: str) -> dict[str, Any]:
        """start | pause | stop: {"campaign", "state"}."""
        ...

    def campaign_preview(self, campaign: str, agent: str, action: str) -> dict[str, Any]:
        """next | call | skip, for ``agent``."""
        ...

    def campaign_results(self, campaign: str) -> list[dict[str, Any]]: ...

    def campaign_summary(self, campaign: str) -> dict[str, Any]: ...

    def campaign_results_csv(self, campaign: str) -> str: ...

    def agent_force(self, agent: str, state: str, reason: str = "supervisor") -> None:
        """Force an agent's state: available | paused | logged_out."""
        ...

    def queue_move(self, call_id: str, queue: str, keep_place: bool = True) -> None:
        """Move a waiting caller to another queue."""
        ...

    # working hours (time conditions)
    def day_night_state(self) -> dict[str, Any]:
        """{"time_conditions": [{"id", "override", "open"}]}"""
        ...

    async def day_night(self, mode: str, author: str) -> dict[str, Any]:
        """Override every time condition: day | night | auto (a configuration revision)."""
        ...

    # supervision of a call in progress
    def supervise(self, call_id: str, extension: str, mode: str = "listen") -> None:
        """Ring the supervisor's extension into the call: listen | whisper | barge."""
        ...

    def set_supervision(self, call_id: str, mode: str) -> None: ...

    # prompts, voicemail, recordings
    def prompts_list(self) -> list[dict[str, Any]]:
        """Uploaded prompts: [{"name", "size", "duration_s"}]."""
        ...

    def prompt_put(self, name: str, data: bytes) -> dict[str, Any]:
        """Store an 8 kHz mono 16-bit PCM WAV; BadRequest naming what is wrong."""
        ...

    def prompt_delete(self, name: str) -> None: ...

    def voicemail_list(self, extension: str) -> list[dict[str, Any]]:
        """Messages of a mailbox, new first: [{"id", "caller", "ts", "duration_s",
        "status"}] (NotFound: no such extension with voicemail)."""
        ...

    def voicemail_file(self, extension: str, message_id: str) -> Path: ...

    def voicemail_delete(self, extension: str, message_id: str) -> None: ...

    def recordings_list(self) -> list[dict[str, Any]]:
        """Call recordings, newest first: [{"name", "size", "mtime"}]."""
        ...

    def recording_file(self, name: str) -> Path: ...

    async def gsm_balance(self, port: str) -> dict[str, Any]:
        """Ask the SIM's balance by USSD now: {"port", "iccid", "balance", "ts"}."""
        ...

    # SMS over the GSM modules
    async def send_sms(self, port_or_iccid: str, to: str, text: str) -> dict[str, Any]:
        """Send ``text`` to ``to`` from the module in a port (``gsm1``) or holding a SIM
        (its ICCID); returns the stored message (fields of firmware.store.SmsRecord, with
        its ``id``, part ``refs`` and ``status``).  BadRequest names the bad field
        (``to:``/``text:``); NotFound: no such port or SIM; Unavailable: the module cannot
        send now; Refused: the SIM's SMS quota."""
        ...

    def sms(self, limit: int = 100, since: float | None = None, iccid: str | None = None,
            direction: str | None = None) -> list[dict[str, Any]]:
        """Stored SMS, newest first (fields of firmware.store.SmsRecord)."""
        ...

    # live events for the UI (SSE/WebSocket): each item is a JSON-able dict with "type"
    # ("call", "port", "cdr", "config", "alert", "sms" {id, direction}, "sms_status"
    # {id, status}, "gsm_reset" {port, step, reason, outcome}, "sim" {iccid, enabled})
    def subscribe(self) -> asyncio.Queue[dict[str, Any]]: ...

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None: ...

    # audit trail of changes made through the front ends
    def audit(self, actor: str, action: str, detail: dict[str, Any]) -> None: ...

    @property
    def sim(self) -> SimulatorControl | None:
        """The simulator control surface, or None on real hardware."""
        ...
