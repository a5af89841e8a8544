"""`[[campaign.webhook]]` in campaigns.toml: endpoints created or updated by name, like
sources (`manage.py loadcampaigns`).

    [[campaign.webhook]]
    name = "CRM"
    url = "https://crm.example.org/hooks/fundboard"
    events = ["donation", "donation_removed"]   # default: every event
    format = "json"                             # or "discord"
    secret = "env:FUNDBOARD_CRM_WEBHOOK_SECRET" # env:NAME reads the environment
    enabled = true
"""

from __future__ import annotations

from fundboard.campaigns.models import Campaign

from .models import SUBSCRIBABLE, WebhookEndpoint

__all__ = ["WEBHOOK_KEYS", "load_webhooks"]

WEBHOOK_KEYS = {"name", "url", "events", "format", "secret", "enabled"}


def _fields(data: dict, where: str) -> dict:
    from fundboard.campaigns.loader import ConfigError, resolve_secret

    secret = resolve_secret(data.get("secret", ""), f"{where}.secret")
    if not secret:
        raise ConfigError(f"{where}.secret is required (env:NAME reads the environment)")
    return {
        "url": str(data.get("url", "")),
        "events": list(data.get("events", SUBSCRIBABLE)),
        "format": str(data.get("format", "json")),
        "secret": secret,
        "enabled": bool(data.get("enabled", True)),
    }


def load_webhooks(campaign: Campaign, entries: list, where: str) -> list[tuple[str, bool]]:
    """Create or update the campaign's endpoints; (label, created) for each."""
    from fundboard.campaigns.loader import ConfigError, _check_keys, _upsert

    done = []
    for index, data in enumerate(entries):
        w_where = f"{where}.webhook[{index}]"
        _check_keys(data, WEBHOOK_KEYS, w_where)
        if not data.get("name"):
            raise ConfigError(f"{w_where}: name is required")
        lookup = {"campaign": campaign, "name": data["name"]}
        created = _upsert(WebhookEndpoint, lookup, _fields(data, w_where), w_where)
        done.append((f"webhook {campaign.slug}/{data['name']}", created))
    return done
