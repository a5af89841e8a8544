"""The public JSON snapshot, built by the same code as the websocket's."""

from django.http import Http404, JsonResponse
from django.views.decorators.http import require_GET

from fundboard.campaigns.models import Campaign

from .snapshot import build_snapshot


@require_GET
def campaign_snapshot(request, slug: str) -> JsonResponse:
    campaign = Campaign.objects.filter(slug=slug).first()
    if campaign is None:
        raise Http404("No such campaign")
    response = JsonResponse(build_snapshot(campaign))
    # Public and read-only: any site may read it (widgets' polling fallback, custom pages).
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "no-cache"
    return response
