"""Which websocket clients may connect, by their `Origin` header.

Browsers send `Origin` on every websocket handshake; other clients (bots, Stream Deck
plugins, scripts) usually send none. The rule, compared by scheme, host AND port (Channels'
AllowedHostsOriginValidator compared the host alone, so `http://127.0.0.1:1` passed where
`:8000` was served):

- same origin: the Origin is the websocket request's own `scheme://Host` (http for ws,
  https for wss; behind a proxy with FUNDBOARD_BEHIND_PROXY, the scheme of
  `X-Forwarded-Proto`), and that Host is one of ALLOWED_HOSTS (so a page on a rebound DNS
  name is not "same origin");
- or one of CSRF_TRUSTED_ORIGINS (the origins Django also trusts for the staff's POSTs);
- public campaign sockets also take the campaign's `allowed_origins` (the sites that may
  frame its widgets) and clients with no Origin at all: the data is public and read-only;
- the staff socket requires an Origin (a browser on our own pages).

`null` (sandboxed frames, local files) and anything unparsable are refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

__all__ = ["Origin", "parse_origin", "request_origin", "origin_allowed"]

DEFAULT_PORTS = {"http": 80, "https": 443}
# The page scheme that matches a websocket scheme.
PAGE_SCHEMES = {"ws": "http", "wss": "https"}


class Origin(NamedTuple):
    scheme: str  # http or https
    host: str  # lower case; a leading "*." is a wildcard for subdomains (configured only)
    port: int


def parse_origin(text: str) -> Origin | None:
    """`scheme://host[:port]` as an Origin, or None when it is not one."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in DEFAULT_PORTS or not host or parts.path not in ("", "/"):
        return None
    if parts.query or parts.fragment or parts.username or parts.password:
        return None
    return Origin(scheme, host.rstrip("."), port or DEFAULT_PORTS[scheme])


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def request_origin(scope) -> Origin | None:
    """The origin the websocket request itself was made to, if its Host is one we serve."""
    host_header = (_header(scope, b"host") or "").strip()
    domain, _ = split_domain_port(host_header.lower())
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = PAGE_SCHEMES.get(scope.get("scheme", "ws"), "http")
    if settings.FUNDBOARD_BEHIND_PROXY:
        forwarded = (_header(scope, b"x-forwarded-proto") or "").split(",")[0].strip().lower()
        scheme = PAGE_SCHEMES.get(forwarded, forwarded if forwarded in DEFAULT_PORTS else scheme)
    try:
        parts = urlsplit(f"//{host_header}")
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    return Origin(scheme, host, port or DEFAULT_PORTS[scheme])


def _matches(origin: Origin, allowed: Origin) -> bool:
    if (origin.scheme, origin.port) != (allowed.scheme, allowed.port):
        return False
    if allowed.host.startswith("*."):
        return origin.host.endswith(allowed.host[1:])
    return origin.host == allowed.host


def origin_allowed(scope, *, allow_missing: bool, extra: Iterable[str] = ()) -> bool:
    """Whether this websocket handshake may proceed (see the module docstring)."""
    header = _header(scope, b"origin")
    if header is None:
        return allow_missing
    origin = parse_origin(header)
    if origin is None:
        return False
    own = request_origin(scope)
    if own is not None and origin == own:
        return True
    trusted = [*settings.CSRF_TRUSTED_ORIGINS, *extra]
    return any(
        allowed is not None and _matches(origin, allowed) for allowed in map(parse_origin, trusted)
    )
