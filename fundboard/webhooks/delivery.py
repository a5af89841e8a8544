"""Sending deliveries: the one delivery function of both modes.

`deliver_endpoint(endpoint_id)` claims an endpoint and sends its pending deliveries in
order, oldest first, stopping at the first that fails (a later delivery waits until the
earlier one is delivered or given up). Celery runs it per endpoint (tasks.py), the
embedded runner in a thread (runner.py); `due_endpoint_ids` says which endpoints have
something to send.

Claiming: a conditional UPDATE of the endpoint's lease (`lease_until`, `lease_token`),
atomic on PostgreSQL and SQLite alike, so any number of workers on any hosts deliver to one
endpoint one at a time. No transaction or row lock is held while a request is in flight.
A worker that dies mid-request leaves its lease to expire (LEASE, renewed before each
request); its delivery is still pending in the table and goes out again afterwards: at
least once.

Retries: a failure (no 2xx within the timeouts, a redirect included: none is followed)
waits a random time between 0 and min(cap, base * 2^(attempts-1)) seconds ("full jitter":
many endpoints failing together do not retry in lockstep), up to 24 hours after the
delivery was written; then it is given up (failed) and the next one goes. An endpoint
failing without a success for 24 hours (its next retry would be more than a day after its
first failure) is disabled, with the reason shown to staff and logged.

Every time comparison uses `clock()`, so tests drive a day of retries without waiting.

The parts: `policy` (the numbers and the backoff), `endpoint_lease` (what is due, claiming),
`sending` (one HTTP attempt), `outcomes` (recording it), `retention` (pruning old rows).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import httpx
from django.utils import timezone

from .endpoint_lease import claim_endpoint, due_endpoint_ids, release_lease, renew_lease
from .models import DeliveryStatus, WebhookDelivery
from .outcomes import record_failure, record_success
from .policy import DEFAULT_POLICY, DeliveryPolicy
from .sending import http_client, send

__all__ = ["deliver_endpoint", "deliver_due"]

Clock = Callable[[], datetime]


def deliver_due(*, clock: Clock = timezone.now, policy: DeliveryPolicy = DEFAULT_POLICY) -> int:
    """One round over every endpoint with something due, one after the other; attempts made."""
    return sum(
        deliver_endpoint(endpoint_id, clock=clock, policy=policy)
        for endpoint_id in due_endpoint_ids(clock())
    )


def deliver_endpoint(
    endpoint_id: int, *, clock: Clock = timezone.now, policy: DeliveryPolicy = DEFAULT_POLICY
) -> int:
    """Send the endpoint's due deliveries in order while they succeed; attempts made."""
    token = claim_endpoint(endpoint_id, clock(), policy)
    if token is None:
        return 0
    attempts, began = 0, time.monotonic()
    try:
        with http_client(policy) as client:
            for _ in range(policy.batch):
                if time.monotonic() - began > policy.claim_seconds:
                    break
                delivery = _next_due(endpoint_id, token, clock(), policy)
                if delivery is None:
                    break
                attempts += 1
                if not _attempt(client, delivery, clock, policy):
                    break
    finally:
        release_lease(endpoint_id, token)
    return attempts


def _next_due(
    endpoint_id: int, token: str, now: datetime, policy: DeliveryPolicy
) -> WebhookDelivery | None:
    """The endpoint's oldest pending delivery if it is due and we still hold the lease."""
    if not renew_lease(endpoint_id, token, now, policy):
        return None
    head = (
        WebhookDelivery.objects.select_related("endpoint", "endpoint__campaign")
        .filter(endpoint_id=endpoint_id, status=DeliveryStatus.PENDING)
        .order_by("sequence")
        .first()
    )
    if head is None or head.next_attempt_at > now or not head.endpoint.enabled:
        return None
    return head


def _attempt(
    client: httpx.Client, delivery: WebhookDelivery, clock: Clock, policy: DeliveryPolicy
) -> bool:
    """One attempt, recorded before and after the request; True when delivered."""
    started = clock()
    # Counted before the request: an attempt cut short by a dying worker still counts.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=delivery.attempts + 1, last_attempt_at=started
    )
    delivery.attempts += 1
    result = send(client, delivery, policy)
    if result.ok:
        record_success(delivery, result, clock())
    else:
        record_failure(delivery, result, clock(), policy)
    return result.ok
