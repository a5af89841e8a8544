"""The optional rates feed: global exchange rates fetched from one configured URL.

FUNDBOARD_RATES_URL names a JSON document of this one simple shape (the shape of common
reference-rate services, e.g. the ECB's daily rates re-published as JSON):

    {"base": "EUR", "date": "2026-11-30", "rates": {"USD": "1.0842", "GBP": "0.8531"}}

meaning 1 EUR = 1.0842 USD and 1 EUR = 0.8531 GBP (numbers or strings; read exactly, as
decimals). They are stored as global rates (fundboard.fx.models, origin "feed"), which a
campaign uses for a currency it has no rate of its own for: directly, inverted, or through
the base (GBP -> EUR -> USD). Only donations arriving later use them; stored ones keep
their rate until staff re-rate.

The request goes to that URL only, through the upstream clients' one HTTP layer
(fundboard/providers/http.py: its User-Agent, TLS, timeouts and status mapping): no
redirects are followed, the answer is bounded in size and time, and a failed or malformed
fetch keeps the rates already stored.
"""

from __future__ import annotations

import json
import logging
import re
from decimal import Decimal

import httpx
from django.conf import settings
from django.db import transaction

from fundboard.providers import bounded_json
from fundboard.providers.errors import ProviderError
from fundboard.providers.http import make_client, raise_for_status, read_body, transport_error

from .models import ExchangeRate, RateOrigin

__all__ = ["FeedError", "fetch_rates", "parse_feed", "store_feed", "MAX_BYTES"]

log = logging.getLogger("fundboard.fx")

MAX_BYTES = 256 * 1024
MAX_RATES = 500
CODE = re.compile(r"^[A-Z]{3}$")
# How the feed is named in its errors (never the URL, which may carry a key).
WHAT = "rates feed"


class FeedError(ValueError):
    """The feed could not be fetched or says something we do not accept."""


def _download(url: str) -> bytes:
    """The document's bytes, or FeedError (any status but 2xx, a redirect included: only
    this URL is asked; a transport failure; a body over MAX_BYTES)."""
    if not url.lower().startswith(("http://", "https://")):
        raise FeedError("the rates URL must be http(s)")
    try:
        with (
            make_client(headers={"Accept": "application/json"}) as client,
            client.stream("GET", url) as response,
        ):
            body = read_body(response, MAX_BYTES, WHAT)
        raise_for_status(response, WHAT, body)
    except httpx.HTTPError as error:
        raise FeedError(str(transport_error(error, WHAT))) from None
    except httpx.InvalidURL:  # not an HTTPError: "http://" with no host, say
        raise FeedError("the rates URL is not a valid URL") from None
    except ProviderError as error:
        raise FeedError(str(error)) from None
    return body


def _rate(code: str, value) -> Decimal:
    rate = value if isinstance(value, Decimal) else Decimal(str(value))
    if not rate.is_finite() or rate <= 0:
        raise FeedError(f"rate {code}: {value!r} is not a positive number")
    return rate


def parse_feed(body: bytes) -> tuple[str, dict[str, Decimal]]:
    """(base, {currency: rate}) from the document, or FeedError."""
    try:
        bounded_json.loads(body, max_bytes=MAX_BYTES, max_depth=4)  # size and nesting first
        document = json.loads(body, parse_float=Decimal, parse_int=Decimal)
    except ValueError as error:
        raise FeedError(f"not a rates document: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("rates"), dict):
        raise FeedError('expected {"base": "EUR", "rates": {"USD": "1.08", ...}}')
    base = str(document.get("base", "")).upper()
    if not CODE.match(base):
        raise FeedError(f"base {base!r} is not an ISO 4217 code")
    rates = document["rates"]
    if len(rates) > MAX_RATES:
        raise FeedError(f"more than {MAX_RATES} rates")
    parsed = {}
    for code, value in rates.items():
        code = str(code).upper()
        if not CODE.match(code):
            raise FeedError(f"{code!r} is not an ISO 4217 code")
        if code != base:
            parsed[code] = _rate(code, value)
    return base, parsed


def store_feed(base: str, rates: dict[str, Decimal]) -> int:
    """Make the global feed rates exactly these (one transaction); returns how many."""
    with transaction.atomic():
        ExchangeRate.objects.filter(campaign__isnull=True, origin=RateOrigin.FEED).delete()
        ExchangeRate.objects.bulk_create(
            ExchangeRate(currency=base, quote=code, rate=rate, origin=RateOrigin.FEED)
            for code, rate in rates.items()
        )
    return len(rates)


def fetch_rates(url: str | None = None) -> int:
    """Fetch the configured feed and store it; returns how many rates (0: no feed set)."""
    url = url if url is not None else settings.FUNDBOARD.get("RATES_URL", "")
    if not url:
        return 0
    try:
        base, rates = parse_feed(_download(url))
    except FeedError as error:
        log.warning("rates feed failed, keeping the stored rates: %s", error)
        raise FeedError(str(error)) from None
    count = store_feed(base, rates)
    log.info("rates feed stored base=%s rates=%s", base, count)
    return count
