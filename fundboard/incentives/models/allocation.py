from __future__ import annotations

from django.conf import settings
from django.db import models

from fundboard.campaigns.models import Campaign
from fundboard.ingest.models import Donation

from .incentive import Incentive, Option


class Allocation(models.Model):
    """Part (or all) of a donation counted towards an incentive (and, in a bid war, an option).

    The sum of a donation's allocations never exceeds its amount: every writer locks the
    donation row and checks it in the same transaction (services.set_allocations).
    """

    donation = models.ForeignKey(Donation, on_delete=models.CASCADE, related_name="allocations")
    incentive = models.ForeignKey(Incentive, on_delete=models.CASCADE, related_name="allocations")
    option = models.ForeignKey(
        Option, null=True, blank=True, on_delete=models.CASCADE, related_name="allocations"
    )
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    # Provisional: from an exact tag, counted at once, waiting for a moderator's confirmation.
    confirmed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="allocation_positive")
        ]
        indexes = [models.Index(fields=["incentive", "option"], name="allocation_target_idx")]

    def __str__(self) -> str:
        return f"{self.amount} of donation {self.donation_id} to {self.incentive_id}"


class ReviewState(models.TextChoices):
    PENDING = "pending", "Waiting for a moderator"
    RESOLVED = "resolved", "Resolved"
    RELEASED = "released", "Donation refunded or deleted"


class Review(models.Model):
    """A donation in the allocation queue: its message looks like a tag but was not exact."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="reviews")
    donation = models.OneToOneField(Donation, on_delete=models.CASCADE, related_name="review")
    reason = models.CharField(max_length=300)
    state = models.CharField(max_length=10, choices=ReviewState.choices, default="pending")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["campaign", "state"], name="review_queue_idx")]

    def __str__(self) -> str:
        return f"donation {self.donation_id}: {self.reason}"


class AllocationAudit(models.Model):
    """Who changed which donation's allocations, when, and to what (kept forever)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    donation = models.ForeignKey(Donation, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=30)
    # {"before": [[incentive_id, option_id, "amount"], ...], "after": [...], "note": "..."}
    detail = models.JSONField(default=dict)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} donation {self.donation_id}"
