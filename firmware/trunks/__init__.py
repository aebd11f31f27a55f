"""SIM cards as trunks: per-SIM limits, quota disabling, balance, least-cost choice.

Owns the accounting of each SIM (by ICCID, never by port: a SIM moved to another slot
keeps its counters): concurrent calls, minutes per day and month, SMS and unique SMS
recipients per day and month, the longest call allowed; disabling a SIM whose quota is
spent until the period ends, re-enabling it then; the last balance answer (USSD); operator
prefix lists and per-minute costs for least-cost choice; statistics.  Counters and state
live in the event store (tables ``sim_usage``, ``sim_sms_recipient``, ``sim_state``), so a
reboot forgets nothing.
Must not touch: modems (balance checks are handed a USSD function), routing decisions
(the routing and callback engines ask :meth:`SimTrunks.choose` and obey its answer).

:class:`SimTrunkPolicy` (``policy.py``) is the call engine's ``TrunkPolicy`` over these
counters: least-cost order of the SIMs of a route, a permit per call, the accounting of its
real talk time.

Time is an input (``clock``) and periods follow the box's local calendar (``tz``), so
tests run days in milliseconds.
"""

from firmware.trunks.accounting import CallPermit, SimLimits, SimTrunks, TrunkRefused
from firmware.trunks.policy import SimTrunkPolicy, limits_from_document

__all__ = ["CallPermit", "SimLimits", "SimTrunkPolicy", "SimTrunks", "TrunkRefused",
           "limits_from_document"]
