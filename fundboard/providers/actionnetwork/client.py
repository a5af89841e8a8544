"""`ActionNetworkClient.poll()`: the tracked pages as entries, and their sum as the total."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ..conditional import ConditionalGetter
from ..errors import BadRecord
from ..http import DEFAULT_TIMEOUT, make_client
from ..records import EntryRecord, PollResult, TotalsRecord
from .fetching import read_collection, read_named
from .parsing import page_matches, parse_fundraising_page

__all__ = ["ActionNetworkClient"]


class ActionNetworkClient:
    def __init__(
        self, base_url: str, api_key: str, provider_ids: dict[str, Any], options: dict[str, Any]
    ):
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

    def _fetch(self, getter: ConditionalGetter) -> list[object]:
        if self.all_pages:
            return read_collection(getter, self.base_url, self.headers)
        return read_named(getter, self.base_url, self.page_ids, self.headers)

    def _result(self, raw_pages: Iterable[object], validators: dict[str, str]) -> PollResult:
        rejected: list[str] = []
        entries = self._entries(raw_pages, rejected)
        # The total is one sum, so it takes one currency: the first page's.
        currency = entries[0].currency if entries else "USD"
        kept = []
        for entry in entries:
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

    def _entries(self, raw_pages: Iterable[object], rejected: list[str]) -> list[EntryRecord]:
        """The tracked pages that parse, each once; the reasons of the others in `rejected`."""
        entries: dict[str, EntryRecord] = {}
        for raw in raw_pages:
            if isinstance(raw, BadRecord):
                rejected.append(str(raw))
                continue
            if self.all_pages and not page_matches(raw, self.title_contains, self.identifier):
                continue
            try:
                entry = parse_fundraising_page(raw)
            except BadRecord as error:
                rejected.append(f"Action Network page: {error}")
                continue
            # Identity, not position: a page seen twice (the list shifted) counts once.
            entries[entry.upstream_id] = entry
        return list(entries.values())
