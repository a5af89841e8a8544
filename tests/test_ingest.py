"""The one write path: idempotent, removals kept for audit, test donations never counted."""

from decimal import Decimal

import pytest

from fundboard.campaigns.models import SourceStatus
from fundboard.ingest.models import Donation
from fundboard.ingest.services import (
    apply_poll_result,
    ingest_donations,
    record_failure,
    record_rejection,
    record_success,
    remove_donations,
)
from fundboard.live.snapshot import build_snapshot
from fundboard.providers.errors import AuthError, RateLimited
from fundboard.providers.records import PollResult, TotalsRecord

from .factories import make_campaign, make_source, record

pytestmark = pytest.mark.django_db


def test_same_upstream_id_twice_is_stored_once():
    source = make_source(make_campaign())
    first = ingest_donations(source.pk, [record("5.00", uid="a"), record("5.00", uid="a")])
    again = ingest_donations(source.pk, [record("5.00", uid="a")])
    assert len(first.added) == 1 and first.duplicates == 1
    assert again.added == [] and again.duplicates == 1
    assert Donation.objects.count() == 1
    assert build_snapshot("drive")["total"] == "5.00"


def test_removal_leaves_every_total_but_keeps_the_row():
    source = make_source(make_campaign())
    ingest_donations(source.pk, [record("5.00", uid="a"), record("7.50", uid="b")])
    outcome = remove_donations(source.pk, ["a"])
    assert [d.upstream_id for d in outcome.removed] == ["a"]
    snapshot = build_snapshot("drive")
    assert snapshot["total"] == "7.50" and snapshot["donation_count"] == 1
    assert [d["name"] for d in snapshot["recent"]] == ["Ann"]
    assert Donation.objects.get(upstream_id="a").removed is True


def test_removal_before_the_donation_arrives_wins():
    source = make_source(make_campaign())
    remove_donations(source.pk, ["late"])
    outcome = ingest_donations(source.pk, [record("9.00", uid="late")])
    assert outcome.added == []
    assert build_snapshot("drive")["total"] == "0.00"


def test_test_donations_are_stored_but_never_counted():
    source = make_source(make_campaign())
    outcome = ingest_donations(source.pk, [record("50.00", currency="XTS")])
    assert outcome.added[0].is_test and not outcome.changed
    snapshot = build_snapshot("drive")
    assert snapshot["total"] == "0.00" and snapshot["recent"] == []


def test_version_moves_only_with_a_visible_change():
    campaign = make_campaign()
    source = make_source(campaign)
    ingest_donations(source.pk, [record(uid="a")])
    campaign.refresh_from_db()
    version = campaign.version
    ingest_donations(source.pk, [record(uid="a")])  # duplicate
    campaign.refresh_from_db()
    assert campaign.version == version
    ingest_donations(source.pk, [record(uid="b")])
    campaign.refresh_from_db()
    assert campaign.version == version + 1


def test_unchanged_poll_result_writes_nothing(django_assert_max_num_queries):
    source = make_source(make_campaign(), kind="p2p")
    totals = TotalsRecord(total=Decimal("100.00"), currency="USD", count=3)
    apply_poll_result(source.pk, PollResult(totals=totals))
    record_success(source.pk)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        apply_poll_result(source.pk, PollResult(totals=totals))
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in ("UPDATE", "INSERT", "DELETE")]
    assert writes == []
    assert build_snapshot("drive")["total"] == "100.00"


def test_failure_keeps_last_good_numbers_and_marks_stale():
    source = make_source(make_campaign(), kind="p2p")
    apply_poll_result(source.pk, PollResult(totals=TotalsRecord(Decimal("80"), "USD")))
    record_failure(source.pk, RateLimited("429 Too Many Requests", retry_after=7))
    snapshot = build_snapshot("drive")
    assert snapshot["total"] == "80.00"
    assert snapshot["sources"][0]["status"] == "stale"
    source.refresh_from_db()
    assert source.status == SourceStatus.RATE_LIMITED and source.consecutive_failures == 1


def test_errors_and_rejections_never_carry_the_api_key():
    source = make_source(make_campaign(), kind="p2p", api_key="SECRET-KEY-123456")
    record_failure(source.pk, AuthError("GET /x?apiKey=SECRET-KEY-123456 said Invalid API key"))
    record_rejection(source.pk, "bad record from key SECRET-KEY-123456")
    source.refresh_from_db()
    assert "SECRET-KEY-123456" not in source.last_error + source.last_rejection
    assert source.status == SourceStatus.AUTH_ERROR
    assert source.rejected_records == 1
