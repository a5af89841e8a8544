"""Public widget pages under /c/<slug>/ and the campaign's index of them.

A widget page carries no numbers: it is the campaign's settings and the viewer's options
only, so it can be cached (Cache-Control below; nginx's micro-cache, a CDN). `live.js` draws
the numbers from the JSON snapshot it fetches at once (served from memory, live/views.py) and
keeps them live over the socket; until that first snapshot is drawn the page shows a
skeleton (`data-pending` in base.html), never a zero or an older total.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.utils import translation
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from fundboard.campaigns.models import Campaign
from fundboard.live.consumers import campaign_id_for_slug
from fundboard.live.snapshot import build_snapshot
from fundboard.live.snapshot_cache import snapshot_cache

from .framing import widget_csp
from .money import format_money
from .page_cache import page_cache
from .theme import FONTS, SOUNDS, WIDGETS, WidgetOptions, parse_options
from .words import language_for, widget_words

__all__ = ["PAGES", "campaign_index", "serve_from_page_cache", "widget_page"]

# Pages drawn like the widgets but not listed on the index: the sponsor match line
# (its URL is fundboard/matching's).
PAGES = {**WIDGETS, "match": "Sponsor match"}

# Default heights for embeds before the page reports its own (iframe snippet, px).
EMBED_HEIGHTS = {
    "thermometer": 190,
    "leaderboard": 420,
    "top-donors": 420,
    "ticker": 64,
    "alerts": 260,
}


# The page changes only with the campaign's settings (name, allowed origins: its page
# version) and the code: a minute fresh, then served stale for ten while a cache fetches the
# new one, or revalidates it with the ETag (page_cache.py: a 304 while the page is the same).
WIDGET_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=600"


def with_widget_headers(response, campaign: Campaign, request, language: str):
    """The headers every widget page carries (incentives/widget_pages.py's too)."""
    response["Content-Language"] = language
    # The CSP depends on the campaign and the Host, both part of any cache's key (the URL).
    response["Content-Security-Policy"] = widget_csp(campaign, request.get_host())
    response["Cache-Control"] = WIDGET_CACHE_CONTROL
    return response


def serve_from_page_cache(request, slug: str, render_page):
    """The page for this URL from the page cache while the campaign's page version holds
    (read from memory: no query while cached), else `render_page()`, kept for it. Every
    widget page goes through here (incentives/widget_pages.py too) and the fast lane
    answers from the same cache."""
    current = snapshot_cache.get(slug, campaign_id_for_slug)
    if current is None:
        raise Http404("No such campaign")
    cached = page_cache.answer(request, current.page_version)
    if cached is not None:
        return cached
    # Rendered from the database now: at worst newer than the snapshot's page version (it
    # was committed first), kept under the older one until the next snapshot moves it.
    return page_cache.keep(request, current.page_version, render_page())


@xframe_options_exempt
@require_GET
def widget_page(request, slug: str, widget: str):
    if widget not in PAGES:
        raise Http404("No such widget")
    return serve_from_page_cache(request, slug, lambda: _render_widget_page(request, slug, widget))


def _render_widget_page(request, slug: str, widget: str):
    campaign = get_object_or_404(Campaign, slug=slug)
    options = parse_options(request.GET)
    # What live.js reads (#fb-config): the options, which widget, the campaign's slug.
    config = {**options.client_config(), "widget": widget, "slug": campaign.slug}
    if options.sound != "none":
        config["sound_url"] = static(SOUNDS[options.sound])
    # The widget's words in the viewer's language, for this response only (no middleware:
    # staff pages stay in English). The same dictionary goes to live.js in the config.
    language = language_for(options.lang, options.locale)
    with translation.override(language):
        config["words"] = words = widget_words(widget, options)
        config["language"] = language
        context = {
            "campaign": campaign,
            "widget": widget,
            "widget_title": PAGES[widget],
            "options": options,
            "css_variables": options.css_variables(),
            "config": config,
            "words": words,
        }
        response = render(request, f"widgets/{widget.replace('-', '_')}.html", context)
    return with_widget_headers(response, campaign, request, language)


def _embed_links(request, campaign: Campaign, options: WidgetOptions) -> list[dict]:
    base = request.build_absolute_uri(f"/c/{campaign.slug}/")
    script_src = request.build_absolute_uri(static("fundboard/embed.js"))
    pairs = options.query_pairs()
    links = []
    for widget, title in WIDGETS.items():
        query = options.query_string(overlay=False)
        overlay_query = options.query_string(overlay=True)
        url = f"{base}{widget}" + (f"?{query}" if query else "")
        links.append(
            {
                "widget": widget,
                "title": title,
                "path": f"{widget}" + (f"?{query}" if query else ""),
                "url": url,
                "overlay_url": f"{base}{widget}?{overlay_query}",
                "height": EMBED_HEIGHTS[widget],
                "script_src": script_src,
                # The script embed passes the same options as data-* attributes.
                "data_pairs": [(key.replace("_", "-"), value) for key, value in pairs],
            }
        )
    return links


@require_GET
def campaign_index(request, slug: str):
    """Every widget of a campaign with its overlay URL and embed snippets (not frameable)."""
    campaign = get_object_or_404(Campaign, slug=slug)
    options = parse_options(request.GET)
    snapshot = build_snapshot(campaign)
    context = {
        "campaign": campaign,
        "snapshot": snapshot,
        "options": options,
        "total_text": format_money(snapshot["total"], snapshot["currency"]),
        "goal_text": format_money(snapshot["goal"], snapshot["currency"]),
        "links": _embed_links(request, campaign, options),
        "fonts": list(FONTS),
        "sounds": list(SOUNDS),
    }
    return render(request, "widgets/index.html", context)
