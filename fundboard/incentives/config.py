"""`[[campaign.run]]` and `[[campaign.incentive]]` in the loadcampaigns TOML (README, "Marathon").

Idempotent like the rest of the loader: runs are matched by title, incentives by key, options
by title; a run's actual start and end (set from the dashboard) are never touched. Whatever
the file no longer lists is left alone (staff may have added it in the dashboard).
"""

from __future__ import annotations

from datetime import timedelta

from fundboard.campaigns.loader import ConfigError, _check_keys, _datetime, _decimal
from fundboard.campaigns.models import Campaign

from .models import Incentive, IncentiveKind, Option, Run

__all__ = ["load_marathon", "RUN_KEYS", "INCENTIVE_KEYS", "OPTION_KEYS"]

RUN_KEYS = {"title", "starts_at", "minutes"}
INCENTIVE_KEYS = {
    "key", "kind", "title", "goal", "tags", "winners", "write_ins", "run", "opens_at",
    "closes_at", "option",
}  # fmt: skip
OPTION_KEYS = {"title", "tags", "goal"}


def _tags(value) -> str:
    return " ".join(str(t) for t in value) if isinstance(value, list) else str(value or "")


def _load_runs(campaign: Campaign, runs: list, where: str):
    for index, data in enumerate(runs):
        r_where = f"{where}.run[{index}]"
        _check_keys(data, RUN_KEYS, r_where)
        if not data.get("title"):
            raise ConfigError(f"{r_where}: title is required")
        fields = {
            "order": index,
            "starts_at": _datetime(data.get("starts_at"), f"{r_where}.starts_at"),
            "estimate": timedelta(minutes=float(data.get("minutes", 60))),
        }
        _, created = Run.objects.update_or_create(
            campaign=campaign, title=data["title"], defaults=fields
        )
        yield f"run {campaign.slug}/{data['title']}", created


def _incentive_fields(campaign: Campaign, data: dict, index: int, where: str) -> dict:
    kind = data.get("kind", "goal")
    if kind not in IncentiveKind.values:
        raise ConfigError(f"{where}.kind: {kind!r} is not one of {', '.join(IncentiveKind.values)}")
    run = None
    if data.get("run"):
        run = Run.objects.filter(campaign=campaign, title=data["run"]).first()
        if run is None:
            raise ConfigError(f"{where}.run: no [[campaign.run]] titled {data['run']!r}")
    goal = data.get("goal")
    if kind == IncentiveKind.GOAL and goal is None:
        raise ConfigError(f"{where}: a goal incentive needs a goal")
    return {
        "kind": kind,
        "title": str(data.get("title") or data["key"]),
        "goal": _decimal(goal, f"{where}.goal") if goal is not None else None,
        "tags": _tags(data.get("tags")),
        "winners": int(data.get("winners", 1)),
        "write_ins": bool(data.get("write_ins", False)),
        "order": index,
        "run": run,
        "opens_at": _datetime(data.get("opens_at"), f"{where}.opens_at"),
        "closes_at": _datetime(data.get("closes_at"), f"{where}.closes_at"),
    }


def _load_options(incentive: Incentive, options: list, where: str) -> None:
    previous_goal = None
    for index, data in enumerate(options):
        o_where = f"{where}.option[{index}]"
        _check_keys(data, OPTION_KEYS, o_where)
        if not data.get("title"):
            raise ConfigError(f"{o_where}: title is required")
        goal = _decimal(data["goal"], f"{o_where}.goal") if "goal" in data else None
        if incentive.kind == IncentiveKind.STRETCH:
            if goal is None or (previous_goal is not None and goal <= previous_goal):
                raise ConfigError(f"{o_where}: stretch stages need rising goals")
            previous_goal = goal
        option = Option.objects.filter(incentive=incentive, title=data["title"]).first()
        option = option or Option(incentive=incentive, title=data["title"])
        option.tags, option.goal, option.order = _tags(data.get("tags")), goal, index
        option.save()


def load_marathon(campaign: Campaign, runs: list, incentives: list, where: str):
    """Yields (label, created) for each run and incentive, like load_webhooks."""
    yield from _load_runs(campaign, runs, where)
    for index, data in enumerate(incentives):
        i_where = f"{where}.incentive[{index}]"
        _check_keys(data, INCENTIVE_KEYS, i_where)
        if not data.get("key"):
            raise ConfigError(f"{i_where}: key is required")
        fields = _incentive_fields(campaign, data, index, i_where)
        incentive, created = Incentive.objects.update_or_create(
            campaign=campaign, key=data["key"], defaults=fields
        )
        _load_options(incentive, data.get("option", []), i_where)
        yield f"incentive {campaign.slug}/{data['key']}", created
