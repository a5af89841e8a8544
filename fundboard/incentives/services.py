"""The one writer of allocations, the allocation queue and their audit trail.

Two callers: ingest, inside the very transaction that stores or removes donations (so the
allocations always agree with the donation rows, and the campaign version ingest bumps
covers them), and staff actions (confirm, reassign, split, mark general), each one
transaction that locks the donation row, checks that its allocations stay within its amount
and that no closed incentive is touched, writes an audit row and bumps the version.
"""

from __future__ import annotations

import logging
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
from .tags import Reading, TagIndex, Target, read_message

__all__ = [
    "AllocationError",
    "Part",
    "allocate_donations",
    "release_donations",
    "set_allocations",
    "confirm_allocations",
    "tag_index",
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

_INDEX_CACHE: dict[int, tuple[tuple, TagIndex]] = {}


def _index_stamp(incentives: list[Incentive]) -> tuple:
    return tuple((i.pk, i.updated_at) for i in incentives)


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


def tag_index(campaign_id: int, incentives: list[Incentive]) -> TagIndex:
    stamp = _index_stamp(incentives)
    cached = _INDEX_CACHE.get(campaign_id)
    if cached is None or cached[0] != stamp:
        cached = (stamp, _build_index(incentives))
        _INDEX_CACHE[campaign_id] = cached
    return cached[1]


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


def _decide(reading: Reading, incentives: dict[int, Incentive], now) -> tuple[Target | None, str]:
    """(target to allocate to at once, or None; the reason to queue it, or "")."""
    if reading.doubts or len(reading.targets) > 1:
        why = reading.doubts or [f"tags of {len(reading.targets)} different targets"]
        return None, "; ".join(why)[:300]
    if not reading.targets:
        return None, ""
    (target,) = reading.targets
    incentive = incentives[target.incentive_id]
    if incentive.kind == IncentiveKind.BIDWAR and target.option_id is None:
        return None, f"names the bid war {incentive.title!r} but no option"
    state = incentive.state(now)
    if state != IncentiveState.OPEN:
        return None, f"tag of {incentive.title!r}, which is {state}"
    return target, ""


def allocate_donations(campaign: Campaign, donations: Sequence[Donation]) -> int:
    """Inside ingest's transaction: allocate exact tags, queue doubtful messages.

    Returns how many donations were allocated or queued (the caller bumps the version).
    """
    counted = [d for d in donations if d.message and counts_for_campaign(d, campaign)]
    if not counted:
        return 0
    incentives = list(Incentive.objects.filter(campaign=campaign).select_related("run"))
    if not incentives:
        return 0
    index = tag_index(campaign.pk, incentives)
    by_id = {i.pk: i for i in incentives}
    now = timezone.now()
    allocations, reviews, audits = [], [], []
    for donation in counted:
        target, why = _decide(read_message(donation.message, index), by_id, now)
        if target is not None:
            allocations.append(
                Allocation(
                    donation=donation,
                    incentive_id=target.incentive_id,
                    option_id=target.option_id,
                    amount=donation.amount,
                )
            )
            after = [[target.incentive_id, target.option_id, str(donation.amount)]]
            audits.append(_audit(campaign, donation, None, "tag", [], after))
        elif why:
            reviews.append(Review(campaign=campaign, donation=donation, reason=why))
            audits.append(_audit(campaign, donation, None, "queued", [], [], note=why))
    Allocation.objects.bulk_create(allocations)
    Review.objects.bulk_create(reviews)
    AllocationAudit.objects.bulk_create(audits)
    return len(allocations) + len(reviews)


def release_donations(campaign: Campaign, donations: Sequence[Donation]) -> int:
    """Inside ingest's transaction: a refunded or deleted donation gives its money back."""
    ids = [d.pk for d in donations]
    if not ids:
        return 0
    held = {}
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
