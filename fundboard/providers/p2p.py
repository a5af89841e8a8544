"""Peer-to-peer events (Engaging Networks P2P REST API v1.0), read-only.

Every reply is an envelope: `{"status": true, "data": ...}` or `{"status": false, "error":
"..."}`, and a failure can come with HTTP 200, so the envelope decides: `status:false` is an
error (the source keeps its last good numbers), never zeros. "Invalid API key" is an
AuthError. The key goes in a query parameter and must stay on the server.

The source names its event: `ids = {"event_id": "spring-walk"}`. A poll reads four methods:
event totals (the source's part of the campaign total), fundraisers and teams (leaderboards,
paged with limit/offset to the end, blocked fundraisers left off), and gifts (stored as
donations for top donors and the recent list; they do not add to the total, the event's own
total does). Gifts are read from the newest one seen on (`since`), so a poll stays small.

The platform's method reference is not public, so every name below is configuration,
set per source in `options` (these are the defaults):

    [campaign.source.options]
    key_param = "apiKey"        # name of the query parameter carrying the API key
    page_size = 100             # limit per request (the platform allows at most 100)
    blocked_status = "blocked"  # a fundraiser with this status is left off the boards
    methods = ["totals", "fundraisers", "teams", "gifts"]   # drop one to skip it
    timeout = 10                # seconds per request

    [campaign.source.options.paths]   # {event_id} is replaced by the source's event id
    totals = "/api/v1/p2p/events/{event_id}/totals"
    fundraisers = "/api/v1/p2p/events/{event_id}/fundraisers"
    teams = "/api/v1/p2p/events/{event_id}/teams"
    gifts = "/api/v1/p2p/events/{event_id}/gifts"

    [campaign.source.options.fields.totals]        # our name = the platform's field name
    raised = "raised"         # also: goal, currency, donation_count, name
    [campaign.source.options.fields.fundraisers]
    id = "id"                 # also: name, team_name, raised, goal, donation_count, url, status
    [campaign.source.options.fields.teams]
    id = "id"                 # also: name, raised, goal, member_count, url
    [campaign.source.options.fields.gifts]
    id = "id"                 # also: donor_name, anonymous, amount, currency, message, date,
                              #       fundraiser_id

Only the fields you change need to be given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from .cleaning import (
    clean_id,
    clean_message,
    clean_name,
    clean_optional_id,
    parse_amount,
    parse_currency,
    parse_time,
    upstream_text,
)
from .errors import AuthError, BadData, BadRecord
from .http import DEFAULT_TIMEOUT, NOT_MODIFIED, ConditionalGetter, make_client
from .records import DonationRecord, EntryRecord, PollResult, TotalsRecord

__all__ = ["P2PClient", "P2PConfig", "DEFAULT_PATHS", "DEFAULT_FIELDS"]

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
SORT = {"fundraisers": "-raised", "teams": "-raised", "gifts": "-date"}
MAX_PAGE_SIZE = 100
# 100 pages of 100: far beyond a real event's boards; stops a runaway loop.
MAX_PAGES = 100
GIFTS_SINCE_KEY = "gifts_since"
CURRENCY_KEY = "currency"
LABEL_MAX_LENGTH = 80


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
    def from_options(cls, options: dict) -> P2PConfig:
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


# --- parsing one record ----------------------------------------------------------------------


def _label(value: object) -> str:
    text = " ".join(clean_message(value).split())
    return text[:LABEL_MAX_LENGTH]


def _url(value: object) -> str:
    if isinstance(value, str) and urlsplit(value).scheme in ("http", "https") and len(value) < 500:
        return value
    return ""


def _optional_amount(value: object, name: str) -> Decimal | None:
    if value in (None, ""):
        return None
    return parse_amount(value, field=name, allow_zero=True)


def _count(value: object, name: str) -> int:
    if value in (None, ""):
        return 0
    # An integer, or a string of ASCII digits (int() alone would read "١٢" and "1_000").
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,15}", value.strip(), re.ASCII):
        count = int(value)
    elif isinstance(value, int) and not isinstance(value, bool) and value < 10**15:
        count = value
    else:
        raise BadRecord(f"{name} is not a count: {upstream_text(value, 20)!r}")
    if count < 0:
        raise BadRecord(f"{name} is negative: {count}")
    return count


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y"}
    return bool(value)


class _Fields:
    """Reads our field names from a record that uses the platform's (configured) names."""

    def __init__(self, record: object, names: dict[str, str], what: str):
        if not isinstance(record, dict):
            raise BadRecord(f"{what} is not an object")
        self.record, self.names = record, names

    def __getitem__(self, name: str) -> Any:
        return self.record.get(self.names.get(name, name))


def parse_totals(data: object, names: dict[str, str]) -> TotalsRecord:
    try:
        f = _Fields(data, names, "event totals")
        return TotalsRecord(
            total=parse_amount(f["raised"], field="raised", allow_zero=True),
            currency=parse_currency(f["currency"]),
            count=_count(f["donation_count"], "donation_count"),
            goal=_optional_amount(f["goal"], "goal"),
        )
    except BadRecord as error:
        # Without a usable total there is nothing to show: the poll fails, numbers stay.
        raise BadData(f"P2P event totals: {error}") from None


def parse_fundraiser(record: object, names: dict[str, str], currency: str) -> EntryRecord:
    f = _Fields(record, names, "fundraiser")
    return EntryRecord(
        kind="fundraiser",
        upstream_id=clean_id(f["id"], field="id"),
        name=clean_name(f["name"]) or "Fundraiser",
        team_name=_label(f["team_name"]),
        raised=parse_amount(f["raised"], field="raised", allow_zero=True),
        goal=_optional_amount(f["goal"], "goal"),
        currency=currency,
        donation_count=_count(f["donation_count"], "donation_count"),
        url=_url(f["url"]),
    )


def parse_team(record: object, names: dict[str, str], currency: str) -> EntryRecord:
    f = _Fields(record, names, "team")
    return EntryRecord(
        kind="team",
        upstream_id=clean_id(f["id"], field="id"),
        name=_label(f["name"]) or "Team",
        raised=parse_amount(f["raised"], field="raised", allow_zero=True),
        goal=_optional_amount(f["goal"], "goal"),
        currency=currency,
        url=_url(f["url"]),
    )


def parse_gift(record: object, names: dict[str, str], currency: str) -> DonationRecord:
    f = _Fields(record, names, "gift")
    return DonationRecord(
        upstream_id=clean_id(f["id"], field="id"),
        display_name=clean_name(f["donor_name"]),
        amount=parse_amount(f["amount"]),
        currency=parse_currency(f["currency"] or currency),
        donated_at=parse_time(f["date"], field="date"),
        message=clean_message(f["message"]),
        anonymous=_truthy(f["anonymous"]),
        fundraiser_id=clean_optional_id(f["fundraiser_id"], field="fundraiser_id"),
    )


# --- the client --------------------------------------------------------------------------------


def unwrap_envelope(body: object, what: str) -> Any:
    """The `data` of a successful envelope; an error for `status:false`, whatever the HTTP code."""
    if not isinstance(body, dict) or "status" not in body:
        raise BadData(f"{what}: the reply has no status envelope")
    if body["status"] is True:
        if "data" not in body:
            raise BadData(f"{what}: status true without data")
        return body["data"]
    error = upstream_text(body.get("error") or "") or "no error message"
    if "api key" in error.lower():
        raise AuthError(f"{what}: {error}")
    raise BadData(f"{what}: status false ({error})")


@dataclass
class _Fetched:
    """Raw `data` per method; NOT_MODIFIED where the platform answered 304."""

    totals: Any = NOT_MODIFIED
    lists: dict[str, Any] = field(default_factory=dict)


class P2PClient:
    def __init__(self, base_url: str, api_key: str, provider_ids: dict, options: dict):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.event_id = str(provider_ids.get("event_id", "")).strip()
        if not self.event_id:
            raise BadData("P2P source has no event_id in its ids")
        self.config = P2PConfig.from_options(options or {})

    def poll(self, cursor: dict[str, str] | None = None) -> PollResult:
        """Read the event; parts the platform says are unchanged (304) stay as stored.

        Totals and gifts stand alone. The leaderboards are replaced whole, so when any page of
        fundraisers or teams changed, the lists answered 304 are read again without validators.
        """
        cursor = dict(cursor or {})
        with make_client(self.config.timeout) as client:
            getter = ConditionalGetter(client, cursor)
            plain = ConditionalGetter(
                client, cursor, conditional=False, validators=getter.validators
            )
            fetched = _Fetched(totals=self._call(getter, "totals", "totals", {}))
            for method in self.config.methods[1:]:
                fetched.lists[method] = self._list(getter, plain, method)
            if getter.all_not_modified:
                return PollResult(unchanged=True, etags=cursor)
            boards = [m for m in ("fundraisers", "teams") if m in fetched.lists]
            if any(fetched.lists[m] is not NOT_MODIFIED for m in boards):
                for method in boards:
                    if fetched.lists[method] is NOT_MODIFIED:
                        fetched.lists[method] = self._list(plain, plain, method)
        return self._result(fetched, getter)

    # --- fetching ------------------------------------------------------------------------

    def _url(self, method: str) -> str:
        path = self.config.paths[method].replace("{event_id}", self.event_id)
        return f"{self.base_url}/{path.lstrip('/')}"

    def _call(self, getter: ConditionalGetter, method: str, key: str, params: dict) -> Any:
        what = f"P2P {method}"
        body = getter.get_json(
            self._url(method),
            key=key,
            what=what,
            params={**params, self.config.key_param: self.api_key},
        )
        return body if body is NOT_MODIFIED else unwrap_envelope(body, what)

    def _list(self, getter: ConditionalGetter, plain: ConditionalGetter, method: str) -> Any:
        """Every record of a paged method (limit/offset to the end), or NOT_MODIFIED.

        Pages answered 304 next to pages that changed carry no data: the list is then read
        again without validators.
        """
        pages = self._pages(getter, method)
        if NOT_MODIFIED not in pages:
            return [record for page in pages for record in page]
        if all(page is NOT_MODIFIED for page in pages):
            return NOT_MODIFIED
        return [record for page in self._pages(plain, method) for record in page]

    def _pages(self, getter: ConditionalGetter, method: str) -> list:
        limit = self.config.page_size
        params: dict = {"sort": SORT[method], "limit": limit}
        since = getter.cursor.get(GIFTS_SINCE_KEY) if method == "gifts" else None
        if since:
            params["since"] = since
        pages_key = f"pages {method}"
        pages: list = []
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

    # --- records -----------------------------------------------------------------------------

    def _result(self, fetched: _Fetched, getter: ConditionalGetter) -> PollResult:
        fields = self.config.fields
        result = PollResult(etags=dict(getter.validators))
        currency = getter.cursor.get(CURRENCY_KEY, "USD")
        if fetched.totals is not NOT_MODIFIED:
            result.totals = parse_totals(fetched.totals, fields["totals"])
            currency = result.totals.currency
        result.etags[CURRENCY_KEY] = currency
        lists = {m: data for m, data in fetched.lists.items() if data is not NOT_MODIFIED}
        if "fundraisers" in lists or "teams" in lists:
            result.entries = []
        for raw in lists.get("fundraisers", []):
            if self._is_blocked(raw):
                continue  # blocked by the organiser: never on a public board
            self._add(result, parse_fundraiser, raw, fields["fundraisers"], currency)
        for raw in lists.get("teams", []):
            self._add(result, parse_team, raw, fields["teams"], currency)
        for raw in lists.get("gifts", []):
            self._add(result, parse_gift, raw, fields["gifts"], currency)
        self._dedupe(result)
        self._advance_gift_cursor(result, getter)
        return result

    def _is_blocked(self, raw: object) -> bool:
        if not isinstance(raw, dict):
            return False
        status = raw.get(self.config.fields["fundraisers"].get("status", "status"))
        return str(status or "").lower() == self.config.blocked_status.lower()

    @staticmethod
    def _add(result: PollResult, parse, raw, names, currency) -> None:
        try:
            record = parse(raw, names, currency)
        except BadRecord as error:
            result.rejected.append(f"P2P {parse.__name__.removeprefix('parse_')}: {error}")
            return
        if isinstance(record, DonationRecord):
            result.donations.append(record)
        else:
            result.entries.append(record)

    @staticmethod
    def _dedupe(result: PollResult) -> None:
        # Offset paging over a list that moves can show a record twice: identity decides.
        if result.entries is not None:
            result.entries = list({(e.kind, e.upstream_id): e for e in result.entries}.values())
        result.donations = list({d.upstream_id: d for d in result.donations}.values())

    def _advance_gift_cursor(self, result: PollResult, getter: ConditionalGetter) -> None:
        since = getter.cursor.get(GIFTS_SINCE_KEY, "")
        if result.donations:
            newest = max(d.donated_at for d in result.donations)
            newest_text = newest.isoformat().replace("+00:00", "Z")
            since = max(since, newest_text) if since else newest_text
        if since:
            result.etags[GIFTS_SINCE_KEY] = since
