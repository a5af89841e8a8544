"""Webhook endpoints, their outbox of deliveries, and what each campaign has announced.

The rows are the truth: a delivery is written before anything is sent, keeps its
idempotency id and body for every attempt, and is finished only when the endpoint
answered 2xx or the delivery was given up. A worker "claims" an endpoint with a lease
(`lease_until`); a worker that dies leaves the lease to expire and another takes over.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from fundboard.campaigns.models import Campaign

from .addresses import WEBHOOK_URL_MAX_LENGTH, validate_webhook_url

__all__ = [
    "EventType",
    "WebhookFormat",
    "DeliveryStatus",
    "WebhookEndpoint",
    "WebhookDelivery",
    "MilestoneState",
    "SECRET_MIN_LENGTH",
]

SECRET_MIN_LENGTH = 16
# Written only by the delivery workers (delivery.py), with UPDATE statements.
WORKER_FIELDS = ("lease_until", "lease_token")


class EventType(models.TextChoices):
    DONATION = "donation", "Donation"
    DONATION_REMOVED = "donation_removed", "Donation removed"
    MILESTONE_REACHED = "milestone_reached", "Milestone reached"
    GOAL_REACHED = "goal_reached", "Goal reached"
    # Sent only by the dashboard's "send test event", whatever an endpoint subscribed to.
    TEST = "test", "Test event"


# What an endpoint may subscribe to (the test event always goes to the endpoint it tests).
SUBSCRIBABLE = [e.value for e in EventType if e != EventType.TEST]


class WebhookFormat(models.TextChoices):
    JSON = "json", "Fundboard JSON"
    DISCORD = "discord", "Discord (content and embeds)"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Given up"


def _validate_events(value) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Choose at least one event.")
    unknown = [v for v in value if v not in SUBSCRIBABLE]
    if unknown:
        raise ValidationError(f"Unknown events: {', '.join(map(str, unknown))[:200]}")


def _all_events() -> list[str]:
    return list(SUBSCRIBABLE)


class WebhookEndpoint(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=100, help_text="For staff: what receives these events.")
    url = models.CharField(
        max_length=WEBHOOK_URL_MAX_LENGTH,
        validators=[validate_webhook_url],
        help_text="http:// or https:// address that receives a POST per event.",
    )
    events = models.JSONField(default=_all_events, validators=[_validate_events])
    format = models.CharField(
        max_length=10, choices=WebhookFormat.choices, default=WebhookFormat.JSON
    )
    # Write-only, like the sources' API keys: never rendered, serialised or logged.
    secret = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # Set by the first failure after a success; an endpoint failing for a day is disabled.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    # A worker delivering to this endpoint holds it until then (see delivery.claim_endpoint).
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "name"], name="webhook_name_unique_in_campaign"
            )
        ]
        permissions = [
            ("send_webhooks", "Can redeliver webhook deliveries and send test events"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # A form saves every field it loaded; the lease belongs to the delivery workers, and
        # writing back a stale one would let two workers deliver at once.
        if self.pk and not kwargs.get("update_fields") and not self._state.adding:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in WORKER_FIELDS
            ]
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        if self.secret and len(self.secret) < SECRET_MIN_LENGTH:
            raise ValidationError({"secret": f"Use at least {SECRET_MIN_LENGTH} characters."})

    def subscribes_to(self, event: str) -> bool:
        return event in (self.events or [])


class WebhookDelivery(models.Model):
    """One event for one endpoint: the outbox row, retried until delivered or given up."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    sequence = models.BigIntegerField()
    event = models.CharField(max_length=30, choices=EventType.choices)
    # The idempotency id: the body's `id` and the Fundboard-Delivery header. A redelivery
    # keeps it, so a receiver that stored it once can ignore the copy.
    event_id = models.UUIDField(default=uuid.uuid4)
    body = models.TextField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-sequence"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "sequence"], name="webhook_delivery_sequence_unique"
            )
        ]
        indexes = [
            # The delivery loop's query: each endpoint's oldest pending delivery.
            models.Index(
                fields=["endpoint", "sequence"],
                name="webhook_pending_idx",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_due_idx",
                condition=Q(status="pending"),
            ),
            # Pruning finished deliveries after RETENTION (delivery.prune_finished).
            models.Index(
                fields=["finished_at"],
                name="webhook_finished_idx",
                condition=~Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.sequence} to {self.endpoint_id}"


class MilestoneState(models.Model):
    """What the webhooks of a campaign have seen: the total at the last change, and which
    milestones (and the goal) were announced, so each is announced once, ever: a refund
    that drops below a milestone and the next gift that crosses it again stay silent."""

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, related_name="webhook_milestones"
    )
    last_total = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal("0"))
    # Amounts as "5000.00" strings.
    announced = models.JSONField(default=list)
    goal_announced = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"milestones of campaign {self.campaign_id}: total {self.last_total}"
