"""Mass removals found by reconciliation wait for staff; small ones apply at once.

Reconciliation's "missed deletes" repair removes stored donations upstream no longer lists.
A handful is normal (deletes missed while the stream was down); hundreds at once is more
likely an upstream restarted empty or a wrong key, so above a threshold the removal is
recorded as a `PendingRemoval` and the totals stay as they are until an Organiser confirms
it on the dashboard (or dismisses it: nothing is removed).
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fundboard.campaigns.models import Source
from fundboard.ingest.services import remove_donations

from .models import PendingRemoval, PendingState, StreamActivity

__all__ = [
    "DEFAULT_MASS_REMOVAL_THRESHOLD",
    "mass_removal_threshold",
    "remove_or_hold",
    "confirm_pending",
    "dismiss_pending",
    "note_stream_activity",
]

log = logging.getLogger("fundboard.sync")

# More than this many donations removed by one reconciliation waits for a human.
DEFAULT_MASS_REMOVAL_THRESHOLD = 5


def mass_removal_threshold() -> int:
    return int(settings.FUNDBOARD.get("MASS_REMOVAL_THRESHOLD", DEFAULT_MASS_REMOVAL_THRESHOLD))


def remove_or_hold(source_id: int, missing: dict[str, Decimal]) -> bool:
    """Remove `missing` (upstream id -> amount) now if few, else hold it for staff.

    True if the donations were removed. The same set already waiting or dismissed is not
    recorded again (reconciliation finds it on every round until staff decide).
    """
    if len(missing) <= mass_removal_threshold():
        remove_donations(source_id, list(missing))
        return True
    ids = sorted(missing)
    with transaction.atomic():
        source = Source.objects.select_for_update().select_related("campaign").get(pk=source_id)
        known = PendingRemoval.objects.filter(
            source=source, state__in=[PendingState.WAITING, PendingState.DISMISSED]
        )
        if any(sorted(pending.upstream_ids) == ids for pending in known):
            return False
        pending = PendingRemoval.objects.create(
            source=source,
            upstream_ids=ids,
            count=len(ids),
            total=sum(missing.values(), Decimal("0")),
            currency=source.campaign.currency,
        )
    log.warning(
        "source=%s holding a mass removal of %s donation(s), %s %s, for staff (pending=%s)",
        source_id,
        pending.count,
        pending.total,
        pending.currency,
        pending.pk,
    )
    return False


def _decide(pending_id: int, state: str, username: str) -> PendingRemoval | None:
    """Mark a waiting removal decided; None if it was no longer waiting."""
    with transaction.atomic():
        pending = PendingRemoval.objects.select_for_update().get(pk=pending_id)
        if pending.state != PendingState.WAITING:
            return None
        pending.state, pending.decided_at, pending.decided_by = state, timezone.now(), username
        pending.save(update_fields=["state", "decided_at", "decided_by"])
    return pending


def confirm_pending(pending_id: int, username: str) -> int | None:
    """Apply a held removal through the ingest layer; how many were removed (None: not
    waiting any more)."""
    with transaction.atomic():
        pending = _decide(pending_id, PendingState.CONFIRMED, username)
        if pending is None:
            return None
        outcome = remove_donations(pending.source_id, pending.upstream_ids)
    return len(outcome.removed)


def dismiss_pending(pending_id: int, username: str) -> bool:
    return _decide(pending_id, PendingState.DISMISSED, username) is not None


def note_stream_activity(source_id: int, when) -> None:
    """The stream spoke at `when` (the runner calls this at most every few seconds)."""
    StreamActivity.objects.update_or_create(
        source_id=source_id, defaults={"last_activity_at": when}
    )
