"""The incentives clock: an open or close time that passes is announced without a donation.

An incentive's state is computed from the time (models.incentive_state), so at its
`closes_at` the snapshot would say "closed" while the campaign version, the cached JSON
snapshot, its ETag and the open pages still said "open" until the next donation. Once a
second `announce_due_changes` finds incentives whose state differs from the one viewers were
told (`Incentive.announced_state`), records the new one and bumps each such campaign's
version through ingest's commit path, which sends the snapshot to every viewer.

Safe in any number of processes at once: a state is claimed with a conditional UPDATE, so
only the process that changed the row announces it. Called by Celery beat in the distributed
mode (tasks.announce_incentive_changes) and by the embedded runner (tasks.run_incentive_clock).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fundboard.campaigns.models import Campaign
from fundboard.ingest.services import commit_change

from .models import Incentive

__all__ = ["announce_due_changes"]

log = logging.getLogger("fundboard.incentives")

# Only these can change state with time alone (a run's start or stop announces itself),
# plus any whose state was never announced (created before the clock existed).
TIMED = Q(opens_at__isnull=False) | Q(closes_at__isnull=False) | Q(run__isnull=False)


def _changed_states(now: datetime) -> dict[int, list[tuple[int, str, str]]]:
    """{campaign id: [(incentive id, announced state, state now), ...]} for those that moved."""
    changed: dict[int, list[tuple[int, str, str]]] = {}
    incentives = Incentive.objects.filter(TIMED | Q(announced_state="")).select_related("run")
    for incentive in incentives.only(
        "campaign_id", "announced_state", "opens_at", "closes_at", "run"
    ):
        state = incentive.state(now)
        if state != incentive.announced_state:
            changed.setdefault(incentive.campaign_id, []).append(
                (incentive.pk, incentive.announced_state, state)
            )
    return changed


def _announce(campaign_id: int, changes: list[tuple[int, str, str]]) -> bool:
    with transaction.atomic():
        claimed = 0
        for pk, announced, state in changes:
            # Conditional: another process that got there first leaves nothing to claim.
            rows = Incentive.objects.filter(pk=pk, announced_state=announced)
            claimed += rows.update(announced_state=state)
        if not claimed:
            return False
        commit_change(Campaign.objects.get(pk=campaign_id))
    log.info("incentives changed state with time campaign=%s count=%s", campaign_id, claimed)
    return True


def announce_due_changes(now: datetime | None = None) -> int:
    """Announce every incentive whose open or close time passed; returns the campaigns told."""
    now = now or timezone.now()
    return sum(
        _announce(campaign_id, changes) for campaign_id, changes in _changed_states(now).items()
    )
