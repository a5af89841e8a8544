"""The incentives clock: an open or close time that passes is announced without a donation
(fundboard/incentives/clock.py): the campaign version moves, the snapshot says so and open
sockets get it."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fundboard.campaigns.models import Campaign
from fundboard.incentives.clock import announce_due_changes
from fundboard.incentives.models import Incentive, IncentiveKind, IncentiveState

from .factories import make_campaign


def soon() -> datetime:
    """The tests' "now" for the clock: ten minutes ahead of the real one, so incentives created
    with times around it are in the state the test names when created (a fixed date would
    pass on the day it was written only)."""
    return timezone.now() + timedelta(minutes=10)


def goal(campaign: Campaign, key: str, **times) -> Incentive:
    return Incentive.objects.create(
        campaign=campaign, key=key, kind=IncentiveKind.GOAL, title=key, goal=Decimal(50), **times
    )


def version(campaign: Campaign) -> int:
    return Campaign.objects.get(pk=campaign.pk).version


@pytest.mark.django_db(transaction=True)
def test_a_passing_close_time_bumps_the_version_once():
    NOW = soon()
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
    NOW = soon()
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


@pytest.mark.django_db(transaction=True)
def test_starting_and_stopping_a_run_leaves_the_clock_nothing_to_repeat():
    from fundboard.incentives.models import Run
    from fundboard.incentives.schedule import start_run, stop_run

    campaign = make_campaign()
    first, second = (
        Run.objects.create(campaign=campaign, title=t, order=i) for i, t in enumerate("ab")
    )
    on_first = goal(campaign, "first", run=first)
    on_second = goal(campaign, "second", run=second)
    assert on_first.announced_state == IncentiveState.UPCOMING
    start_run(first.pk)  # a new version: the incentive opens with it
    assert announce_due_changes() == 0
    start_run(second.pk)  # stops the first one: its incentive closes, the second's opens
    assert announce_due_changes() == 0
    on_first.refresh_from_db()
    on_second.refresh_from_db()
    assert (on_first.announced_state, on_second.announced_state) == ("closed", "open")
    stop_run(second.pk)
    assert announce_due_changes() == 0
