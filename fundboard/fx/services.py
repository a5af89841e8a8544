"""Staff and configuration writes of rates, and re-rating stored donations.

Re-rating is the only way a stored donation's converted amount changes: it recomputes, for
one currency of one campaign, every donation's converted amount from its original amount
at the rate known now (exactly: amount × rate, rounded half-up to the cent, in Python's
Decimal), in one transaction with its audit row and a new campaign version.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum

from fundboard.campaigns.models import Campaign
from fundboard.ingest.models import Donation
from fundboard.ingest.services import commit_change

from .convert import apply_rates, find_rate
from .models import ExchangeRate, RateChange, RateOrigin

__all__ = ["set_rate", "delete_rate", "rerate", "unconverted_summary", "load_config_rates"]

log = logging.getLogger("fundboard.fx")


def _audit(user, campaign: Campaign, action: str, currency: str, **fields) -> None:
    signed_in = bool(user and user.is_authenticated)
    RateChange.objects.create(
        campaign=campaign,
        currency=currency,
        action=action,
        user=user if signed_in else None,
        username=user.get_username() if signed_in else "system",
        **fields,
    )


def set_rate(
    campaign: Campaign, currency: str, rate: Decimal, *, user=None, origin=RateOrigin.DASHBOARD
) -> ExchangeRate:
    """The campaign's rate for `currency` (1 currency = rate campaign currency). Donations
    already stored keep theirs until staff re-rate."""
    currency = currency.upper()
    if currency == campaign.currency:
        raise ValueError(f"{currency} is the campaign's own currency")
    if not rate.is_finite() or rate <= 0:
        raise ValueError("a rate must be a positive number")
    with transaction.atomic():
        row, _ = ExchangeRate.objects.update_or_create(
            campaign=campaign,
            currency=currency,
            defaults={"quote": campaign.currency, "rate": rate, "origin": origin},
        )
        _audit(user, campaign, "set_rate", currency, rate=rate)
    log.info("rate set campaign=%s 1 %s = %s %s", campaign.slug, currency, rate, campaign.currency)
    return row


def delete_rate(campaign: Campaign, currency: str, *, user=None) -> bool:
    with transaction.atomic():
        deleted, _ = ExchangeRate.objects.filter(campaign=campaign, currency=currency).delete()
        if deleted:
            _audit(user, campaign, "delete_rate", currency)
    return bool(deleted)


def rerate(campaign: Campaign, currency: str, *, user=None) -> int:
    """Convert every stored donation of `currency` again at the rate known now (held ones
    included); returns how many changed. Raises LookupError when no rate is known."""
    currency = currency.upper()
    if currency == campaign.currency:
        return 0
    rate = find_rate(campaign, currency)
    if rate is None:
        raise LookupError(f"no rate for {currency} into {campaign.currency}")
    with transaction.atomic():
        rows = list(
            Donation.objects.select_for_update().filter(
                campaign=campaign, currency=currency, is_test=False
            )
        )
        before = {d.pk: (d.rate, d.converted_amount) for d in rows}
        apply_rates(campaign, rows)
        changed = [d for d in rows if before[d.pk] != (d.rate, d.converted_amount)]
        Donation.objects.bulk_update(changed, ["rate", "converted_amount"], batch_size=500)
        _audit(user, campaign, "rerate", currency, rate=rate, donations=len(changed))
        if changed:
            commit_change(campaign)
    log.info(
        "re-rated campaign=%s currency=%s rate=%s donations=%s",
        campaign.slug,
        currency,
        rate,
        len(changed),
    )
    return len(changed)


def unconverted_summary(campaign: Campaign) -> list[dict]:
    """Held donations per currency: [{currency, count, amount, rate_known}] for staff."""
    rows = (
        Donation.objects.unconverted()
        .filter(campaign=campaign)
        .values("currency")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by("currency")
    )
    return [{**row, "rate_known": find_rate(campaign, row["currency"]) is not None} for row in rows]


def load_config_rates(campaign: Campaign, rates: dict[str, Decimal]) -> None:
    """The TOML `rates` table: set those rates; rates the file no longer names (and that
    came from the file) are removed. Stored donations keep their rates (re-rate to apply)."""
    for currency, rate in rates.items():
        ExchangeRate.objects.update_or_create(
            campaign=campaign,
            currency=currency,
            defaults={"quote": campaign.currency, "rate": rate, "origin": RateOrigin.CONFIG},
        )
    ExchangeRate.objects.filter(campaign=campaign, origin=RateOrigin.CONFIG).exclude(
        currency__in=list(rates)
    ).delete()
