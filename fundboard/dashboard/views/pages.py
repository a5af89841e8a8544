"""The campaign page and what its script reads: feed, health and chart JSON; settings."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from fundboard.campaigns.models import Campaign
from fundboard.live.snapshot import build_snapshot

from .. import actions, chart, status
from ..access import can, staff_permission_required
from ..forms import CampaignSettingsForm, ReviewSettingsForm, TestAlertForm
from .alerts import imraising_test_sources
from .replies import campaign_or_404, done
from .sources import waiting_removals


@require_GET
@staff_permission_required()
def index(request):
    return render(request, "dashboard/index.html", {"campaigns": Campaign.objects.all()})


@require_GET
@staff_permission_required()
def campaign_dashboard(request, slug):
    campaign = campaign_or_404(slug)
    allowed = can(request.user)
    context = {
        "campaign": campaign,
        "snapshot": build_snapshot(campaign),
        "can": allowed,
        "review_form": ReviewSettingsForm(
            initial={
                "hold_for_review": campaign.hold_for_review,
                "blocked_words": campaign.blocked_words,
            }
        ),
        "test_form": TestAlertForm(),
        "config": _page_config(campaign, allowed),
        "pending_removals": waiting_removals(campaign) if allowed["operate_sources"] else [],
        "chart": _chart_context(campaign, "minute"),
        "imraising_sources": imraising_test_sources(campaign) if allowed["test_alerts"] else [],
        "initial": {
            "feed": status.feed(campaign),
            "actions": status.recent_actions(campaign),
            "waiting": status.waiting_for_review(campaign),
            "health": status.source_health(campaign) if allowed["operate_sources"] else None,
        },
    }
    return render(request, "dashboard/campaign.html", context)


def _page_config(campaign: Campaign, allowed: dict) -> dict:
    """URLs the page's script calls (0 stands for the donation or source id)."""
    slug = campaign.slug
    config = {
        "slug": slug,
        "socket": f"/ws/dashboard/{slug}",
        "feed": reverse("dashboard:feed", args=[slug]),
        "health": reverse("dashboard:health", args=[slug]),
        "moderate": reverse("dashboard:moderate", args=[slug, 0]),
        "poll": reverse("dashboard:poll-now", args=[slug, 0]),
        "reconnect": reverse("dashboard:reconnect", args=[slug, 0]),
        "chart": reverse("dashboard:chart", args=[slug]),
        "currency": campaign.currency,
        "can": allowed,
    }
    if allowed["admin_sources"]:
        config["sourceAdmin"] = reverse("admin:campaigns_source_change", args=[0])
    return config


@require_GET
@staff_permission_required()
def feed_json(request, slug):
    campaign = campaign_or_404(slug)
    removals_waiting = (
        len(waiting_removals(campaign)) if request.user.has_perm("dashboard.operate_sources") else 0
    )
    return JsonResponse(
        {
            "feed": status.feed(campaign),
            "actions": status.recent_actions(campaign),
            "waiting": status.waiting_for_review(campaign),
            "pending_removals": removals_waiting,
        }
    )


@require_GET
@staff_permission_required("dashboard.operate_sources")
def health_json(request, slug):
    return JsonResponse({"sources": status.source_health(campaign_or_404(slug))})


def _chart_context(campaign: Campaign, scale: str) -> dict:
    data = chart.chart_data(campaign, scale)
    return {
        **data,
        "bars": chart.svg_bars(data),
        "width": chart.WIDTH,
        "height": chart.HEIGHT,
    }


@require_GET
@staff_permission_required()
def chart_json(request, slug):
    """The chart's buckets; dashboard.js redraws the SVG from them after a change."""
    scale = request.GET.get("scale", "minute")
    if scale not in chart.SCALES:
        scale = "minute"
    return JsonResponse(chart.chart_data(campaign_or_404(slug), scale))


@staff_permission_required("campaigns.change_campaign")
def campaign_settings(request, slug):
    """Goal, milestones, window, currency, review and embedding, without the admin."""
    campaign = campaign_or_404(slug)
    initial = CampaignSettingsForm.initial_for(campaign)
    form = CampaignSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        wanted = {name: form.cleaned_data[name] for name in CampaignSettingsForm.FIELDS}
        changed = actions.change_campaign_settings(request.user, campaign, wanted)
        message = f"Saved: {', '.join(changed)}." if changed else "Nothing to change."
        return done(request, slug, message, to=reverse("dashboard:settings", args=[slug]))
    return render(
        request,
        "dashboard/settings.html",
        {"campaign": campaign, "form": form},
        status=400 if form.errors else 200,
    )
