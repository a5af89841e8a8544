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
"""

from __future__ import annotations

import functools
import logging
import random
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import certifi
import httpx
from django.db.models import Q
from django.utils import timezone

from fundboard.ops.logging import redact
from fundboard.providers.cleaning import upstream_text
from fundboard.providers.http import USER_AGENT

from .addresses import host_allowed, shown_url
from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from .signing import SIGNATURE_HEADER, signature_header

__all__ = [
    "DeliveryPolicy",
    "DEFAULT_POLICY",
    "AttemptResult",
    "backoff_seconds",
    "due_endpoint_ids",
    "deliver_endpoint",
    "deliver_due",
    "prune_finished",
    "prune_if_due",
]

log = logging.getLogger("fundboard.webhooks")

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class DeliveryPolicy:
    connect_timeout: float = 5.0
    # The whole exchange: sending the body, the reply's headers and the bounded reply body.
    timeout: float = 10.0
    reply_max_bytes: int = 4096
    backoff_base: float = 10.0
    backoff_cap: float = 3600.0
    give_up_after: timedelta = timedelta(hours=24)
    disable_after: timedelta = timedelta(hours=24)
    # Longer than one attempt can take (timeout), renewed before each attempt.
    lease: timedelta = timedelta(seconds=60)
    # What one claim sends at most before it lets the endpoint go: a Celery worker child
    # (shared with the pollers) is not held for long by one slow endpoint; the next sweep
    # or kick goes on where it stopped.
    batch: int = 50
    claim_seconds: float = 30.0


DEFAULT_POLICY = DeliveryPolicy()


@dataclass
class AttemptResult:
    ok: bool
    status_code: int | None = None
    error: str = ""


def backoff_seconds(attempts: int, policy: DeliveryPolicy, rng=random.random) -> float:
    """Full jitter: uniform in [1, min(cap, base * 2^(attempts-1))] seconds."""
    ceiling = min(policy.backoff_cap, policy.backoff_base * 2 ** max(attempts - 1, 0))
    return max(1.0, rng() * ceiling)


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


# --- which endpoints, and claiming one ------------------------------------------------------------


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


def _renew(endpoint_id: int, token: str, now: datetime, policy: DeliveryPolicy) -> bool:
    """Extend our lease; False when it was lost (we were too slow and another took over)."""
    return bool(
        WebhookEndpoint.objects.filter(pk=endpoint_id, lease_token=token).update(
            lease_until=now + policy.lease
        )
    )


def _release(endpoint_id: int, token: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id, lease_token=token).update(
        lease_until=None, lease_token=""
    )


# --- delivering -------------------------------------------------------------------------------


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
        with _client(policy) as client:
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
        _release(endpoint_id, token)
    return attempts


def _next_due(endpoint_id: int, token: str, now: datetime, policy: DeliveryPolicy):
    """The endpoint's oldest pending delivery if it is due and we still hold the lease."""
    if not _renew(endpoint_id, token, now, policy):
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


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())


def _client(policy: DeliveryPolicy) -> httpx.Client:
    # No redirects: the signed body goes to the address staff configured, nowhere else.
    return httpx.Client(
        timeout=httpx.Timeout(policy.timeout, connect=policy.connect_timeout),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        verify=_tls_context(),
    )


def _attempt(client, delivery: WebhookDelivery, clock: Clock, policy: DeliveryPolicy) -> bool:
    """One attempt, recorded before and after the request; True when delivered."""
    started = clock()
    # Counted before the request: an attempt cut short by a dying worker still counts.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=delivery.attempts + 1, last_attempt_at=started
    )
    delivery.attempts += 1
    result = send(client, delivery, policy)
    if result.ok:
        _succeeded(delivery, result, clock())
    else:
        _failed(delivery, result, clock(), policy)
    return result.ok


def send(client, delivery: WebhookDelivery, policy: DeliveryPolicy) -> AttemptResult:
    """POST the delivery's body, signed now; the outcome (never raises)."""
    endpoint = delivery.endpoint
    if not host_allowed(endpoint.url):
        return AttemptResult(False, error="host not in FUNDBOARD_WEBHOOK_HOSTS")
    body = delivery.body.encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        # Signed with the wall clock, whatever drives the schedule: receivers compare it
        # with theirs (the replay window).
        SIGNATURE_HEADER: signature_header(endpoint.secret, int(time.time()), body),
        "Fundboard-Delivery": str(delivery.event_id),
        "Fundboard-Event": delivery.event,
    }
    deadline = time.monotonic() + policy.timeout
    try:
        with client.stream("POST", endpoint.url, content=body, headers=headers) as response:
            excerpt = _read_bounded(response, policy.reply_max_bytes, deadline)
    except httpx.TimeoutException:
        return AttemptResult(False, error="timed out")
    except httpx.HTTPError as error:
        return AttemptResult(False, error=_error_text(error, endpoint))
    except Exception as error:  # an address httpx refuses, say: a failure, retried later
        log.warning("webhook could not be sent endpoint=%s error=%r", endpoint.pk, type(error))
        return AttemptResult(False, error=f"could not send: {type(error).__name__}")
    if 200 <= response.status_code < 300:
        return AttemptResult(True, response.status_code)
    reason = f"HTTP {response.status_code}"
    if 300 <= response.status_code < 400:
        reason += " (redirects are not followed)"
    elif excerpt:
        reason += f": {excerpt}"
    return AttemptResult(False, response.status_code, _error_text(reason, endpoint))


def _read_bounded(response: httpx.Response, limit: int, deadline: float) -> str:
    """At most `limit` bytes of the reply, read until the deadline; as one line of text."""
    data = b""
    for chunk in response.iter_raw():
        data += chunk
        if len(data) >= limit or time.monotonic() > deadline:
            break
    return data[:limit].decode("utf-8", "replace")


def _error_text(error, endpoint: WebhookEndpoint) -> str:
    """Why an attempt failed, for staff and logs: without the secret or the full URL."""
    text = str(error) or type(error).__name__
    text = redact(text, endpoint.secret).replace(endpoint.url, shown_url(endpoint.url))
    return upstream_text(text, 200)


def _succeeded(delivery: WebhookDelivery, result: AttemptResult, now: datetime) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SUCCEEDED,
        last_status_code=result.status_code,
        last_error="",
        finished_at=now,
    )
    WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, failing_since__isnull=False).update(
        failing_since=None
    )
    log.info(
        "webhook delivered endpoint=%s delivery=%s event=%s attempts=%s status=%s",
        delivery.endpoint_id,
        delivery.pk,
        delivery.event,
        delivery.attempts,
        result.status_code,
    )


def _failed(
    delivery: WebhookDelivery, result: AttemptResult, now: datetime, policy: DeliveryPolicy
) -> None:
    retry_at = now + timedelta(seconds=backoff_seconds(delivery.attempts, policy))
    give_up = retry_at - delivery.created_at > policy.give_up_after
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED if give_up else DeliveryStatus.PENDING,
        next_attempt_at=retry_at,
        last_status_code=result.status_code,
        last_error=result.error,
        finished_at=now if give_up else None,
    )
    log.warning(
        "webhook failed endpoint=%s to=%s delivery=%s event=%s attempts=%s error=%s %s",
        delivery.endpoint_id,
        shown_url(delivery.endpoint.url),
        delivery.pk,
        delivery.event,
        delivery.attempts,
        result.error,
        "gave_up=1" if give_up else f"retry_at={retry_at.isoformat()}",
    )
    _note_endpoint_failure(delivery.endpoint, result, now, retry_at, policy)


def _note_endpoint_failure(
    endpoint: WebhookEndpoint,
    result: AttemptResult,
    now: datetime,
    retry_at: datetime,
    policy: DeliveryPolicy,
) -> None:
    """Remember since when the endpoint fails; disable it when it will have failed for a
    day by its next retry (so the delivery given up at 24 hours disables it with it)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
        failing_since=now
    )
    since = WebhookEndpoint.objects.values_list("failing_since", flat=True).get(pk=endpoint.pk)
    if retry_at - since <= policy.disable_after:
        return
    reason = upstream_text(
        f"Disabled at {now:%Y-%m-%d %H:%M} UTC: every delivery failed since "
        f"{since:%Y-%m-%d %H:%M} UTC (last: {result.error})",
        300,
    )
    disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_reason=reason
    )
    if disabled:
        log.warning(
            "webhook endpoint disabled endpoint=%s campaign=%s to=%s reason=%s",
            endpoint.pk,
            endpoint.campaign.slug,
            shown_url(endpoint.url),
            reason,
        )
