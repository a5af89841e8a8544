"""How a write announces itself: a new campaign version now, signals after the commit."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction

from fundboard.campaigns.models import Campaign

from . import signals
from .models import Donation

__all__ = ["IngestOutcome", "commit_change", "save_changed_fields"]

log = logging.getLogger("fundboard.ingest")


@dataclass
class IngestOutcome:
    added: list[Donation] = field(default_factory=list)
    removed: list[Donation] = field(default_factory=list)
    duplicates: int = 0
    changed: bool = False
    # Records that could not be stored (a database error on that row alone), with why.
    rejected: list[str] = field(default_factory=list)


def commit_change(campaign: Campaign, outcome: IngestOutcome | None = None) -> None:
    """Inside a transaction that changed what viewers see: a new campaign version now, and
    after the commit one signal per kind of change, carrying that version."""
    outcome = outcome or IngestOutcome(changed=True)
    campaign.bump_version()
    campaign_id, version = campaign.pk, campaign.version

    def send() -> None:
        if outcome.added:
            signals.donations_added.send(
                sender=Donation, campaign=campaign, donations=outcome.added, version=version
            )
        if outcome.removed:
            signals.donations_removed.send(
                sender=Donation, campaign=campaign, donations=outcome.removed, version=version
            )
        if outcome.changed:
            signals.campaign_changed.send(sender=Campaign, campaign=campaign, version=version)

    log.debug("campaign=%s version=%s change committed", campaign_id, version)
    transaction.on_commit(send)


def save_changed_fields(instance: models.Model, wanted: dict[str, Any]) -> dict[str, Any]:
    """Set and save only the fields whose value differs; returns those {name: value}."""
    changed = {name: value for name, value in wanted.items() if getattr(instance, name) != value}
    for name, value in changed.items():
        setattr(instance, name, value)
    if changed:
        instance.save(update_fields=list(changed))
    return changed
