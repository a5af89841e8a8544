"""What the stream runners leave for staff: when a stream last said anything, and mass
removals found by reconciliation that wait for a human.

`StreamActivity` is written by the runner at most every few seconds (heartbeat comments
included), so the dashboard's lag is the time since the stream last spoke, not since it
connected. A `PendingRemoval` is a "missed deletes" repair too big to apply on its own
(an upstream restarted empty looks exactly like hundreds of deletes): the dashboard shows
it with its count and total, and an Organiser confirms or dismisses it.
"""

from __future__ import annotations

from django.db import models

__all__ = ["StreamActivity", "PendingRemoval", "PendingState"]


class StreamActivity(models.Model):
    source = models.OneToOneField(
        "campaigns.Source", on_delete=models.CASCADE, related_name="stream_activity"
    )
    # The last complete line (event or heartbeat comment) the stream sent.
    last_activity_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "stream activity"

    def __str__(self) -> str:
        return f"source {self.source_id} spoke at {self.last_activity_at:%Y-%m-%d %H:%M:%S}"


class PendingState(models.TextChoices):
    WAITING = "waiting", "Waiting for staff"
    CONFIRMED = "confirmed", "Confirmed (removed)"
    DISMISSED = "dismissed", "Dismissed (kept)"


class PendingRemoval(models.Model):
    source = models.ForeignKey(
        "campaigns.Source", on_delete=models.CASCADE, related_name="pending_removals"
    )
    # Upstream ids of the stored donations upstream no longer lists.
    upstream_ids = models.JSONField(default=list)
    count = models.PositiveIntegerField()
    total = models.DecimalField(max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3)
    found_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(
        max_length=20, choices=PendingState.choices, default=PendingState.WAITING
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-found_at", "-id"]

    def __str__(self) -> str:
        return f"{self.count} donation(s), {self.total} {self.currency} ({self.state})"
