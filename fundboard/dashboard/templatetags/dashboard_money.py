"""`{{ amount|money:campaign.currency }}`: staff pages show "$44,258.54", not "44258.54 USD".

The same en-US style as the widgets' first paint (`fundboard.widgets.money`): a symbol for
common currencies, the ISO code otherwise. dashboard.js formats live updates with
Intl.NumberFormat the same way.
"""

from __future__ import annotations

from django import template

from fundboard.widgets.money import format_money

register = template.Library()


@register.filter
def money(value, currency: str) -> str:
    return format_money(value, currency or "USD")
