"""What an alert says about incentives: the one a donation went to ("for Name the character:
Zelda").

The live `donation` event of a donation with an allocation carries
`incentive: {"id", "title", "option"}` (`option` is null outside bid wars). A donation split
between several targets names the one that took the most of it. Campaigns without
incentives pay nothing (the tag index is cached per process); others, one query per batch
of donations, never one per donation.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from fundboard.campaigns.models import Campaign
from fundboard.ingest.models import Donation

from .models import Allocation
from .services import tag_index

__all__ = ["alert_incentives"]


def _label(allocation: Allocation) -> dict:
    option = allocation.option
    return {
        "id": allocation.incentive_id,
        "title": allocation.incentive.title,
        "option": option.title if option is not None else None,
    }


def alert_incentives(campaign: Campaign, donations: Sequence[Donation]) -> dict[int, dict]:
    """{donation id: the incentive its alert names}, for the donations that have one."""
    if not donations or not tag_index(campaign.pk).info:
        return {}
    largest: dict[int, Allocation] = {}
    allocations = Allocation.objects.filter(donation_id__in=[d.pk for d in donations])
    for allocation in allocations.select_related("incentive", "option"):
        held = largest.get(allocation.donation_id)
        if held is None or allocation.amount > held.amount:
            largest[allocation.donation_id] = allocation
    return {donation_id: _label(a) for donation_id, a in largest.items() if a.amount > Decimal(0)}
