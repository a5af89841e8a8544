"""Small builders for rows and records used across unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from itertools import count

from fundboard.campaigns.models import Campaign, Source
from fundboard.providers.records import DonationRecord

_ids = count(1)


def make_campaign(slug: str = "drive", **fields) -> Campaign:
    defaults = {"name": slug.title(), "goal": Decimal("1000"), "currency": "USD"}
    return Campaign.objects.create(slug=slug, **{**defaults, **fields})


def make_source(campaign: Campaign, kind: str = "manual", **fields) -> Source:
    return Source.objects.create(
        campaign=campaign, kind=kind, name=fields.pop("name", f"{kind}-{next(_ids)}"), **fields
    )


def record(
    amount: str = "10.00",
    name: str = "Ann",
    *,
    uid: str | None = None,
    currency: str = "USD",
    message: str = "",
    when: datetime | None = None,
    anonymous: bool = False,
) -> DonationRecord:
    return DonationRecord(
        upstream_id=uid or f"u{next(_ids)}",
        display_name=name,
        amount=Decimal(amount),
        currency=currency,
        donated_at=when or datetime.now(UTC),
        message=message,
        anonymous=anonymous,
    )
