"""Staff control of the alert overlays, live: skip, pause, resume, clear, replay.

A command becomes one `alert_control` message to the campaign's public group, so every open
alerts overlay (the sockets that follow events) gets it within a broadcast:

    {"type": "alert_control", "data": {"action": "skip" | "pause" | "resume" | "clear"}}
    {"type": "alert_control", "data": {"action": "replay", "donation": {<donation payload>}}}

The replayed donation is its public payload (live/snapshot.py), so a replay shows only what
viewers may see; a donation still held for review, removed or of another campaign is refused.
Staff send commands by POST (CSRF protected, `alert_control_view`) or over the staff socket
(same-origin only, consumers.py); both need `dashboard.moderate_donations`.
"""

from __future__ import annotations

import logging

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from fundboard.campaigns.models import Campaign
from fundboard.ingest.models import Donation
from fundboard.live.broadcast import broadcaster
from fundboard.live.snapshot import donation_payload

from .access import staff_permission_required

__all__ = ["ACTIONS", "PERMISSION", "control_message", "send_alert_control", "alert_control_view"]

log = logging.getLogger("fundboard.dashboard")

ACTIONS = ("skip", "pause", "resume", "clear", "replay")
PERMISSION = "dashboard.moderate_donations"


def _replayable(campaign: Campaign, donation_id) -> Donation | None:
    try:
        donation_id = int(donation_id)
    except (TypeError, ValueError):
        return None
    donation = Donation.objects.filter(campaign=campaign, pk=donation_id, removed=False).first()
    if donation is None:
        return None
    if campaign.hold_for_review and donation.approved is not True:
        return None  # held: its alert waits for approval
    return donation


def control_message(campaign: Campaign, action: str, donation_id=None) -> dict | None:
    """The `alert_control` data for a command, or None if the command is not valid."""
    if action not in ACTIONS:
        return None
    if action != "replay":
        return {"action": action}
    donation = _replayable(campaign, donation_id)
    if donation is None:
        return None
    return {"action": "replay", "donation": donation_payload(donation, campaign)}


def send_alert_control(user, campaign_id: int, action: str, donation_id=None) -> bool:
    """Check the user's permission and the command, then broadcast it; True if sent."""
    if not (user and user.is_active and user.is_staff and user.has_perm(PERMISSION)):
        return False
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return False
    data = control_message(campaign, action, donation_id)
    if data is None:
        return False
    broadcaster.alert_control(campaign.pk, data)
    log.info("alert control campaign=%s action=%s user=%s", campaign.slug, action, user.pk)
    return True


@require_POST
@staff_permission_required(PERMISSION)
def alert_control_view(request, slug):
    """POST action=skip|pause|resume|clear|replay (donation=<id> for replay)."""
    campaign = get_object_or_404(Campaign, slug=slug)
    action, donation_id = request.POST.get("action", ""), request.POST.get("donation")
    if not send_alert_control(request.user, campaign.pk, action, donation_id):
        return JsonResponse({"ok": False, "message": "Invalid alert command."}, status=400)
    return JsonResponse({"ok": True, "message": f"{action.capitalize()} sent to the overlays."})
