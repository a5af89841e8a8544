"""The one writer of allocations, the allocation queue and their audit trail.

Two callers: ingest, inside the very transaction that stores or removes donations (so the
allocations always agree with the donation rows, and the campaign version ingest bumps
covers them), and staff actions (confirm, reassign, split, mark general), each one
transaction that locks the donation row, checks that its allocations stay within its amount
and that no closed incentive is touched, writes an audit row and bumps the version.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from fundboard.campaigns.models import Campaign
from fundboard.ingest.models import Donation
from fundboard.ingest.services import commit_change

from .models import (
    Allocation,
    AllocationAudit,
    Incentive,
    IncentiveKind,
    IncentiveState,
    Option,
    Review,
    ReviewState,
)
from .models.incentive import incentive_state
from .tags import Reading, TagIndex, Target, read_message

__all__ = [
    "AllocationError",
    "Part",
    "allocate_donations",
    "release_donations",
    "set_allocations",
    "confirm_allocations",
    "tag_index",
    "forget_index",
    "reread_donation",
    "counts_for_campaign",
]

log = logging.getLogger("fundboard.incentives")


class AllocationError(ValueError):
    """A staff action that would break a rule; the message says which."""


@dataclass(frozen=True)
class Part:
    incentive_id: int
    option_id: int | None
    amount: Decimal


# --- the tag index, cached per campaign while its incentives are unchanged ----------------

# What ingest needs of an incentive beyond the index (the cache keeps it with the index).
IncentiveInfo = tuple[str, str]  # (kind, title)

# The index is read from the database at most once a second per campaign and process (and
# at once after a change made in this process): a message with no tag-like word then costs
# no query at all, and a campaign without incentives pays nothing per donation. Whether an
# incentive is open is never taken from the cache (STATE_FIELDS, read when a message matters).
INDEX_TTL_SECONDS = 1.0


@dataclass
class _CachedIndex:
    read_at: float
    stamp: tuple
    index: TagIndex
    info: dict[int, IncentiveInfo]


_INDEX_CACHE: dict[int, _CachedIndex] = {}

STATE_FIELDS = ("pk", "run_id", "run__started_at", "run__ended_at", "opens_at", "closes_at")


def forget_index(campaign_id: int | None = None) -> None:
    """Drop the cached index (of one campaign, or all): the next donation reads it afresh."""
    if campaign_id is None:
        _INDEX_CACHE.clear()
    else:
        _INDEX_CACHE.pop(campaign_id, None)


def _build_index(incentives: list[Incentive]) -> TagIndex:
    tags: dict[str, Target] = {}
    titles: dict[str, Target] = {}
    options = Option.objects.filter(incentive__in=incentives).order_by("incentive_id", "order")
    for incentive in incentives:
        for tag in incentive.tag_list:
            tags.setdefault(tag, Target(incentive.pk))
        titles.setdefault(incentive.title.lower(), Target(incentive.pk))
    for option in options:
        target = Target(option.incentive_id, option.pk)
        for tag in option.tag_list:
            tags.setdefault(tag, target)
        titles.setdefault(option.title.lower(), target)
    return TagIndex(tags, titles)


def tag_index(campaign_id: int) -> _CachedIndex:
    """The campaign's tag index and its incentives' (kind, title), at most a second old."""
    cached = _INDEX_CACHE.get(campaign_id)
    now = time.monotonic()
    if cached is not None and now - cached.read_at < INDEX_TTL_SECONDS:
        return cached
    stamp = tuple(Incentive.objects.filter(campaign_id=campaign_id).values_list("pk", "updated_at"))
    if cached is None or cached.stamp != stamp:
        incentives = list(Incentive.objects.filter(campaign_id=campaign_id))
        info = {i.pk: (i.kind, i.title) for i in incentives}
        cached = _CachedIndex(now, stamp, _build_index(incentives), info)
    cached.read_at = now
    _INDEX_CACHE[campaign_id] = cached
    return cached


# --- allocation at ingest -----------------------------------------------------------------


def counts_for_campaign(donation: Donation, campaign: Campaign) -> bool:
    """Counted in the campaign's total: the only money an incentive may take."""
    if donation.is_test or donation.removed or donation.amount <= 0:
        return False
    if donation.currency != campaign.currency:
        return False
    if campaign.starts_at and donation.donated_at < campaign.starts_at:
        return False
    return not (campaign.ends_at and donation.donated_at >= campaign.ends_at)


def _snapshot_parts(donation_allocations) -> list[list]:
    return [[a.incentive_id, a.option_id, str(a.amount)] for a in donation_allocations]


def _decide(
    reading: Reading, info: dict[int, IncentiveInfo], states: dict[int, str]
) -> tuple[Target | None, str]:
    """(target to allocate to at once, or None; the reason to queue it, or "")."""
    if reading.doubts or len(reading.targets) > 1:
        why = reading.doubts or [f"tags of {len(reading.targets)} different targets"]
        return None, "; ".join(why)[:300]
    if not reading.targets:
        return None, ""
    (target,) = reading.targets
    kind, title = info[target.incentive_id]
    if kind == IncentiveKind.BIDWAR and target.option_id is None:
        return None, f"names the bid war {title!r} but no option"
    state = states.get(target.incentive_id, IncentiveState.CLOSED)  # deleted meanwhile
    if state != IncentiveState.OPEN:
        return None, f"tag of {title!r}, which is {state}"
    return target, ""


def allocate_donations(campaign: Campaign, donations: Sequence[Donation]) -> int:
    """Inside ingest's transaction: allocate exact tags, queue doubtful messages.

    Returns how many donations were allocated or queued (the caller bumps the version).
    """
    counted = [d for d in donations if d.message and counts_for_campaign(d, campaign)]
    if not counted:
        return 0
    cached = tag_index(campaign.pk)
    if not cached.info:
        return 0
    readings = [(d, read_message(d.message, cached.index)) for d in counted]
    readings = [(d, r) for d, r in readings if r.targets or r.doubts]
    if not readings:
        return 0
    # Open or closed: read now, in this transaction, never from the cache.
    now = timezone.now()
    states = {
        pk: incentive_state(run_id is not None, started, ended, opens, closes, now)
        for pk, run_id, started, ended, opens, closes in Incentive.objects.filter(
            campaign=campaign
        ).values_list(*STATE_FIELDS)
    }
    allocations, reviews = [], []
    for donation, reading in readings:
        target, why = _decide(reading, cached.info, states)
        if target is not None:
            allocations.append(
                Allocation(
                    donation=donation,
                    incentive_id=target.incentive_id,
                    option_id=target.option_id,
                    amount=donation.amount,
                )
            )
        elif why:
            reviews.append(Review(campaign=campaign, donation=donation, reason=why))
    # No audit rows here: an unconfirmed allocation and a review are their own record of
    # what the message did (and when); every later change by staff is audited.
    Allocation.objects.bulk_create(allocations)
    Review.objects.bulk_create(reviews)
    return len(allocations) + len(reviews)


def release_donations(campaign: Campaign, donations: Sequence[Donation]) -> int:
    """Inside ingest's transaction: a refunded or deleted donation gives its money back."""
    ids = [d.pk for d in donations]
    if not ids:
        return 0
    held: dict[int, list[Allocation]] = {}
    for allocation in Allocation.objects.filter(donation_id__in=ids):
        held.setdefault(allocation.donation_id, []).append(allocation)
    Review.objects.filter(donation_id__in=ids, state=ReviewState.PENDING).update(
        state=ReviewState.RELEASED
    )
    if not held:
        return 0
    Allocation.objects.filter(donation_id__in=list(held)).delete()
    AllocationAudit.objects.bulk_create(
        _audit(campaign, d, None, "released", _snapshot_parts(held[d.pk]), [])
        for d in donations
        if d.pk in held
    )
    return len(held)


def _audit(campaign, donation, user, action, before, after, note="") -> AllocationAudit:
    detail = {"before": before, "after": after}
    if note:
        detail["note"] = note
    return AllocationAudit(
        campaign=campaign, donation=donation, user=user, action=action, detail=detail
    )


# --- staff actions ------------------------------------------------------------------------


def _check_parts(campaign: Campaign, donation: Donation, parts: Sequence[Part], now) -> None:
    total = sum((p.amount for p in parts), Decimal("0"))
    if total > donation.amount:
        raise AllocationError(f"allocations ({total}) exceed the donation ({donation.amount})")
    incentives = {
        i.pk: i
        for i in Incentive.objects.filter(
            campaign=campaign, pk__in=[p.incentive_id for p in parts]
        ).select_related("run")
    }
    for part in parts:
        incentive = incentives.get(part.incentive_id)
        if incentive is None:
            raise AllocationError("no such incentive in this campaign")
        if part.amount <= 0:
            raise AllocationError("every part must be a positive amount")
        is_bidwar = incentive.kind == IncentiveKind.BIDWAR
        if is_bidwar != (part.option_id is not None):
            raise AllocationError(f"{incentive.title}: a bid war takes an option, others none")
        if part.option_id and not incentive.options.filter(pk=part.option_id).exists():
            raise AllocationError(f"{incentive.title}: no such option")
        if incentive.state(now) != IncentiveState.OPEN:
            raise AllocationError(f"{incentive.title} is {incentive.state(now)}: locked")


def set_allocations(
    donation_id: int, parts: Sequence[Part], *, user=None, action: str = "reassign"
) -> list[Allocation]:
    """Replace a donation's allocations with `parts` (empty: general fund), as one audited
    change. Refused if the donation does not count, the parts exceed its amount, or an
    incentive losing or gaining money is closed (closing locks allocations)."""
    now = timezone.now()
    with transaction.atomic():
        donation = (
            Donation.objects.select_for_update().select_related("campaign").get(pk=donation_id)
        )
        campaign = donation.campaign
        if not counts_for_campaign(donation, campaign):
            raise AllocationError("this donation does not count (removed, test or outside)")
        before = list(donation.allocations.select_related("incentive__run"))
        for allocation in before:
            if allocation.incentive.state(now) == IncentiveState.CLOSED:
                raise AllocationError(f"{allocation.incentive.title} is closed: locked")
        _check_parts(campaign, donation, parts, now)
        Allocation.objects.filter(donation=donation).delete()
        created = Allocation.objects.bulk_create(
            Allocation(
                donation=donation,
                incentive_id=p.incentive_id,
                option_id=p.option_id,
                amount=p.amount,
                confirmed=True,
            )
            for p in parts
        )
        Review.objects.filter(donation=donation, state=ReviewState.PENDING).update(
            state=ReviewState.RESOLVED
        )
        after = [[p.incentive_id, p.option_id, str(p.amount)] for p in parts]
        _audit(campaign, donation, user, action, _snapshot_parts(before), after).save()
        commit_change(campaign)
    log.info(
        "allocations set campaign=%s donation=%s action=%s by=%s",
        campaign.slug,
        donation_id,
        action,
        getattr(user, "pk", None),
    )
    return created


def confirm_allocations(donation_id: int, *, user=None) -> None:
    """A moderator agrees with the provisional allocation (the money does not move)."""
    with transaction.atomic():
        donation = (
            Donation.objects.select_for_update().select_related("campaign").get(pk=donation_id)
        )
        allocations = list(donation.allocations.all())
        donation.allocations.update(confirmed=True)
        Review.objects.filter(donation=donation, state=ReviewState.PENDING).update(
            state=ReviewState.RESOLVED
        )
        parts = _snapshot_parts(allocations)
        _audit(donation.campaign, donation, user, "confirm", parts, parts).save()


def reread_donation(donation: Donation) -> None:
    """Inside the caller's transaction: a manual donation corrected or restored by staff is
    read again as if it had just arrived (its allocations released, its message re-read).

    Allocations on a closed incentive stay locked, unless the corrected amount is below them:
    a donation's allocations never exceed its amount, and that rule wins over the lock.
    """
    campaign = donation.campaign
    held = list(donation.allocations.select_related("incentive__run"))
    now = timezone.now()
    locked = any(a.incentive.state(now) == IncentiveState.CLOSED for a in held)
    within = sum((a.amount for a in held), Decimal("0")) <= donation.amount
    if locked and within and counts_for_campaign(donation, campaign):
        return
    release_donations(campaign, [donation])
    Review.objects.filter(donation=donation).delete()
    allocate_donations(campaign, [donation])
