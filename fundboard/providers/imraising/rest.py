"""ImRaising's REST endpoints: the paged listing, totals, top donors, the test donation.

`ImRaisingClient` (async) yields `DonationPage`s of the listing (`backfill_since(start)`:
limit 100, sort=time, startDate, offset paging until a short page) and reads
`donations_total()` and `top_donors()`. `send_test_donation(...)` is a plain *synchronous*
function for Django views (the staff dashboard); the async client has the same as a method.

Every call goes through the shared HTTP layer (`fundboard.providers.http`: its client
settings, User-Agent, status mapping and Retry-After parser); only the `{name, message}`
shape of ImRaising's error bodies is read here. No error message carries the API key.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from .. import bounded_json
from ..cleaning import clean_message, clean_name, parse_amount, parse_currency, upstream_text
from ..errors import BadData, BadRecord, ProviderError, UpstreamUnavailable
from ..http import (
    aread_body,
    error_for_status,
    make_async_client,
    make_client,
    read_body,
    transport_error,
)
from ..records import DonationRecord, TotalsRecord
from .documents import DEFAULT_BASE_URL, auth_headers, iso_param, parse_donation

__all__ = [
    "PAGE_SIZE",
    "DonationPage",
    "TopDonor",
    "ImRaisingClient",
    "error_for_response",
    "send_test_donation",
]

PAGE_SIZE = 100  # the documented maximum `limit`
MAX_PAGES = 10_000  # a runaway listing (offsets ignored upstream) must end somewhere
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# A listing page of 100 donations with 300-character messages is ~60 KB.
REPLY_MAX_BYTES = 4 * 1024 * 1024
# However slowly a host trickles a reply, a REST call ends after this long.
REQUEST_MAX_SECONDS = 60.0
# An error body is `{"name", "message"}`; anything longer is not read as one.
ERROR_BODY_MAX_BYTES = 16 * 1024


# --- errors ----------------------------------------------------------------------------------


def error_for_response(response: httpx.Response, content: bytes | None = None) -> ProviderError:
    """The typed error for a non-2xx reply (the shared HTTP layer's status mapping and
    Retry-After), worded as upstream's `{name, message}` says: only a bounded, one-line,
    control-free form of them, quoted on the source's health (a hostile host cannot fill the
    page). `content` is the body when the caller read it itself (a stream's, within a bound)."""
    content = response.content if content is None else content
    try:
        body = bounded_json.loads(content or b"{}", max_bytes=ERROR_BODY_MAX_BYTES)
    except bounded_json.JSONRejected:
        body = {}
    body = body if isinstance(body, dict) else {}
    name = upstream_text(body.get("name") or response.reason_phrase or "Error", 60) or "Error"
    detail = upstream_text(body.get("message") or "")
    text = f"HTTP {response.status_code} {name}" + (f": {detail}" if detail else "")
    return error_for_status(response, text) or ProviderError(text)


def _json(reply: tuple[httpx.Response, bytes]) -> object:
    response, content = reply
    if response.status_code >= 300:
        raise error_for_response(response, content)
    try:
        return bounded_json.loads(content, max_bytes=REPLY_MAX_BYTES)
    except bounded_json.JSONRejected as error:
        raise BadData(f"{response.request.url.path}: reply rejected ({error})") from None


def _list(reply: tuple[httpx.Response, bytes]) -> list[Any]:
    body = _json(reply)
    if not isinstance(body, list):
        path = reply[0].request.url.path
        raise BadData(f"{path}: expected a list, got {type(body).__name__}")
    return body


# --- the REST client -------------------------------------------------------------------------


@dataclass
class DonationPage:
    """One page of the listing: the valid records and why the others were rejected."""

    records: list[DonationRecord] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    size: int = 0  # documents on the page, valid or not


@dataclass(frozen=True)
class TopDonor:
    nickname: str
    total: Decimal
    currency: str
    latest_message: str = ""


def _window(start: datetime | None, end: datetime | None) -> dict[str, str]:
    params: dict[str, str] = {}
    if start is not None:
        params["startDate"] = iso_param(start)
    if end is not None:
        params["endDate"] = iso_param(end)
    return params


class ImRaisingClient:
    """The REST endpoints of one account (async). Use as `async with ImRaisingClient(...)`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        page_size: int = PAGE_SIZE,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.page_size = page_size
        self._http = make_async_client(
            timeout, base_url=self.base_url, headers=auth_headers(api_key), transport=transport
        )

    async def __aenter__(self) -> ImRaisingClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, bytes]:
        """The response and its body, read within REPLY_MAX_BYTES and REQUEST_MAX_SECONDS."""
        try:
            async with (
                asyncio.timeout(REQUEST_MAX_SECONDS),
                self._http.stream(method, path, **kwargs) as response,
            ):
                return response, await aread_body(response, REPLY_MAX_BYTES, path)
        except TimeoutError:
            raise UpstreamUnavailable(
                f"{path}: took longer than {REQUEST_MAX_SECONDS:g} s"
            ) from None
        except httpx.TransportError as error:
            raise transport_error(error, path) from None

    async def backfill_since(
        self, start: datetime | None, end: datetime | None = None
    ) -> AsyncIterator[DonationPage]:
        """Every listed donation from `start` on, oldest first, a page at a time."""
        params = {"sort": "time", "limit": str(self.page_size), **_window(start, end)}
        for number in range(MAX_PAGES):
            params["offset"] = str(number * self.page_size)
            documents = _list(await self._request("GET", "/api/v1/donations", params=params))
            page = DonationPage(size=len(documents))
            for document in documents:
                try:
                    page.records.append(parse_donation(document))
                except BadRecord as error:
                    page.rejected.append(f"listing: {error}")
            yield page
            if len(documents) < self.page_size:
                return

    async def donations_total(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[TotalsRecord]:
        """One total per currency, as `/api/v1/donations/total` reports them."""
        rows = _list(
            await self._request("GET", "/api/v1/donations/total", params=_window(start, end))
        )
        try:
            return [
                TotalsRecord(
                    total=parse_amount(row["total"], field="total", allow_zero=True),
                    currency=parse_currency(row["currency"]),
                )
                for row in rows
            ]
        except (BadRecord, KeyError, TypeError) as error:
            raise BadData(f"/api/v1/donations/total: {error!r}") from None

    async def top_donors(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        limit: int = 10,
        offset: int = 0,
    ) -> list[TopDonor]:
        params = {"limit": str(limit), "offset": str(offset), **_window(start, end)}
        rows = _list(await self._request("GET", "/api/v1/topDonors", params=params))
        try:
            return [
                TopDonor(
                    nickname=clean_name(row.get("nickname")),
                    total=parse_amount(row["amount"]["total"], field="total", allow_zero=True),
                    currency=parse_currency(row["amount"]["currency"]),
                    latest_message=clean_message(row.get("latestMessage")),
                )
                for row in rows
            ]
        except (BadRecord, KeyError, TypeError, AttributeError) as error:
            raise BadData(f"/api/v1/topDonors: {error!r}") from None

    async def send_test_donation(self, amount: Decimal | float, message: str = "") -> None:
        """Broadcast a test donation (currency XTS) to every listener; upstream stores nothing."""
        response, content = await self._request(
            "POST", "/api/v1/donations", json=_test_donation_body(amount, message)
        )
        if response.status_code >= 300:
            raise error_for_response(response, content)


def _test_donation_body(amount: Decimal | float, message: str) -> dict[str, object]:
    body: dict[str, object] = {"amount": float(amount)}
    if message:
        body["message"] = message[:300]  # the documented maximum
    return body


def send_test_donation(
    base_url: str, api_key: str, amount: Decimal | float, message: str = ""
) -> None:
    """Synchronous: POST the documented test donation. Raises the typed provider errors."""
    url = (base_url or DEFAULT_BASE_URL).rstrip("/") + "/api/v1/donations"
    try:
        with (
            make_client() as client,
            client.stream(
                "POST",
                url,
                headers=auth_headers(api_key),
                json=_test_donation_body(amount, message),
                timeout=DEFAULT_TIMEOUT,
            ) as response,
        ):
            content = read_body(response, ERROR_BODY_MAX_BYTES, "/api/v1/donations")
    except httpx.TransportError as error:
        raise transport_error(error, "/api/v1/donations") from None
    if response.status_code >= 300:
        raise error_for_response(response, content)
