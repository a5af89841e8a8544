"""The incentives and schedule widgets (/c/<slug>/incentives, /c/<slug>/schedule).

Like every widget page (fundboard/widgets/views.py) they carry no numbers: the HTML is the
campaign's settings, the viewer's URL options and the words in the viewer's language
(`?lang=es`), so it is cached by the campaign's page version (widgets/page_cache.py, through
widgets.views.serve_from_page_cache) and by any cache in front (Cache-Control, ETag).
static/fundboard/incentives.js fetches the JSON snapshot (served from memory,
live/snapshot_cache.py), draws it in place of a skeleton (`data-pending`: never a zero
first), then follows the campaign socket.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.utils import translation
from django.utils.translation import gettext, pgettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from fundboard.campaigns.models import Campaign
from fundboard.widgets.theme import WidgetOptions, parse_options
from fundboard.widgets.views import serve_from_page_cache, with_widget_headers
from fundboard.widgets.words import language_for

__all__ = ["WIDGETS", "widget_page", "incentive_words"]

WIDGETS = ("incentives", "schedule")


def incentive_words() -> dict[str, str]:
    """Every word the two widgets show, in the active language (the .po catalogues of
    fundboard/widgets/locale); the same dictionary goes to incentives.js in the config."""
    return {
        "incentives": gettext("Incentives"),
        "schedule": gettext("Schedule"),
        "closed": pgettext("incentive state", "closed"),
        "no_incentives": gettext("No incentives open."),
        "now": pgettext("schedule", "Now"),
        "next": pgettext("schedule", "Next"),
    }


def _config(campaign: Campaign, widget: str, options: WidgetOptions, language: str) -> dict:
    return {
        **options.client_config(),
        "widget": widget,
        "slug": campaign.slug,
        "currency": campaign.currency,
        "language": language,
        "words": incentive_words(),
    }


def _render(request, slug: str, widget: str):
    campaign = get_object_or_404(Campaign, slug=slug)
    options = parse_options(request.GET)
    language = language_for(options.lang, options.locale)
    with translation.override(language):
        config = _config(campaign, widget, options, language)
        context = {
            "campaign": campaign,
            "widget": widget,
            "widget_title": config["words"][widget],
            "words": config["words"],
            "options": options,
            "css_variables": options.css_variables(),
            "config": config,
        }
        response = render(request, f"widgets/{widget}.html", context)
    return with_widget_headers(response, campaign, request, language)


@xframe_options_exempt
@require_GET
def widget_page(request, slug: str, widget: str):
    return serve_from_page_cache(request, slug, lambda: _render(request, slug, widget))
