"""Storing what one poll found: the reported totals, leaderboard entries, new donations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from fundboard.campaigns.models import Source
from fundboard.providers.records import EntryRecord, PollResult, TotalsRecord

from .changes import IngestOutcome, commit_change
from .donations import store_new_donations
from .health import record_rejection, record_success
from .models import LeaderboardEntry

__all__ = ["apply_poll_result"]


ENTRY_FIELDS = [
    "name", "team_name", "raised", "goal", "currency", "donation_count", "url", "blocked",
]  # fmt: skip


def _entry_values(record: EntryRecord) -> dict[str, Any]:
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
                stored = store_new_donations(source, result.donations)
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
