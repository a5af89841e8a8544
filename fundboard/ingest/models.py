"""What the platforms told us: individual donations and leaderboard entries.

`fundboard.ingest.services` is the only writer of these tables.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce

from fundboard.campaigns.models import Campaign, Source

__all__ = ["Donation", "DonationQuerySet", "counted_value", "LeaderboardEntry", "EntryKind"]


class DonationQuerySet(models.QuerySet):
    def counted(self) -> DonationQuerySet:
        """Donations that count towards totals: not removed, not test donations."""
        return self.filter(removed=False, is_test=False)

    def for_campaign_window(self, campaign: Campaign) -> DonationQuerySet:
        # In the campaign's currency, or converted into it at ingest (fundboard.fx); a
        # donation in another currency without a rate is held "unconverted", never counted.
        qs = self.filter(
            Q(currency=campaign.currency) | Q(converted_amount__isnull=False), campaign=campaign
        )
        if campaign.starts_at:
            qs = qs.filter(donated_at__gte=campaign.starts_at)
        if campaign.ends_at:
            qs = qs.filter(donated_at__lt=campaign.ends_at)
        return qs

    def unconverted(self) -> DonationQuerySet:
        """Donations in a currency their campaign had no rate for: held, shown to staff."""
        return self.filter(removed=False, is_test=False, converted_amount__isnull=True).exclude(
            currency=models.F("campaign__currency")
        )


def counted_value() -> Coalesce:
    """What a donation counts for in its campaign's currency: the converted amount stored at
    ingest, or the amount itself (same currency; rows stored before conversion existed)."""
    return Coalesce("converted_amount", "amount")


class Donation(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="donations")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="donations")
    upstream_id = models.CharField(max_length=100)
    display_name = models.CharField(max_length=100, blank=True)
    anonymous = models.BooleanField(default=False, help_text="The donor asked not to be named.")
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3)
    # The amount in the campaign's currency at `rate` (1 `currency` = `rate` campaign
    # currency), fixed at ingest so totals never change unless staff re-rate
    # (fundboard.fx). Null: no rate was known, the donation is held "unconverted".
    converted_amount = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    rate = models.DecimalField(max_digits=28, decimal_places=12, null=True, blank=True)
    message = models.TextField(blank=True)
    donated_at = models.DateTimeField()
    # P2P gifts say which fundraiser they were given to.
    fundraiser_id = models.CharField(max_length=100, blank=True)
    is_test = models.BooleanField(default=False)
    removed = models.BooleanField(default=False)
    removed_at = models.DateTimeField(null=True, blank=True)
    # Moderation: hidden names show as "Anonymous", hidden messages are left out.
    name_hidden = models.BooleanField(default=False)
    message_hidden = models.BooleanField(default=False)
    # Hold-for-review: None = waiting, True = approved.
    approved = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = models.Manager.from_queryset(DonationQuerySet)()

    class Meta:
        ordering = ["-donated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "upstream_id"], name="donation_unique_upstream"
            )
        ]
        indexes = [
            # The hot query: counted donations of one campaign.
            models.Index(
                fields=["campaign", "currency", "donated_at"],
                name="donation_counted_idx",
                condition=Q(removed=False, is_test=False),
            ),
            models.Index(fields=["campaign", "-donated_at"], name="donation_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name or 'Anonymous'} {self.amount} {self.currency}"


class EntryKind(models.TextChoices):
    FUNDRAISER = "fundraiser", "Fundraiser"
    TEAM = "team", "Team"


class LeaderboardEntry(models.Model):
    """A fundraiser, team or fundraising page as its platform last reported it."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    upstream_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    team_name = models.CharField(max_length=200, blank=True)
    raised = models.DecimalField(max_digits=20, decimal_places=2)
    goal = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    donation_count = models.PositiveIntegerField(default=0)
    url = models.URLField(max_length=500, blank=True)
    blocked = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-raised", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "kind", "upstream_id"], name="entry_unique_upstream"
            )
        ]
        verbose_name_plural = "leaderboard entries"

    def __str__(self) -> str:
        return f"{self.name}: {self.raised}"
