"""The staff page of a campaign's exchange rates: its rates, the global feed's, donations
held for want of a rate (count and sum per currency), setting a rate and re-rating.

Viewing needs `fx.view_exchangerate`, changing `fx.rerate_donations` (Organisers). Plain
POST forms with a CSRF token; the page has no script (the dashboard's CSP).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from fundboard.campaigns.models import Campaign
from fundboard.dashboard.access import staff_permission_required

from . import services
from .models import ExchangeRate, RateChange

CODE = re.compile(r"^[A-Z]{3}$")
RECENT_CHANGES = 30


def _campaign(slug: str) -> Campaign:
    return get_object_or_404(Campaign, slug=slug)


def _back(slug: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("fx:campaign", args=[slug]))


@require_GET
@staff_permission_required("fx.view_exchangerate")
def campaign_rates(request, slug):
    campaign = _campaign(slug)
    context = {
        "campaign": campaign,
        "rates": ExchangeRate.objects.filter(campaign=campaign).order_by("currency"),
        "global_rates": ExchangeRate.objects.filter(campaign__isnull=True).order_by(
            "currency", "quote"
        ),
        "unconverted": services.unconverted_summary(campaign),
        "changes": RateChange.objects.filter(campaign=campaign)[:RECENT_CHANGES],
        "can_change": request.user.has_perm("fx.rerate_donations"),
    }
    return render(request, "fx/rates.html", context)


def _currency(text: str) -> str | None:
    currency = (text or "").strip().upper()
    return currency if CODE.match(currency) else None


@require_POST
@staff_permission_required("fx.rerate_donations")
def set_rate_view(request, slug):
    campaign = _campaign(slug)
    currency = _currency(request.POST.get("currency", ""))
    try:
        rate = Decimal(request.POST.get("rate", "").strip())
    except InvalidOperation:
        rate = None
    if currency is None or rate is None:
        messages.error(request, "Give a three-letter currency code and a number.")
        return _back(slug)
    try:
        services.set_rate(campaign, currency, rate, user=request.user)
    except ValueError as error:
        messages.error(request, str(error))
        return _back(slug)
    messages.success(
        request,
        f"1 {currency} = {rate} {campaign.currency} for new donations. "
        f"Re-rate {currency} to apply it to those already stored.",
    )
    return _back(slug)


@require_POST
@staff_permission_required("fx.rerate_donations")
def delete_rate_view(request, slug, currency):
    campaign = _campaign(slug)
    if services.delete_rate(campaign, currency.upper(), user=request.user):
        messages.success(
            request, f"The {currency.upper()} rate is removed (stored donations keep theirs)."
        )
    return _back(slug)


@require_POST
@staff_permission_required("fx.rerate_donations")
def rerate_view(request, slug, currency):
    campaign = _campaign(slug)
    try:
        count = services.rerate(campaign, currency.upper(), user=request.user)
    except LookupError as error:
        messages.error(request, f"Nothing re-rated: {error}.")
        return _back(slug)
    messages.success(request, f"{count} {currency.upper()} donation(s) converted again.")
    return _back(slug)
