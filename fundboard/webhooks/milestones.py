"""Milestone and goal events: the campaign total crossing an amount upwards, once each.

The total is the snapshot's (each enabled source counted once: reported or summed), read
with the same function, from committed rows. A campaign's `MilestoneState` keeps the total
seen at the last change and the amounts announced so far; under that row's lock each
change compares before and after:

- a milestone (or the goal) is announced when the total goes from below it to at or above
  it, and only if it was never announced: a refund that drops below it and a gift that
  crosses it again announce nothing;
- the state starts when the campaign's first endpoint is created, at the total of that
  moment, so an endpoint added to a campaign half way does not hear of milestones passed
  before it existed; a milestone added below the current total is never announced;
- a raised goal is a new goal: reaching it is announced too.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction

from fundboard.campaigns.models import Campaign
from fundboard.live.snapshot import _source_totals, money

from .models import EventType, MilestoneState
from .outbox import Event, enqueue, subscribed_endpoints
from .payloads import goal_data, milestone_data

__all__ = ["campaign_total", "ensure_state", "announce_crossings"]

MILESTONE_EVENTS = (EventType.MILESTONE_REACHED, EventType.GOAL_REACHED)


def campaign_total(campaign: Campaign) -> Decimal:
    """The campaign's public total, as in its snapshot (a few indexed queries)."""
    sources = list(campaign.sources.filter(enabled=True))
    return sum(_source_totals(campaign, sources).values(), Decimal("0"))


def _milestones(campaign: Campaign) -> list[Decimal]:
    amounts = []
    for value in campaign.milestones or []:
        try:
            amounts.append(Decimal(str(value)))
        except ArithmeticError:
            continue  # the admin validates milestones; an odd one is skipped, not fatal
    return sorted(a for a in amounts if a > 0)


def ensure_state(campaign_id: int) -> MilestoneState:
    """The campaign's state, started at the current total when it has none yet."""
    state = MilestoneState.objects.filter(campaign_id=campaign_id).first()
    if state is not None:
        return state
    campaign = Campaign.objects.get(pk=campaign_id)
    try:
        with transaction.atomic():
            return MilestoneState.objects.create(
                campaign=campaign, last_total=campaign_total(campaign)
            )
    except IntegrityError:  # another process started it meanwhile
        return MilestoneState.objects.get(campaign_id=campaign_id)


def announce_crossings(campaign_id: int, version: int) -> list[Event]:
    """After a committed change: the milestone and goal events it caused, enqueued."""
    endpoints = subscribed_endpoints(campaign_id, MILESTONE_EVENTS)
    if not endpoints:
        return []
    ensure_state(campaign_id)
    with transaction.atomic():
        state = MilestoneState.objects.select_for_update().get(campaign_id=campaign_id)
        campaign = Campaign.objects.get(pk=campaign_id)
        total = campaign_total(campaign)
        events = _crossings(campaign, state, total, version)
        state.last_total = total
        state.save(update_fields=["last_total", "announced", "goal_announced", "updated_at"])
        if events:
            enqueue(campaign, events, endpoints)
    return events


def _crossings(campaign: Campaign, state: MilestoneState, total: Decimal, version: int):
    """The events for what `total` crossed since `state.last_total`; marks them announced."""
    before = state.last_total
    events = []
    for milestone in _milestones(campaign):
        if before < milestone <= total and money(milestone) not in state.announced:
            state.announced = [*state.announced, money(milestone)]
            data = milestone_data(campaign, milestone, total)
            events.append(Event(EventType.MILESTONE_REACHED, data, version))
    goal = campaign.goal
    if goal and goal > 0 and before < goal <= total and state.goal_announced != goal:
        state.goal_announced = goal
        events.append(Event(EventType.GOAL_REACHED, goal_data(campaign, total), version))
    return events
