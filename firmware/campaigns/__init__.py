"""Outbound campaigns: contact lists from CSV, and a dialer in preview, progressive,
predictive and autoinformer modes.

- ``contacts``: CSV import (``import_contacts``, ``parse_contacts``), line-by-line errors;
- ``pacing.PredictivePacer``: how many to dial, keeping abandoned-on-answer under the cap;
- ``dialer.CampaignDialer``: one campaign's deterministic core (commands out, outcomes in).

Kept apart from firmware/callback (which it shares the trunk advisor, number normaliser,
blacklist and daily limits with) because its unit is a list worked through by agents at a
pace, not one customer's request.
"""

from firmware.campaigns.contacts import (
    ContactImportError,
    ImportReport,
    ParsedContact,
    RowError,
    import_contacts,
    parse_contacts,
)
from firmware.campaigns.dialer import (
    Campaign,
    CampaignDialer,
    CancelContact,
    ContactOutcome,
    DialContact,
    campaign_results,
)
from firmware.campaigns.pacing import PacingDecision, PredictivePacer

__all__ = [
    "Campaign",
    "CampaignDialer",
    "CancelContact",
    "ContactImportError",
    "ContactOutcome",
    "DialContact",
    "ImportReport",
    "PacingDecision",
    "ParsedContact",
    "PredictivePacer",
    "RowError",
    "campaign_results",
    "import_contacts",
    "parse_contacts",
]
