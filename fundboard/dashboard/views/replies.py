"""What every dashboard view shares: finding the campaign, answering a POST."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse

from fundboard.campaigns.models import Campaign, Source

__all__ = ["campaign_or_404", "source_or_404", "wants_json", "done"]


def campaign_or_404(slug: str) -> Campaign:
    return get_object_or_404(Campaign, slug=slug)


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def done(
    request, slug: str, message: str, *, ok: bool = True, to: str | None = None
) -> HttpResponse:
    """Answer a POST: JSON to fetch(), a redirect with a flash message to a plain form."""
    if wants_json(request):
        return JsonResponse({"ok": ok, "message": message}, status=200 if ok else 400)
    (messages.success if ok else messages.error)(request, message)
    return HttpResponseRedirect(to or reverse("dashboard:campaign", args=[slug]))


def source_or_404(campaign: Campaign, source_id: int) -> Source:
    return get_object_or_404(Source, pk=source_id, campaign=campaign)
