"""The one write path for everything the platforms tell us.

Every function here runs in one transaction, is idempotent (the same upstream record twice
is stored once), bumps the campaign's `version` only when something visible changed, and
announces the change through `fundboard.ingest.signals` after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from fundboard.campaigns.models import Campaign, Source, SourceStatus
from fundboard.fx.convert import apply_rates
from fundboard.ops import metrics
from fundboard.ops.logging import redact
from fundboard.providers.cleaning import upstream_text
from fundboard.providers.errors import AuthError, PermissionDenied, RateLimited
from fundboard.providers.records import DonationRecord, EntryRecord, PollResult, TotalsRecord

from . import signals
from .log_summary import ingest_summary
from .models import Donation, LeaderboardEntry

__all__ = [
    "IngestOutcome",
    "commit_change",
    "save_changed_fields",
    "ingest_donations",
    "remove_donations",
    "apply_poll_result",
    "record_success",
    "record_failure",
    "record_rejection",
    "record_drift",
    "status_for_error",
]

log = logging.getLogger("fundboard.ingest")

# last_success_at is refreshed at most this often when nothing else changed, so an
# unchanged poll does not write on every round.
SUCCESS_HEARTBEAT = timedelta(seconds=60)
# How much of an error or a rejection reason a source's health keeps (it is shown on the
# dashboard and may quote an upstream host's words).
HEALTH_TEXT_MAX_LENGTH = 300


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


def _store_new(
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


def _row_fields(row: Donation) -> dict:
    names = [f.attname for f in Donation._meta.concrete_fields if f.attname not in ("id",)]
    return {name: getattr(row, name) for name in names}


def save_changed_fields(instance, wanted: dict) -> dict:
    """Set and save only the fields whose value differs; returns those {name: value}."""
    changed = {name: value for name, value in wanted.items() if getattr(instance, name) != value}
    for name, value in changed.items():
        setattr(instance, name, value)
    if changed:
        instance.save(update_fields=list(changed))
    return changed


def _counts_towards_total(donation: Donation) -> bool:
    return not donation.is_test and not donation.removed


def ingest_donations(source_id: int, records: Sequence[DonationRecord]) -> IngestOutcome:
    """Store donations idempotently (by source + upstream id) and announce the new ones."""
    if not records:
        return IngestOutcome()
    with transaction.atomic():
        source = Source.objects.select_related("campaign").get(pk=source_id)
        added, duplicates, rejected = _store_new(source, records)
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


ENTRY_FIELDS = [
    "name", "team_name", "raised", "goal", "currency", "donation_count", "url", "blocked",
]  # fmt: skip


def _entry_values(record: EntryRecord) -> dict:
    return {name: getattr(record, name) for name in ENTRY_FIELDS}


def _sync_entries(source: Source, entries: Sequence[EntryRecord]) -> bool:
    """Make the stored leaderboard entries of a source equal to `entries`; True if any changed.

    Batched: a P2P event's first poll brings thousands of fundraisers in a few statements.
    """
    stored = {(e.kind, e.upstream_id): e for e in source.entries.all()}
    wanted = {(r.kind, r.upstream_id): r for r in entries}
    created, updated = [], []
    now = timezone.now()
    for key, record in wanted.items():
        values = _entry_values(record)
        entry = stored.get(key)
        if entry is None:
            created.append(
                LeaderboardEntry(
                    source=source, kind=record.kind, upstream_id=record.upstream_id, **values
                )
            )
        elif any(getattr(entry, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(entry, name, value)
            entry.updated_at = now  # bulk_update skips auto_now
            updated.append(entry)
    LeaderboardEntry.objects.bulk_create(created, batch_size=500)
    LeaderboardEntry.objects.bulk_update(updated, [*ENTRY_FIELDS, "updated_at"], batch_size=500)
    gone = [entry.pk for key, entry in stored.items() if key not in wanted]
    if gone:
        LeaderboardEntry.objects.filter(pk__in=gone).delete()
    return bool(created or updated or gone)


def _apply_totals(source: Source, totals: TotalsRecord) -> bool:
    new = (totals.total, totals.count, totals.currency, totals.goal)
    old = (
        source.reported_total,
        source.reported_count,
        source.reported_currency,
        source.reported_goal,
    )
    if new == old:
        return False
    (
        source.reported_total,
        source.reported_count,
        source.reported_currency,
        source.reported_goal,
    ) = new
    source.save(
        update_fields=["reported_total", "reported_count", "reported_currency", "reported_goal"]
    )
    return True


def apply_poll_result(source_id: int, result: PollResult) -> IngestOutcome:
    """Store what one poll found. An unchanged result writes nothing and announces nothing."""
    outcome = IngestOutcome()
    if not result.unchanged:
        with transaction.atomic():
            source = Source.objects.select_related("campaign").select_for_update().get(pk=source_id)
            changed = False
            if result.totals is not None:
                changed |= _apply_totals(source, result.totals)
            if result.entries is not None:
                changed |= _sync_entries(source, result.entries)
            if result.donations:
                stored = _store_new(source, result.donations)
                outcome.added, outcome.duplicates, outcome.rejected = stored
                changed |= bool(outcome.added)
                from fundboard.incentives.services import allocate_donations

                allocate_donations(source.campaign, outcome.added)
            if result.etags and result.etags != source.etags:
                source.etags = result.etags
                source.save(update_fields=["etags"])
            outcome.changed = changed
            if changed:
                commit_change(source.campaign, outcome)
    for reason in [*result.rejected, *outcome.rejected]:
        record_rejection(source_id, reason)
    record_success(source_id)
    return outcome


# --- health -----------------------------------------------------------------------------


def _health_text(text: str, source: Source, max_length: int = HEALTH_TEXT_MAX_LENGTH) -> str:
    """Text for a source's health: without its key, valid, one line, bounded in length."""
    return upstream_text(redact(text, source.api_key), max_length)


def status_for_error(error: BaseException) -> str:
    if isinstance(error, AuthError):
        return SourceStatus.AUTH_ERROR
    if isinstance(error, PermissionDenied):
        return SourceStatus.PERMISSION_ERROR
    if isinstance(error, RateLimited):
        return SourceStatus.RATE_LIMITED
    return SourceStatus.DEGRADED


def _save_health(source: Source, fields: dict) -> bool:
    """Write only the health fields that differ; announce when anything did."""
    changed = {name: value for name, value in fields.items() if getattr(source, name) != value}
    if not changed:
        return False
    Source.objects.filter(pk=source.pk).update(**changed)
    for name, value in changed.items():
        setattr(source, name, value)
    visible = {"status", "last_success_at", "reported_total"} & changed.keys()

    def send() -> None:
        signals.source_health_changed.send(sender=Source, source=source, fields=list(changed))
        if visible and "status" in changed:
            # The public snapshot lists each source's status (stale or not).
            signals.campaign_changed.send(
                sender=Campaign, campaign=source.campaign, version=source.campaign.version
            )

    transaction.on_commit(send)
    return True


def record_success(
    source_id: int,
    *,
    stream_connected: bool | None = None,
    next_poll_at: datetime | None = None,
) -> None:
    source = Source.objects.select_related("campaign").get(pk=source_id)
    now = timezone.now()
    fields: dict = {"status": SourceStatus.OK, "consecutive_failures": 0}
    if (
        source.last_success_at is None
        or now - source.last_success_at >= SUCCESS_HEARTBEAT
        or (source.status != SourceStatus.OK)
    ):
        fields["last_success_at"] = now
    if stream_connected is not None:
        fields["stream_connected"] = stream_connected
    if next_poll_at is not None:
        fields["next_poll_at"] = next_poll_at
    _save_health(source, fields)


def record_failure(
    source_id: int,
    error: BaseException | str,
    *,
    next_poll_at: datetime | None = None,
    stream_connected: bool | None = None,
) -> int:
    """Mark a failed poll or stream; returns the number of consecutive failures so far.

    The source keeps its last good numbers (shown as stale), never zeros.
    """
    source = Source.objects.select_related("campaign").get(pk=source_id)
    message = _health_text(str(error), source) or type(error).__name__
    status = status_for_error(error) if isinstance(error, BaseException) else SourceStatus.DEGRADED
    fields = {
        "status": status,
        "last_error": message,
        "last_error_at": timezone.now(),
        "consecutive_failures": source.consecutive_failures + 1,
    }
    if next_poll_at is not None:
        fields["next_poll_at"] = next_poll_at
    if stream_connected is not None:
        fields["stream_connected"] = stream_connected
    _save_health(source, fields)
    log.warning(
        "source failed campaign=%s source=%s status=%s failures=%s error=%s",
        source.campaign.slug,
        source.pk,
        status,
        fields["consecutive_failures"],
        message,
    )
    return fields["consecutive_failures"]


def record_rejection(source_id: int, reason: str) -> None:
    """A record was rejected: say why in the log and on the source's health."""
    source = Source.objects.select_related("campaign").get(pk=source_id)
    reason = _health_text(reason, source)
    metrics.DONATIONS_REJECTED.labels(source.campaign.slug, source.pk).inc()
    log.warning(
        "rejected record campaign=%s source=%s reason=%s", source.campaign.slug, source.pk, reason
    )
    _save_health(
        source,
        {"rejected_records": source.rejected_records + 1, "last_rejection": reason},
    )


def record_drift(source_id: int, drift: str) -> None:
    """What reconciliation found: upstream's own totals disagree with ours ("" clears it)."""
    source = Source.objects.select_related("campaign").get(pk=source_id)
    drift = _health_text(drift, source, max_length=500)  # our own words, several donors
    if drift and drift != source.drift:
        log.warning("drift campaign=%s source=%s drift=%s", source.campaign.slug, source.pk, drift)
    _save_health(source, {"drift": drift})
