"""Storing and removing donations, idempotently by (source, upstream id)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from fundboard.campaigns.models import Source
from fundboard.fx.convert import apply_rates
from fundboard.ops import metrics
from fundboard.providers.records import DonationRecord

from .changes import IngestOutcome, commit_change
from .health import record_rejection
from .log_summary import ingest_summary
from .models import Donation

__all__ = ["ingest_donations", "remove_donations", "store_new_donations"]

log = logging.getLogger("fundboard.ingest")


def _new_donation(source: Source, record: DonationRecord, *, held: bool) -> Donation:
    return Donation(
        campaign_id=source.campaign_id,
        source=source,
        upstream_id=record.upstream_id,
        display_name=record.display_name,
        anonymous=record.anonymous,
        amount=record.amount,
        currency=record.currency,
        message=record.message,
        donated_at=record.donated_at,
        fundraiser_id=record.fundraiser_id,
        is_test=record.is_test,
        approved=None if held else True,
    )


def store_new_donations(
    source: Source, records: Sequence[DonationRecord]
) -> tuple[list[Donation], int, list[str]]:
    """Insert the records not stored yet; returns (stored rows, duplicates, rejections).

    All at once when it can; when the batch fails (a duplicate stored meanwhile, or one row
    the database refuses), row by row, each in its own savepoint, so one bad row is rejected
    alone with its reason and the rest of the batch is stored.
    """
    unique: dict[str, DonationRecord] = {}
    for record in records:
        unique.setdefault(record.upstream_id, record)
    existing: set[str] = set()
    # A lone record (the live stream's case) is inserted without asking first: a duplicate
    # is rare there and the unique constraint catches it (below), and the query saved is on
    # every streamed donation's way to the viewers. Batches (backfills, polls) repeat much
    # of what is stored already, so they look first.
    if len(unique) > 1:
        existing = set(
            Donation.objects.filter(source=source, upstream_id__in=list(unique)).values_list(
                "upstream_id", flat=True
            )
        )
    held = source.campaign.hold_for_review
    rows = [_new_donation(source, r, held=held) for uid, r in unique.items() if uid not in existing]
    # The rate is fixed now, so a total never changes later unless staff re-rate.
    apply_rates(source.campaign, rows)
    duplicates = len(records) - len(rows)
    if not rows:
        return [], duplicates, []
    try:
        with transaction.atomic():
            return Donation.objects.bulk_create(rows), duplicates, []
    except (DatabaseError, ValueError) as error:
        # IntegrityError: another process (a stream runner taking over) stored some of them
        # meanwhile. Anything else (ValueError: text the driver cannot encode): one row.
        if not isinstance(error, IntegrityError):
            log.warning(
                "source=%s batch of %s failed, storing row by row: %r", source.pk, len(rows), error
            )
        return _store_one_by_one(source, rows, len(records))


def _store_one_by_one(
    source: Source, rows: list[Donation], received: int
) -> tuple[list[Donation], int, list[str]]:
    stored, rejected = [], []
    for row in rows:
        try:
            with transaction.atomic():
                obj, created = Donation.objects.get_or_create(
                    source=source, upstream_id=row.upstream_id, defaults=_row_fields(row)
                )
        except (DatabaseError, ValueError) as error:
            reason = (
                f"donation {row.upstream_id!r} could not be stored: {type(error).__name__}: {error}"
            )
            rejected.append(reason)
            continue
        if created:
            stored.append(obj)
    return stored, received - len(stored) - len(rejected), rejected


def _row_fields(row: Donation) -> dict[str, Any]:
    names = [f.attname for f in Donation._meta.concrete_fields if f.attname not in ("id",)]
    return {name: getattr(row, name) for name in names}


def _counts_towards_total(donation: Donation) -> bool:
    return not donation.is_test and not donation.removed


def ingest_donations(source_id: int, records: Sequence[DonationRecord]) -> IngestOutcome:
    """Store donations idempotently (by source + upstream id) and announce the new ones."""
    if not records:
        return IngestOutcome()
    with transaction.atomic():
        source = Source.objects.select_related("campaign").get(pk=source_id)
        added, duplicates, rejected = store_new_donations(source, records)
        outcome = IngestOutcome(added=added, duplicates=duplicates, rejected=rejected)
        # Test donations alert but change no total; anything else is a visible change.
        outcome.changed = any(_counts_towards_total(d) for d in added)
        if added:
            from fundboard.incentives.services import allocate_donations  # (no import cycle)

            allocate_donations(source.campaign, added)  # tagged messages fund incentives
            commit_change(source.campaign, outcome)
    for reason in rejected:
        record_rejection(source_id, reason)
    if added:
        metrics.DONATIONS_INGESTED.labels(source.campaign.slug, source.pk).inc(len(added))
    if added:
        ingest_summary.add(source.pk, len(added))  # the INFO line; one per donation at DEBUG
    for donation in added:
        log.debug(
            "ingested donation campaign=%s source=%s upstream_id=%s amount=%s %s%s",
            source.campaign.slug,
            source.pk,
            donation.upstream_id,
            donation.amount,
            donation.currency,
            " test=1" if donation.is_test else "",
        )
    return outcome


def remove_donations(source_id: int, upstream_ids: Iterable[str]) -> IngestOutcome:
    """Mark donations removed (kept for audit); every total and board drops them.

    A removal that arrives before its donation leaves a tombstone, so the donation is not
    counted when it shows up later (from a backfill, say).
    """
    ids = list(dict.fromkeys(upstream_ids))
    if not ids:
        return IngestOutcome()
    now = timezone.now()
    with transaction.atomic():
        source = Source.objects.select_related("campaign").get(pk=source_id)
        found = {
            d.upstream_id: d
            for d in Donation.objects.select_for_update().filter(source=source, upstream_id__in=ids)
        }
        removed = []
        for upstream_id in ids:
            donation = found.get(upstream_id)
            if donation is None:
                Donation.objects.get_or_create(
                    source=source,
                    upstream_id=upstream_id,
                    defaults={
                        "campaign_id": source.campaign_id,
                        "amount": 0,
                        "currency": source.campaign.currency,
                        "donated_at": now,
                        "removed": True,
                        "removed_at": now,
                    },
                )
                continue
            if donation.removed:
                continue
            donation.removed, donation.removed_at = True, now
            donation.save(update_fields=["removed", "removed_at"])
            removed.append(donation)
        from fundboard.incentives.services import release_donations

        release_donations(source.campaign, removed)  # refunds give incentives' money back
        outcome = IngestOutcome(removed=removed, changed=bool(removed))
        if removed:
            commit_change(source.campaign, outcome)
    if removed:
        metrics.DONATIONS_REMOVED.labels(source.campaign.slug, source.pk).inc(len(removed))
        # One line per call (a reconciliation may remove hundreds); each donation at DEBUG.
        log.info(
            "removed %s donation%s campaign=%s source=%s",
            len(removed),
            "" if len(removed) == 1 else "s",
            source.campaign.slug,
            source.pk,
        )
    for donation in removed:
        log.debug(
            "removed donation campaign=%s source=%s upstream_id=%s",
            source.campaign.slug,
            source.pk,
            donation.upstream_id,
        )
    return outcome
