"""The `rates` key of a campaign in campaigns.toml:

    rates = { EUR = "1.08", GBP = "1.27" }   # 1 EUR = 1.08 of the campaign's currency

Rates as strings (or numbers, read through their text so 1.08 stays exactly 1.08).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from fundboard.campaigns.models import Campaign

from .services import load_config_rates

__all__ = ["parse_rates", "load_rates"]

CODE = re.compile(r"^[A-Z]{3}$")


def parse_rates(value, where: str, campaign_currency: str) -> dict[str, Decimal]:
    from fundboard.campaigns.loader import ConfigError

    if not isinstance(value, dict):
        raise ConfigError(f'{where}: a table such as {{ EUR = "1.08" }}')
    rates = {}
    for code, text in value.items():
        currency = str(code).upper()
        if not CODE.match(currency) or currency == campaign_currency:
            raise ConfigError(f"{where}.{code}: an ISO 4217 code other than {campaign_currency}")
        try:
            rate = Decimal(str(text))
        except InvalidOperation:
            raise ConfigError(f"{where}.{code}: {text!r} is not a number") from None
        if not rate.is_finite() or rate <= 0:
            raise ConfigError(f"{where}.{code}: {text!r} must be a positive number")
        rates[currency] = rate
    return rates


def load_rates(campaign: Campaign, data: dict, where: str) -> None:
    """Apply the campaign's `rates` (absent: the file's rates are left as they are)."""
    if "rates" in data:
        load_config_rates(campaign, parse_rates(data["rates"], f"{where}.rates", campaign.currency))
