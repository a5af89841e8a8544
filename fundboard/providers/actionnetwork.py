"""Action Network fundraising pages (OSDI, HAL+JSON), read-only.

A source either names its pages or tracks every page of its API key:

    ids = {"page_ids": ["d91b4b2e-...", "..."]}          # GET /api/v1/fundraising_pages/{id}
    ids = {"all_pages": true}                           # GET /api/v1/fundraising_pages, paged
    ids = {"all_pages": true, "title_contains": "Walk"} # ... only pages whose title contains it
    ids = {"all_pages": true, "identifier": "free_fundraising:1"}  # ... or carrying this id

The key travels in the `api-key` header. A page's identity is its `action_network:` entry in
`identifiers`, never its position in a list, so pages moving between collection pages are
counted once. The source's total is the sum of its pages' `total_amount` (the platform's own
figure); each page is also a leaderboard entry (kind "fundraiser").

Options (`source.options`): `timeout` (seconds per request, default 10).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from urllib.parse import urlsplit

from .cleaning import clean_id, clean_message, parse_amount, parse_currency
from .errors import BadData, BadRecord
from .http import (
    DEFAULT_TIMEOUT,
    NOT_MODIFIED,
    ConditionalGetter,
    HTTPStatusError,
    make_client,
    same_origin,
)
from .records import EntryRecord, PollResult, TotalsRecord

__all__ = ["ActionNetworkClient", "parse_fundraising_page"]

COLLECTION_PATH = "/api/v1/fundraising_pages"
EMBEDDED_KEY = "osdi:fundraising_pages"
IDENTIFIER_PREFIX = "action_network:"
# Far above any real account; stops a misbehaving `next` chain from looping forever.
MAX_COLLECTION_PAGES = 400
PAGE_COUNT_KEY = "pages fundraising_pages"
TITLE_MAX_LENGTH = 120


def _page_id(raw: dict) -> str:
    identifiers = raw.get("identifiers")
    if isinstance(identifiers, list):
        for identifier in identifiers:
            if isinstance(identifier, str) and identifier.startswith(IDENTIFIER_PREFIX):
                # A string of at most ID_MAX_LENGTH visible characters, or rejected.
                return clean_id(identifier[len(IDENTIFIER_PREFIX) :], field="identifier")
    raise BadRecord("fundraising page has no action_network identifier")


def _title(raw: dict) -> str:
    title = " ".join(clean_message(raw.get("summary")).split())
    return title[:TITLE_MAX_LENGTH] or "Fundraising page"


def _url(raw: dict) -> str:
    url = raw.get("url")
    if isinstance(url, str) and urlsplit(url).scheme in ("http", "https") and len(url) <= 500:
        return url
    return ""


def _count(raw: dict) -> int:
    value = raw.get("total_donations", 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadRecord(f"total_donations is not a count: {str(value)[:20]!r}")
    return int(value)


def parse_fundraising_page(raw: object) -> EntryRecord:
    """One fundraising page as a leaderboard entry, or BadRecord with the reason."""
    if not isinstance(raw, dict):
        raise BadRecord("fundraising page is not an object")
    return EntryRecord(
        kind="fundraiser",
        upstream_id=_page_id(raw),
        name=_title(raw),
        raised=parse_amount(raw.get("total_amount"), field="total_amount", allow_zero=True),
        currency=parse_currency(raw.get("currency") or "USD"),
        donation_count=_count(raw),
        url=_url(raw),
    )


def _matches(raw: object, title_contains: str, identifier: str) -> bool:
    if not isinstance(raw, dict):
        return True  # parsing rejects it with a reason
    if title_contains and title_contains.casefold() not in str(raw.get("summary", "")).casefold():
        return False
    if identifier:
        identifiers = raw.get("identifiers")
        return isinstance(identifiers, list) and identifier in identifiers
    return True


class ActionNetworkClient:
    def __init__(self, base_url: str, api_key: str, provider_ids: dict, options: dict):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.page_ids = [str(p) for p in provider_ids.get("page_ids", []) if str(p).strip()]
        self.all_pages = bool(provider_ids.get("all_pages")) or not self.page_ids
        self.title_contains = str(provider_ids.get("title_contains", "") or "")
        self.identifier = str(provider_ids.get("identifier", "") or "")
        self.timeout = float(options.get("timeout", DEFAULT_TIMEOUT))

    @property
    def headers(self) -> dict[str, str]:
        return {"api-key": self.api_key, "Accept": "application/hal+json"}

    def poll(self, cursor: dict[str, str] | None = None) -> PollResult:
        """Fetch every tracked page; `cursor` holds the validators of the previous poll."""
        cursor = dict(cursor or {})
        with make_client(self.timeout) as client:
            getter = ConditionalGetter(client, cursor)
            raw_pages = self._fetch(getter)
            if getter.all_not_modified:
                return PollResult(unchanged=True, etags=cursor)
            if getter.mixed:
                # Some 304s: their data is not in hand, so read everything once more.
                getter = ConditionalGetter(client, cursor, conditional=False)
                raw_pages = self._fetch(getter)
        return self._result(raw_pages, getter.validators)

    # --- fetching ------------------------------------------------------------------------

    def _fetch(self, getter: ConditionalGetter) -> list[object]:
        if self.all_pages:
            return self._collection(getter)
        return self._named(getter)

    def _named(self, getter: ConditionalGetter) -> list[object]:
        pages: list[object] = []
        for page_id in dict.fromkeys(self.page_ids):
            try:
                body = getter.get_json(
                    f"{self.base_url}{COLLECTION_PATH}/{page_id}",
                    key=f"fundraising_page {page_id}",
                    what=f"Action Network page {page_id}",
                    headers=self.headers,
                )
            except HTTPStatusError as error:
                if error.status != 404:
                    raise
                pages.append(BadRecord(f"fundraising page {page_id} not found (HTTP 404)"))
                continue
            if body is not NOT_MODIFIED:
                pages.append(body)
        return pages

    def _collection(self, getter: ConditionalGetter) -> list[object]:
        pages: list[object] = []
        url = f"{self.base_url}{COLLECTION_PATH}"
        params: dict | None = None
        number, seen = 1, set()
        while number <= MAX_COLLECTION_PAGES and number not in seen:
            seen.add(number)
            body = getter.get_json(
                url,
                key=f"fundraising_pages page {number}",
                what=f"Action Network pages (page {number})",
                params=params,
                headers=self.headers,
            )
            if body is NOT_MODIFIED:
                total_pages = int(getter.cursor.get(PAGE_COUNT_KEY, "1") or 1)
                next_href = None
            else:
                embedded, total_pages, next_href = self._collection_page(body)
                pages.extend(embedded)
                if not embedded:
                    total_pages = number
            getter.validators[PAGE_COUNT_KEY] = str(total_pages)
            if number >= total_pages:
                break
            number += 1
            url, params = self._next_page_url(next_href, number)
        return pages

    def _next_page_url(self, next_href: str | None, number: int) -> tuple[str, dict | None]:
        # Follow `_links.next` on our own host only: the key header must not go elsewhere.
        if next_href and same_origin(next_href, self.base_url):
            return next_href, None
        return f"{self.base_url}{COLLECTION_PATH}", {"page": number}

    @staticmethod
    def _collection_page(body: object) -> tuple[list, int, str | None]:
        if not isinstance(body, dict):
            raise BadData("Action Network pages: the reply is not a HAL object")
        embedded = (body.get("_embedded") or {}).get(EMBEDDED_KEY, [])
        if not isinstance(embedded, list):
            raise BadData(f"Action Network pages: _embedded.{EMBEDDED_KEY} is not a list")
        try:
            total_pages = int(body.get("total_pages") or 1)
        except (TypeError, ValueError):
            raise BadData("Action Network pages: total_pages is not a number") from None
        next_link = (body.get("_links") or {}).get("next") or {}
        next_href = next_link.get("href") if isinstance(next_link, dict) else None
        return embedded, total_pages, next_href if isinstance(next_href, str) else None

    # --- turning pages into records ---------------------------------------------------------

    def _result(self, raw_pages: Iterable[object], validators: dict[str, str]) -> PollResult:
        entries: dict[str, EntryRecord] = {}
        rejected: list[str] = []
        for raw in raw_pages:
            if isinstance(raw, BadRecord):
                rejected.append(str(raw))
                continue
            wanted = not self.all_pages or _matches(raw, self.title_contains, self.identifier)
            if not wanted:
                continue
            try:
                entry = parse_fundraising_page(raw)
            except BadRecord as error:
                rejected.append(f"Action Network page: {error}")
                continue
            # Identity, not position: a page seen twice (the list shifted) counts once.
            entries[entry.upstream_id] = entry
        currency = next(iter(entries.values())).currency if entries else "USD"
        kept = []
        for entry in entries.values():
            if entry.currency != currency:
                rejected.append(f"page {entry.upstream_id}: currency {entry.currency} differs")
                continue
            kept.append(entry)
        totals = TotalsRecord(
            total=sum((e.raised for e in kept), Decimal("0")),
            currency=currency,
            count=sum(e.donation_count for e in kept),
        )
        return PollResult(totals=totals, entries=kept, rejected=rejected, etags=validators)
