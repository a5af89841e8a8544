"""A P2P source's configuration: method paths, the key parameter, field names, paging."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..http import DEFAULT_TIMEOUT

__all__ = ["DEFAULT_FIELDS", "DEFAULT_PATHS", "METHODS", "MAX_PAGE_SIZE", "P2PConfig"]

METHODS = ("totals", "fundraisers", "teams", "gifts")
DEFAULT_PATHS = {
    "totals": "/api/v1/p2p/events/{event_id}/totals",
    "fundraisers": "/api/v1/p2p/events/{event_id}/fundraisers",
    "teams": "/api/v1/p2p/events/{event_id}/teams",
    "gifts": "/api/v1/p2p/events/{event_id}/gifts",
}
DEFAULT_FIELDS = {
    "totals": {name: name for name in ("name", "currency", "goal", "raised", "donation_count")},
    "fundraisers": {
        name: name
        for name in (
            "id",
            "name",
            "team_name",
            "raised",
            "goal",
            "donation_count",
            "url",
            "status",
        )
    },  # fmt: skip
    "teams": {name: name for name in ("id", "name", "raised", "goal", "member_count", "url")},
    "gifts": {
        name: name
        for name in (
            "id",
            "donor_name",
            "anonymous",
            "amount",
            "currency",
            "message",
            "date",
            "fundraiser_id",
        )
    },  # fmt: skip
}
MAX_PAGE_SIZE = 100  # the platform allows at most 100 per request


@dataclass
class P2PConfig:
    """One source's method paths, key parameter and field names (defaults merged in)."""

    key_param: str = "apiKey"
    page_size: int = MAX_PAGE_SIZE
    blocked_status: str = "blocked"
    methods: tuple[str, ...] = METHODS
    timeout: float = DEFAULT_TIMEOUT
    paths: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PATHS))
    fields: dict[str, dict[str, str]] = field(
        default_factory=lambda: {m: dict(f) for m, f in DEFAULT_FIELDS.items()}
    )

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> P2PConfig:
        config = cls()
        config.key_param = str(options.get("key_param") or config.key_param)
        size = int(options.get("page_size") or config.page_size)
        config.page_size = max(1, min(size, MAX_PAGE_SIZE))
        config.blocked_status = str(options.get("blocked_status") or config.blocked_status)
        methods = options.get("methods") or METHODS
        # Totals always come first: they are the source's part of the campaign total.
        config.methods = tuple(m for m in METHODS if m in methods or m == "totals")
        config.timeout = float(options.get("timeout") or config.timeout)
        config.paths.update({k: str(v) for k, v in (options.get("paths") or {}).items()})
        for method, names in (options.get("fields") or {}).items():
            config.fields.setdefault(method, {}).update({k: str(v) for k, v in names.items()})
        return config
