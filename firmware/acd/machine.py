"""The one state machine of the ACD: agent states and caller states, as transition tables.

Every change of an agent's or a caller's state goes through ``AGENT_TRANSITIONS`` or
``CALLER_TRANSITIONS``: ``(state, input) -> (actions, next state)``. The core looks the
pair up *before* it changes anything; a pair the table lacks raises ``InvalidTransition``
and leaves every state as it was (h2's ``_transitions`` style). The actions are names of
steps the core performs (ring, cancel legs, bridge, start the wrap-up timer…); the state
diagram in the docs can be drawn from these tables (``transition_rows()``).

Reconciliation is written into the tables, not patched around them: whenever a caller
leaves (hang-up, timeout, callback, move), the caller's row carries ``cancel_rings`` and
every agent reserved for that caller takes its ``CANCEL`` row back to ``available``; an
agent's ``CALL_ENDED`` row is the only way out of ``on_call``/``on_hold`` and the caller's
row that ends the call always feeds it.

States are plain interned strings (not ``Enum``): they are compared and hashed on the hot
path of a simulator that runs a million calls, and they read well in logs and JSON.
"""

from __future__ import annotations

from typing import Final


class AcdError(Exception):
    """Bad input to the ACD core (unknown id, impossible transition…); nothing was applied."""


class InvalidTransition(AcdError):
    def __init__(self, machine: str, subject: str, state: str, event: str) -> None:
        super().__init__(f"{machine} {subject!r} in state {state!r} cannot take {event!r}")
        self.machine = machine
        self.subject = subject
        self.state = state
        self.event = event


# --- agent ----------------------------------------------------------------------------------


class AgentState:
    LOGGED_OUT: Final = "logged_out"
    AVAILABLE: Final = "available"
    RESERVED: Final = "reserved"  # ringing for a caller, or held for a callback being dialled
    ON_CALL: Final = "on_call"
    ON_HOLD: Final = "on_hold"
    WRAP_UP: Final = "wrap_up"
    PAUSED: Final = "paused"
    UNREACHABLE: Final = "unreachable"
    # Held by a campaign's dialer while it dials the agent's contact (progressive,
    # preview): working, not paused, and offered no inbound caller. The contact's answered
    # call is then offered to this agent only (see AcdCore).
    RESERVED_OUTBOUND: Final = "reserved_outbound"

    ALL: Final = (
        LOGGED_OUT, AVAILABLE, RESERVED, ON_CALL, ON_HOLD, WRAP_UP, PAUSED, UNREACHABLE,
        RESERVED_OUTBOUND,
    )
    # States in which the agent serves a caller (agent.caller is set).
    WITH_CALLER: Final = frozenset({RESERVED, ON_CALL, ON_HOLD})
    # Logged in: counts for "join/leave when no agents".
    STAFFED: Final = frozenset({AVAILABLE, RESERVED, ON_CALL, ON_HOLD, WRAP_UP, PAUSED,
                                RESERVED_OUTBOUND})
    READY: Final = frozenset({AVAILABLE, RESERVED, ON_CALL, ON_HOLD, WRAP_UP,
                              RESERVED_OUTBOUND})


class AgentInput:
    LOGIN: Final = "login"
    LOGOUT: Final = "logout"
    PAUSE: Final = "pause"
    UNPAUSE: Final = "unpause"
    OFFER: Final = "offer"  # ring the agent for a caller
    RESERVE: Final = "reserve"  # hold the agent for a callback being dialled
    ANSWER: Final = "answer"
    REJECT: Final = "reject"
    NO_ANSWER: Final = "no_answer"
    CANCEL: Final = "cancel"  # the caller left or another agent answered
    CALL_ENDED: Final = "call_ended"
    HOLD: Final = "hold"
    UNHOLD: Final = "unhold"
    WRAPUP_DONE: Final = "wrapup_done"
    UNREACHABLE: Final = "unreachable"
    REACHABLE: Final = "reachable"
    OUTBOUND_RESERVE: Final = "outbound_reserve"  # a dialer holds the agent for a contact
    OUTBOUND_RELEASE: Final = "outbound_release"  # the dial ended unconnected, or the guard


_A = AgentState
_I = AgentInput

# Actions (performed by AcdCore in this order):
#   ring            emit RingAgent and start the ring timer
#   stop_ring_timer forget the ring timer (the leg is answered or already gone)
#   cancel_ring     emit CancelRing, forget the ring timer
#   release         detach the agent from its caller (the caller may re-offer)
#   count_answer    the agent took a call: misses reset, calls counted
#   count_miss      one more missed call; may auto-pause after the queue's limit
#   start_wrapup    start the wrap-up timer of the call's queue (0 s: done at once)
#   stop_wrapup     forget the wrap-up timer
#   defer_logout    log out when the call and its wrap-up are over
#   defer_pause     pause when the call and its wrap-up are over
#   clear_deferred  an unpause cancels a deferred pause
#   after_work      apply a deferred logout or pause
#   start_outbound_guard  start the guard timer of an outbound reservation (OUTBOUND_GUARD_S)
#   stop_outbound_guard   forget it (and the contact's call the agent was held for)
AGENT_TRANSITIONS: Final[dict[tuple[str, str], tuple[tuple[str, ...], str]]] = {
    (_A.LOGGED_OUT, _I.LOGIN): ((), _A.AVAILABLE),
    (_A.LOGGED_OUT, _I.LOGOUT): ((), _A.LOGGED_OUT),
    (_A.AVAILABLE, _I.OFFER): (("ring",), _A.RESERVED),
    (_A.AVAILABLE, _I.RESERVE): ((), _A.RESERVED),
    (_A.AVAILABLE, _I.LOGIN): ((), _A.AVAILABLE),
    (_A.AVAILABLE, _I.UNPAUSE): ((), _A.AVAILABLE),
    (_A.AVAILABLE, _I.PAUSE): ((), _A.PAUSED),
    (_A.AVAILABLE, _I.LOGOUT): ((), _A.LOGGED_OUT),
    (_A.AVAILABLE, _I.UNREACHABLE): ((), _A.UNREACHABLE),
    (_A.AVAILABLE, _I.REACHABLE): ((), _A.AVAILABLE),
    (_A.RESERVED, _I.ANSWER): (("stop_ring_timer", "count_answer"), _A.ON_CALL),
    (_A.RESERVED, _I.REJECT): (("stop_ring_timer", "release"), _A.AVAILABLE),
    (_A.RESERVED, _I.NO_ANSWER): (("cancel_ring", "release", "count_miss"), _A.AVAILABLE),
    (_A.RESERVED, _I.CANCEL): (("cancel_ring", "release"), _A.AVAILABLE),
    (_A.RESERVED, _I.UNREACHABLE): (("cancel_ring", "release"), _A.UNREACHABLE),
    (_A.RESERVED, _I.LOGOUT): (("cancel_ring", "release"), _A.LOGGED_OUT),
    (_A.RESERVED, _I.PAUSE): (("cancel_ring", "release"), _A.PAUSED),
    (_A.RESERVED, _I.LOGIN): ((), _A.RESERVED),
    (_A.ON_CALL, _I.HOLD): ((), _A.ON_HOLD),
    (_A.ON_CALL, _I.CALL_ENDED): (("start_wrapup",), _A.WRAP_UP),
    (_A.ON_CALL, _I.LOGOUT): (("defer_logout",), _A.ON_CALL),
    (_A.ON_CALL, _I.PAUSE): (("defer_pause",), _A.ON_CALL),
    (_A.ON_CALL, _I.UNPAUSE): (("clear_deferred",), _A.ON_CALL),
    (_A.ON_CALL, _I.LOGIN): ((), _A.ON_CALL),
    (_A.ON_HOLD, _I.UNHOLD): ((), _A.ON_CALL),
    (_A.ON_HOLD, _I.CALL_ENDED): (("start_wrapup",), _A.WRAP_UP),
    (_A.ON_HOLD, _I.LOGOUT): (("defer_logout",), _A.ON_HOLD),
    (_A.ON_HOLD, _I.PAUSE): (("defer_pause",), _A.ON_HOLD),
    (_A.ON_HOLD, _I.UNPAUSE): (("clear_deferred",), _A.ON_HOLD),
    (_A.ON_HOLD, _I.LOGIN): ((), _A.ON_HOLD),
    (_A.WRAP_UP, _I.WRAPUP_DONE): (("stop_wrapup", "after_work"), _A.AVAILABLE),
    (_A.WRAP_UP, _I.LOGOUT): (("stop_wrapup",), _A.LOGGED_OUT),
    (_A.WRAP_UP, _I.PAUSE): (("stop_wrapup",), _A.PAUSED),
    (_A.WRAP_UP, _I.UNPAUSE): (("clear_deferred",), _A.WRAP_UP),
    (_A.WRAP_UP, _I.LOGIN): ((), _A.WRAP_UP),
    (_A.PAUSED, _I.UNPAUSE): ((), _A.AVAILABLE),
    (_A.PAUSED, _I.PAUSE): ((), _A.PAUSED),  # a new reason
    (_A.PAUSED, _I.LOGIN): ((), _A.PAUSED),
    (_A.PAUSED, _I.LOGOUT): ((), _A.LOGGED_OUT),
    (_A.PAUSED, _I.UNREACHABLE): ((), _A.PAUSED),
    (_A.PAUSED, _I.REACHABLE): ((), _A.PAUSED),
    (_A.UNREACHABLE, _I.REACHABLE): ((), _A.AVAILABLE),
    (_A.UNREACHABLE, _I.UNREACHABLE): ((), _A.UNREACHABLE),
    (_A.UNREACHABLE, _I.LOGIN): ((), _A.UNREACHABLE),
    (_A.UNREACHABLE, _I.PAUSE): ((), _A.PAUSED),
    (_A.UNREACHABLE, _I.LOGOUT): ((), _A.LOGGED_OUT),
    (_A.AVAILABLE, _I.OUTBOUND_RESERVE): (("start_outbound_guard",), _A.RESERVED_OUTBOUND),
    (_A.RESERVED_OUTBOUND, _I.OUTBOUND_RESERVE): ((), _A.RESERVED_OUTBOUND),  # repeated
    # The contact answered and their call reached the queue: it rings this agent only.
    (_A.RESERVED_OUTBOUND, _I.OFFER): (("stop_outbound_guard", "ring"), _A.RESERVED),
    (_A.RESERVED_OUTBOUND, _I.OUTBOUND_RELEASE): (("stop_outbound_guard",), _A.AVAILABLE),
    (_A.RESERVED_OUTBOUND, _I.LOGIN): ((), _A.RESERVED_OUTBOUND),
    (_A.RESERVED_OUTBOUND, _I.UNPAUSE): ((), _A.RESERVED_OUTBOUND),
    (_A.RESERVED_OUTBOUND, _I.PAUSE): (("stop_outbound_guard",), _A.PAUSED),
    (_A.RESERVED_OUTBOUND, _I.LOGOUT): (("stop_outbound_guard",), _A.LOGGED_OUT),
    (_A.RESERVED_OUTBOUND, _I.UNREACHABLE): (("stop_outbound_guard",), _A.UNREACHABLE),
    (_A.RESERVED_OUTBOUND, _I.REACHABLE): ((), _A.RESERVED_OUTBOUND),
}


# --- caller ---------------------------------------------------------------------------------


class CallerState:
    WAITING: Final = "waiting"  # in the queue, hearing music/announcements
    RINGING: Final = "ringing"  # in the queue, one or more agents ringing for them
    # No leg (hung up after the callback key, or a callback job's virtual caller): keeps
    # the place until an agent is reserved for it.
    CALLBACK_WAITING: Final = "callback_waiting"
    CALLBACK_DIALING: Final = "callback_dialing"  # their turn: agent reserved, box dials
    CONNECTED: Final = "connected"  # talking with an agent (or on hold)
    DONE: Final = "done"  # left the ACD; the caller object is forgotten

    ALL: Final = (WAITING, RINGING, CALLBACK_WAITING, CALLBACK_DIALING, CONNECTED, DONE)
    IN_QUEUE: Final = frozenset({WAITING, RINGING, CALLBACK_WAITING, CALLBACK_DIALING})
    OFFERABLE: Final = frozenset({WAITING, CALLBACK_WAITING})


class CallerInput:
    OFFER: Final = "offer"  # agents ring / an agent is reserved for the callback
    ALL_DECLINED: Final = "all_declined"  # the last ringing agent is gone
    ANSWER: Final = "answer"
    HANGUP: Final = "hangup"
    TIMEOUT: Final = "timeout"  # max wait reached, or left because no agents
    CALLBACK_KEY: Final = "callback_key"
    CALLBACK_CONNECTED: Final = "callback_connected"
    CALLBACK_FAILED: Final = "callback_failed"
    CALL_ENDED: Final = "call_ended"
    HOLD: Final = "hold"
    UNHOLD: Final = "unhold"
    MOVE: Final = "move"
    RELEASE: Final = "release"  # the callback engine gave a waiting place up


_C = CallerState
_K = CallerInput

# Actions (performed by AcdCore in this order):
#   leave_queue         take the caller out of the queue's order, stop their timers
#   cancel_rings        every agent ringing/reserved for the caller takes CANCEL
#   cancel_other_rings  the same, except the agent who answered
#   stop_announcement   interrupt a prompt that is playing (no dead air before a bridge)
#   bridge              emit Bridge; log the answer with its wait
#   log_abandon / log_timeout / log_end: the queue event log's record of how they left
#   overflow            emit Overflow (or enter the overflow queue)
#   accept_callback     emit AcceptCallback; log the request
#   dial_callback       emit DialCallback for the reserved agent
#   connect_callback    the customer and the agent are connected; log it
#   fail_callback       release the reserved agent; log the failure
#   log_release         a callback place given up before its turn; log it
#   end_call            the agent takes CALL_ENDED (wrap-up)
#   hold / unhold       the agent takes HOLD / UNHOLD; logged
#   move                re-enter the caller in another queue
CALLER_TRANSITIONS: Final[dict[tuple[str, str], tuple[tuple[str, ...], str]]] = {
    (_C.WAITING, _K.OFFER): ((), _C.RINGING),
    (_C.WAITING, _K.HANGUP): (("leave_queue", "log_abandon"), _C.DONE),
    (_C.WAITING, _K.TIMEOUT): (("leave_queue", "log_timeout", "overflow"), _C.DONE),
    (_C.WAITING, _K.CALLBACK_KEY): (("stop_announcement", "accept_callback"), _C.CALLBACK_WAITING),
    (_C.WAITING, _K.MOVE): (("move",), _C.WAITING),
    (_C.RINGING, _K.OFFER): ((), _C.RINGING),
    (_C.RINGING, _K.ALL_DECLINED): ((), _C.WAITING),
    (_C.RINGING, _K.ANSWER): (
        ("leave_queue", "cancel_other_rings", "stop_announcement", "bridge"),
        _C.CONNECTED,
    ),
    (_C.RINGING, _K.HANGUP): (("leave_queue", "cancel_rings", "log_abandon"), _C.DONE),
    (_C.RINGING, _K.TIMEOUT): (
        ("leave_queue", "cancel_rings", "log_timeout", "overflow"),
        _C.DONE,
    ),
    (_C.RINGING, _K.CALLBACK_KEY): (
        ("cancel_rings", "stop_announcement", "accept_callback"),
        _C.CALLBACK_WAITING,
    ),
    (_C.RINGING, _K.MOVE): (("cancel_rings", "move"), _C.WAITING),
    (_C.CALLBACK_WAITING, _K.OFFER): (("dial_callback",), _C.CALLBACK_DIALING),
    (_C.CALLBACK_WAITING, _K.MOVE): (("move",), _C.CALLBACK_WAITING),
    (_C.CALLBACK_WAITING, _K.RELEASE): (("leave_queue", "log_release"), _C.DONE),
    # The reserved agent went away (logout, pause, unreachable): the callback is called
    # off (CancelRing) and the caller keeps their place for the next agent.
    (_C.CALLBACK_DIALING, _K.ALL_DECLINED): ((), _C.CALLBACK_WAITING),
    (_C.CALLBACK_DIALING, _K.CALLBACK_CONNECTED): (
        ("leave_queue", "connect_callback"),
        _C.CONNECTED,
    ),
    (_C.CALLBACK_DIALING, _K.CALLBACK_FAILED): (
        ("leave_queue", "fail_callback"),
        _C.DONE,
    ),
    (_C.CONNECTED, _K.HOLD): (("hold",), _C.CONNECTED),
    (_C.CONNECTED, _K.UNHOLD): (("unhold",), _C.CONNECTED),
    (_C.CONNECTED, _K.CALL_ENDED): (("log_end", "end_call"), _C.DONE),
    (_C.CONNECTED, _K.HANGUP): (("log_end", "end_call"), _C.DONE),
}


def agent_next(subject: str, state: str, event: str) -> tuple[tuple[str, ...], str]:
    """The agent's row for ``(state, event)``; raises ``InvalidTransition`` if none."""
    row = AGENT_TRANSITIONS.get((state, event))
    if row is None:
        raise InvalidTransition("agent", subject, state, event)
    return row


def caller_next(subject: str, state: str, event: str) -> tuple[tuple[str, ...], str]:
    """The caller's row for ``(state, event)``; raises ``InvalidTransition`` if none."""
    row = CALLER_TRANSITIONS.get((state, event))
    if row is None:
        raise InvalidTransition("caller", subject, state, event)
    return row


def transition_rows() -> list[tuple[str, str, str, tuple[str, ...], str]]:
    """Both tables as rows ``(machine, state, input, actions, next)``, for docs and tests."""
    rows = [("agent", s, i, a, n) for (s, i), (a, n) in AGENT_TRANSITIONS.items()]
    rows += [("caller", s, i, a, n) for (s, i), (a, n) in CALLER_TRANSITIONS.items()]
    return rows
