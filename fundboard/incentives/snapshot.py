"""The snapshot's marathon parts: `incentives[]` and `schedule` (README, "The public contract").

Called by fundboard.live.snapshot inside its one-moment read, so the allocations agree with
the campaign version. Small on purpose (50 incentives x 10 options stay well under 64 KB):
short keys, amounts as decimal strings, no tags or messages.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from fundboard.campaigns.models import Campaign

from .models import Allocation, Incentive, IncentiveKind, IncentiveState, Run
from .schedule import current_and_next, run_totals

__all__ = ["marathon_parts", "incentives_payload", "schedule_payload"]

ZERO = Decimal("0")


def _money(value: Decimal | None) -> str:
    return f"{(value or ZERO):.2f}"


def _iso(moment) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def marathon_parts(campaign: Campaign) -> dict:
    return {"incentives": incentives_payload(campaign), "schedule": schedule_payload(campaign)}


def _allocated(campaign: Campaign) -> dict[tuple[int, int | None], Decimal]:
    rows = (
        Allocation.objects.filter(
            incentive__campaign=campaign, donation__removed=False, donation__is_test=False
        )
        .values_list("incentive_id", "option_id")
        .annotate(total=Sum("amount"))
    )
    return {(incentive_id, option_id): total for incentive_id, option_id, total in rows}


def _ranked(options: list[dict]) -> list[dict]:
    """Competition ranking by total ("1, 1, 3"): equal totals share a rank."""
    ordered = sorted(options, key=lambda o: -o["_total"])
    for position, option in enumerate(ordered):
        tied = position and option["_total"] == ordered[position - 1]["_total"]
        option["rank"] = ordered[position - 1]["rank"] if tied else position + 1
    return ordered


def _bidwar(incentive: Incentive, totals: dict, state: str) -> tuple[Decimal, list, list]:
    options = [
        {"id": o.pk, "title": o.title, "_total": totals.get((incentive.pk, o.pk), ZERO)}
        for o in incentive.options.all()
    ]
    ranked = _ranked(options)
    total = sum((o["_total"] for o in ranked), ZERO)
    winners = []
    if state == IncentiveState.CLOSED:
        winners = [o["id"] for o in ranked if o["_total"] > 0][: incentive.winners]
    return total, ranked, winners


def _stretch(incentive: Incentive, total: Decimal) -> tuple[list, list]:
    """Stages unlock in order: each one's bar fills from the previous stage's goal to its own."""
    stages: list[dict[str, object]] = []
    winners: list[int] = []
    floor = ZERO
    for position, stage in enumerate(incentive.options.all(), start=1):
        goal = stage.goal or floor
        reached = total >= goal and len(winners) == position - 1
        filled = min(max(total - floor, ZERO), goal - floor)
        stages.append(
            {
                "id": stage.pk,
                "title": stage.title,
                "goal": _money(goal),
                "_total": filled,
                "rank": position,
            }  # fmt: skip
        )
        if reached:
            winners.append(stage.pk)
        floor = goal
    return stages, winners


def _incentive(incentive: Incentive, totals: dict, now) -> dict:
    state = incentive.state(now)
    goal = incentive.goal
    options: list = []
    winners: list = []
    if incentive.kind == IncentiveKind.BIDWAR:
        total, options, winners = _bidwar(incentive, totals, state)
    else:
        total = totals.get((incentive.pk, None), ZERO)
        if incentive.kind == IncentiveKind.STRETCH:
            options, winners = _stretch(incentive, total)
            goal = goal or (Decimal(options[-1]["goal"]) if options else None)
    for option in options:
        option["total"] = _money(option.pop("_total"))
    return {
        "id": incentive.pk,
        "kind": incentive.kind,
        "title": incentive.title,
        "goal": _money(goal) if goal is not None else None,
        "total": _money(total),
        "state": state,
        "options": options,
        "winners": winners,
    }


def incentives_payload(campaign: Campaign) -> list[dict]:
    incentives = list(
        Incentive.objects.filter(campaign=campaign)
        .select_related("run")
        .prefetch_related("options")
    )
    if not incentives:
        return []
    totals = _allocated(campaign)
    now = timezone.now()
    return [_incentive(incentive, totals, now) for incentive in incentives]


def _run(run: Run, totals: dict) -> dict:
    return {
        "id": run.pk,
        "title": run.title,
        "starts_at": _iso(run.started_at or run.starts_at),
        "estimate": int(run.estimate.total_seconds()),
        "ended_at": _iso(run.ended_at),
        "total": _money(totals.get(run.pk)) if run.started_at else None,
    }


def schedule_payload(campaign: Campaign) -> dict:
    runs = list(Run.objects.filter(campaign=campaign))
    if not runs:
        return {"current": None, "next": None, "runs": []}
    totals = run_totals(campaign, runs)
    current, upcoming = current_and_next(runs)
    return {
        "current": _run(current, totals) if current else None,
        "next": _run(upcoming, totals) if upcoming else None,
        "runs": [_run(run, totals) for run in runs],
    }
