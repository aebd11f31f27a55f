"""What goes into the ACD core (events) and what comes out of it (commands).

The core is sans-I/O: the call engine (firmware/calls), the web UI, the console and the
traffic simulator feed it *events* with the time they happened, and carry out the
*commands* it returns. Both are immutable named tuples so they can be logged, compared in
tests and pattern-matched (``match cmd: case RingAgent(caller, agent, ...)``).

Contract with the call engine
-----------------------------
Events the engine must feed (``core.handle(event, now)``):

- ``CallerArrived``: a call was routed to a queue (already answered or early media: the
  caller hears what the core commands next).
- ``CallerHungUp``: the caller's leg is gone (waiting, agents ringing, or connected).
  While waiting it is an abandon; while connected it ends the call (as ``CallEnded``).
  A caller waiting for a callback has no leg: the callback's outcome is reported with
  ``CallbackConnected`` / ``CallbackFailed``.
- ``CallbackKeyPressed``: the caller pressed the callback key; the engine has *not* hung
  up yet: it does so after the ``AcceptCallback`` command (confirmation prompt). ``job``
  names the persisted callback job that now owns the place (firmware/callback), so a
  later ``CallbackQueued`` for that job (a retry, a restart) finds the place held.
- ``CallbackQueued``: a *virtual caller*: a callback job (web/cloud request, missed call,
  a key press re-entering after a retry or a restart) holds a place in a queue, ordered
  by ``(priority, entered)`` like a live caller who arrived at ``entered``. It has no
  leg: it hears nothing, never abandons, never times out; when an agent is reserved for
  it the core emits ``DialCallback``. Repeated for a job already held: a no-op.
- ``CallbackReleased``: the callback engine gave the job's place up (``reason``:
  ``retry``, ``failed``, ``cancelled``, ``done``, ``not_dialable``…). A place waiting
  for its turn leaves the queue; one being dialled fails as with ``CallbackFailed``; a
  connected one is left alone (its call ends with ``CallEnded``).
- ``AgentAnswered`` / ``AgentRejected`` / ``AgentNoAnswer``: the outcome of a
  ``RingAgent`` (not of a ``DialCallback``'s agent leg, which the engine handles itself).
  The core also runs its own ring timeout; a late ``AgentNoAnswer`` for a ring the core
  already cancelled is ignored. ``AgentUnreachable``: the agent's device is gone
  (unregistered, line down).
- ``AgentReachable``: an unreachable agent's device is back (registered, line up).
- ``CallEnded``: a connected call ended (either side hung up, or a transfer completed:
  ``transferred=True``).
- ``CallHeld`` / ``CallResumed``: the agent put the caller on hold / took them back.
- ``AnnouncementFinished``: a ``PlayAnnouncement`` played to its end.
- ``CallbackConnected`` / ``CallbackFailed``: the outcome of a ``DialCallback``
  (``answered_ts``: when the customer answered, for "time to callback"; the connected
  call then ends with ``CallEnded``). Retries are the callback engine's: a failed place
  leaves the queue, and the job comes back with ``CallbackQueued`` at its kept place.

Events from the campaigns' dialers (firmware/calls/campaigns.py):

- ``OutboundReserve(agent, campaign, dial)``: the dialer holds a free agent for the contact it
  dials for them (progressive, preview). The agent is ``reserved_outbound``: logged in and
  working (not paused: occupancy counts the time as staffed), offered no inbound caller.
  A guard (``OUTBOUND_GUARD_S``) returns the agent to ``available`` if the dial is never
  reported.
- ``OutboundConnected(agent, caller)``: the contact answered; their call enters the
  queue as ``caller`` (``CallerArrived``) and rings this agent only, at once.
- ``OutboundReleased(agent, reason, dial)``: the dial ended without reaching the agent
  (busy, no answer, machine, stopped…): the agent is ``available`` again. For an agent no
  longer held for outbound, or held for another dial than ``dial`` (a late report of an
  older one), it is a no-op.

Events from people (web UI, console, feature codes): ``AgentLogin``, ``AgentLogout``,
``AgentPause``, ``AgentUnpause``, ``WrapUpDone``, ``ForceAgentState`` and ``MoveCaller``
(supervisor).

Commands the engine must carry out, in the order returned:

- ``RingAgent(caller, agent, queue, timeout_s)``: ring the agent's device for this caller
  (the caller keeps hearing music/announcements meanwhile). Several for ring-all.
- ``CancelRing(caller, agent)``: stop ringing that agent for that caller (a no-op if the
  leg is already gone). For a caller being called back it calls off the whole
  ``DialCallback`` (the reserved agent went away); the core dials again later.
- ``StopAnnouncement(caller)``: interrupt a prompt at once (always precedes a ``Bridge``
  for a caller who is hearing one: no dead air).
- ``Bridge(caller, agent)``: connect the caller with the agent who answered.
- ``PlayAnnouncement(caller, prompt, position, expected_wait_s)``: an interruptible prompt
  (``prompt`` is ``"position"``, ``"callback_offer"`` or a configured prompt id); music on
  hold resumes after it.
- ``PlayMusicOnHold(caller, music_class)``: the caller joined a queue.
- ``Overflow(caller, destination, reason)``: send the caller out of the ACD to a
  destination of the dial plan (``{"type": "extension", "target": "201"}``, ``hangup``,
  ``busy``…); ``reason`` is ``full``, ``no_agents``, ``max_wait`` or ``queue_removed``.
- ``AcceptCallback(caller, number)``: confirm to the caller and hang up their leg; their
  place in the queue is kept.
- ``DialCallback(caller, agent, number, agent_first, job)``: the agent is reserved; dial
  the customer (or the agent first) and bridge them, then report ``CallbackConnected`` or
  ``CallbackFailed``. ``job`` is the callback job holding the place ("" for none).
- ``SetAgentState(agent, state, reason)``: for phones' lamps, the wallboard and the cloud.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# --- events (inputs) ----------------------------------------------------------------------


class CallerArrived(NamedTuple):
    caller: str
    queue: str
    number: str = ""
    priority: int = 0  # higher first; from the route, a VIP list or a tag
    skill: int | None = None  # required skill level, overrides the queue's
    entered: float | None = None  # keep an earlier place (re-queued callback), else now
    outbound: bool = False  # a campaign contact's answered call, come to reach its agent


class CallerHungUp(NamedTuple):
    caller: str


class CallbackKeyPressed(NamedTuple):
    caller: str
    number: str | None = None  # number to call back; default: the caller's number
    job: str = ""  # the callback job that keeps the place ("" when none)


class CallbackQueued(NamedTuple):
    caller: str  # the place's id in the ACD (the job's, or the call's that took it)
    queue: str
    number: str
    priority: int = 0
    entered: float | None = None  # the place kept (request or arrival time), else now
    job: str = ""
    requested: float | None = None  # when the callback was asked for (default: entered)


class CallbackReleased(NamedTuple):
    caller: str
    reason: str = "released"


class AgentAnswered(NamedTuple):
    caller: str
    agent: str


class AgentRejected(NamedTuple):
    caller: str
    agent: str


class AgentNoAnswer(NamedTuple):
    caller: str
    agent: str


class AgentUnreachable(NamedTuple):
    agent: str


class AgentReachable(NamedTuple):
    agent: str


class CallEnded(NamedTuple):
    caller: str
    transferred: bool = False


class CallHeld(NamedTuple):
    caller: str


class CallResumed(NamedTuple):
    caller: str


class AnnouncementFinished(NamedTuple):
    caller: str


class CallbackConnected(NamedTuple):
    caller: str
    answered_ts: float | None = None  # the customer answered (default: now)


class CallbackFailed(NamedTuple):
    caller: str
    reason: str = "no_answer"


class OutboundReserve(NamedTuple):
    agent: str
    campaign: str = ""
    dial: str = ""  # the dial the agent is held for ("": not told)


class OutboundConnected(NamedTuple):
    agent: str
    caller: str  # the id the contact's call enters the queue with


class OutboundReleased(NamedTuple):
    agent: str
    reason: str = "released"
    dial: str = ""  # the dial that ended: a release for an older one is ignored


class AgentLogin(NamedTuple):
    agent: str
    queues: tuple[str, ...] | None = None  # dynamic membership; None: the configured ones
    penalty: int = 0


class AgentLogout(NamedTuple):
    agent: str


class AgentPause(NamedTuple):
    agent: str
    reason: str = "break"


class AgentUnpause(NamedTuple):
    agent: str


class WrapUpDone(NamedTuple):
    agent: str


class ForceAgentState(NamedTuple):
    agent: str
    state: str  # "available", "paused" or "logged_out"
    reason: str = "supervisor"


class MoveCaller(NamedTuple):
    caller: str
    queue: str
    keep_place: bool = True  # keep the original arrival time in the new queue


# --- commands (outputs) ---------------------------------------------------------------------


class RingAgent(NamedTuple):
    caller: str
    agent: str
    queue: str
    timeout_s: float


class CancelRing(NamedTuple):
    caller: str
    agent: str


class Bridge(NamedTuple):
    caller: str
    agent: str


class PlayAnnouncement(NamedTuple):
    caller: str
    prompt: str
    position: int
    expected_wait_s: float | None


class StopAnnouncement(NamedTuple):
    caller: str


class PlayMusicOnHold(NamedTuple):
    caller: str
    music_class: str


class Overflow(NamedTuple):
    caller: str
    destination: dict[str, Any]
    reason: str


class AcceptCallback(NamedTuple):
    caller: str
    number: str


class DialCallback(NamedTuple):
    caller: str
    agent: str
    number: str
    agent_first: bool
    job: str = ""


class SetAgentState(NamedTuple):
    agent: str
    state: str
    reason: str


Event = (
    CallerArrived | CallerHungUp | CallbackKeyPressed | CallbackQueued | CallbackReleased
    | AgentAnswered | AgentRejected
    | AgentNoAnswer | AgentUnreachable | AgentReachable | CallEnded | CallHeld | CallResumed
    | AnnouncementFinished | CallbackConnected | CallbackFailed | AgentLogin | AgentLogout
    | AgentPause | AgentUnpause | WrapUpDone | ForceAgentState | MoveCaller
    | OutboundReserve | OutboundConnected | OutboundReleased
)
Command = (
    RingAgent | CancelRing | Bridge | PlayAnnouncement | StopAnnouncement | PlayMusicOnHold
    | Overflow | AcceptCallback | DialCallback | SetAgentState
)
