"""Recording an attempt's outcome: delivered, retried later, given up, endpoint disabled."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from fundboard.providers.cleaning import upstream_text

from .addresses import shown_url
from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from .policy import DeliveryPolicy, backoff_seconds
from .sending import AttemptResult

__all__ = ["record_success", "record_failure"]

log = logging.getLogger("fundboard.webhooks")


def record_success(delivery: WebhookDelivery, result: AttemptResult, now: datetime) -> None:
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


def record_failure(
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
    since = since or now  # cleared meanwhile (a redelivery succeeded): failing from now on
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
