"""Manual and offline donations (cheques, cash, matching gifts) and test alerts.

They belong to a "manual" source of the campaign (created on demand), so they count as
their own source. Adding and removing go through the same `ingest_donations` and
`remove_donations` as the platforms' donations; an edit is the one write only manual
donations allow, announced the same way.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from fundboard.campaigns.models import Campaign, Source, SourceKind
from fundboard.fx.convert import apply_rates
from fundboard.providers.cleaning import clean_message, clean_name
from fundboard.providers.records import TEST_CURRENCY, DonationRecord

from .models import Donation
from .services import commit_change, ingest_donations, remove_donations, save_changed_fields

__all__ = [
    "MANUAL_SOURCE_NAME",
    "ManualDonation",
    "NotManual",
    "manual_source",
    "add_manual_donation",
    "edit_manual_donation",
    "remove_manual_donation",
    "restore_manual_donation",
    "send_test_donation",
]

log = logging.getLogger("fundboard.ingest")

MANUAL_SOURCE_NAME = "Manual and offline donations"


class NotManual(ValueError):
    """Only donations of a manual source can be edited or removed by hand."""


@dataclass(frozen=True)
class ManualDonation:
    """What staff typed for one manual donation."""

    display_name: str
    amount: Decimal
    currency: str
    donated_at: datetime
    message: str = ""
    anonymous: bool = False


def manual_source(campaign_id: int) -> Source:
    """The campaign's manual source: the first one configured, or a new one."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        source = campaign.sources.filter(kind=SourceKind.MANUAL).order_by("pk").first()
        if source is None:
            source = Source.objects.create(
                campaign=campaign, kind=SourceKind.MANUAL, name=MANUAL_SOURCE_NAME
            )
    return source


def _record(upstream_id: str, entry: ManualDonation, *, currency: str) -> DonationRecord:
    return DonationRecord(
        upstream_id=upstream_id,
        display_name=clean_name(entry.display_name),
        amount=entry.amount,
        currency=currency,
        donated_at=entry.donated_at,
        message=clean_message(entry.message),
        anonymous=entry.anonymous,
    )


def add_manual_donation(campaign_id: int, entry: ManualDonation) -> Donation:
    source = manual_source(campaign_id)
    record = _record(f"manual-{uuid.uuid4().hex}", entry, currency=entry.currency)
    outcome = ingest_donations(source.pk, [record])
    return outcome.added[0]


def _manual_donation(donation_id: int) -> Donation:
    donation = (
        Donation.objects.select_for_update()
        .select_related("source", "campaign")
        .get(pk=donation_id)
    )
    if donation.source.kind != SourceKind.MANUAL or donation.is_test:
        raise NotManual(f"donation {donation_id} did not come from a manual source")
    return donation


def edit_manual_donation(donation_id: int, entry: ManualDonation) -> Donation | None:
    """Correct a manual donation; the donation if anything changed, else None."""
    record = _record("", entry, currency=entry.currency)
    wanted = {
        "display_name": record.display_name,
        "amount": record.amount,
        "currency": record.currency,
        "donated_at": record.donated_at,
        "message": record.message,
        "anonymous": record.anonymous,
    }
    with transaction.atomic():
        donation = _manual_donation(donation_id)
        if donation.removed:
            return None
        changed = save_changed_fields(donation, wanted)
        if not changed:
            return None
        if {"amount", "currency"} & changed.keys():  # convert again, at today's rate
            apply_rates(donation.campaign, [donation])
            donation.save(update_fields=["converted_amount", "rate"])
        if {"amount", "currency", "message", "donated_at"} & changed.keys():
            from fundboard.incentives.services import reread_donation

            reread_donation(donation)  # incentive allocations follow the corrected donation
        commit_change(donation.campaign)
    log.info(
        "edited manual donation campaign=%s donation=%s fields=%s",
        donation.campaign.slug,
        donation.pk,
        ",".join(changed),
    )
    return donation


def remove_manual_donation(donation_id: int) -> Donation | None:
    """Remove a manual donation (kept for audit); None if it was already removed."""
    with transaction.atomic():
        donation = _manual_donation(donation_id)
    outcome = remove_donations(donation.source_id, [donation.upstream_id])
    return outcome.removed[0] if outcome.removed else None


def restore_manual_donation(donation_id: int) -> Donation | None:
    """Undo a removal: the donation counts again (no new alert); None if it was not removed."""
    with transaction.atomic():
        donation = _manual_donation(donation_id)
        if not donation.removed:
            return None
        donation.removed, donation.removed_at = False, None
        donation.save(update_fields=["removed", "removed_at"])
        from fundboard.incentives.services import reread_donation

        reread_donation(donation)  # its message counts for incentives again
        commit_change(donation.campaign)
    log.info(
        "restored manual donation campaign=%s donation=%s", donation.campaign.slug, donation.pk
    )
    return donation


def send_test_donation(
    campaign_id: int, *, display_name: str, amount: Decimal, message: str = ""
) -> Donation:
    """A test donation through the whole pipeline: it alerts, it never counts."""
    entry = ManualDonation(
        display_name=display_name, amount=amount, currency=TEST_CURRENCY,
        donated_at=timezone.now(), message=message,
    )  # fmt: skip
    source = manual_source(campaign_id)
    record = _record(f"test-{uuid.uuid4().hex}", entry, currency=TEST_CURRENCY)
    return ingest_donations(source.pk, [record]).added[0]
