"""Callback engine: jobs from every source, retry policy, working hours, blacklist, limits,
de-duplication, least-cost trunk choice, and persistence that loses none and dials none twice.

- ``engine.CallbackEngine``: the deterministic core (commands out, outcomes in, time in);
- ``commands``: the interface with the call engine and the ACD (read its docstring);
- ``policy``: settings from the configuration (``CallbackSettings``, ``RetryPolicy``,
  ``Blacklist``);
- ``trunks``: ``TrunkAdvisor`` (implemented later by firmware/trunks) and
  ``ConfigTrunkAdvisor``;
- ``service.CallbackService``: the façade methods for the web UI and the cloud;
- ``kpi``: "callback success" and "time to callback" from the recorded jobs.
"""

from firmware.callback.commands import (
    CancelDial,
    Command,
    DialCallback,
    DialOutcome,
    EnqueueCallback,
    ReleasePlace,
    TrunkCandidate,
)
from firmware.callback.engine import CallbackEngine, Submitted
from firmware.callback.errors import CallbackRequestError, FieldIssue
from firmware.callback.kpi import CallbackKpis, callback_kpis
from firmware.callback.policy import Blacklist, CallbackSettings, RetryPolicy, SourceRule
from firmware.callback.service import CallbackService
from firmware.callback.trunks import ConfigTrunkAdvisor, TrunkAdvisor

__all__ = [
    "Blacklist",
    "CallbackEngine",
    "CallbackKpis",
    "CallbackRequestError",
    "CallbackService",
    "CallbackSettings",
    "CancelDial",
    "Command",
    "ConfigTrunkAdvisor",
    "DialCallback",
    "DialOutcome",
    "EnqueueCallback",
    "FieldIssue",
    "ReleasePlace",
    "RetryPolicy",
    "SourceRule",
    "Submitted",
    "TrunkAdvisor",
    "TrunkCandidate",
    "callback_kpis",
]
