"""The match widget (/c/<slug>/match): the campaign's active sponsor match, live.

Same URL options and framing headers as the other widgets; drawn by static/fundboard/match.js
from the snapshot in the page, then kept live over the campaign socket.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from fundboard.campaigns.models import Campaign
from fundboard.live.snapshot import build_snapshot
from fundboard.widgets.framing import widget_csp
from fundboard.widgets.theme import parse_options


@xframe_options_exempt
@require_GET
def match_widget(request, slug: str):
    campaign = get_object_or_404(Campaign, slug=slug)
    options = parse_options(request.GET)
    context = {
        "campaign": campaign,
        "options": options,
        "css_variables": options.css_variables(),
        "snapshot": build_snapshot(campaign),
        "config": {**options.client_config(), "widget": "match", "slug": campaign.slug},
    }
    response = render(request, "widgets/match.html", context)
    response["Content-Security-Policy"] = widget_csp(campaign, request.get_host())
    response["Cache-Control"] = "no-cache"
    return response
