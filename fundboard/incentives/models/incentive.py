from __future__ import annotations

from django.db import models
from django.utils import timezone

from fundboard.campaigns.models import Campaign

from .schedule import Run


class IncentiveKind(models.TextChoices):
    GOAL = "goal", "Goal"  # one target amount
    BIDWAR = "bidwar", "Bid war / poll"  # options compete; the top `winners` win
    STRETCH = "stretch", "Stretch chain"  # options are goals unlocked in order


class IncentiveState(models.TextChoices):
    UPCOMING = "upcoming", "Upcoming"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


def tag_list(text: str) -> list[str]:
    """Tags as staff write them ("#Zelda, link") -> ["zelda", "link"]."""
    parts = text.replace(",", " ").split()
    return [p.lstrip("#").lower() for p in parts if p.lstrip("#")]


def incentive_state(has_run: bool, started_at, ended_at, opens_at, closes_at, now) -> str:
    """An incentive attached to a run follows the run; any other, its own times."""
    if has_run:
        if ended_at is not None:
            return IncentiveState.CLOSED
        return IncentiveState.OPEN if started_at else IncentiveState.UPCOMING
    if closes_at is not None and now >= closes_at:
        return IncentiveState.CLOSED
    if opens_at is not None and now < opens_at:
        return IncentiveState.UPCOMING
    return IncentiveState.OPEN


class Incentive(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="incentives")
    key = models.SlugField(max_length=60, help_text="Stable name (the TOML file matches on it).")
    kind = models.CharField(max_length=10, choices=IncentiveKind.choices)
    title = models.CharField(max_length=200)
    goal = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    tags = models.CharField(
        max_length=500,
        blank=True,
        help_text="Goal and stretch chain: the tags donors write (#blindfold), space separated.",
    )
    winners = models.PositiveSmallIntegerField(default=1, help_text="Bid war: how many win.")
    write_ins = models.BooleanField(default=False, help_text="Bid war: staff may add options.")
    order = models.PositiveIntegerField(default=0)
    run = models.ForeignKey(
        Run,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="incentives",
        help_text="Open exactly while this run runs (instead of the times below).",
    )
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The state viewers were last told of: the clock (fundboard/incentives/clock.py) announces
    # an open or close time that passed by bumping the campaign version when this differs.
    announced_state = models.CharField(max_length=10, choices=IncentiveState.choices, blank=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "key"], name="incentive_unique_key")
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        if not self.announced_state:  # created: its first state goes out with its creation
            self.announced_state = self.state()
        super().save(*args, **kwargs)

    @property
    def tag_list(self) -> list[str]:
        return tag_list(self.tags)

    def state(self, now=None) -> str:
        """Open while its run runs, or between its open and close times; closing locks."""
        run = self.run if self.run_id is not None else None
        return incentive_state(
            run is not None,
            run.started_at if run else None,
            run.ended_at if run else None,
            self.opens_at,
            self.closes_at,
            now or timezone.now(),
        )


class Option(models.Model):
    """A bid war's choice, or a stretch chain's stage (with its cumulative `goal`)."""

    incentive = models.ForeignKey(Incentive, on_delete=models.CASCADE, related_name="options")
    title = models.CharField(max_length=200)
    tags = models.CharField(max_length=500, blank=True)
    goal = models.DecimalField(
        max_digits=20,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Stretch stage: unlocked when the chain's total reaches this amount.",
    )
    order = models.PositiveIntegerField(default=0)
    write_in = models.BooleanField(default=False, help_text="Suggested by a donor.")

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incentive", "title"], name="option_unique_title")
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # The tag index is cached by the incentives' updated_at: an option's change is one.
        Incentive.objects.filter(pk=self.incentive_id).update(updated_at=timezone.now())

    @property
    def tag_list(self) -> list[str]:
        return tag_list(self.tags)
