"""ImRaising Public API: parsing its donation documents and calling its REST endpoints.

HTTP and parsing only (no ORM). The stream itself is read by `fundboard.sync.stream`, which
uses `parse_donation`, `parse_removal`, `decode_event_data` and `listen_request` from here.

- `ImRaisingClient` (async, httpx): `backfill_since(start)` yields `DonationPage`s of the
  listing (limit 100, sort=time, startDate, offset paging until a short page);
  `donations_total()`, `top_donors()`, `send_test_donation()`.
- `send_test_donation(base_url, api_key, amount, message)` is a plain *synchronous* function
  for Django views (the staff dashboard); the async client has the same as a method.

The API key only ever travels in the documented `authorization` header, never in a URL
(upstream allows `?apikey=` but discourages it), and no error message carries it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime

import httpx
from django.utils import timezone

from . import bounded_json
from .cleaning import (
    clean_id,
    clean_message,
    clean_name,
    parse_amount,
    parse_currency,
    parse_time,
    upstream_text,
)
from .errors import (
    AuthError,
    BadData,
    BadRecord,
    PermissionDenied,
    ProviderError,
    RateLimited,
    UpstreamUnavailable,
)
from .http import read_body
from .records import DonationRecord, RemovalRecord, TotalsRecord

__all__ = [
    "DEFAULT_BASE_URL",
    "PAGE_SIZE",
    "DonationPage",
    "TopDonor",
    "ImRaisingClient",
    "auth_headers",
    "decode_event_data",
    "parse_donation",
    "parse_removal",
    "error_for_response",
    "send_test_donation",
]

DEFAULT_BASE_URL = "https://imraising.tv"
PAGE_SIZE = 100  # the documented maximum `limit`
MAX_PAGES = 10_000  # a runaway listing (offsets ignored upstream) must end somewhere
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# One donation event is well under 2 KB; a stream event's data may be at most this long.
EVENT_MAX_BYTES = 256 * 1024
# A listing page of 100 donations with 300-character messages is ~60 KB.
REPLY_MAX_BYTES = 4 * 1024 * 1024
# However slowly a host trickles a reply, a REST call ends after this long.
REQUEST_MAX_SECONDS = 60.0
# An error body is `{"name", "message"}`; anything longer is not read as one.
ERROR_BODY_MAX_BYTES = 16 * 1024


def auth_headers(api_key: str) -> dict[str, str]:
    """The documented header; lowercase name, as upstream asks for cross-origin use."""
    return {"authorization": f'APIKey apikey="{api_key}"'}


def iso_param(moment: datetime) -> str:
    """An ISO-8601 time the way upstream writes them: UTC, milliseconds, `Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# --- parsing ---------------------------------------------------------------------------------


def decode_event_data(text: str) -> dict:
    """The JSON document of an event's (possibly multi-line) data; tolerates a leading BOM."""
    text = text.lstrip("\ufeff").strip()
    if not text:
        raise BadRecord("event data is empty")
    try:
        data = bounded_json.loads(text, max_bytes=EVENT_MAX_BYTES)
    except bounded_json.JSONRejected as error:
        raise BadRecord(f"event data rejected: {error}") from None
    if not isinstance(data, dict):
        raise BadRecord(f"event data is not an object: {type(data).__name__}")
    return data


def _display(data: dict) -> dict:
    amount = data.get("amount")
    display = amount.get("display") if isinstance(amount, dict) else None
    if not isinstance(display, dict):
        raise BadRecord("amount.display is missing")
    return display


def parse_donation(data: dict) -> DonationRecord:
    """A donation document (stream or listing) as a record, or BadRecord with the reason.

    Amounts come as "Float" strings or as numbers; a missing time means "now" (the stream
    announces donations as they happen), a malformed one is rejected.
    """
    if not isinstance(data, dict):
        raise BadRecord(f"donation is not an object: {type(data).__name__}")
    upstream_id = clean_id(data.get("_id"))
    display = _display(data)
    try:
        amount = parse_amount(display.get("total"))
        currency = parse_currency(display.get("currency"))
        donated_at = parse_time(data["time"]) if data.get("time") else timezone.now()
    except BadRecord as error:
        raise BadRecord(f"donation {upstream_id}: {error}") from None
    return DonationRecord(
        upstream_id=upstream_id,
        display_name=clean_name(data.get("nickname")),
        amount=amount,
        currency=currency,
        donated_at=donated_at,
        message=clean_message(data.get("message")),
    )


def parse_removal(data: dict) -> RemovalRecord:
    if not isinstance(data, dict):
        raise BadRecord(f"removal is not an object: {type(data).__name__}")
    return RemovalRecord(upstream_id=clean_id(data.get("_id")))


# --- errors ----------------------------------------------------------------------------------


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_for_response(response: httpx.Response, content: bytes | None = None) -> ProviderError:
    """The typed error for a non-2xx reply, named as upstream's `{name, message}` says.

    The name and message are upstream's words, quoted on the source's health: only a
    bounded, one-line, control-free form of them (a hostile host cannot fill the page).
    `content` is the body when the caller read it itself (a stream's, read within a bound)."""
    content = response.content if content is None else content
    try:
        body = bounded_json.loads(content or b"{}", max_bytes=ERROR_BODY_MAX_BYTES)
    except bounded_json.JSONRejected:
        body = {}
    body = body if isinstance(body, dict) else {}
    name = upstream_text(body.get("name") or response.reason_phrase or "Error", 60) or "Error"
    detail = upstream_text(body.get("message") or "")
    text = f"HTTP {response.status_code} {name}" + (f": {detail}" if detail else "")
    status = response.status_code
    if status == 401:
        return AuthError(text)
    if status == 403:
        return PermissionDenied(text)
    if status == 429:
        return RateLimited(text, retry_after=_retry_after(response))
    if status >= 500:
        return UpstreamUnavailable(text, retry_after=_retry_after(response))
    return ProviderError(text)


async def _read_body(response: httpx.Response, limit: int, what: str) -> bytes:
    """The body of a streamed response, refused past `limit` bytes (see http.read_body)."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise BadData(f"{what}: the reply is larger than {limit} bytes")
    return bytes(body)


def _json(reply: tuple[httpx.Response, bytes]) -> object:
    response, content = reply
    if response.status_code >= 300:
        raise error_for_response(response, content)
    try:
        return bounded_json.loads(content, max_bytes=REPLY_MAX_BYTES)
    except bounded_json.JSONRejected as error:
        raise BadData(f"{response.request.url.path}: reply rejected ({error})") from None


def _list(reply: tuple[httpx.Response, bytes]) -> list:
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
    params = {}
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
    ):
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.page_size = page_size
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=auth_headers(api_key), timeout=timeout
        )

    async def __aenter__(self) -> ImRaisingClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs) -> tuple[httpx.Response, bytes]:
        """The response and its body, read within REPLY_MAX_BYTES and REQUEST_MAX_SECONDS."""
        try:
            async with (
                asyncio.timeout(REQUEST_MAX_SECONDS),
                self._http.stream(method, path, **kwargs) as response,
            ):
                return response, await _read_body(response, REPLY_MAX_BYTES, path)
        except TimeoutError:
            raise UpstreamUnavailable(
                f"{path}: took longer than {REQUEST_MAX_SECONDS:g} s"
            ) from None
        except httpx.TimeoutException as error:
            raise UpstreamUnavailable(f"{path}: timed out ({type(error).__name__})") from None
        except httpx.TransportError as error:
            detail = upstream_text(error, 100)
            raise UpstreamUnavailable(f"{path}: {type(error).__name__}: {detail}") from None

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


def _test_donation_body(amount: Decimal | float, message: str) -> dict:
    body: dict = {"amount": float(amount)}
    if message:
        body["message"] = message[:300]  # the documented maximum
    return body


def send_test_donation(
    base_url: str, api_key: str, amount: Decimal | float, message: str = ""
) -> None:
    """Synchronous: POST the documented test donation. Raises the typed provider errors."""
    url = (base_url or DEFAULT_BASE_URL).rstrip("/") + "/api/v1/donations"
    try:
        with httpx.stream(
            "POST",
            url,
            headers=auth_headers(api_key),
            json=_test_donation_body(amount, message),
            timeout=DEFAULT_TIMEOUT,
        ) as response:
            content = read_body(response, ERROR_BODY_MAX_BYTES, "/api/v1/donations")
    except httpx.TimeoutException:
        raise UpstreamUnavailable("/api/v1/donations: timed out") from None
    except httpx.TransportError as error:
        raise UpstreamUnavailable(f"/api/v1/donations: {type(error).__name__}") from None
    if response.status_code >= 300:
        raise error_for_response(response, content)
