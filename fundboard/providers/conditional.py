"""Conditional GETs of the polled platforms (Action Network, P2P): ETags and 304s.

`ConditionalGetter` sends `If-None-Match` / `If-Modified-Since` where the upstream gave an
`ETag` / `Last-Modified` before, and remembers the new validators in a plain dict of strings
(stored on the source as `Source.etags`). A poll made of several requests is "unchanged"
only when every request came back 304; a mix means the client fetches everything again
without validators, because a 304 page carries no data to combine with the changed ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from . import bounded_json
from .errors import BadData
from .http import REPLY_MAX_BYTES, raise_for_status, read_body, transport_error

__all__ = ["NOT_MODIFIED", "ConditionalGetter", "NotModified"]

# Cursor keys in Source.etags: "etag <request key>" and "modified <request key>".
ETAG_PREFIX = "etag "
MODIFIED_PREFIX = "modified "


class NotModified:
    """The type of NOT_MODIFIED: what a request answered 304 gives instead of its data."""

    def __repr__(self) -> str:
        return "NOT_MODIFIED"


NOT_MODIFIED: Final = NotModified()


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
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
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
        except httpx.HTTPError as error:
            raise transport_error(error, what) from None
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
