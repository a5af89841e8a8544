"""Sponsor match windows: "Acme matches every donation up to $10,000 until 21:00".

Only the window is stored; what it matched is always derived from the stored donations
(fundboard.matching.compute), so a removed donation releases its match by itself.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from fundboard.campaigns.models import Campaign

__all__ = ["MatchWindow"]


class MatchWindow(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="match_windows")
    sponsor = models.CharField(max_length=100)
    starts_at = models.DateTimeField(help_text="Donations from this time on are matched.")
    ends_at = models.DateTimeField(help_text="Donations before this time are matched.")
    cap = models.DecimalField(
        max_digits=20,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text="The most the sponsor gives, in the campaign's currency.",
    )
    ratio = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Sponsor money per unit donated: 1 doubles a donation (×2), 0.5 adds half.",
    )
    precedence = models.PositiveIntegerField(
        default=0, help_text="Overlapping windows match in this order, lowest first."
    )

    class Meta:
        ordering = ["campaign", "precedence", "starts_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "sponsor", "starts_at"], name="match_window_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sponsor} ×{1 + self.ratio} up to {self.cap}"

    def clean(self) -> None:
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "A match window must end after it starts."})
