"""The run schedule: starting and stopping runs, and the money raised during each.

A run's total is the counted donations of the campaign (its window and currency, no test or
removed ones) given between the run's actual start (inclusive) and end (exclusive); a run
still going has no end yet. Starting a run stops the one running. Incentives attached to a
run open and close with it (Incentive.state), so both actions bump the campaign version.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from fundboard.campaigns.models import Campaign
from fundboard.ingest.models import Donation
from fundboard.ingest.services import commit_change

from .models import Incentive, IncentiveState, Run

__all__ = ["start_run", "stop_run", "run_totals", "hourly_totals", "current_and_next"]


def _announce_run_incentives(runs, state: str) -> None:
    """Their new state goes out with this change, so the clock (clock.py) has none to tell."""
    Incentive.objects.filter(run__in=list(runs)).update(announced_state=state)


def start_run(run_id: int, *, now: datetime | None = None) -> Run:
    now = now or timezone.now()
    with transaction.atomic():
        run = Run.objects.select_for_update().select_related("campaign").get(pk=run_id)
        stopped = (
            Run.objects.filter(campaign_id=run.campaign_id, ended_at__isnull=True)
            .exclude(pk=run.pk)
            .exclude(started_at__isnull=True)
        )
        _announce_run_incentives(stopped, IncentiveState.CLOSED)
        stopped.update(ended_at=now)
        run.started_at, run.ended_at = now, None
        run.save(update_fields=["started_at", "ended_at"])
        _announce_run_incentives([run], IncentiveState.OPEN)
        commit_change(run.campaign)
    return run


def stop_run(run_id: int, *, now: datetime | None = None) -> Run:
    with transaction.atomic():
        run = Run.objects.select_for_update().select_related("campaign").get(pk=run_id)
        if run.running:
            run.ended_at = now or timezone.now()
            run.save(update_fields=["ended_at"])
            _announce_run_incentives([run], IncentiveState.CLOSED)
            commit_change(run.campaign)
    return run


def _counted(campaign: Campaign):
    return Donation.objects.counted().for_campaign_window(campaign)


def run_totals(campaign: Campaign, runs: list[Run]) -> dict[int, Decimal]:
    """{run id: total} for the runs that started, in one query."""
    sums = {}
    for run in runs:
        if run.started_at is None:
            continue
        window = Q(donated_at__gte=run.started_at)
        if run.ended_at is not None:
            window &= Q(donated_at__lt=run.ended_at)
        sums[f"run_{run.pk}"] = Sum("amount", filter=window)
    if not sums:
        return {}
    row = _counted(campaign).aggregate(**sums)
    return {int(key[4:]): value or Decimal("0") for key, value in row.items()}


def hourly_totals(campaign: Campaign) -> list[tuple[datetime, Decimal, int]]:
    """(hour, total, count) of counted donations, oldest first."""
    rows = (
        _counted(campaign)
        .annotate(hour=TruncHour("donated_at"))
        .values("hour")
        .annotate(total=Sum("amount"), count=Count("id"))
        .order_by("hour")
    )
    return [(r["hour"], r["total"], r["count"]) for r in rows]


def current_and_next(runs: list[Run]) -> tuple[Run | None, Run | None]:
    """The run going on (if any) and the next one not started after it, in schedule order."""
    current = next((r for r in runs if r.running), None)
    after = runs[runs.index(current) + 1 :] if current else runs
    upcoming = next((r for r in after if r.started_at is None), None)
    return current, upcoming
