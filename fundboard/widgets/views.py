"""Public widget pages under /c/<slug>/ and the campaign's index of them.

A widget page carries no numbers: it is the campaign's settings and the viewer's options
only, so it can be cached (Cache-Control below; nginx's micro-cache, a CDN). `live.js` draws
the numbers from the JSON snapshot it fetches at once (served from memory, live/views.py) and
keeps them live over the socket; until that first snapshot is drawn the page shows a
skeleton (`data-pending` in base.html), never a zero or an older total.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from fundboard.campaigns.models import Campaign
from fundboard.live.consumers import campaign_id_for_slug
from fundboard.live.snapshot import ANONYMOUS, build_snapshot
from fundboard.live.snapshot_cache import snapshot_cache

from .framing import widget_csp
from .money import format_money, money_parts, percent
from .page_cache import page_cache
from .theme import FONTS, SOUNDS, WIDGETS, WidgetOptions, parse_options
from .words import language_for, widget_words

__all__ = ["campaign_index", "widget_page"]

# Default heights for embeds before the page reports its own (iframe snippet, px).
EMBED_HEIGHTS = {
    "thermometer": 190,
    "leaderboard": 420,
    "top-donors": 420,
    "ticker": 64,
    "alerts": 260,
}


def _decimal(value) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal("0")


def _target(snapshot: dict) -> tuple[Decimal, bool]:
    """What the bar fills toward: the goal, or past it the next stretch goal.

    Stretch goals are the campaign's milestones above the goal: once the goal is reached,
    the bar starts again toward the smallest one not yet reached (the last one once all are).
    """
    goal, total = _decimal(snapshot["goal"]), _decimal(snapshot["total"])
    stretch = sorted(v for v in map(_decimal, snapshot.get("milestones", [])) if v > goal)
    if goal <= 0 or total < goal or not stretch:
        return goal, False
    return next((v for v in stretch if total < v), stretch[-1]), True


def _milestones(snapshot: dict, money) -> list[dict]:
    target, stretching = _target(snapshot)
    total = _decimal(snapshot["total"])
    amounts = list(snapshot.get("milestones", []))
    if stretching:
        amounts.append(snapshot["goal"])  # the goal itself is a mark on the way to the next
    marks = []
    for amount in amounts:
        value = _decimal(amount)
        if target <= 0 or value <= 0 or value > target:
            continue  # only amounts inside the bar can be marked on it
        marks.append(
            {
                "amount": amount,
                "label": money(amount, whole=value == value.to_integral_value()),
                "left": f"{value / target * 100:.2f}",
                "reached": total >= value,
            }
        )
    return sorted(marks, key=lambda mark: _decimal(mark["amount"]))


def _thermometer(snapshot: dict, options: WidgetOptions, money) -> dict:
    target, stretching = _target(snapshot)
    progress = percent(snapshot["progress"])
    if stretching:  # the percentage and the bar count toward the stretch goal
        progress = int(_decimal(snapshot["total"]) / target * 100)
    return {
        "has_goal": _decimal(snapshot["goal"]) > 0,
        "percent": progress,
        "fill": min(progress, 100),
        "goal_reached": _decimal(snapshot["goal"]) > 0
        and _decimal(snapshot["total"]) >= _decimal(snapshot["goal"]),
        "goal_text": money(snapshot["goal"]),
        "stretch_text": money(target, whole=target == target.to_integral_value())
        if stretching
        else "",
        "milestones": _milestones(snapshot, money),
    }


def _display_name(name: str) -> str:
    # Hidden and anonymous donors are "Anonymous" in the snapshot: shown in the page's language.
    return gettext("Anonymous") if name == ANONYMOUS else name


def _rows(entries: list[dict], amount_key: str, options: WidgetOptions, money) -> list[dict]:
    rows = []
    for rank, entry in enumerate(entries[: options.rows], start=1):
        goal = _decimal(entry.get("goal")) if entry.get("goal") else Decimal("0")
        raised = _decimal(entry[amount_key])
        rows.append(
            {
                "rank": rank,
                "key": entry["name"],
                "name": _display_name(entry["name"]),
                "amount": money(entry[amount_key]),
                "goal_percent": min(100, int(raised / goal * 100)) if goal > 0 else None,
                "count": entry.get("donation_count"),
            }
        )
    return rows


def _ticker(snapshot: dict, options: WidgetOptions, money) -> list[dict]:
    return [
        {
            "name": _display_name(item["name"]),
            "amount": money(item["amount"], item["currency"]),
            "message": item.get("message", "") if options.messages else "",
        }
        for item in snapshot["recent"][: options.rows]
    ]


def _widget_context(widget: str, snapshot: dict, options: WidgetOptions) -> dict:
    currency = snapshot["currency"]

    def money(value, code: str = currency, *, whole: bool = False) -> str:
        decimals = options.decimals and not whole
        return format_money(value, code, decimals=decimals, display=options.currency_display)

    context = {}
    if widget == "thermometer":
        context["thermometer"] = _thermometer(snapshot, options, money)
        context["total_parts"] = money_parts(
            snapshot["total"], currency, decimals=options.decimals, display=options.currency_display
        )
    elif widget == "leaderboard":
        entries = snapshot["teams" if options.board == "teams" else "fundraisers"]
        context["rows"] = _rows(entries, "raised", options, money)
    elif widget == "top-donors":
        context["rows"] = _rows(snapshot["top_donors"], "total", options, money)
    elif widget == "ticker":
        context["items"] = _ticker(snapshot, options, money)
    return context


# The page changes only with the campaign's settings (name, goal, theme, allowed origins):
# a minute fresh, then served stale for ten while a cache fetches the new one.
WIDGET_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=600"


def _placeholder_snapshot(campaign: Campaign) -> dict:
    """What the templates render before live.js draws the real snapshot: the campaign's
    settings and no numbers (hidden behind the skeleton until then)."""

    def amount(value) -> str:
        return f"{Decimal(str(value or 0)):.2f}"

    return {
        "slug": campaign.slug,
        "name": campaign.name,
        "currency": campaign.currency,
        "goal": amount(campaign.goal),
        "total": amount(0),
        "donation_count": 0,
        "progress": 0.0,
        "milestones": [amount(m) for m in campaign.milestones or []],
        **{key: [] for key in ("top_donors", "fundraisers", "teams", "recent", "matches")},
        "version": -1,
    }


def _with_widget_headers(response, campaign: Campaign, request):
    # The CSP depends on the campaign and the Host, both part of any cache's key (the URL).
    response["Content-Security-Policy"] = widget_csp(campaign, request.get_host())
    response["Cache-Control"] = WIDGET_CACHE_CONTROL
    return response


@xframe_options_exempt
@require_GET
def widget_page(request, slug: str, widget: str):
    if widget not in WIDGETS:
        raise Http404("No such widget")
    # The campaign's current version, from memory (no query while cached): a page rendered
    # at this version is still right (page_cache.py).
    current = snapshot_cache.get(slug, campaign_id_for_slug)
    if current is None:
        raise Http404("No such campaign")
    key = (request.get_host(), request.get_full_path())
    response = page_cache.get(key, current.version)
    if response is None:
        response = _render_widget_page(request, slug, widget)
        page_cache.put(key, current.version, response)
    return response


def _render_widget_page(request, slug: str, widget: str):
    campaign = get_object_or_404(Campaign, slug=slug)
    options = parse_options(request.GET)
    snapshot = _placeholder_snapshot(campaign)
    context = {
        "campaign": campaign,
        "widget": widget,
        "widget_title": WIDGETS[widget],
        "options": options,
        "css_variables": options.css_variables(),
        "snapshot": snapshot,
        "config": {**options.client_config(), "widget": widget, "slug": campaign.slug},
    }
    if options.sound != "none":
        context["config"]["sound_url"] = static(SOUNDS[options.sound])
    # The widget's words in the viewer's language, for this response only (no middleware:
    # staff pages stay in English). The same dictionary goes to live.js in the config.
    language = language_for(options.lang, options.locale)
    with translation.override(language):
        context["words"] = context["config"]["words"] = widget_words(widget, options)
        context["config"]["language"] = language
        context.update(_widget_context(widget, snapshot, options))
        response = render(request, f"widgets/{widget.replace('-', '_')}.html", context)
    response["Content-Language"] = language
    return _with_widget_headers(response, campaign, request)


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
