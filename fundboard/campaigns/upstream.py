"""Which upstream addresses a source may use, and where its API key may be sent.

`validate_upstream_url` accepts any http(s) base URL a deployment may point a source at:
public names, single-label service names of a compose or Kubernetes network
(`http://sandbox:8100`, `http://p2p-gateway`), IP addresses, ports and paths. It refuses what
cannot be a base URL or would leak: other schemes, credentials (`user:pass@` would be sent to
and logged by whoever serves the host), fragments and queries (paths are appended to the base
URL), and anything that does not parse as a host.

An API key is bound to the origin (scheme, host, port) it was entered for: `origin_of` says
what that origin is, and `host_allowed` applies the optional FUNDBOARD_UPSTREAM_HOSTS
allow-list. See `Source.api_key`.
"""

from __future__ import annotations

import ipaddress
import re
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

__all__ = [
    "UpstreamURLField",
    "UpstreamURLFormField",
    "allowed_upstream_hosts",
    "host_allowed",
    "origin_of",
    "url_matches_hosts",
    "validate_upstream_url",
]

# One DNS label: letters (any script), digits, "_" (compose service names may have one) and
# "-", not at either end, at most 63 characters.
LABEL = re.compile(r"^(?!-)[\w-]{1,63}(?<!-)$")
MAX_HOST_LENGTH = 253


def _is_host_name(host: str) -> bool:
    labels = host.removesuffix(".").split(".")
    return len(host) <= MAX_HOST_LENGTH and all(LABEL.match(label) for label in labels)


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _refuse(message: str, value: str) -> ValidationError:
    return ValidationError(message, code="invalid", params={"value": value})


def validate_upstream_url(value: str) -> None:
    """Raise ValidationError unless `value` is an http(s) base URL without secrets."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise _refuse("A URL cannot contain spaces or control characters.", value)
    try:
        parts = urlsplit(value)
        port = parts.port  # ValueError when the port is not a number in 0-65535
    except ValueError:
        raise _refuse("Enter a valid http:// or https:// URL.", value) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _refuse("Only http:// and https:// URLs can be used.", value)
    if "@" in parts.netloc:
        raise _refuse(
            "Do not put a user name or password in the URL: it would be sent to the host "
            "and end up in logs. Use the API key field.",
            value,
        )
    if parts.fragment or "#" in value:
        raise _refuse("A base URL cannot have a #fragment.", value)
    if parts.query or "?" in value:
        raise _refuse("A base URL cannot have a ?query: paths are added to it.", value)
    host = parts.hostname or ""
    if not host or not (_is_ip_address(host) or _is_host_name(host)):
        raise _refuse("Enter a valid http:// or https:// URL with a host name.", value)
    if port == 0:
        raise _refuse("Port 0 cannot be used.", value)


class UpstreamURLFormField(forms.URLField):
    """A form's URL input with the upstream rules instead of Django's public-web ones."""

    default_validators = [validate_upstream_url]


class UpstreamURLField(models.URLField):
    """A URL column whose validation accepts every host a deployment may use."""

    default_validators = [validate_upstream_url]

    def formfield(
        self,
        form_class: type[forms.Field] | None = None,
        choices_form_class: type[forms.ChoiceField] | None = None,
        **kwargs: Any,
    ) -> forms.Field | None:
        return super().formfield(
            form_class=form_class or UpstreamURLFormField,
            choices_form_class=choices_form_class,
            **kwargs,
        )


# --- where a key may go ---------------------------------------------------------------------

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """`scheme://host:port` of a URL, port always written, lower case; "" for no URL.

    Two base URLs with one origin reach the same server, so a key entered for one may be
    sent to the other; a different scheme, host or port is another server.
    """
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # not a URL (refused by validation): an origin that matches no other
        return f"invalid:{url}"
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6: brackets back on
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or DEFAULT_PORTS.get(scheme, 0)}"


def _split_pattern(pattern: str) -> tuple[str, int | None]:
    """`host`, `*.example.org`, `host:8100`, `[::1]:8100` -> (host pattern, port or None)."""
    if pattern.startswith("["):
        host, _, rest = pattern[1:].partition("]")
        port = rest.removeprefix(":")
    elif pattern.count(":") == 1:
        host, port = pattern.split(":")
    else:
        host, port = pattern, ""
    return host.lower(), int(port) if port.isdigit() else None


def allowed_upstream_hosts() -> list[str]:
    """The FUNDBOARD_UPSTREAM_HOSTS patterns; an empty list allows every host."""
    raw = getattr(settings, "FUNDBOARD_UPSTREAM_HOSTS", "") or ""
    if isinstance(raw, str):
        raw = raw.split(",")
    return [pattern.strip() for pattern in raw if pattern.strip()]


def host_allowed(url: str) -> bool:
    """May a source talk to this URL's host and port? (Always, without an allow-list.)"""
    return url_matches_hosts(url, allowed_upstream_hosts())


def url_matches_hosts(url: str, patterns: list[str]) -> bool:
    """Whether the URL's host and port match one of the allow-list `patterns` (`host`,
    `*.example.org`, `host:port`, `[::1]:8100`); an empty list allows every host."""
    if not patterns:
        return True
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    for pattern in patterns:
        host_pattern, port_pattern = _split_pattern(pattern)
        if fnmatchcase(host, host_pattern) and port_pattern in (None, port):
            return True
    return False
    host = (parts.hostname or "").lower()
    for pattern in patterns:
        host_pattern, port_pattern = _split_pattern(pattern)
        if fnmatchcase(host, host_pattern) and port_pattern in (None, port):
            return True
    return False
