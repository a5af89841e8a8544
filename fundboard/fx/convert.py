"""Converting a donation into its campaign's currency, at ingest and when staff re-rate.

The rule, in one place:
- same currency as the campaign: rate 1, converted amount = amount;
- test donations (XTS): never converted, never counted;
- another currency: the campaign's own rate for it, else a global rate (direct, inverted,
  or through one intermediate currency, e.g. GBP -> EUR -> USD from a EUR-based feed);
  converted amount = amount × rate, rounded half-up to the cent;
- no rate at all: left unconverted (converted_amount null): stored, shown to staff, not
  counted until a rate is added and staff re-rate.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from fundboard.campaigns.models import Campaign

from .models import ExchangeRate

__all__ = ["RATE_PLACES", "convert_amount", "rates_for", "find_rate", "apply_rates"]

CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.000000000001")  # the rate column's 12 places


def convert_amount(amount: Decimal, rate: Decimal) -> Decimal:
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def _global_edges() -> dict[tuple[str, str], Decimal]:
    """Every global rate both ways: (from, to) -> how many `to` one `from` is worth."""
    edges: dict[tuple[str, str], Decimal] = {}
    for row in ExchangeRate.objects.filter(campaign__isnull=True):
        edges[(row.currency, row.quote)] = row.rate
        edges.setdefault((row.quote, row.currency), Decimal(1) / row.rate)
    return edges


def _via_global(edges: dict, currency: str, quote: str) -> Decimal | None:
    if (currency, quote) in edges:
        return edges[(currency, quote)]
    middles = {b for (a, b) in edges if a == currency}
    for middle in sorted(middles):  # sorted: the same answer every time
        if (middle, quote) in edges:
            return edges[(currency, middle)] * edges[(middle, quote)]
    return None


def rates_for(campaign: Campaign, currencies: Iterable[str]) -> dict[str, Decimal]:
    """The rate of each currency into the campaign's (only those a rate is known for)."""
    wanted = {c for c in currencies if c != campaign.currency}
    found = {campaign.currency: Decimal(1)}
    if not wanted:
        return found
    own = ExchangeRate.objects.filter(
        campaign=campaign, quote=campaign.currency, currency__in=wanted
    ).values_list("currency", "rate")
    found.update(own)
    missing = wanted - found.keys()
    if missing:
        edges = _global_edges()
        for currency in sorted(missing):
            rate = _via_global(edges, currency, campaign.currency)
            if rate is not None:
                found[currency] = rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
    return found


def find_rate(campaign: Campaign, currency: str) -> Decimal | None:
    return rates_for(campaign, [currency]).get(currency)


def apply_rates(campaign: Campaign, donations: Iterable) -> None:
    """Set `rate` and `converted_amount` on (unsaved or re-rated) donations, in place."""
    donations = [d for d in donations if not d.is_test]
    rates = rates_for(campaign, {d.currency for d in donations})
    for donation in donations:
        rate = rates.get(donation.currency)
        donation.rate = rate
        donation.converted_amount = (
            convert_amount(donation.amount, rate) if rate is not None else None
        )
