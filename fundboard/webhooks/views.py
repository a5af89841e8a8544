"""The staff page of a campaign's webhooks: endpoints, recent deliveries, redeliver, test.

Staff login and permissions as for the rest of the dashboard (`staff_permission_required`):
viewing needs `webhooks.view_webhookendpoint`, the two actions `webhooks.send_webhooks`
(both given to Organisers only). Actions are POST forms with a CSRF token; the page has no
script. A webhook's secret is never shown, and its URL only up to the host (the path may
hold a token, as Discord's do); the admin edits endpoints.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from fundboard.campaigns.models import Campaign
from fundboard.dashboard.access import staff_permission_required

from .addresses import shown_url
from .models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint
from .outbox import Event, enqueue
from .outbox import redeliver as redeliver_delivery
from .payloads import test_data

log = logging.getLogger("fundboard.webhooks")

RECENT_DELIVERIES = 50


def _campaign(slug: str) -> Campaign:
    return get_object_or_404(Campaign, slug=slug)


def _back(slug: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("webhooks:campaign", args=[slug]))


def _endpoint_rows(campaign: Campaign) -> list[dict]:
    endpoints = campaign.webhooks.annotate(
        pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
        failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
    ).order_by("name")
    labels = dict(EventType.choices)
    return [
        {
            "endpoint": endpoint,
            "address": shown_url(endpoint.url),
            "events": [labels.get(event, event) for event in endpoint.events or []],
            "secret_set": bool(endpoint.secret),
        }
        for endpoint in endpoints
    ]


@require_GET
@staff_permission_required("webhooks.view_webhookendpoint")
def campaign_webhooks(request, slug):
    campaign = _campaign(slug)
    deliveries = (
        WebhookDelivery.objects.filter(endpoint__campaign=campaign)
        .select_related("endpoint")
        .defer("body")
        .order_by("-created_at", "-id")[:RECENT_DELIVERIES]
    )
    context = {
        "campaign": campaign,
        "endpoints": _endpoint_rows(campaign),
        "deliveries": deliveries,
        "can_send": request.user.has_perm("webhooks.send_webhooks"),
        "can_edit": request.user.has_perm("webhooks.change_webhookendpoint"),
    }
    return render(request, "webhooks/campaign.html", context)


@require_POST
@staff_permission_required("webhooks.send_webhooks")
def redeliver(request, slug, delivery_id):
    campaign = _campaign(slug)
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_id, endpoint__campaign=campaign)
    copy = redeliver_delivery(delivery)
    log.info(
        "webhook redelivery endpoint=%s delivery=%s copy=%s by=%s",
        delivery.endpoint_id,
        delivery.pk,
        copy.pk,
        request.user.get_username(),
    )
    messages.success(request, f"Delivery #{delivery.sequence} queued again as #{copy.sequence}.")
    return _back(slug)


@require_POST
@staff_permission_required("webhooks.send_webhooks")
def send_test(request, slug, endpoint_id):
    campaign = _campaign(slug)
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id, campaign=campaign)
    if not endpoint.enabled:
        messages.error(request, f"{endpoint.name} is disabled: enable it in the admin first.")
        return _back(slug)
    enqueue(campaign, [Event(EventType.TEST, test_data(), campaign.version)], [endpoint])
    log.info("webhook test event endpoint=%s by=%s", endpoint.pk, request.user.get_username())
    messages.success(request, f"Test event queued for {endpoint.name}.")
    return _back(slug)
