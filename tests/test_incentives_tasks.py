"""The incentives clock as the runners drive it: the embedded loop (`manage.py serve`)
announces a close time that passes while it runs, from a worker thread, and stops when told;
the Celery task announces the same change once."""

import asyncio
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fundboard.campaigns.models import Campaign
from fundboard.incentives.models import Incentive, IncentiveKind, IncentiveState
from fundboard.incentives.tasks import announce_incentive_changes, run_incentive_clock

from .factories import make_campaign
from .support import wait_for

pytestmark = pytest.mark.django_db(transaction=True)  # the loop's thread has its own connection


def closing_goal(campaign: Campaign, seconds: float) -> Incentive:
    return Incentive.objects.create(
        campaign=campaign,
        key="closing",
        kind=IncentiveKind.GOAL,
        title="closing",
        goal=Decimal(50),
        closes_at=timezone.now() + timedelta(seconds=seconds),
    )


def announced(incentive: Incentive) -> str:
    return Incentive.objects.get(pk=incentive.pk).announced_state


def test_the_embedded_clock_announces_a_close_time_that_passes_then_stops():
    campaign = make_campaign()
    goal = closing_goal(campaign, seconds=1.5)
    before = campaign.version

    async def main():
        stop = asyncio.Event()
        clock = asyncio.create_task(run_incentive_clock(stop))
        await asyncio.to_thread(
            wait_for, lambda: announced(goal) == IncentiveState.CLOSED, timeout=10
        )
        stop.set()
        await asyncio.wait_for(clock, timeout=2)

    assert announced(goal) == IncentiveState.OPEN
    # In a thread of its own with its own event loop, as `serve` runs it.
    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert announced(goal) == IncentiveState.CLOSED
    assert Campaign.objects.get(pk=campaign.pk).version == before + 1  # said once


def test_the_celery_task_announces_a_passed_close_time_once():
    goal = closing_goal(make_campaign(), seconds=60)
    # The time passes (an update skips save(), which would record the state at once).
    Incentive.objects.filter(pk=goal.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    assert announced(goal) == IncentiveState.OPEN
    assert announce_incentive_changes() == 1
    assert announced(goal) == IncentiveState.CLOSED
    assert announce_incentive_changes() == 0
