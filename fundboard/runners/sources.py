"""The stream runners' database edge: what a runner reads of its source, and what it writes.

Everything here is plain synchronous ORM code, run from the event loop through `orm.db(...)`
(Channels' `database_sync_to_async`, which closes stale connections before and after).
The runners never touch the ORM any other way.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import DatabaseError
from django.db.models import Max, QuerySet, Sum

from fundboard.campaigns.models import Source, SourceKind
from fundboard.ingest.models import Donation
from fundboard.ingest.services import ingest_donations, record_rejection, remove_donations
from fundboard.providers.imraising import (
    DonationAdded,
    DonationDeleted,
    EventRejected,
    StreamEvent,
)

__all__ = [
    "StreamSettings",
    "SourceConfig",
    "load_config",
    "SourceGone",
    "enabled_stream_sources",
    "backfill_start",
    "stored_total",
    "stored_not_listed",
    "stored_donor_totals",
    "apply_events",
]

log = logging.getLogger("fundboard.runners")

CENT = Decimal("0.01")


@dataclass(frozen=True)
class StreamSettings:
    """Per-source tuning (seconds), from `Source.options`; listed in runners/__init__.py."""

    read_timeout: float = 45.0
    connect_timeout: float = 10.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    healthy_after: float = 30.0  # a connection that lasted this long resets the backoff
    backfill_overlap: float = 300.0  # backfill from this long before the last donation seen
    backfill_delay: float = 1.0  # if the new stream says nothing, backfill after this anyway
    reconcile_interval: float = 300.0

    @classmethod
    def from_source(cls, source: Any) -> StreamSettings:
        options = source.options or {}
        values = {"reconcile_interval": float(source.effective_poll_interval)}
        for setting in fields(cls):
            if setting.name not in options:
                continue
            try:
                value = float(options[setting.name])
            except (TypeError, ValueError):
                value = math.nan
            if math.isfinite(value) and value > 0:
                values[setting.name] = value
            else:
                log.warning("source=%s ignores option %s=%r", source.pk, setting.name, value)
        return cls(**values)


@dataclass(frozen=True)
class SourceConfig:
    """What a runner needs of its source, read once per connection (outside the loop)."""

    source_id: int
    base_url: str
    api_key: str
    settings: StreamSettings
    currency: str
    starts_at: datetime | None
    ends_at: datetime | None
    last_event_id: str
    fingerprint: tuple[str, ...]  # what, when it changes, restarts the runner
    reconnect_requested_at: datetime | None


def _config(source: Source) -> SourceConfig:
    return SourceConfig(
        source_id=source.pk,
        base_url=source.effective_base_url,
        api_key=source.api_key,
        settings=StreamSettings.from_source(source),
        currency=source.campaign.currency,
        starts_at=source.campaign.starts_at,
        ends_at=source.campaign.ends_at,
        last_event_id=source.last_event_id,
        fingerprint=(source.effective_base_url, source.api_key, repr(source.options)),
        reconnect_requested_at=source.reconnect_requested_at,
    )


# Raised by `load_config` and the health writers when staff removed the source while its
# runner was between two steps: not an error, the supervisor stops the runner at its next scan.
SourceGone = Source.DoesNotExist


def load_config(source_id: int) -> SourceConfig:
    return _config(Source.objects.select_related("campaign").get(pk=source_id))


def enabled_stream_sources() -> dict[int, SourceConfig]:
    sources = Source.objects.select_related("campaign").filter(
        kind=SourceKind.IMRAISING, enabled=True
    )
    return {source.pk: _config(source) for source in sources}


def backfill_start(source_id: int, overlap: float, fallback: datetime | None) -> datetime | None:
    """A little before the newest donation seen; the campaign start when none was seen yet."""
    latest = Donation.objects.filter(source_id=source_id, is_test=False, removed=False).aggregate(
        latest=Max("donated_at")
    )["latest"]
    if latest is None:
        return fallback
    return latest - timedelta(seconds=overlap)


def _stored(config: SourceConfig) -> QuerySet[Donation]:
    qs = Donation.objects.counted().filter(source_id=config.source_id, currency=config.currency)
    if config.starts_at:
        qs = qs.filter(donated_at__gte=config.starts_at)
    if config.ends_at:
        qs = qs.filter(donated_at__lt=config.ends_at)
    return qs


def stored_total(config: SourceConfig) -> Decimal:
    total = _stored(config).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    return Decimal(total).quantize(CENT)  # SQLite's SUM loses the scale


def stored_not_listed(
    config: SourceConfig, listed: set[str], before: datetime
) -> dict[str, Decimal]:
    """Counted donations (upstream id -> amount) older than `before` that were not listed."""
    rows = _stored(config).filter(created_at__lt=before).values_list("upstream_id", "amount")
    return {upstream_id: amount for upstream_id, amount in rows if upstream_id not in listed}


def stored_donor_totals(config: SourceConfig, names: list[str]) -> dict[str, Decimal]:
    """What we stored per donor name; `names` are cleaned as stored names are (clean_name)."""
    rows = (
        _stored(config)
        .filter(display_name__in=[name for name in names if name])
        .values("display_name")
        .annotate(total=Sum("amount"))
    )
    return {row["display_name"]: Decimal(row["total"]).quantize(CENT) for row in rows}


def _runs(events: Sequence[StreamEvent]) -> list[Sequence[StreamEvent]]:
    """Consecutive events of one type, in order."""
    runs: list[Sequence[StreamEvent]] = []
    start = 0
    for index in range(1, len(events) + 1):
        if index == len(events) or type(events[index]) is not type(events[start]):
            runs.append(events[start:index])
            start = index
    return runs


def apply_events(source_id: int, events: Sequence[StreamEvent]) -> None:
    """A burst of stream events into the database, in order, a run of one type per call.

    Consecutive adds become one `ingest_donations` (one transaction, one `donation` event
    each, in order), consecutive deletes one `remove_donations`. The stream's cursor is
    stored when it gave ids. SourceGone when staff removed the source, even mid-write.
    """
    try:
        _apply_events(source_id, events)
    except DatabaseError:
        # A deletion that won the race against this write (campaigns/deletion.py) fails it
        # at commit, on PostgreSQL: the source is gone, as if found gone before.
        if Source.objects.filter(pk=source_id).exists():
            raise
        raise SourceGone(f"source {source_id} was removed while it was written") from None


def _apply_events(source_id: int, events: Sequence[StreamEvent]) -> None:
    for run in _runs(events):
        if isinstance(run[0], DonationAdded):
            ingest_donations(source_id, [e.record for e in run if isinstance(e, DonationAdded)])
        elif isinstance(run[0], DonationDeleted):
            removed = [e.record.upstream_id for e in run if isinstance(e, DonationDeleted)]
            remove_donations(source_id, removed)
        else:
            for event in run:
                if isinstance(event, EventRejected):
                    record_rejection(source_id, event.reason)
    last_id = next((e.event_id for e in reversed(events) if e.event_id), "")
    if last_id:
        Source.objects.filter(pk=source_id).update(last_event_id=last_id[:200])
