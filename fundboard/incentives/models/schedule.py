from __future__ import annotations

from datetime import timedelta

from django.db import models

from fundboard.campaigns.models import Campaign


class Run(models.Model):
    """A segment of the marathon's schedule: planned start and length, actual start/end.

    Staff start and stop runs from the dashboard; incentives attached to a run are open
    exactly while it runs. Its total is the counted donations between its actual start and end.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="runs")
    title = models.CharField(max_length=200)
    order = models.PositiveIntegerField(default=0)
    starts_at = models.DateTimeField(null=True, blank=True, help_text="Planned start.")
    estimate = models.DurationField(default=timedelta(hours=1), help_text="Estimated length.")
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "starts_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "title"], name="run_unique_title")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.ended_at is None
