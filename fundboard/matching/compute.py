"""What each sponsor match window matched, derived exactly from the stored donations.

The rule (README, "Sponsor matches"):
- donations count for their value in the campaign's currency (converted at ingest), and
  only those that count toward the total (not removed, not tests, in the campaign window);
- a window matches donations made (by donation time) from `starts_at` up to, not
  including, `ends_at`, taken in arrival order (the order they were stored) until its cap
  is used up;
- where windows overlap, a donation is offered to them in precedence order (lowest first):
  a window gives `ratio` × the part of the donation not matched yet, rounded down to the
  cent, at most what is left of its cap; the part its money did not cover (its cap ran out)
  is offered to the next window.

Nothing is kept in memory between calls: removing a donation releases its match at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from django.db.models import Sum
from django.utils import timezone

from fundboard.campaigns.models import Campaign
from fundboard.ingest.models import Donation, counted_value

from .models import MatchWindow

__all__ = ["MatchState", "match_states", "matched_total"]

CENT = Decimal("0.01")


@dataclass
class MatchState:
    window: MatchWindow
    matched: Decimal

    @property
    def remaining(self) -> Decimal:
        return max(self.window.cap - self.matched, Decimal("0"))

    def active_at(self, moment: datetime) -> bool:
        w = self.window
        return w.starts_at <= moment < w.ends_at and self.remaining > 0


def _counted_in(campaign: Campaign, windows: list[MatchWindow]):
    """The counted donations any of these windows may match, with their `value`."""
    return (
        Donation.objects.counted()
        .for_campaign_window(campaign)
        .filter(
            donated_at__gte=min(w.starts_at for w in windows),
            donated_at__lt=max(w.ends_at for w in windows),
        )
        .annotate(value=counted_value())
    )


def _offer(states: list[MatchState], donated_at: datetime, value: Decimal) -> None:
    """One donation through the windows open at its time, in precedence order."""
    unmatched = value
    for state in states:
        window = state.window
        if unmatched <= 0:
            return
        if not (window.starts_at <= donated_at < window.ends_at) or state.remaining <= 0:
            continue
        wanted = (unmatched * window.ratio).quantize(CENT, rounding=ROUND_DOWN)
        given = min(wanted, state.remaining)
        state.matched += given
        if given == wanted:
            return
        # The cap ran out: the part of the donation this money covered is done.
        unmatched -= (given / window.ratio).quantize(CENT, rounding=ROUND_UP)


def _overlapping_groups(states: list[MatchState]) -> list[list[MatchState]]:
    """Windows whose times overlap, transitively, in groups (each keeps precedence order)."""
    groups: list[list[MatchState]] = []
    for state in sorted(states, key=lambda s: s.window.starts_at):
        if groups and state.window.starts_at < max(s.window.ends_at for s in groups[-1]):
            groups[-1].append(state)
        else:
            groups.append([state])
    order = {id(s): i for i, s in enumerate(states)}
    return [sorted(group, key=lambda s: order[id(s)]) for group in groups]


def _match_alone(campaign: Campaign, state: MatchState) -> None:
    """A window overlapping no other, doubling (ratio 1): what it matched is the sum of its
    donations up to its cap, whatever their order; one aggregate instead of every row."""
    summed = _counted_in(campaign, [state.window]).aggregate(total=Sum("value"))["total"]
    state.matched = min(Decimal(summed or 0).quantize(CENT), state.window.cap)


def _match_in_order(campaign: Campaign, group: list[MatchState]) -> None:
    rows = _counted_in(campaign, [s.window for s in group]).order_by("id")
    for donated_at, value in rows.values_list("donated_at", "value").iterator(chunk_size=2000):
        _offer(group, donated_at, Decimal(value).quantize(CENT))
        if all(s.remaining <= 0 for s in group):
            return  # every cap is used up: later donations change nothing


def match_states(campaign: Campaign) -> list[MatchState]:
    windows = list(campaign.match_windows.order_by("precedence", "starts_at", "id"))
    states = [MatchState(window=w, matched=Decimal("0")) for w in windows]
    for group in _overlapping_groups(states):
        if len(group) == 1 and group[0].window.ratio == 1:
            _match_alone(campaign, group[0])
        else:
            _match_in_order(campaign, group)
    return states


def matched_total(states: list[MatchState]) -> Decimal:
    return sum((s.matched for s in states), Decimal("0"))


def match_payload(state: MatchState, now: datetime | None = None) -> dict:
    """One entry of the snapshot's `matches[]` (amounts as decimal strings)."""
    w = state.window
    return {
        "sponsor": w.sponsor,
        "ratio": f"{w.ratio:.2f}",
        "starts_at": _iso(w.starts_at),
        "ends_at": _iso(w.ends_at),
        "cap": f"{w.cap:.2f}",
        "matched": f"{state.matched:.2f}",
        "remaining": f"{state.remaining:.2f}",
        "active": state.active_at(now or timezone.now()),
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
