"""Signals ingest sends after a transaction commits.

`fundboard.live` listens and broadcasts; ingest never imports live (the data flow is one way).
Every signal carries `campaign` (the Campaign row as committed) and `version`.
"""

from django.dispatch import Signal

__all__ = [
    "donations_added",
    "donations_removed",
    "donations_approved",
    "campaign_changed",
    "source_health_changed",
]

# donations: list[Donation] newly stored, in upstream order (test donations included).
donations_added = Signal()
# donations: list[Donation] newly marked removed.
donations_removed = Signal()
# donations: list[Donation] held for review and now approved (their alerts go out now).
donations_approved = Signal()
# Anything else that changes what viewers see (totals, leaderboards, moderation).
campaign_changed = Signal()
# source: the Source whose health fields changed (for the staff dashboard).
source_health_changed = Signal()
