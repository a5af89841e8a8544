"""Writing deliveries: one row per subscribed endpoint and event, in each endpoint's order.

Called from ingest's after-commit signals (receivers.py), so a delivery is written once the
change it describes is committed; from then on the row is the truth (delivery.py sends it
until it is delivered or given up, across retries and worker restarts).

Order: each endpoint's deliveries are numbered (`sequence`) while its row is locked, so two
processes enqueueing at once number them one after the other and commit in that order; a
delivery is sent only after every lower-numbered one of its endpoint was delivered or given
up. (Ordering by the table's id would not do: on PostgreSQL an id is taken at insert time,
and a later id can commit first.)
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from fundboard.campaigns.models import Campaign

from .models import EventType, WebhookDelivery, WebhookEndpoint
from .payloads import encode_body, event_document

__all__ = [
    "Event",
    "enqueue",
    "redeliver",
    "subscribed_endpoints",
    "forget_endpoints",
    "kick",
]

log = logging.getLogger("fundboard.webhooks")


@dataclass
class Event:
    """One thing that happened to a campaign, before it is encoded for each endpoint."""

    type: str
    data: dict
    version: int
    # Discord endpoints skip it (a donation too old to alert on: history, a backfill).
    quiet_for_discord: bool = False


# Which endpoints a campaign has, asked after every ingest commit: remembered per process
# for a second, so a campaign without webhooks costs ingest no query per commit (the stream
# path commits once per donation). An endpoint created, changed or deleted in another
# process is seen within that second; in this process at once (forget_endpoints).
ENDPOINTS_CACHE_SECONDS = 1.0
_endpoints_cache: dict[int, tuple[float, list[WebhookEndpoint]]] = {}


def _enabled_endpoints(campaign_id: int) -> list[WebhookEndpoint]:
    now = time.monotonic()
    cached = _endpoints_cache.get(campaign_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    endpoints = list(
        WebhookEndpoint.objects.filter(campaign_id=campaign_id, enabled=True).order_by("pk")
    )
    _endpoints_cache[campaign_id] = (now + ENDPOINTS_CACHE_SECONDS, endpoints)
    return endpoints


def forget_endpoints(campaign_id: int) -> None:
    _endpoints_cache.pop(campaign_id, None)


def subscribed_endpoints(campaign_id: int, events: Iterable[str]) -> list[WebhookEndpoint]:
    wanted = set(events)
    return [e for e in _enabled_endpoints(campaign_id) if wanted & set(e.events or [])]


def enqueue(
    campaign: Campaign, events: Sequence[Event], endpoints: Sequence[WebhookEndpoint]
) -> list[WebhookDelivery]:
    """Write the deliveries of `events` for each endpoint subscribed to them; then wake the
    delivery workers. Each event has one idempotency id, the same for every endpoint."""
    now = timezone.now()
    event_ids = [str(uuid.uuid4()) for _ in events]
    created: list[WebhookDelivery] = []
    with transaction.atomic():
        for endpoint in endpoints:
            rows = [
                _delivery(endpoint, campaign, event, event_id, now)
                for event, event_id in zip(events, event_ids, strict=True)
                if _wants(endpoint, event)
            ]
            if rows:
                created += _append(endpoint.pk, rows)
    if created:
        transaction.on_commit(lambda: kick({d.endpoint_id for d in created}))
    return created


def _wants(endpoint: WebhookEndpoint, event: Event) -> bool:
    if event.quiet_for_discord and endpoint.format == "discord":
        return False
    return event.type == EventType.TEST or endpoint.subscribes_to(event.type)


def _delivery(endpoint, campaign, event: Event, event_id: str, now) -> WebhookDelivery:
    document = event_document(event_id, event.type, campaign, event.version, now, event.data)
    return WebhookDelivery(
        endpoint=endpoint,
        event=event.type,
        event_id=event_id,
        body=encode_body(document, endpoint.format),
        next_attempt_at=now,
        created_at=now,
    )


def _append(endpoint_id: int, rows: list[WebhookDelivery]) -> list[WebhookDelivery]:
    """Number `rows` after the endpoint's last delivery and store them (in a transaction).

    The endpoint's row lock serialises enqueuers on PostgreSQL; SQLite's IMMEDIATE
    transactions serialise every writer already.
    """
    if not WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).exists():
        return []  # deleted since it was looked up: nothing to deliver to
    last = WebhookDelivery.objects.filter(endpoint_id=endpoint_id).aggregate(last=Max("sequence"))
    start = (last["last"] or 0) + 1
    for offset, row in enumerate(rows):
        row.sequence = start + offset
    return WebhookDelivery.objects.bulk_create(rows)


def redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again, at the end of its endpoint's order: the same body and the
    same idempotency id (a receiver that has it already can tell it is a copy)."""
    now = timezone.now()
    copy = WebhookDelivery(
        endpoint_id=delivery.endpoint_id,
        event=delivery.event,
        event_id=delivery.event_id,
        body=delivery.body,
        next_attempt_at=now,
        created_at=now,
    )
    with transaction.atomic():
        (copy,) = _append(delivery.endpoint_id, [copy])
    transaction.on_commit(lambda: kick({copy.endpoint_id}))
    return copy


# --- waking the workers -------------------------------------------------------------------------

_local_wakers: list = []


def on_enqueue(callback) -> None:
    """Embedded mode's runner asks to be woken when deliveries are written in this process."""
    _local_wakers.append(callback)


def off_enqueue(callback) -> None:
    if callback in _local_wakers:
        _local_wakers.remove(callback)


def kick(endpoint_ids: set[int]) -> None:
    """Deliveries were written: wake this process's runner and, with Redis, queue a Celery
    task per endpoint (beat's sweep would find them within seconds anyway)."""
    for wake in list(_local_wakers):
        try:
            wake()
        except RuntimeError:  # the runner's loop closed (a server stopping)
            off_enqueue(wake)
    if not settings.REDIS_URL:
        return
    try:
        from .tasks import KICK_EXPIRES_SECONDS, deliver_endpoint_task

        for endpoint_id in sorted(endpoint_ids):
            deliver_endpoint_task.apply_async((endpoint_id,), expires=KICK_EXPIRES_SECONDS)
    except Exception as error:  # the rows are written; the sweep delivers them
        log.warning("could not queue webhook delivery tasks: %s", type(error).__name__)
