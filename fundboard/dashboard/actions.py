"""Staff actions: each calls the ingest write and records who did what in the same
transaction, so the audit trail and the change commit (or fail) together."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from fundboard.campaigns.models import Campaign, Source
from fundboard.ingest import manual, moderation
from fundboard.ingest.models import Donation
from fundboard.ingest.services import commit_change
from fundboard.sync import pending

from .models import ActionKind, ModerationAction

__all__ = [
    "MODERATION_ACTIONS",
    "record_action",
    "moderate_donation",
    "approve",
    "change_review_settings",
    "request_poll",
    "request_reconnect",
    "add_manual",
    "edit_manual",
    "remove_manual",
    "restore_manual",
    "UNDO_WINDOW",
    "can_undo",
    "send_test_alert",
    "change_campaign_settings",
    "decide_pending_removal",
]


def _describe(donation: Donation) -> str:
    return f"donation #{donation.pk}, {donation.amount} {donation.currency}"


def record_action(
    user, campaign: Campaign | int, action: str, *, donation=None, source=None, detail: str = ""
) -> ModerationAction:
    campaign_id = campaign if isinstance(campaign, int) else campaign.pk
    return ModerationAction.objects.create(
        campaign_id=campaign_id,
        donation=donation,
        source=source,
        user=user if user and user.is_authenticated else None,
        username=user.get_username() if user and user.is_authenticated else "system",
        action=action,
        detail=detail[:300],
    )


# action name -> the ingest write it makes
MODERATION_ACTIONS = {
    ActionKind.HIDE_NAME: lambda pk: moderation.set_name_hidden(pk, True),
    ActionKind.RESTORE_NAME: lambda pk: moderation.set_name_hidden(pk, False),
    ActionKind.HIDE_MESSAGE: lambda pk: moderation.set_message_hidden(pk, True),
    ActionKind.RESTORE_MESSAGE: lambda pk: moderation.set_message_hidden(pk, False),
}


def moderate_donation(user, donation: Donation, action: str) -> bool:
    """Hide/restore a name or message, or approve; True if it changed anything."""
    with transaction.atomic():
        if action == ActionKind.APPROVE:
            changed = bool(moderation.approve_donations(donation.campaign_id, [donation.pk]))
        else:
            changed = MODERATION_ACTIONS[ActionKind(action)](donation.pk) is not None
        if changed:
            record_action(
                user, donation.campaign_id, action, donation=donation, detail=_describe(donation)
            )
    return changed


def approve(user, campaign: Campaign, donation_ids: Iterable[int]) -> int:
    with transaction.atomic():
        approved = moderation.approve_donations(campaign.pk, donation_ids)
        for donation in approved:
            record_action(
                user, campaign, ActionKind.APPROVE, donation=donation, detail=_describe(donation)
            )
    return len(approved)


def change_review_settings(
    user, campaign: Campaign, *, hold_for_review: bool, blocked_words: str
) -> bool:
    with transaction.atomic():
        changed = moderation.set_review_settings(
            campaign.pk, hold_for_review=hold_for_review, blocked_words=blocked_words
        )
        if changed:
            words = len([w for w in blocked_words.splitlines() if w.strip()])
            detail = f"hold for review {'on' if hold_for_review else 'off'}, {words} blocked words"
            record_action(user, campaign, ActionKind.REVIEW_SETTINGS, detail=detail)
    return changed


def _request(user, source: Source, field: str, action: str) -> None:
    """Staff requests: the pollers / the stream supervisor compare these times on their scan."""
    with transaction.atomic():
        Source.objects.filter(pk=source.pk).update(**{field: timezone.now()})
        record_action(user, source.campaign_id, action, source=source, detail=source.name)


def request_poll(user, source: Source) -> None:
    _request(user, source, "poll_requested_at", ActionKind.POLL_NOW)


def request_reconnect(user, source: Source) -> None:
    _request(user, source, "reconnect_requested_at", ActionKind.RECONNECT)


def add_manual(user, campaign: Campaign, entry: manual.ManualDonation, method: str) -> Donation:
    with transaction.atomic():
        donation = manual.add_manual_donation(campaign.pk, entry)
        detail = f"{_describe(donation)} ({method})" if method else _describe(donation)
        record_action(user, campaign, ActionKind.MANUAL_ADD, donation=donation, detail=detail)
    return donation


def edit_manual(user, donation: Donation, entry: manual.ManualDonation) -> bool:
    with transaction.atomic():
        edited = manual.edit_manual_donation(donation.pk, entry)
        if edited is not None:
            record_action(
                user,
                donation.campaign_id,
                ActionKind.MANUAL_EDIT,
                donation=edited,
                detail=_describe(edited),
            )
    return edited is not None


def remove_manual(user, donation: Donation) -> bool:
    with transaction.atomic():
        removed = manual.remove_manual_donation(donation.pk)
        if removed is not None:
            record_action(
                user,
                donation.campaign_id,
                ActionKind.MANUAL_REMOVE,
                donation=removed,
                detail=_describe(removed),
            )
    return removed is not None


# How long a removed manual donation can be put back with "Undo".
UNDO_WINDOW = timedelta(minutes=10)


def can_undo(donation: Donation) -> bool:
    return bool(
        donation.removed
        and donation.removed_at
        and timezone.now() - donation.removed_at <= UNDO_WINDOW
    )


def restore_manual(user, donation: Donation) -> bool:
    """Undo a removal made within UNDO_WINDOW; False if too late or not removed."""
    if not can_undo(donation):
        return False
    with transaction.atomic():
        restored = manual.restore_manual_donation(donation.pk)
        if restored is not None:
            record_action(
                user,
                donation.campaign_id,
                ActionKind.MANUAL_RESTORE,
                donation=restored,
                detail=_describe(restored),
            )
    return restored is not None


def change_campaign_settings(user, campaign: Campaign, wanted: dict) -> list[str]:
    """Save the settings form: a new version announced to every open widget, audited.
    Returns the names of the fields that changed."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        changed = [name for name, value in wanted.items() if getattr(locked, name) != value]
        if not changed:
            return []
        for name in changed:
            setattr(locked, name, wanted[name])
        locked.save(update_fields=changed)
        commit_change(locked)
        record_action(user, locked, ActionKind.CAMPAIGN_SETTINGS, detail=", ".join(changed))
    return changed


def decide_pending_removal(user, removal, *, confirm: bool) -> int | None:
    """Confirm (remove through the ingest layer) or dismiss a held mass removal.
    The number removed (0 when dismissed); None if someone decided it already."""
    with transaction.atomic():
        if confirm:
            removed = pending.confirm_pending(removal.pk, user.get_username())
        else:
            removed = 0 if pending.dismiss_pending(removal.pk, user.get_username()) else None
        if removed is not None:
            kind = ActionKind.REMOVAL_CONFIRMED if confirm else ActionKind.REMOVAL_DISMISSED
            detail = f"{removal.count} donations, {removal.total} {removal.currency}"
            record_action(
                user, removal.source.campaign_id, kind, source=removal.source, detail=detail
            )
    return removed


def send_test_alert(
    user, campaign: Campaign, *, display_name: str, amount: Decimal, message: str
) -> Donation:
    with transaction.atomic():
        donation = manual.send_test_donation(
            campaign.pk, display_name=display_name, amount=amount, message=message
        )
        record_action(
            user, campaign, ActionKind.TEST_ALERT, donation=donation, detail=_describe(donation)
        )
    return donation
