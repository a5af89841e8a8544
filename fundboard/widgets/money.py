"""Money as text on server-rendered staff pages, close to what en-US `Intl.NumberFormat` shows.

The dashboard (templatetags/dashboard_money.py, flash messages), the campaign's widget index
and the incentives overview write amounts here. Widget pages do not: they carry no numbers
and static/fundboard/live/format.js draws every amount in the viewer's locale.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

__all__ = ["format_money"]

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


def _decimal(value) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal("0")
    return number if number.is_finite() else Decimal("0")


def format_money(value, currency: str, *, decimals: bool = True, display: str = "symbol") -> str:
    digits = 2 if decimals and currency not in ZERO_DECIMAL else 0
    amount = _decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)
    number = f"{amount:,.{digits}f}"
    if display == "code" or (display != "name" and currency not in EN_US_SYMBOLS):
        return f"{currency}\u00a0{number}"
    if display == "name":
        return f"{number} {currency}"
    return f"{EN_US_SYMBOLS[currency]}{number}"
