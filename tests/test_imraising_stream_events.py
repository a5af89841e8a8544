"""Stream events written in bursts: order kept, one kind per call, cursor stored."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fundboard.campaigns.models import Source
from fundboard.ingest.models import Donation
from fundboard.live.snapshot import build_snapshot
from fundboard.providers.imraising import DonationAdded, DonationDeleted, EventRejected
from fundboard.providers.records import RemovalRecord
from fundboard.runners.sources import (
    apply_events,
    backfill_start,
    load_config,
    stored_not_listed,
    stored_total,
)

from .factories import make_campaign, make_source, record

pytestmark = pytest.mark.django_db


def test_a_burst_keeps_upstream_order_across_adds_deletes_and_rejections():
    source = make_source(make_campaign(), kind="imraising")
    apply_events(
        source.pk,
        [
            DonationAdded(record("5.00", uid="a"), "1"),
            DonationAdded(record("7.00", uid="b"), "2"),
            DonationDeleted(RemovalRecord("a"), "3"),
            EventRejected("donation.add: amount is not finite", "4"),
            DonationAdded(record("5.00", uid="a"), ""),  # re-sent after its delete
            DonationDeleted(RemovalRecord("never-seen"), ""),
            DonationAdded(record("1.00", uid="never-seen"), ""),  # its delete came first
        ],
    )
    assert build_snapshot("drive")["total"] == "7.00"
    assert Donation.objects.get(upstream_id="a").removed
    source.refresh_from_db()
    assert (source.last_event_id, source.rejected_records) == ("4", 1)
    assert "not finite" in source.last_rejection


def test_backfill_starts_a_little_before_the_newest_donation():
    campaign = make_campaign(starts_at=datetime(2026, 1, 1, tzinfo=UTC))
    source = make_source(campaign, kind="imraising")
    assert backfill_start(source.pk, 300, campaign.starts_at) == campaign.starts_at
    newest = datetime(2026, 2, 1, 12, tzinfo=UTC)
    apply_events(source.pk, [DonationAdded(record("2.00", when=newest))])
    assert backfill_start(source.pk, 300, None) == newest - timedelta(seconds=300)


def test_stored_totals_and_the_not_listed_check_use_the_campaign_window():
    campaign = make_campaign(starts_at=datetime(2026, 1, 1, tzinfo=UTC))
    source = make_source(campaign, kind="imraising")
    inside, before = datetime(2026, 1, 2, tzinfo=UTC), datetime(2025, 12, 31, tzinfo=UTC)
    apply_events(
        source.pk,
        [
            DonationAdded(record("4.00", uid="in", when=inside)),
            DonationAdded(record("9.00", uid="old", when=before)),
            DonationAdded(record("3.00", uid="eur", currency="EUR", when=inside)),
        ],
    )
    config = load_config(source.pk)
    assert stored_total(config) == Decimal("4.00")
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert stored_not_listed(config, set(), later) == {"in": Decimal("4.00")}
    assert stored_not_listed(config, {"in"}, later) == {}
    assert stored_not_listed(config, set(), datetime(2020, 1, 1, tzinfo=UTC)) == {}
    assert Source.objects.get(pk=source.pk).kind == "imraising"
