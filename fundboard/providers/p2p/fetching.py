"""Reading an event's methods: URLs, the key parameter, limit/offset paging and 304s.

Totals and gifts stand alone. The leaderboards are replaced whole, so when any page of
fundraisers or teams changed, the lists answered 304 are read again without validators
(a 304 page carries no data to combine with the changed ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..conditional import NOT_MODIFIED, ConditionalGetter, NotModified
from ..errors import BadData
from .config import P2PConfig
from .parsing import unwrap_envelope

__all__ = ["GIFTS_SINCE_KEY", "EventData", "EventReader"]

SORT = {"fundraisers": "-raised", "teams": "-raised", "gifts": "-date"}
# 100 pages of 100: far beyond a real event's boards; stops a runaway loop.
MAX_PAGES = 100
GIFTS_SINCE_KEY = "gifts_since"  # in the cursor: the newest gift's date seen so far
BOARDS = ("fundraisers", "teams")

# A method's records, or NOT_MODIFIED when the platform said they did not change.
Records = list[Any] | NotModified


@dataclass
class EventData:
    """Raw `data` per method, NOT_MODIFIED where the platform answered 304."""

    totals: Any = NOT_MODIFIED
    lists: dict[str, Records] = field(default_factory=dict)


class EventReader:
    """One event's methods read through `getter` (with validators) or `plain` (without)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        event_id: str,
        config: P2PConfig,
        getter: ConditionalGetter,
    ):
        self.base_url, self.api_key, self.event_id = base_url, api_key, event_id
        self.config = config
        self.getter = getter
        # Shares the validators it collects with `getter`, so the poll keeps them all.
        self.plain = ConditionalGetter(
            getter.client, getter.cursor, conditional=False, validators=getter.validators
        )

    def read(self) -> EventData:
        data = EventData(totals=self._call(self.getter, "totals", "totals", {}))
        for method in self.config.methods[1:]:
            data.lists[method] = self._list(self.getter, method)
        boards = [m for m in BOARDS if m in data.lists]
        if any(data.lists[m] is not NOT_MODIFIED for m in boards):
            for method in boards:
                if data.lists[method] is NOT_MODIFIED:
                    data.lists[method] = self._list(self.plain, method)
        return data

    def _url(self, method: str) -> str:
        path = self.config.paths[method].replace("{event_id}", self.event_id)
        return f"{self.base_url}/{path.lstrip('/')}"

    def _call(
        self, getter: ConditionalGetter, method: str, key: str, params: dict[str, Any]
    ) -> Any:
        what = f"P2P {method}"
        body = getter.get_json(
            self._url(method),
            key=key,  # names the request without the API key
            what=what,
            params={**params, self.config.key_param: self.api_key},
        )
        return body if body is NOT_MODIFIED else unwrap_envelope(body, what)

    def _list(self, getter: ConditionalGetter, method: str) -> Records:
        """Every record of a paged method, or NOT_MODIFIED when every page was. Pages
        answered 304 next to pages that changed: the list is read again without validators."""
        pages = self._pages(getter, method)
        if all(page is NOT_MODIFIED for page in pages):
            return NOT_MODIFIED
        if any(page is NOT_MODIFIED for page in pages):
            pages = self._pages(self.plain, method)
        return [record for page in pages if isinstance(page, list) for record in page]

    def _pages(self, getter: ConditionalGetter, method: str) -> list[Records]:
        """limit/offset to the first short page; a 304 page counts as full while the last
        poll saw more pages after it."""
        limit = self.config.page_size
        params: dict[str, Any] = {"sort": SORT[method], "limit": limit}
        since = getter.cursor.get(GIFTS_SINCE_KEY) if method == "gifts" else None
        if since:
            params["since"] = since
        pages_key = f"pages {method}"
        pages: list[Records] = []
        for number in range(MAX_PAGES):
            key = f"{method} since={since or ''} page={number}"
            data = self._call(getter, method, key, {**params, "offset": number * limit})
            if data is NOT_MODIFIED:
                full = number + 1 < int(getter.cursor.get(pages_key, "1") or 1)
            elif isinstance(data, list):
                full = len(data) >= limit
            else:
                raise BadData(f"P2P {method}: data is not a list")
            pages.append(data)
            if not full:
                getter.validators[pages_key] = str(number + 1)
                break
        return pages
