"""Which addresses a webhook may be sent to: http(s) URLs staff typed in, bounded in length,
without credentials, and (optionally) only to hosts in FUNDBOARD_WEBHOOK_HOSTS.

Unlike a source's base URL, a webhook URL may have a query: receivers such as Discord put
a token in the path or the query. That is why logs and the dashboard show only its origin.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from fundboard.campaigns.upstream import url_matches_hosts

__all__ = ["WEBHOOK_URL_MAX_LENGTH", "validate_webhook_url", "host_allowed", "shown_url"]

WEBHOOK_URL_MAX_LENGTH = 2000


def validate_webhook_url(value: str) -> None:
    """Raise ValidationError unless `value` is an http(s) URL a webhook may be sent to."""
    if len(value) > WEBHOOK_URL_MAX_LENGTH:
        raise ValidationError(f"Use at most {WEBHOOK_URL_MAX_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValidationError("A URL cannot contain spaces or control characters.")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- ValueError when the port is not a number in 0-65535
    except ValueError:
        raise ValidationError("Enter a valid http:// or https:// URL.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError("Only http:// and https:// URLs can be used.")
    if "@" in parts.netloc:
        raise ValidationError("Do not put a user name or password in the URL.")
    if parts.fragment or "#" in value:
        raise ValidationError("A webhook URL cannot have a #fragment.")
    if not parts.hostname:
        raise ValidationError("Enter a valid http:// or https:// URL with a host name.")
    if not host_allowed(value):
        raise ValidationError("This host is not in FUNDBOARD_WEBHOOK_HOSTS.")


def _allowed_patterns() -> list[str]:
    raw = settings.FUNDBOARD.get("WEBHOOK_HOSTS") or []
    if isinstance(raw, str):
        raw = raw.split(",")
    return [pattern.strip().lower() for pattern in raw if pattern.strip()]


def host_allowed(url: str) -> bool:
    """May a webhook go to this URL's host (and port)? Always, without an allow-list.

    Patterns are `host`, `*.example.org` or `host:port`, as for FUNDBOARD_UPSTREAM_HOSTS.
    """
    return url_matches_hosts(url, _allowed_patterns())


def shown_url(url: str) -> str:
    """The part of a webhook URL safe to show and log: scheme, host and port."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"
    except ValueError:
        return "(invalid URL)"
