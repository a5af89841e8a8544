"""Deleting finished deliveries once the staff page no longer needs them."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.utils import timezone

from .models import DeliveryStatus, WebhookDelivery

__all__ = ["RETENTION", "prune_finished", "prune_if_due"]

# Delivered and given-up deliveries are kept this long for the staff page, then deleted.
RETENTION = timedelta(days=30)
PRUNE_EVERY_SECONDS = 3600
_last_prune = 0.0


def prune_finished(now: datetime | None = None, limit: int = 5000) -> int:
    """Delete up to `limit` deliveries finished more than RETENTION ago; how many."""
    cutoff = (now or timezone.now()) - RETENTION
    old = WebhookDelivery.objects.exclude(status=DeliveryStatus.PENDING).filter(
        finished_at__lt=cutoff
    )
    ids = list(old.values_list("pk", flat=True)[:limit])
    if ids:
        WebhookDelivery.objects.filter(pk__in=ids).delete()
    return len(ids)


def prune_if_due() -> int:
    """prune_finished at most once an hour in this process (the sweeps call it)."""
    global _last_prune
    if time.monotonic() - _last_prune < PRUNE_EVERY_SECONDS and _last_prune:
        return 0
    _last_prune = time.monotonic()
    return prune_finished()
