"""Creating or updating campaigns and their sources from a TOML file, idempotently.

    [[campaign]]
    slug = "marathon"
    name = "Winter Marathon"
    goal = "25000"
    currency = "USD"

      [[campaign.source]]
      kind = "imraising"
      name = "Stream donations"
      api_key = "env:IMRAISING_API_KEY"   # read from the environment, never from the file

See the README ("Configuration") for every key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_datetime

from .models import Campaign, Source, SourceKind

__all__ = ["ConfigError", "LoadReport", "load_campaigns", "load_campaigns_file"]

CAMPAIGN_KEYS = {
    "slug", "name", "goal", "currency", "starts_at", "ends_at", "milestones", "stretch_goals",
    "allowed_origins", "hold_for_review", "blocked_words", "source", "webhook",
    "rates", "count_matches", "match",
}  # fmt: skip
CAMPAIGN_KEYS |= {"run", "incentive"}  # marathon mode: fundboard/incentives/config.py
SOURCE_KEYS = {
    "kind", "name", "enabled", "base_url", "api_key", "ids", "options", "poll_interval",
    "show_on_leaderboard",
}  # fmt: skip


class ConfigError(ValueError):
    """The file says something that cannot be loaded; the message says where and why."""


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{len(self.created)} created, {len(self.updated)} updated"


def resolve_secret(value: str, where: str) -> str:
    """`env:NAME` reads the environment variable NAME; anything else is taken as it is."""
    if isinstance(value, str) and value.startswith("env:"):
        name = value[4:]
        if name not in os.environ:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return os.environ[name]
    return str(value or "")


def _decimal(value, where: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{where}: {value!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise ConfigError(f"{where}: {value!r} must be a positive number")
    return amount


def _datetime(value, where: str):
    if value in (None, ""):
        return None
    moment = value if not isinstance(value, str) else parse_datetime(value)
    if moment is None:
        raise ConfigError(f"{where}: {value!r} is not an ISO-8601 date and time")
    return moment


def _lines(value) -> str:
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value or "")


def _check_keys(data: dict, allowed: set[str], where: str) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")


def _milestones(data: dict, where: str) -> list[str]:
    """`milestones` and `stretch_goals` (amounts above the goal: the thermometer moves on to
    them once the goal is reached) are stored together, in order."""
    amounts = {
        _decimal(m, f"{where}.{key}")
        for key in ("milestones", "stretch_goals")
        for m in data.get(key, [])
    }
    return [str(m) for m in sorted(amounts)]


def _campaign_fields(data: dict, where: str) -> dict:
    return {
        "name": str(data.get("name") or data["slug"]),
        "goal": _decimal(data.get("goal", 0), f"{where}.goal"),
        "currency": str(data.get("currency", "USD")).upper(),
        "starts_at": _datetime(data.get("starts_at"), f"{where}.starts_at"),
        "ends_at": _datetime(data.get("ends_at"), f"{where}.ends_at"),
        "milestones": _milestones(data, where),
        "allowed_origins": _lines(data.get("allowed_origins")),
        "hold_for_review": bool(data.get("hold_for_review", False)),
        "blocked_words": _lines(data.get("blocked_words")),
        "count_matches": bool(data.get("count_matches", False)),
    }


def _source_fields(data: dict, where: str) -> dict:
    kind = data.get("kind")
    if kind not in SourceKind.values:
        raise ConfigError(f"{where}.kind: {kind!r} is not one of {', '.join(SourceKind.values)}")
    interval = data.get("poll_interval")
    return {
        "kind": kind,
        "enabled": bool(data.get("enabled", True)),
        "base_url": str(data.get("base_url", "")),
        "api_key": resolve_secret(data.get("api_key", ""), f"{where}.api_key"),
        "provider_ids": dict(data.get("ids", {})),
        "options": dict(data.get("options", {})),
        "poll_interval": float(interval) if interval is not None else None,
        "show_on_leaderboard": bool(data.get("show_on_leaderboard", True)),
    }


def _save(obj, where: str) -> None:
    try:
        obj.full_clean(validate_unique=False)
    except ValidationError as error:
        raise ConfigError(f"{where}: {error.message_dict}") from None
    obj.save()


def _upsert(model, lookup: dict, fields: dict, where: str) -> bool:
    obj = model.objects.filter(**lookup).first()
    created = obj is None
    obj = obj or model(**lookup)
    for name, value in fields.items():
        setattr(obj, name, value)
    _save(obj, where)
    return created


def load_campaigns(config: dict) -> LoadReport:
    """Apply a parsed config (all or nothing: one transaction)."""
    report = LoadReport()
    campaigns = config.get("campaign", [])
    if not isinstance(campaigns, list) or not campaigns:
        raise ConfigError("the file defines no [[campaign]]")
    with transaction.atomic():
        for index, data in enumerate(campaigns):
            where = f"campaign[{index}]"
            _check_keys(data, CAMPAIGN_KEYS, where)
            if not data.get("slug"):
                raise ConfigError(f"{where}: slug is required")
            created = _upsert(
                Campaign, {"slug": data["slug"]}, _campaign_fields(data, where), where
            )
            campaign = Campaign.objects.get(slug=data["slug"])
            if not created:
                # What viewers see may have changed (goal, name, allowed origins): a new
                # version, so what is cached under the old one (ETag, widget pages) moves on.
                campaign.bump_version()
            (report.created if created else report.updated).append(f"campaign {campaign.slug}")
            for s_index, source in enumerate(data.get("source", [])):
                s_where = f"{where}.source[{s_index}]"
                _check_keys(source, SOURCE_KEYS, s_where)
                if not source.get("name"):
                    raise ConfigError(f"{s_where}: name is required")
                lookup = {"campaign": campaign, "name": source["name"]}
                s_created = _upsert(Source, lookup, _source_fields(source, s_where), s_where)
                label = f"source {campaign.slug}/{source['name']}"
                (report.created if s_created else report.updated).append(label)
            from fundboard.webhooks.config import load_webhooks  # its own app (docs/webhooks.md)

            for label, w_created in load_webhooks(campaign, data.get("webhook", []), where):
                (report.created if w_created else report.updated).append(label)
            _load_money(campaign, data, where, report)
            from fundboard.incentives.config import load_marathon  # its own app

            runs, incentives = data.get("run", []), data.get("incentive", [])
            for label, m_created in load_marathon(campaign, runs, incentives, where):
                (report.created if m_created else report.updated).append(label)
    return report


def _load_money(campaign: Campaign, data: dict, where: str, report: LoadReport) -> None:
    """`rates` (fundboard.fx) and `[[campaign.match]]` (fundboard.matching): their own apps."""
    from fundboard.fx.config import load_rates
    from fundboard.matching.config import load_matches

    load_rates(campaign, data, where)
    if "match" in data:
        for label, m_created in load_matches(campaign, data["match"], where):
            (report.created if m_created else report.updated).append(label)


def load_campaigns_file(path: str | Path) -> LoadReport:
    try:
        config = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {error}") from None
    return load_campaigns(config)
