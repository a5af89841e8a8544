"""Which endpoints have something due, and the lease that lets one worker deliver to one.

Claiming is a conditional UPDATE of the endpoint's `lease_until` / `lease_token`, atomic on
PostgreSQL and SQLite alike, so any number of workers on any hosts deliver to one endpoint
one at a time, and no row lock is held while a request is in flight.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from .policy import DeliveryPolicy

__all__ = ["due_endpoint_ids", "claim_endpoint", "renew_lease", "release_lease"]


def due_endpoint_ids(now: datetime | None = None) -> list[int]:
    """Enabled endpoints, free or with an expired lease, that have a delivery due."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=now,
            endpoint__enabled=True,
        )
        .filter(Q(endpoint__lease_until__isnull=True) | Q(endpoint__lease_until__lt=now))
        .values_list("endpoint_id", flat=True)
        .distinct()
        .order_by("endpoint_id")
    )


def claim_endpoint(endpoint_id: int, now: datetime, policy: DeliveryPolicy) -> str | None:
    """Take the endpoint's lease if it is free or expired; the lease token, or None."""
    token = uuid.uuid4().hex
    taken = (
        WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + policy.lease, lease_token=token)
    )
    return token if taken else None


def renew_lease(endpoint_id: int, token: str, now: datetime, policy: DeliveryPolicy) -> bool:
    """Extend our lease; False when it was lost (we were too slow and another took over)."""
    return bool(
        WebhookEndpoint.objects.filter(pk=endpoint_id, lease_token=token).update(
            lease_until=now + policy.lease
        )
    )


def release_lease(endpoint_id: int, token: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id, lease_token=token).update(
        lease_until=None, lease_token=""
    )
