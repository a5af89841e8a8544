"""The one HTTP layer of the upstream clients: client settings, errors, Retry-After.

Every platform client builds its httpx client here (`make_client`, `make_async_client`), so
all of them send the same User-Agent, verify TLS against certifi's bundle, bound their
connections and never follow a redirect (one to another host would carry the API key
along). A reply's status becomes one of the typed errors of `errors.py` here too
(`error_for_status`, `raise_for_status`), with Retry-After read as seconds or an HTTP date.

The polled platforms' conditional GETs (ETags, 304s) are in `conditional.py`, on top of this.
"""

from __future__ import annotations

import functools
import importlib.metadata
import ssl
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import certifi
import httpx

from . import bounded_json
from .cleaning import upstream_text
from .errors import (
    AuthError,
    BadData,
    PermissionDenied,
    ProviderError,
    RateLimited,
    UpstreamUnavailable,
)

__all__ = [
    "CONNECTION_LIMITS",
    "DEFAULT_TIMEOUT",
    "REPLY_MAX_BYTES",
    "USER_AGENT",
    "HTTPStatusError",
    "aread_body",
    "client_options",
    "error_for_status",
    "make_async_client",
    "make_client",
    "parse_retry_after",
    "raise_for_status",
    "read_body",
    "same_origin",
    "transport_error",
]

DEFAULT_TIMEOUT = 10.0  # seconds for each read and write; connecting gets CONNECT_TIMEOUT
CONNECT_TIMEOUT = 5.0
# One source talks to one host, a few requests at a time; more is a bug, not load.
CONNECTION_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=5)
# The largest reply read as JSON (an Action Network page of 25 pages is ~40 KB, a P2P page
# of 100 gifts ~60 KB), and the largest error body read for its message.
REPLY_MAX_BYTES = 8 * 1024 * 1024
ERROR_BODY_MAX_BYTES = 16 * 1024


def _user_agent() -> str:
    """`Fundboard/<version> (+<project url>)`: an upstream operator can tell who calls and
    where to read about it. The URL is the package's declared Homepage, when it has one."""
    try:
        metadata = importlib.metadata.metadata("fundboard")
    except importlib.metadata.PackageNotFoundError:  # running from a bare checkout
        return "Fundboard/dev"
    homepage = metadata.get_all("Home-page") or []
    urls = dict(
        entry.split(", ", 1) for entry in metadata.get_all("Project-URL") or [] if ", " in entry
    )
    url = urls.get("Homepage") or urls.get("Repository") or next(iter(homepage), None)
    return f"Fundboard/{metadata['Version']}" + (f" (+{url})" if url else "")


USER_AGENT = _user_agent()


class HTTPStatusError(BadData):
    """Any other 4xx: the request itself was refused (a page id that does not exist, say)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


# --- building clients ------------------------------------------------------------------------


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Built once per process: loading the CA bundle costs tens of milliseconds per client.
    return ssl.create_default_context(cafile=certifi.where())


def _timeout(timeout: httpx.Timeout | float) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT))


def client_options(
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The settings every upstream client shares, as keyword arguments of httpx's clients."""
    return {
        "timeout": _timeout(timeout),
        "limits": CONNECTION_LIMITS,
        "follow_redirects": False,  # a redirect to another host would carry the API key
        "headers": {"User-Agent": USER_AGENT, **(headers or {})},
        "verify": _tls_context(),
    }


def make_client(timeout: httpx.Timeout | float = DEFAULT_TIMEOUT, **options: Any) -> httpx.Client:
    """A sync client with the shared settings; `options` go to httpx (`base_url`,
    `headers` added to the User-Agent, `transport`)."""
    shared = client_options(timeout, options.pop("headers", None))
    return httpx.Client(**shared, **options)


def make_async_client(
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT, **options: Any
) -> httpx.AsyncClient:
    """The async twin of `make_client` (a streaming call passes a longer read timeout)."""
    shared = client_options(timeout, options.pop("headers", None))
    return httpx.AsyncClient(**shared, **options)


# --- reading replies -------------------------------------------------------------------------


def transport_error(error: httpx.HTTPError, what: str) -> UpstreamUnavailable:
    """A timeout or connection failure as the typed error. Only the exception's type is
    quoted: its text can hold the URL, and a query-string key with it."""
    if isinstance(error, httpx.TimeoutException):
        return UpstreamUnavailable(f"{what}: timed out ({type(error).__name__})")
    return UpstreamUnavailable(f"{what}: {type(error).__name__}")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def read_body(response: httpx.Response, limit: int, what: str) -> bytes:
    """The body of a streamed response, refused once it passes `limit` bytes: a hostile or
    broken host cannot make us hold more (httpx alone reads any length into memory)."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            raise BadData(f"{what}: the reply is larger than {limit} bytes")
    return bytes(body)


async def aread_body(response: httpx.Response, limit: int, what: str) -> bytes:
    """`read_body` for an async streamed response."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise BadData(f"{what}: the reply is larger than {limit} bytes")
    return bytes(body)


def _error_detail(content: bytes) -> str:
    """A short description of an error body (JSON error fields only), bounded and on one
    line: it is quoted on the source's health, and the host may be anyone's."""
    try:
        body = bounded_json.loads(content, max_bytes=ERROR_BODY_MAX_BYTES)
    except bounded_json.JSONRejected:
        return ""
    if isinstance(body, dict):
        for name in ("error", "message", "title"):
            if isinstance(body.get(name), str):
                return upstream_text(body[name])
    return ""


def error_for_status(response: httpx.Response, message: str) -> ProviderError | None:
    """The typed error a reply's status means, with `message` as its text (the caller's
    words: each platform words its errors its own way), or None for a 1xx/2xx reply.
    A 3xx is an error too: redirects are never followed (see `client_options`)."""
    status = response.status_code
    if status < 300:
        return None
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 401:
        return AuthError(message)
    if status == 403:
        return PermissionDenied(message)
    if status == 429:
        return RateLimited(message, retry_after=retry_after)
    if status >= 500:
        return UpstreamUnavailable(message, retry_after=retry_after)
    return HTTPStatusError(message, status)


def raise_for_status(
    response: httpx.Response, what: str, content: bytes | None = None, detail: str | None = None
) -> None:
    """Raise the typed error for a 3xx-5xx reply, worded `<what>: HTTP <status> (<detail>)`
    (never quoting the URL). `content` is the body when the response was streamed (read by
    `read_body`); `detail`, when given, replaces what is read of the body (a platform's own
    error shape)."""
    if response.status_code < 300:
        return
    if detail is None:
        detail = _error_detail(response.content if content is None else content)
    message = f"{what}: HTTP {response.status_code}" + (f" ({detail})" if detail else "")
    error = error_for_status(response, message)
    if error is not None:
        raise error


def same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)
