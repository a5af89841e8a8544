"""Public widget pages (first version: the thermometer)."""

from django.shortcuts import get_object_or_404, render
from django.views.decorators.clickjacking import xframe_options_exempt

from fundboard.campaigns.models import Campaign
from fundboard.live.snapshot import build_snapshot


def campaign_index(request, slug):
    campaign = get_object_or_404(Campaign, slug=slug)
    return render(request, "widgets/index.html", {"campaign": campaign})


@xframe_options_exempt
def thermometer(request, slug):
    campaign = get_object_or_404(Campaign, slug=slug)
    snapshot = build_snapshot(campaign)
    overlay = request.GET.get("overlay") == "1"
    return render(
        request,
        "widgets/thermometer.html",
        {"campaign": campaign, "snapshot": snapshot, "overlay": overlay},
    )
