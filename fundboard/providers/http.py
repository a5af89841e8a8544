"""HTTP plumbing shared by the polled clients (Action Network, P2P): errors, Retry-After, ETags.

`ConditionalGetter` sends `If-None-Match` / `If-Modified-Since` where the upstream gave an
`ETag` / `Last-Modified` before, and remembers the new validators in a plain dict of strings
(stored on the source as `Source.etags`). A poll made of several requests is "unchanged"
only when every request came back 304; a mix means the client fetches everything again
without validators, because a 304 page carries no data to combine with the changed ones.
"""

from __future__ import annotations

import functools
import ssl
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import certifi
import httpx

from . import bounded_json
from .cleaning import upstream_text
from .errors import AuthError, BadData, PermissionDenied, RateLimited, UpstreamUnavailable

__all__ = [
    "DEFAULT_TIMEOUT",
    "REPLY_MAX_BYTES",
    "HTTPStatusError",
    "NOT_MODIFIED",
    "ConditionalGetter",
    "make_client",
    "parse_retry_after",
    "raise_for_status",
    "same_origin",
]

DEFAULT_TIMEOUT = 10.0
# The largest reply read as JSON (an Action Network page of 25 pages is ~40 KB, a P2P page
# of 100 gifts ~60 KB), and the largest error body read for its message.
REPLY_MAX_BYTES = 8 * 1024 * 1024
ERROR_BODY_MAX_BYTES = 16 * 1024
USER_AGENT = "Fundboard/0.1 (+live donation leaderboard)"
# Cursor keys in Source.etags: "etag <request key>" and "modified <request key>".
ETAG_PREFIX = "etag "
MODIFIED_PREFIX = "modified "


class HTTPStatusError(BadData):
    """Any other 4xx: the request itself was refused (a page id that does not exist, say)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class _NotModified:
    def __repr__(self) -> str:
        return "NOT_MODIFIED"


NOT_MODIFIED: Any = _NotModified()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Built once per process: loading the CA bundle costs tens of milliseconds per client.
    return ssl.create_default_context(cafile=certifi.where())


def make_client(timeout: float = DEFAULT_TIMEOUT) -> httpx.Client:
    # No redirects: a redirect to another host would carry the API key header along.
    return httpx.Client(
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        verify=_tls_context(),
    )


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


def raise_for_status(response: httpx.Response, what: str, content: bytes | None = None) -> None:
    """Map an HTTP error status to the typed provider errors (never quoting the URL).
    `content` is the body when the response was streamed (read by `read_body`)."""
    status = response.status_code
    if status < 400:
        return
    detail = _error_detail(response.content if content is None else content)
    message = f"{what}: HTTP {status}" + (f" ({detail})" if detail else "")
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 401:
        raise AuthError(message)
    if status == 403:
        raise PermissionDenied(message)
    if status == 429:
        raise RateLimited(message, retry_after=retry_after)
    if status >= 500:
        raise UpstreamUnavailable(message, retry_after=retry_after)
    raise HTTPStatusError(message, status)


def same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


@dataclass
class ConditionalGetter:
    """GETs JSON with conditional headers from `cursor`; collects the validators it saw."""

    client: httpx.Client
    cursor: dict[str, str]
    conditional: bool = True
    validators: dict[str, str] = field(default_factory=dict)
    fresh: int = 0  # requests answered 200
    not_modified: int = 0  # requests answered 304

    def get_json(
        self,
        url: str,
        *,
        key: str,
        what: str,
        params: dict | None = None,
        headers: dict | None = None,
    ) -> Any:
        """The decoded body, or NOT_MODIFIED. `key` names the request without any secret."""
        headers = dict(headers or {})
        etag = self.cursor.get(ETAG_PREFIX + key)
        modified = self.cursor.get(MODIFIED_PREFIX + key)
        if self.conditional and etag:
            headers["If-None-Match"] = etag
        if self.conditional and modified:
            headers["If-Modified-Since"] = modified
        try:
            with self.client.stream("GET", url, params=params, headers=headers) as response:
                content = read_body(response, REPLY_MAX_BYTES, what)
        except httpx.TimeoutException:
            raise UpstreamUnavailable(f"{what}: timed out") from None
        except httpx.HTTPError as error:
            # The exception text can quote the URL (and a query-string key): name the type only.
            raise UpstreamUnavailable(f"{what}: {type(error).__name__}") from None
        if response.status_code == 304 and self.conditional and (etag or modified):
            self.not_modified += 1
            self._keep(key, etag, modified)
            return NOT_MODIFIED
        raise_for_status(response, what, content)
        self.fresh += 1
        self._keep(key, response.headers.get("ETag"), response.headers.get("Last-Modified"))
        try:
            return bounded_json.loads(content, max_bytes=REPLY_MAX_BYTES)
        except bounded_json.JSONRejected as error:
            raise BadData(f"{what}: the reply is not valid JSON ({error})") from None

    def _keep(self, key: str, etag: str | None, modified: str | None) -> None:
        if etag:
            self.validators[ETAG_PREFIX + key] = etag
        if modified:
            self.validators[MODIFIED_PREFIX + key] = modified

    @property
    def all_not_modified(self) -> bool:
        return self.not_modified > 0 and self.fresh == 0

    @property
    def mixed(self) -> bool:
        return self.not_modified > 0 and self.fresh > 0
