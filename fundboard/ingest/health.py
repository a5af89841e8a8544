"""A source's health: what its last poll or stream did, shown on the dashboard.

Only the fields that differ are written, and a change is announced after the commit (a
changed status also changes the public snapshot, which lists each source's status).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from fundboard.campaigns.models import Campaign, Source, SourceStatus
from fundboard.ops import metrics
from fundboard.ops.logging import redact
from fundboard.providers.cleaning import upstream_text
from fundboard.providers.errors import AuthError, PermissionDenied, RateLimited

from . import signals

__all__ = [
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


def _save_health(source: Source, fields: dict[str, Any]) -> bool:
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
    fields: dict[str, Any] = {"status": SourceStatus.OK, "consecutive_failures": 0}
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
    failures = source.consecutive_failures + 1
    fields: dict[str, Any] = {
        "status": status,
        "last_error": message,
        "last_error_at": timezone.now(),
        "consecutive_failures": failures,
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
        failures,
        message,
    )
    return failures


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
