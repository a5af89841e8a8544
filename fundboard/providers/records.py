"""Plain records every provider client returns, whatever the platform."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

__all__ = [
    "TEST_CURRENCY",
    "DonationRecord",
    "RemovalRecord",
    "TotalsRecord",
    "EntryRecord",
    "PollResult",
]

# ISO 4217 "code reserved for testing": ImRaising test donations use it.
TEST_CURRENCY = "XTS"


@dataclass(frozen=True)
class DonationRecord:
    upstream_id: str
    display_name: str
    amount: Decimal
    currency: str
    donated_at: datetime
    message: str = ""
    anonymous: bool = False
    fundraiser_id: str = ""

    @property
    def is_test(self) -> bool:
        return self.currency == TEST_CURRENCY


@dataclass(frozen=True)
class RemovalRecord:
    upstream_id: str


@dataclass(frozen=True)
class TotalsRecord:
    total: Decimal
    currency: str
    count: int | None = None
    goal: Decimal | None = None


@dataclass(frozen=True)
class EntryRecord:
    """A fundraiser, a team, or an Action Network page shown as a fundraiser."""

    kind: str  # "fundraiser" or "team"
    upstream_id: str
    name: str
    raised: Decimal
    currency: str = ""
    goal: Decimal | None = None
    donation_count: int = 0
    url: str = ""
    team_name: str = ""
    blocked: bool = False


@dataclass
class PollResult:
    """Everything one poll of a polled source found.

    `entries` is None when the poll did not fetch leaderboards (so stored ones stay);
    `unchanged` is True when the platform said nothing changed (304 or same ETag).
    """

    totals: TotalsRecord | None = None
    entries: list[EntryRecord] | None = None
    donations: list[DonationRecord] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    unchanged: bool = False
    etags: dict[str, str] = field(default_factory=dict)
