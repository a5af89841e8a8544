"""Server-side money text for the first paint, close to what `Intl.NumberFormat` shows.

The page is right before any script runs: amounts are rendered here in the en-US style
(the default locale). The script then formats them again with the page's own locale, so
this only has to be a faithful first impression, not a full locale library.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

__all__ = ["MoneyParts", "money_parts", "format_money", "percent"]

# What en-US Intl.NumberFormat shows with currencyDisplay "symbol" for common currencies.
EN_US_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "MXN": "MX$",
    "BRL": "R$",
    "INR": "₹",
    "CNY": "CN¥",
    "KRW": "₩",
    "ILS": "₪",
    "HKD": "HK$",
    "TWD": "NT$",
    "VND": "₫",
    "PHP": "₱",
}
ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "TWD"}


@dataclass(frozen=True)
class MoneyParts:
    prefix: str
    number: str
    suffix: str = ""

    def __str__(self) -> str:
        return f"{self.prefix}{self.number}{self.suffix}"


def _decimal(value) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal("0")
    return number if number.is_finite() else Decimal("0")


def money_parts(
    value, currency: str, *, decimals: bool = True, display: str = "symbol"
) -> MoneyParts:
    digits = 2 if decimals and currency not in ZERO_DECIMAL else 0
    amount = _decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)
    number = f"{amount:,.{digits}f}"
    if display == "code" or (display != "name" and currency not in EN_US_SYMBOLS):
        return MoneyParts(f"{currency}\u00a0", number)
    if display == "name":
        return MoneyParts("", number, f" {currency}")
    return MoneyParts(EN_US_SYMBOLS[currency], number)


def format_money(value, currency: str, **kwargs) -> str:
    return str(money_parts(value, currency, **kwargs))


def percent(progress) -> int:
    """Whole percent, rounded down so 99.6% never shows as a premature 100%."""
    return max(0, int(_decimal(progress) * 100))
