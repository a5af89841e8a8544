"""The embed builder and the CSV export of a campaign's donations."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..access import staff_permission_required
from ..embeds import embed_options
from ..export import csv_chunks, export_filename
from ..forms import ExportForm
from .replies import campaign_or_404


@require_GET
@staff_permission_required("dashboard.build_embeds")
def embed_builder(request, slug):
    campaign = campaign_or_404(slug)
    return render(
        request,
        "dashboard/embed.html",
        {
            "campaign": campaign,
            "options": embed_options(),
            "page": {"site": request.build_absolute_uri("/"), "slug": campaign.slug},
        },
    )


@require_GET
@staff_permission_required("dashboard.export_donations")
def export(request, slug):
    campaign = campaign_or_404(slug)
    form = ExportForm(request.GET or None)
    if "download" not in request.GET or not form.is_valid():
        return render(request, "dashboard/export.html", {"campaign": campaign, "form": form})
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    response = StreamingHttpResponse(csv_chunks(campaign, start, end), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{export_filename(campaign)}"'
    response["Cache-Control"] = "no-store"
    return response
