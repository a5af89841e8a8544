"""Moderating donations: hide or restore a name or message, approve held donations."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from fundboard.ingest.models import Donation

from .. import actions
from ..access import staff_permission_required
from ..forms import ReviewSettingsForm
from ..models import ActionKind
from .replies import campaign_or_404, done

MODERATION_CHOICES = {
    ActionKind.HIDE_NAME,
    ActionKind.RESTORE_NAME,
    ActionKind.HIDE_MESSAGE,
    ActionKind.RESTORE_MESSAGE,
    ActionKind.APPROVE,
}


@require_POST
@staff_permission_required("dashboard.moderate_donations")
def moderate(request, slug, donation_id):
    campaign = campaign_or_404(slug)
    donation = get_object_or_404(Donation, pk=donation_id, campaign=campaign)
    action = request.POST.get("action", "")
    if action not in MODERATION_CHOICES:
        return done(request, slug, f"Unknown action {action[:30]!r}.", ok=False)
    changed = actions.moderate_donation(request.user, donation, action)
    label = ActionKind(action).label
    return done(request, slug, f"{label}." if changed else "Nothing to change.")


@require_POST
@staff_permission_required("dashboard.moderate_donations")
def approve_all(request, slug):
    campaign = campaign_or_404(slug)
    waiting = (
        Donation.objects.filter(campaign=campaign, removed=False)
        .exclude(approved=True)
        .values_list("pk", flat=True)
    )
    count = actions.approve(request.user, campaign, list(waiting))
    return done(request, slug, f"Approved {count} donations.")


@require_POST
@staff_permission_required("dashboard.moderate_donations")
def review_settings(request, slug):
    campaign = campaign_or_404(slug)
    form = ReviewSettingsForm(request.POST)
    if not form.is_valid():
        return done(request, slug, "Invalid review settings.", ok=False)
    changed = actions.change_review_settings(
        request.user,
        campaign,
        hold_for_review=form.cleaned_data["hold_for_review"],
        blocked_words=form.cleaned_data["blocked_words"].replace("\r\n", "\n").strip(),
    )
    return done(request, slug, "Review settings saved." if changed else "Nothing to change.")
