"""Moderation writes: hide or restore a donor's name or message, approve held donations,
change a campaign's review settings.

They live in ingest because ingest is the only writer of donations: each runs in one
transaction, bumps the campaign's version, and announces `campaign_changed` after commit
(through the same helper as `services`), so every public page gets a fresh snapshot. Who
did it is recorded by the caller (the dashboard) in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction

from fundboard.campaigns.models import Campaign

from . import signals
from .models import Donation
from .services import commit_change, save_changed_fields

__all__ = [
    "set_name_hidden",
    "set_message_hidden",
    "approve_donations",
    "set_review_settings",
    "announce_campaign_edit",
]

log = logging.getLogger("fundboard.ingest")


def _update_donation(donation_id: int, **fields) -> Donation | None:
    """Set moderation fields on one donation; the donation if anything changed, else None."""
    with transaction.atomic():
        donation = (
            Donation.objects.select_for_update().select_related("campaign").get(pk=donation_id)
        )
        changed = save_changed_fields(donation, fields)
        if not changed:
            return None
        commit_change(donation.campaign)
    log.info(
        "moderated donation campaign=%s donation=%s %s",
        donation.campaign.slug,
        donation.pk,
        " ".join(f"{name}={value}" for name, value in changed.items()),
    )
    return donation


def set_name_hidden(donation_id: int, hidden: bool) -> Donation | None:
    """Hidden names show as "Anonymous" on every public page."""
    return _update_donation(donation_id, name_hidden=hidden)


def set_message_hidden(donation_id: int, hidden: bool) -> Donation | None:
    """Hidden messages are left out of every public page."""
    return _update_donation(donation_id, message_hidden=hidden)


def approve_donations(campaign_id: int, donation_ids: Iterable[int]) -> list[Donation]:
    """Approve held donations: their names and messages may show (unless hidden)."""
    ids = list(donation_ids)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        waiting = list(
            Donation.objects.select_for_update()
            .filter(campaign=campaign, pk__in=ids)
            .exclude(approved=True)
        )
        if not waiting:
            return []
        Donation.objects.filter(pk__in=[d.pk for d in waiting]).update(approved=True)
        for donation in waiting:
            donation.approved = True
        commit_change(campaign)
        _announce_approved(campaign, waiting)
    log.info("approved donations campaign=%s count=%s", campaign.slug, len(waiting))
    return waiting


def _announce_approved(campaign: Campaign, donations: list[Donation]) -> None:
    """After the commit, the alerts held for review go out with the approved name and message
    (while held, viewers got no alert and no ticker entry; see live/broadcast.py)."""
    if not campaign.hold_for_review:
        return  # nothing was held back from viewers
    version = campaign.version

    def send() -> None:
        signals.donations_approved.send(
            sender=Donation, campaign=campaign, donations=donations, version=version
        )

    transaction.on_commit(send)


def set_review_settings(campaign_id: int, *, hold_for_review: bool, blocked_words: str) -> bool:
    """Switch hold-for-review and edit the word filter; True if anything changed."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if (campaign.hold_for_review, campaign.blocked_words) == (hold_for_review, blocked_words):
            return False
        campaign.hold_for_review, campaign.blocked_words = hold_for_review, blocked_words
        campaign.save(update_fields=["hold_for_review", "blocked_words"])
        commit_change(campaign)
    log.info("review settings changed campaign=%s hold=%s", campaign.slug, hold_for_review)
    return True


def announce_campaign_edit(campaign_id: int) -> None:
    """A campaign or source was edited by hand (the admin): viewers get a fresh snapshot."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        commit_change(campaign)
