"""The public snapshot: sources combined once each, moderation honoured, plain JSON types."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgpack
import pytest

from fundboard.ingest.models import Donation
from fundboard.ingest.moderation import approve_donations
from fundboard.ingest.services import apply_poll_result, ingest_donations
from fundboard.live.snapshot import build_snapshot
from fundboard.providers.records import EntryRecord, PollResult, TotalsRecord

from .factories import make_campaign, make_source, record

pytestmark = pytest.mark.django_db


def test_total_is_reported_totals_plus_stored_donations_each_once():
    campaign = make_campaign()
    stream = make_source(campaign, kind="imraising")
    walk = make_source(campaign, kind="p2p")
    ingest_donations(stream.pk, [record("10.25"), record("4.75")])
    # P2P gifts are stored for top donors, but the event's reported total is what counts.
    apply_poll_result(
        walk.pk,
        PollResult(
            totals=TotalsRecord(Decimal("500.00"), "USD", count=7), donations=[record("20")]
        ),
    )
    snapshot = build_snapshot(campaign)
    assert snapshot["total"] == "515.00"
    assert snapshot["donation_count"] == 9
    assert {s["total"] for s in snapshot["sources"]} == {"15.00", "500.00"}
    assert snapshot["progress"] == 0.515


def test_other_currencies_and_donations_outside_the_window_do_not_count():
    now = datetime.now(UTC)
    campaign = make_campaign(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1))
    source = make_source(campaign)
    ingest_donations(
        source.pk,
        [
            record("10"),
            record("99", currency="EUR"),
            record("77", when=now - timedelta(days=1)),
        ],
    )
    assert build_snapshot(campaign)["total"] == "10.00"


def test_top_donors_group_by_name_and_hide_what_must_be_hidden():
    campaign = make_campaign(blocked_words="badword")
    source = make_source(campaign)
    ingest_donations(
        source.pk,
        [
            record("10", "Ann"),
            record("15", "ann"),
            record("30", "Bob", anonymous=True),
            record("5", "xbadwordx"),
            record("8", "Cy", uid="cy"),
        ],
    )
    Donation.objects.filter(upstream_id="cy").update(name_hidden=True)
    top = build_snapshot(campaign)["top_donors"]
    assert top[0] == {"name": "Anonymous", "total": "30.00", "donation_count": 1}
    assert top[1]["total"] == "25.00" and top[1]["donation_count"] == 2
    names = [row["name"] for row in top]
    assert "Bob" not in names and "Cy" not in names and "xbadwordx" not in names


def test_hidden_and_held_messages_are_absent():
    campaign = make_campaign()
    source = make_source(campaign)
    ingest_donations(source.pk, [record(message="hello", uid="m1"), record(message="<b>hi</b>")])
    Donation.objects.filter(upstream_id="m1").update(message_hidden=True)
    recent = build_snapshot(campaign)["recent"]
    assert [d.get("message") for d in recent] == ["<b>hi</b>", None]
    assert "message" not in recent[1]

    campaign.hold_for_review = True
    campaign.save()
    ingest_donations(source.pk, [record(name="Held", message="wait", uid="h1")])
    held = Donation.objects.get(upstream_id="h1")
    snapshot = build_snapshot(campaign)
    # Held for review: counted, but no ticker entry (and so no alert) until approved.
    assert held.pk not in [d["id"] for d in snapshot["recent"]]
    assert len(snapshot["recent"]) == 2 and snapshot["donation_count"] == 3
    approve_donations(campaign.pk, [held.pk])
    shown = build_snapshot(campaign)["recent"][0]
    assert (shown["id"], shown["name"], shown["message"]) == (held.pk, "Held", "wait")


def test_leaderboards_leave_blocked_entries_off_and_sort_by_raised():
    campaign = make_campaign()
    walk = make_source(campaign, kind="p2p")
    entries = [
        EntryRecord("fundraiser", "1", "Low", Decimal("5")),
        EntryRecord("fundraiser", "2", "High", Decimal("50"), team_name="Reds"),
        EntryRecord("fundraiser", "3", "Blocked", Decimal("500"), blocked=True),
        EntryRecord("team", "t1", "Reds", Decimal("55")),
    ]
    apply_poll_result(walk.pk, PollResult(entries=entries))
    snapshot = build_snapshot(campaign)
    assert [f["name"] for f in snapshot["fundraisers"]] == ["High", "Low"]
    assert snapshot["fundraisers"][0]["team"] == "Reds"
    assert [t["name"] for t in snapshot["teams"]] == ["Reds"]


def test_snapshot_survives_msgpack_and_json_unchanged():
    campaign = make_campaign()
    ingest_donations(make_source(campaign).pk, [record("12.30", message="héllo 👋")])
    snapshot = build_snapshot(campaign)
    assert msgpack.unpackb(msgpack.packb(snapshot)) == snapshot
    assert json.loads(json.dumps(snapshot)) == snapshot


def test_leaderboard_follows_changes_and_removals_upstream():
    campaign = make_campaign()
    walk = make_source(campaign, kind="p2p")
    first = [EntryRecord("fundraiser", str(n), f"F{n}", Decimal(n)) for n in range(1, 4)]
    apply_poll_result(walk.pk, PollResult(entries=first))
    second = [
        EntryRecord("fundraiser", "1", "F1", Decimal("100")),
        EntryRecord("fundraiser", "2", "F2", Decimal("2")),
    ]
    outcome = apply_poll_result(walk.pk, PollResult(entries=second))
    assert outcome.changed
    assert [(f["name"], f["raised"]) for f in build_snapshot(campaign)["fundraisers"]] == [
        ("F1", "100.00"),
        ("F2", "2.00"),
    ]
    assert not apply_poll_result(walk.pk, PollResult(entries=second)).changed
