"""Connects ingest's after-commit signals to the webhooks outbox.

Each handler runs after the change committed, in the thread that committed it, and writes
the deliveries in its own transaction. A failure here is logged and swallowed: webhooks
must never break ingestion or the live broadcast (connected before this, in app order).
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from fundboard.ingest import signals

from . import milestones
from .models import EventType, WebhookEndpoint
from .outbox import Event, enqueue, forget_endpoints, subscribed_endpoints
from .payloads import donation_data, removal_data

__all__ = ["connect"]

log = logging.getLogger("fundboard.webhooks")


def _never_raises(handler):
    @functools.wraps(handler)
    def wrapped(sender, campaign=None, **kwargs):
        try:
            handler(sender, campaign=campaign, **kwargs)
        except Exception:
            log.exception(
                "webhook events not written campaign=%s handler=%s",
                getattr(campaign, "pk", None),
                handler.__name__,
            )

    return wrapped


@_never_raises
def _donations_added(sender, campaign, donations, version, **kwargs):
    # Test donations (the dashboard's test alerts) never count: they are not announced.
    real = [d for d in donations if not d.is_test]
    endpoints = subscribed_endpoints(campaign.pk, [EventType.DONATION]) if real else []
    if not endpoints:
        return
    oldest_alert = timezone.now() - timedelta(seconds=settings.FUNDBOARD["ALERT_MAX_AGE_SECONDS"])
    events = [
        Event(
            EventType.DONATION,
            donation_data(d, campaign),
            version,
            quiet_for_discord=d.donated_at < oldest_alert,
        )
        for d in real
    ]
    enqueue(campaign, events, endpoints)


@_never_raises
def _donations_removed(sender, campaign, donations, version, **kwargs):
    real = [d for d in donations if not d.is_test]
    endpoints = subscribed_endpoints(campaign.pk, [EventType.DONATION_REMOVED]) if real else []
    if endpoints:
        events = [Event(EventType.DONATION_REMOVED, removal_data(d), version) for d in real]
        enqueue(campaign, events, endpoints)


@_never_raises
def _campaign_changed(sender, campaign, version, **kwargs):
    milestones.announce_crossings(campaign.pk, version)


def _endpoint_saved(sender, instance, created, raw=False, **kwargs):
    forget_endpoints(instance.campaign_id)
    # The campaign's milestone state starts now: earlier milestones are not this endpoint's.
    if created and not raw:
        milestones.ensure_state(instance.campaign_id)


def _endpoint_deleted(sender, instance, **kwargs):
    forget_endpoints(instance.campaign_id)


def connect() -> None:
    signals.donations_added.connect(_donations_added, dispatch_uid="webhooks.donations_added")
    signals.donations_removed.connect(_donations_removed, dispatch_uid="webhooks.donations_removed")
    signals.campaign_changed.connect(_campaign_changed, dispatch_uid="webhooks.campaign_changed")
    post_save.connect(_endpoint_saved, sender=WebhookEndpoint, dispatch_uid="webhooks.endpoint")
    post_delete.connect(
        _endpoint_deleted, sender=WebhookEndpoint, dispatch_uid="webhooks.endpoint_deleted"
    )
