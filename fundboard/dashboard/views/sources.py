"""Operating sources: poll now, reconnect, and the mass removals reconciliation holds back."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from fundboard.campaigns.models import Campaign, SourceKind
from fundboard.sync.models import PendingRemoval, PendingState

from .. import actions
from ..access import staff_permission_required
from .replies import campaign_or_404, done, source_or_404


def waiting_removals(campaign: Campaign) -> list[PendingRemoval]:
    return list(
        PendingRemoval.objects.filter(
            source__campaign=campaign, state=PendingState.WAITING
        ).select_related("source")
    )


@require_POST
@staff_permission_required("dashboard.operate_sources", "ingest.change_donation")
def decide_removal(request, slug, removal_id):
    campaign = campaign_or_404(slug)
    removal = get_object_or_404(
        PendingRemoval.objects.select_related("source"), pk=removal_id, source__campaign=campaign
    )
    confirm = request.POST.get("decision") == "confirm"
    removed = actions.decide_pending_removal(request.user, removal, confirm=confirm)
    if removed is None:
        return done(request, slug, "Someone decided this one already.", ok=False)
    if confirm:
        return done(request, slug, f"Removed {removed} donations.")
    return done(request, slug, "Dismissed: the donations stay counted.")


@require_POST
@staff_permission_required("dashboard.operate_sources")
def poll_now(request, slug, source_id):
    source = source_or_404(campaign_or_404(slug), source_id)
    if source.kind == SourceKind.MANUAL:
        return done(request, slug, "Manual sources are not polled.", ok=False)
    actions.request_poll(request.user, source)
    return done(request, slug, f"Poll requested for {source.name}.")


@require_POST
@staff_permission_required("dashboard.operate_sources")
def reconnect(request, slug, source_id):
    source = source_or_404(campaign_or_404(slug), source_id)
    if source.kind != SourceKind.IMRAISING:
        return done(request, slug, "Only streamed sources reconnect.", ok=False)
    actions.request_reconnect(request.user, source)
    return done(request, slug, f"Reconnect requested for {source.name}.")
