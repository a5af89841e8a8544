"""The dashboard's staff-only JSON: source health and the moderation feed.

Never includes an API key (only whether one is set). Donor text goes out as plain JSON
strings; the page puts it in with textContent.
"""

from __future__ import annotations

from django.utils import timezone

from fundboard.campaigns.models import Campaign, Source, SourceKind
from fundboard.ingest.models import Donation
from fundboard.live.snapshot import money, public_message, public_name

from .models import ModerationAction

__all__ = ["source_health", "feed", "recent_actions", "FEED_SIZE"]

FEED_SIZE = 50


def _iso(moment) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _last_heard(source: Source):
    """When the source last told us anything: for a stream, its last event or heartbeat
    (the runner saves it every few seconds); for the others, the last successful poll."""
    heard = source.last_success_at
    activity = getattr(source, "stream_activity", None)
    if activity is not None and (heard is None or activity.last_activity_at > heard):
        heard = activity.last_activity_at
    return heard


def _health(source: Source, now) -> dict:
    heard = _last_heard(source)
    lag = max(0.0, (now - heard).total_seconds()) if heard else None
    return {
        "id": source.pk,
        "name": source.name,
        "kind": source.kind,
        "kind_label": source.get_kind_display(),
        "enabled": source.enabled,
        "has_key": bool(source.api_key),
        "status": source.status,
        "status_label": source.get_status_display(),
        "last_success_at": _iso(source.last_success_at),
        "last_heard_at": _iso(heard),
        "lag_seconds": round(lag, 1) if lag is not None else None,
        "last_error": source.last_error,
        "last_error_at": _iso(source.last_error_at),
        "consecutive_failures": source.consecutive_failures,
        "next_poll_at": _iso(source.next_poll_at),
        "streams": source.kind == SourceKind.IMRAISING,
        "stream_connected": source.stream_connected,
        "rejected_records": source.rejected_records,
        "last_rejection": source.last_rejection,
        "drift": source.drift,
        "reported_total": money(source.reported_total) if source.reported_total else None,
        "poll_requested_at": _iso(source.poll_requested_at),
        "reconnect_requested_at": _iso(source.reconnect_requested_at),
        "can_poll": source.kind != SourceKind.MANUAL,
        "can_reconnect": source.kind == SourceKind.IMRAISING,
    }


def source_health(campaign: Campaign) -> list[dict]:
    now = timezone.now()
    sources = campaign.sources.select_related("stream_activity").order_by("name")
    return [_health(source, now) for source in sources]


def _feed_item(donation: Donation, campaign: Campaign) -> dict:
    blocked = campaign.blocked_word_list
    typed = f"{donation.display_name}\n{donation.message}".lower()
    return {
        "id": donation.pk,
        "name": donation.display_name,
        "public_name": public_name(donation, campaign),
        "message": donation.message,
        "message_public": public_message(donation, campaign) is not None,
        "amount": money(donation.amount),
        "currency": donation.currency,
        "time": _iso(donation.donated_at),
        "source": donation.source.name,
        "manual": donation.source.kind == SourceKind.MANUAL and not donation.is_test,
        "test": donation.is_test,
        "removed": donation.removed,
        "anonymous": donation.anonymous,
        "name_hidden": donation.name_hidden,
        "message_hidden": donation.message_hidden,
        "held": campaign.hold_for_review and donation.approved is not True,
        "blocked_word": any(word in typed for word in blocked),
    }


def feed(campaign: Campaign, limit: int = FEED_SIZE) -> list[dict]:
    """The newest donations of a campaign, test and removed ones included, for staff."""
    donations = (
        Donation.objects.filter(campaign=campaign)
        .exclude(removed=True, amount=0, display_name="")  # tombstones of unseen removals
        .select_related("source")
        .order_by("-created_at", "-id")[:limit]
    )
    return [_feed_item(d, campaign) for d in donations]


def waiting_for_review(campaign: Campaign) -> int:
    if not campaign.hold_for_review:
        return 0
    return Donation.objects.filter(campaign=campaign, removed=False).exclude(approved=True).count()


def recent_actions(campaign: Campaign, limit: int = 20) -> list[dict]:
    actions = ModerationAction.objects.filter(campaign=campaign)[:limit]
    return [
        {
            "id": a.pk,
            "time": _iso(a.created_at),
            "user": a.username,
            "action": a.action,
            "action_label": a.get_action_display(),
            "detail": a.detail,
            "donation_id": a.donation_id,
        }
        for a in actions
    ]
