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


def _donation_values(campaign: Campaign, windows: list[MatchWindow]):
    """(donated_at, value) of the counted donations any window may match, arrival order."""
    return (
        Donation.objects.counted()
        .for_campaign_window(campaign)
        .filter(
            donated_at__gte=min(w.starts_at for w in windows),
            donated_at__lt=max(w.ends_at for w in windows),
        )
        .annotate(value=counted_value())
        .order_by("id")
        .values_list("donated_at", "value")
        .iterator(chunk_size=2000)
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


def match_states(campaign: Campaign) -> list[MatchState]:
    windows = list(campaign.match_windows.order_by("precedence", "starts_at", "id"))
    states = [MatchState(window=w, matched=Decimal("0")) for w in windows]
    if not windows:
        return states
    for donated_at, value in _donation_values(campaign, windows):
        _offer(states, donated_at, Decimal(value).quantize(CENT))
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
