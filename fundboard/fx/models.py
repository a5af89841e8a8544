"""Exchange rates: how a donation in another currency counts in its campaign's currency.

A rate reads "1 `currency` = `rate` `quote`", e.g. currency EUR, quote USD, rate 1.08: a
€50.00 donation counts $54.00. A campaign's own rates (TOML `rates`, the dashboard) have
its currency as quote and win over global rates (the optional rates feed, `campaign` null),
which may be used inverted or through one intermediate currency (fundboard.fx.convert).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from fundboard.campaigns.models import Campaign

__all__ = ["ExchangeRate", "RateOrigin", "RateChange"]

CURRENCY_CODE = RegexValidator(r"^[A-Z]{3}$", "Use an ISO 4217 code such as EUR.")


class RateOrigin(models.TextChoices):
    CONFIG = "config", "campaigns.toml"
    DASHBOARD = "dashboard", "Dashboard"
    FEED = "feed", "Rates feed"


class ExchangeRate(models.Model):
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="exchange_rates",
        help_text="Empty: a global rate (from the rates feed), for every campaign.",
    )
    currency = models.CharField(max_length=3, validators=[CURRENCY_CODE])
    quote = models.CharField(max_length=3, validators=[CURRENCY_CODE])
    rate = models.DecimalField(
        max_digits=28,
        decimal_places=12,
        validators=[MinValueValidator(0)],
        help_text="1 unit of `currency` is worth this many units of `quote`.",
    )
    origin = models.CharField(max_length=20, choices=RateOrigin.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "currency"],
                condition=Q(campaign__isnull=False),
                name="fx_rate_unique_per_campaign",
            ),
            models.UniqueConstraint(
                fields=["currency", "quote"],
                condition=Q(campaign__isnull=True),
                name="fx_rate_unique_global",
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="fx_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} {self.quote}"


class RateChange(models.Model):
    """The audit trail of rates set and donations re-rated by staff."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="rate_changes")
    currency = models.CharField(max_length=3)
    action = models.CharField(max_length=20)  # "set_rate", "delete_rate", "rerate"
    rate = models.DecimalField(max_digits=28, decimal_places=12, null=True, blank=True)
    donations = models.PositiveIntegerField(default=0, help_text="Donations re-rated.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    username = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("rerate_donations", "Can set exchange rates and re-rate donations")]

    def __str__(self) -> str:
        return f"{self.username}: {self.action} {self.currency} {self.rate or ''}"
