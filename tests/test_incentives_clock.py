"""The incentives clock: an open or close time that passes is announced without a donation
(fundboard/incentives/clock.py): the campaign version moves, the snapshot says so and open
sockets get it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fundboard.campaigns.models import Campaign
from fundboard.incentives.clock import announce_due_changes
from fundboard.incentives.models import Incentive, IncentiveKind, IncentiveState

from .factories import make_campaign

NOW = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)


def goal(campaign: Campaign, key: str, **times) -> Incentive:
    return Incentive.objects.create(
        campaign=campaign, key=key, kind=IncentiveKind.GOAL, title=key, goal=Decimal(50), **times
    )


def version(campaign: Campaign) -> int:
    return Campaign.objects.get(pk=campaign.pk).version


@pytest.mark.django_db(transaction=True)
def test_a_passing_close_time_bumps_the_version_once():
    campaign = make_campaign()
    closing = goal(campaign, "closing", closes_at=NOW + timedelta(minutes=5))
    goal(campaign, "untimed")
    assert closing.announced_state == IncentiveState.OPEN  # as created
    before = version(campaign)
    assert announce_due_changes(NOW) == 0  # nothing passed yet: nothing said
    assert version(campaign) == before
    assert announce_due_changes(NOW + timedelta(minutes=5)) == 1
    assert version(campaign) == before + 1
    closing.refresh_from_db()
    assert closing.announced_state == IncentiveState.CLOSED
    assert announce_due_changes(NOW + timedelta(minutes=6)) == 0  # said once, not every tick
    assert version(campaign) == before + 1


@pytest.mark.django_db(transaction=True)
def test_one_bump_per_campaign_for_several_changes_and_opening_counts_too():
    first, second = make_campaign("first"), make_campaign("second")
    goal(first, "a", closes_at=NOW)
    goal(first, "b", opens_at=NOW - timedelta(hours=1), closes_at=NOW + timedelta(hours=1))
    goal(second, "c", opens_at=NOW + timedelta(seconds=1))  # upcoming when created (now < opens)
    versions = {c.pk: version(c) for c in (first, second)}
    Incentive.objects.update(announced_state=IncentiveState.UPCOMING)  # as told long ago
    assert announce_due_changes(NOW + timedelta(seconds=2)) == 2
    assert version(first) == versions[first.pk] + 1  # two incentives, one new version
    assert version(second) == versions[second.pk] + 1
    states = dict(Incentive.objects.values_list("key", "announced_state"))
    assert states == {"a": "closed", "b": "open", "c": "open"}
