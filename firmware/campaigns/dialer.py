"""The outbound campaign dialer: one deterministic core per campaign, in four modes.

Owns which contact of a campaign is dialled when, and what its result is. Like the callback
engine it dials nothing itself: it emits ``DialContact``/``CancelContact`` (handled by the
call engine exactly as ``DialCallback`` is, see firmware/callback/commands.py, with the
campaign's mode deciding what happens on answer) and is fed ``ContactOutcome``s; the ACD
tells it which of the campaign queue's agents are free (``agents``). Time is an input.

Modes (DOMAIN.md, "Outbound"):

- ``preview``: an agent asks for the next contact (``preview_next``), sees it, then calls
  (``preview_call``) or skips it (``preview_skip``);
- ``progressive``: each free agent is reserved for one dial; on answer the call goes to
  that agent; busy / no answer / machine go back to the list by the retry policy;
- ``predictive``: dials ahead of free agents as ``PredictivePacer`` decides, keeping the
  abandoned-on-answer rate under the campaign's cap; a live answer no agent is free for is
  *abandoned* (the call engine plays the short apology the regulations ask for and hangs up);
- ``autoinformer``: no agents; up to ``max_channels`` calls play ``message`` and, with
  ``confirm_digit``, report ``confirmed`` when the person presses it.

Answer detection is the trunk's: supervision (GSM/E1 connect, FXO polarity reversal) and the
call-progress detector (busy, congestion, SIT, answering machine) produce the outcome the
call engine reports. Claims are crash-safe like callbacks (``EventStore.campaign_claim``
before the command; a contact left ``dialing`` by a crash is settled as ``interrupted`` and
waits its retry interval). Blacklist and per-number daily limits are shared with callbacks.

Result statuses of a contact: ``answered`` (reached a person: connected to an agent, or
heard the message), ``confirmed`` (autoinformer, digit pressed), ``abandoned``,
``machine`` (retries exhausted; or, with last outcome ``message_left``, an autoinformer
left its message after the machine's beep), ``busy``, ``no_answer``, ``failed`` (retries
exhausted with that last outcome),
``blacklisted``, ``cancelled``; ``pending``/``retry_wait``/``dialing`` while open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args
from zoneinfo import ZoneInfo

from firmware.callback.commands import TrunkCandidate
from firmware.callback.trunks import TrunkAdvisor
from firmware.campaigns.pacing import PredictivePacer
from firmware.numbers import national_form
from firmware.store import CampaignContact, EventStore
from firmware.timeconditions import TimeCondition

CampaignMode = Literal["preview", "progressive", "predictive", "autoinformer"]
ContactOutcomeKind = Literal[
    "connected", "abandoned", "played", "confirmed", "hangup",   # a person answered
    "machine", "message_left", "busy", "no_answer", "failed",     # nobody did
]
CONTACT_OUTCOMES: Final = frozenset(get_args(ContactOutcomeKind))
PERSON_ANSWERED: Final = frozenset({"connected", "abandoned", "played", "confirmed", "hangup"})
WATCHDOG_MARGIN_S: Final = 60.0
DEFAULT_RETRY: Final[dict[str, tuple[float, ...]]] = {
    "busy": (600.0,), "no_answer": (3600.0,), "failed": (300.0,), "machine": (7200.0,),
    "interrupted": (600.0,),
}


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    mode: CampaignMode
    queue: str | None = None
    enabled: bool = True
    abandon_cap: float = 0.03
    max_attempts: int = 3
    retry: Mapping[str, tuple[float, ...]] = field(default_factory=lambda: dict(DEFAULT_RETRY))
    max_channels: int = 4
    ring_timeout_s: float = 30.0
    message: str | None = None
    confirm_digit: str | None = None
    caller_id: str | None = None

    @classmethod
    def from_config(cls, entry: Mapping[str, Any]) -> Campaign:
        retry = dict(DEFAULT_RETRY)
        for key, values in (entry.get("retry") or {}).items():
            retry[key] = tuple(float(v) for v in values)
        return cls(
            id=entry["id"], name=entry.get("name", entry["id"]), mode=entry["mode"],
            queue=entry.get("queue"), enabled=bool(entry.get("enabled", True)),
            abandon_cap=float(entry.get("abandon_cap_pct", 3)) / 100.0,
            max_attempts=int(entry.get("max_attempts", 3)), retry=retry,
            max_channels=int(entry.get("max_channels", 4)),
            ring_timeout_s=float(entry.get("ring_timeout_s", 30)),
            message=entry.get("message"), confirm_digit=entry.get("confirm_digit"),
            caller_id=entry.get("caller_id"),
        )

    def delay_after(self, outcome: str, attempts: int) -> float | None:
        if attempts >= self.max_attempts:
            return None
        steps = self.retry.get(outcome, ())
        return float(steps[min(attempts, len(steps)) - 1]) if steps else None


@dataclass(frozen=True, slots=True)
class DialContact:
    campaign: str
    contact_id: int
    attempt: int
    number: str
    national: str
    trunks: tuple[TrunkCandidate, ...]
    mode: CampaignMode
    agent: str | None          # progressive/preview: the reserved agent
    queue: str | None          # predictive: the agents' queue
    message: str | None        # autoinformer
    confirm_digit: str | None
    ring_timeout_s: float
    caller_id: str | None


@dataclass(frozen=True, slots=True)
class CancelContact:
    campaign: str
    contact_id: int
    attempt: int
    reason: str


@dataclass(frozen=True, slots=True)
class ContactOutcome:
    contact_id: int
    attempt: int
    kind: ContactOutcomeKind
    ts: float
    answer_delay_s: float | None = None   # ring time before a person answered
    answered_ts: float | None = None      # when they answered (default: ``ts``)

    def __post_init__(self) -> None:
        if self.kind not in CONTACT_OUTCOMES:
            raise ValueError(f"unknown contact outcome {self.kind!r}")


CampaignCommand = DialContact | CancelContact


class CampaignDialer:
    def __init__(
        self,
        store: EventStore,
        campaign: Campaign,
        advisor: TrunkAdvisor,
        *,
        country: str,
        timezone: str,
        hours: TimeCondition | None = None,
        blacklist: Callable[[str], bool] = lambda _n: False,
        daily_limit: int = 0,
        pacer: PredictivePacer | None = None,
    ) -> None:
        self._store = store
        self.campaign = campaign
        self._advisor = advisor
        self._country = country
        self._tz = ZoneInfo(timezone)
        self._hours = hours or TimeCondition.always(timezone)
        self._blacklisted = blacklist
        self._daily_limit = daily_limit
        self.pacer = pacer or PredictivePacer(campaign.abandon_cap)
        self._commands: list[CampaignCommand] = []
        self._free: list[str] = []
        self._busy = 0
        self._in_flight: dict[int, tuple[int, float, str | None]] = {}  # contact: attempt...
        self._previewing: dict[str, CampaignContact] = {}
        self._paused = False
        self._lines_free: int | None = None

    # --- inputs --------------------------------------------------------------------------

    def drain(self) -> list[CampaignCommand]:
        out, self._commands = self._commands, []
        return out

    def pause(self, paused: bool = True) -> None:
        self._paused = paused

    @property
    def paused(self) -> bool:
        return self._paused

    def reconfigure(self, campaign: Campaign, advisor: TrunkAdvisor,
                    hours: TimeCondition | None, blacklist: Callable[[str], bool],
                    daily_limit: int) -> None:
        """New settings of the same campaign; dials in flight and previews are kept."""
        self.campaign = campaign
        self._advisor = advisor
        self._hours = hours or TimeCondition.always(self._tz.key)
        self._blacklisted = blacklist
        self._daily_limit = daily_limit
        self.pacer.cap = campaign.abandon_cap

    def in_flight(self) -> int:
        return len(self._in_flight)

    def lines(self, free: int | None) -> None:
        """Trunk channels free for a new dial now (None: unknown, no limit): no dial is
        claimed that could not leave the box at once."""
        self._lines_free = free

    def agents(self, free: Sequence[str], busy: int) -> None:
        """The campaign queue's agents: those free for a campaign call, and how many are busy."""
        self._free = list(free)
        self._busy = busy

    def call_handled(self, handle_s: float) -> None:
        """An agent finished a campaign call (talk + hold + wrap-up): for pacing."""
        self.pacer.observe_handle(handle_s)

    def recover(self, now: float) -> None:
        """At start-up: contacts a crash left in ``dialing`` wait their retry interval."""
        for contact, _started in self._store.campaign_interrupted():
            self._settle(contact, "interrupted", now)

    def on_timer(self, now: float) -> None:
        for contact_id, (attempt, deadline, _agent) in list(self._in_flight.items()):
            if deadline <= now:
                self._commands.append(CancelContact(self.campaign.id, contact_id, attempt,
                                                    "no report in time"))
                self.on_outcome(ContactOutcome(contact_id, attempt, "failed", now))
        if self._paused or not self.campaign.enabled or not self._hours.is_open(now):
            return
        mode = self.campaign.mode
        room = self.campaign.max_channels - len(self._in_flight)
        if self._lines_free is not None:
            room = min(room, self._lines_free)
        reserved = {agent for _, _, agent in self._in_flight.values() if agent is not None}
        reserved |= set(self._previewing)
        free_agents = [a for a in self._free if a not in reserved]
        if mode == "progressive":
            wanted = len(free_agents)
        elif mode == "predictive":
            wanted = self.pacer.dials_to_place(len(free_agents), self._busy,
                                               len(self._in_flight))
        elif mode == "autoinformer":
            wanted = room
        else:
            wanted = 0
        wanted = min(wanted, room)
        if wanted <= 0:
            return
        for contact in self._store.campaign_due(self.campaign.id, now, wanted * 3 + 10):
            if wanted <= 0:
                break
            agent = free_agents.pop(0) if mode == "progressive" else None
            if self._dial(contact, now, agent):
                wanted -= 1
            elif agent is not None:
                free_agents.insert(0, agent)

    def next_deadline(self, now: float) -> float | None:
        """The next instant ``on_timer`` should run (a cheap upper bound: it may find
        nothing to do)."""
        deadlines = [deadline for _, deadline, _ in self._in_flight.values()]
        if self.campaign.enabled and not self._paused:
            opens = self._hours.next_open(now)
            if opens is not None:
                due = self._store.campaign_due(self.campaign.id, float("inf"), 1)
                if due:
                    deadlines.append(max(opens, due[0].next_ts))
        return min(deadlines, default=None)

    # preview mode

    def preview_next(self, agent: str, now: float) -> CampaignContact | None:
        """The next contact for ``agent`` to look at (held for them until call or skip)."""
        if agent in self._previewing:
            return self._previewing[agent]
        held = {c.id for c in self._previewing.values()}
        for contact in self._store.campaign_due(self.campaign.id, now, 50):
            if contact.id in held or self._refused(contact, now):
                continue
            self._previewing[agent] = contact
            return contact
        return None

    def preview_call(self, agent: str, now: float) -> bool:
        contact = self._previewing.pop(agent, None)
        return contact is not None and self._dial(contact, now, agent)

    def preview_skip(self, agent: str) -> None:
        self._previewing.pop(agent, None)

    def drop_previews(self) -> None:
        """The campaign stopped: contacts held for agents go back to the list."""
        self._previewing.clear()

    # outcomes

    def on_outcome(self, outcome: ContactOutcome) -> None:
        flight = self._in_flight.get(outcome.contact_id)
        if flight is None or flight[0] != outcome.attempt:
            return  # late or repeated
        del self._in_flight[outcome.contact_id]
        contact = self._store.campaign_contact(outcome.contact_id)
        if contact is None or contact.status != "dialing":
            return
        kind = outcome.kind
        if self.campaign.mode == "predictive":
            self.pacer.observe_dial(kind in PERSON_ANSWERED, outcome.answer_delay_s)
            if kind in ("connected", "abandoned"):
                self.pacer.observe_live_answer(kind == "abandoned")
        answered_ts = (outcome.answered_ts or outcome.ts) if kind in PERSON_ANSWERED else None
        self._settle(contact, kind, outcome.ts, answered_ts)

    def interrupt(self, contact_id: int, attempt: int, now: float) -> None:
        """A dial called off by a stop (not the contact's doing): settled as after a
        restart, ``interrupted``, to wait its retry interval."""
        flight = self._in_flight.get(contact_id)
        if flight is None or flight[0] != attempt:
            return
        del self._in_flight[contact_id]
        contact = self._store.campaign_contact(contact_id)
        if contact is not None and contact.status == "dialing":
            self._settle(contact, "interrupted", now)

    # --- internals -------------------------------------------------------------------------

    def _refused(self, contact: CampaignContact, now: float) -> bool:
        if self._blacklisted(contact.number):
            self._set_status(contact, "blacklisted", now)
            return True
        if self._daily_limit > 0:
            day = dt.datetime.fromtimestamp(now, self._tz).date()
            midnight = dt.datetime(day.year, day.month, day.day, tzinfo=self._tz).timestamp()
            if self._store.dial_attempts_since(contact.number, midnight) >= self._daily_limit:
                return True
        return False

    def _set_status(self, contact: CampaignContact, status: str, now: float) -> None:
        with self._store.transaction() as conn:
            conn.execute("UPDATE campaign_contacts SET status = ?, updated_ts = ? WHERE id = ?",
                         (status, now, contact.id))
            self._store.add_outbox("campaign", {"campaign": contact.campaign,
                                                "contact": contact.id, "status": status,
                                                "ts": now})

    def _dial(self, contact: CampaignContact, now: float, agent: str | None) -> bool:
        assert contact.id is not None
        if self._refused(contact, now):
            return False
        if not self._store.campaign_claim(contact, now, agent):
            return False
        campaign = self.campaign
        attempt = contact.attempts + 1
        self._in_flight[contact.id] = (attempt, now + campaign.ring_timeout_s
                                       + WATCHDOG_MARGIN_S, agent)
        self._commands.append(DialContact(
            campaign=campaign.id, contact_id=contact.id, attempt=attempt, number=contact.number,
            national=national_form(contact.number, self._country),
            trunks=tuple(self._advisor.candidates(contact.number)), mode=campaign.mode,
            agent=agent, queue=campaign.queue, message=campaign.message,
            confirm_digit=campaign.confirm_digit, ring_timeout_s=campaign.ring_timeout_s,
            caller_id=campaign.caller_id,
        ))
        return True

    def _settle(self, contact: CampaignContact, kind: str, now: float,
                answered_ts: float | None = None) -> None:
        if kind in ("connected", "played", "hangup"):
            status, next_ts = "answered", now
        elif kind in ("confirmed", "abandoned"):
            status, next_ts = kind, now
        elif kind == "message_left":          # done: the outcome says the message was left
            status, next_ts = "machine", now
        else:
            delay = self.campaign.delay_after(kind, contact.attempts)
            if delay is None:
                status = "failed" if kind == "interrupted" else kind
                next_ts = now
            else:
                status, next_ts = "retry_wait", now + delay
        self._store.campaign_finish(contact, kind, now, status=status, next_ts=next_ts,
                                    answered_ts=answered_ts)


def campaign_results(store: EventStore, campaign: str) -> dict[str, int]:
    """Contacts per status: the campaign's result summary."""
    out: dict[str, int] = {}
    for contact in store.campaign_contacts(campaign):
        out[contact.status] = out.get(contact.status, 0) + 1
    return out
