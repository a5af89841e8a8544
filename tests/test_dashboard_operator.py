"""The dashboard as the operator's whole tool (issue 13): campaign settings without the admin,
amounts in the campaign's currency, confirmed and undoable removals, held mass removals,
the donations chart, true stream lag. Django's test client against the real views and
database; the live paths (widgets updating, the sandbox) are in test_dashboard_operator_live."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from fundboard.campaigns.models import Campaign
from fundboard.dashboard.chart import chart_data
from fundboard.dashboard.forms import parse_milestones
from fundboard.dashboard.models import ModerationAction
from fundboard.ingest.manual import ManualDonation, add_manual_donation
from fundboard.ingest.models import Donation
from fundboard.ingest.services import ingest_donations
from fundboard.live.snapshot import build_snapshot
from fundboard.sync.models import PendingRemoval, PendingState, StreamActivity
from fundboard.sync.pending import remove_or_hold

from .factories import make_campaign, make_source, record

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _plain(settings):
    settings.REDIS_URL = ""
    settings.AXES_ENABLED = False  # force_login has no client address (see test_webhooks_staff)


@pytest.fixture
def campaign():
    return make_campaign("spring", goal=Decimal("25000"), currency="USD")


def signed_in(username: str, group: str = "Organisers") -> Client:
    user = User.objects.create_user(username, password="Staff-pw-4711", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_post(client: Client, page: str, url: str, data: dict | None = None):
    client.get(page)
    return client.post(
        url, {**(data or {}), "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    )


def settings_data(**changes) -> dict:
    data = {
        "goal": "30000",
        "currency": "USD",
        "milestones": "5000, 10000",
        "starts_at": "",
        "ends_at": "",
        "blocked_words": "",
        "allowed_origins": "",
    }
    return {**data, **changes}


def manual(campaign, amount="500.00", name="Big Cheque") -> Donation:
    entry = ManualDonation(name, Decimal(amount), campaign.currency, timezone.now())
    return add_manual_donation(campaign.pk, entry)


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("5000, 10000", ["5000.00", "10000.00"]),
        ("10000\n5000\n\n5000", ["5000.00", "10000.00"]),
        ("$2,500; $1 000", None),  # "2" then "500": commas separate amounts
        ("", []),
    ],
)
def test_milestones_are_a_list_not_json(text, expected):
    if expected is None:
        assert parse_milestones(text) == ["2.00", "500.00", "1000.00"]
    else:
        assert parse_milestones(text) == expected


def test_settings_form_saves_bumps_the_version_and_is_audited(campaign):
    olive = signed_in("olive")
    before = Campaign.objects.get(pk=campaign.pk).version
    page = "/dashboard/spring/settings/"
    response = csrf_post(
        olive,
        page,
        page,
        settings_data(
            milestones="5000\n10000",
            currency="eur",
            starts_at="2026-12-01T18:00",
            ends_at="2026-12-03T18:00",
            hold_for_review="on",
            blocked_words="  spam \n\n eggs ",
            allowed_origins="https://Charity.example.org/\nhttp://localhost:8080",
        ),
    )
    assert response.status_code == 302, response.content[:500]
    saved = Campaign.objects.get(pk=campaign.pk)
    assert saved.goal == Decimal("30000") and saved.currency == "EUR"
    assert saved.milestones == ["5000.00", "10000.00"]
    assert saved.starts_at == datetime(2026, 12, 1, 18, tzinfo=UTC)
    assert saved.hold_for_review is True and saved.blocked_words == "spam\neggs"
    assert saved.allowed_origin_list == ["https://charity.example.org", "http://localhost:8080"]
    assert saved.version == before + 1
    action = ModerationAction.objects.get(action="campaign_settings")
    assert action.username == "olive" and "goal" in action.detail
    assert build_snapshot(saved)["goal"] == "30000.00"
    # The form shows what is saved, milestones as the list staff typed.
    assert "5000.00, 10000.00" in olive.get(page).content.decode()


@pytest.mark.parametrize(
    "changes, field, words",
    [
        ({"milestones": "5000, lots"}, "milestones", "is not an amount"),
        ({"milestones": "-5"}, "milestones", "not a positive amount"),
        ({"goal": "-1"}, "goal", "greater than or equal to 0"),
        ({"currency": "US"}, "currency", "ISO 4217"),
        ({"starts_at": "2026-12-03T18:00", "ends_at": "2026-12-01T18:00"}, "ends_at", "after"),
        ({"allowed_origins": "https://a.example.org/embed"}, "allowed_origins", "no path"),
        ({"allowed_origins": "charity.example.org"}, "allowed_origins", "not an origin"),
    ],
)
def test_settings_form_refuses_bad_values_with_errors(campaign, changes, field, words):
    olive = signed_in("olive")
    page = "/dashboard/spring/settings/"
    response = csrf_post(olive, page, page, settings_data(**changes))
    text = response.content.decode()
    assert response.status_code == 400
    assert words in text and "Enter a valid JSON" not in text
    assert f'id="id_{field}_error"' in text or "errorlist" in text
    assert Campaign.objects.get(pk=campaign.pk).goal == Decimal("25000")  # nothing saved


def test_moderators_cannot_change_settings(campaign):
    moe = signed_in("moe", "Moderators")
    assert moe.get("/dashboard/spring/settings/").status_code == 403
    assert "/settings/" not in moe.get("/dashboard/spring/").content.decode()


# --- money, captions, aria -------------------------------------------------------------------


def test_amounts_show_in_the_campaign_currency(campaign):
    manual(campaign, "44258.54", "Cheque Club")
    olive = signed_in("olive")
    page = olive.get("/dashboard/spring/").content.decode()
    assert '$44,258.54</span> of <span id="goal">$25,000.00' in page
    assert "version" not in page.split('class="big"')[1].split("</p>")[0]
    assert "$44,258.54" in olive.get("/dashboard/spring/manual/").content.decode()
    Campaign.objects.filter(pk=campaign.pk).update(currency="EUR")
    assert "€25,000.00" in olive.get("/dashboard/spring/").content.decode()


def test_every_aria_reference_exists_and_tables_have_captions(campaign):
    manual(campaign)
    olive = signed_in("olive")
    for url in ["/dashboard/spring/", "/dashboard/spring/manual/", "/dashboard/spring/settings/"]:
        page = olive.get(url).content.decode()
        ids = set(re.findall(r'\sid="([^"]+)"', page))
        for attribute in ("aria-describedby", "aria-labelledby"):
            for refs in re.findall(rf'{attribute}="([^"]+)"', page):
                missing = [ref for ref in refs.split() if ref not in ids]
                assert not missing, (url, attribute, missing)
        assert page.index('class="skip-link"') < page.index("<header")
        for table in re.findall(r"<table.*?</table>", page, re.S):
            assert "<caption" in table, url
            assert "<th>" not in table, url  # every header cell has its scope


# --- removal: confirm, then undo ------------------------------------------------------------


def test_removing_a_manual_donation_asks_first_and_can_be_undone(campaign):
    donation = manual(campaign)
    olive = signed_in("olive")
    url = f"/dashboard/spring/manual/{donation.pk}/remove"
    confirm_page = olive.get(url)
    assert confirm_page.status_code == 200
    assert "Remove this manual donation?" in confirm_page.content.decode()
    assert "$500.00" in confirm_page.content.decode()
    # A POST without the confirmation removes nothing.
    assert csrf_post(olive, url, url).status_code == 400
    assert build_snapshot(campaign)["total"] == "500.00"

    response = csrf_post(olive, url, url, {"confirm": "yes"})
    assert response.status_code == 302
    assert build_snapshot(campaign)["total"] == "0.00"
    listing = olive.get("/dashboard/spring/manual/").content.decode()
    assert 'id="undo-form"' in listing and "Removed $500.00" in listing

    restore = f"/dashboard/spring/manual/{donation.pk}/restore"
    assert csrf_post(olive, "/dashboard/spring/manual/", restore).status_code == 302
    assert build_snapshot(campaign)["total"] == "500.00"
    assert not Donation.objects.get(pk=donation.pk).removed
    actions = list(ModerationAction.objects.values_list("action", flat=True))
    assert actions[:2] == ["manual_restore", "manual_remove"]


def test_undo_is_refused_after_the_window(campaign):
    donation = manual(campaign)
    olive = signed_in("olive")
    url = f"/dashboard/spring/manual/{donation.pk}/remove"
    csrf_post(olive, url, url, {"confirm": "yes"})
    Donation.objects.filter(pk=donation.pk).update(removed_at=timezone.now() - timedelta(hours=1))
    assert 'id="undo-form"' not in olive.get("/dashboard/spring/manual/").content.decode()
    restore = f"/dashboard/spring/manual/{donation.pk}/restore"
    csrf_post(olive, "/dashboard/spring/manual/", restore)
    assert build_snapshot(campaign)["total"] == "0.00"


# --- mass removals wait for staff ------------------------------------------------------------


def _streamed(campaign, count: int):
    source = make_source(campaign, "imraising", name="Stream")
    records = [record("10.00", f"Donor {i}") for i in range(count)]
    ingest_donations(source.pk, records)
    return source, {r.upstream_id: r.amount for r in records}


def test_a_few_missed_deletes_are_removed_at_once(campaign):
    source, missing = _streamed(campaign, 5)
    assert remove_or_hold(source.pk, missing) is True
    assert build_snapshot(campaign)["total"] == "0.00"
    assert not PendingRemoval.objects.exists()


def test_the_threshold_is_a_setting(campaign, settings):
    settings.FUNDBOARD = {**settings.FUNDBOARD, "MASS_REMOVAL_THRESHOLD": 10}
    source, missing = _streamed(campaign, 8)
    assert remove_or_hold(source.pk, missing) is True
    assert build_snapshot(campaign)["total"] == "0.00"


def test_a_mass_removal_waits_for_an_organiser_then_removes(campaign):
    source, missing = _streamed(campaign, 8)
    assert remove_or_hold(source.pk, missing) is False
    assert remove_or_hold(source.pk, missing) is False  # found again: recorded once
    pending = PendingRemoval.objects.get()
    assert (pending.count, pending.total, pending.state) == (8, Decimal("80.00"), "waiting")
    assert build_snapshot(campaign)["total"] == "80.00"  # nothing removed yet

    olive = signed_in("olive")
    page = olive.get("/dashboard/spring/").content.decode()
    assert "8 donations, $80.00" in page
    assert olive.get("/dashboard/spring/feed.json").json()["pending_removals"] == 1
    decide = f"/dashboard/spring/removals/{pending.pk}/decide"
    assert signed_in("moe", "Moderators").post(decide).status_code == 403
    response = csrf_post(olive, "/dashboard/spring/", decide, {"decision": "confirm"})
    assert response.status_code == 302
    assert build_snapshot(campaign)["total"] == "0.00"
    assert PendingRemoval.objects.get().state == PendingState.CONFIRMED
    assert olive.get("/dashboard/spring/feed.json").json()["pending_removals"] == 0
    assert ModerationAction.objects.filter(action="removal_confirmed").exists()
    # Decided once: a second click changes nothing.
    again = csrf_post(olive, "/dashboard/spring/", decide, {"decision": "dismiss"})
    assert again.status_code == 302 and PendingRemoval.objects.get().state == "confirmed"


def test_a_dismissed_mass_removal_keeps_the_donations_and_is_not_raised_again(campaign):
    source, missing = _streamed(campaign, 8)
    remove_or_hold(source.pk, missing)
    pending = PendingRemoval.objects.get()
    olive = signed_in("olive")
    decide = f"/dashboard/spring/removals/{pending.pk}/decide"
    csrf_post(olive, "/dashboard/spring/", decide, {"decision": "dismiss"})
    assert build_snapshot(campaign)["total"] == "80.00"
    assert remove_or_hold(source.pk, missing) is False
    assert PendingRemoval.objects.count() == 1
    assert "Removals waiting" not in olive.get("/dashboard/spring/").content.decode()


# --- chart -----------------------------------------------------------------------------------


def test_chart_sums_counted_donations_per_minute_and_per_hour(campaign):
    source = make_source(campaign, "imraising", name="Stream")
    now = datetime(2026, 11, 30, 12, 30, 20, tzinfo=UTC)
    ingest_donations(
        source.pk,
        [
            record("10.00", when=now - timedelta(minutes=2, seconds=10)),  # 12:28
            record("5.50", when=now - timedelta(minutes=2, seconds=5)),  # 12:28
            record("7.00", when=now - timedelta(seconds=10)),  # 12:30
            record("99.00", when=now - timedelta(hours=3)),  # 09:30: outside the hour
            record("1.00", currency="EUR", when=now - timedelta(minutes=1)),  # not counted
        ],
    )
    minutes = chart_data(campaign, "minute", now=now)
    assert len(minutes["buckets"]) == 60
    by_start = {b["start"]: b for b in minutes["buckets"]}
    assert by_start["2026-11-30T12:28:00Z"] == {
        "start": "2026-11-30T12:28:00Z",
        "amount": "15.50",
        "count": 2,
    }
    assert by_start["2026-11-30T12:30:00Z"]["amount"] == "7.00"
    assert minutes["buckets"][-1]["start"] == "2026-11-30T12:30:00Z"
    assert sum(b["count"] for b in minutes["buckets"]) == 3

    hours = chart_data(campaign, "hour", now=now)
    assert [b["start"][11:16] for b in hours["buckets"]] == ["09:00", "10:00", "11:00", "12:00"]
    assert [b["amount"] for b in hours["buckets"]] == ["99.00", "0.00", "0.00", "22.50"]


def test_chart_endpoint_is_staff_only_and_the_page_draws_the_svg(campaign):
    donation = manual(campaign, "12.00")
    assert Client().get("/dashboard/spring/chart.json").status_code == 302
    olive = signed_in("olive")
    data = olive.get("/dashboard/spring/chart.json?scale=minute").json()
    # The donation's own minute, not the last bucket: the clock may have turned the minute
    # since it was entered (a loaded machine takes seconds to sign in), and the chart then
    # rightly ends with the new, empty minute.
    entered = donation.donated_at.astimezone(UTC).replace(second=0, microsecond=0)
    minute, next_minute = (
        (entered + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:00Z") for n in (0, 1)
    )
    amounts = {b["start"]: b["amount"] for b in data["buckets"]}
    assert data["scale"] == "minute" and amounts[minute] == "12.00"
    assert sum(Decimal(amount) for amount in amounts.values()) == Decimal("12.00")
    assert data["buckets"][-1]["start"] in (minute, next_minute)  # it ends with this minute
    page = olive.get("/dashboard/spring/").content.decode()
    svg = page.split('<svg id="chart"')[1].split("</svg>")[0]
    assert svg.count('<rect class="chart-bar"') == 60 and "style=" not in svg


# --- lag ---------------------------------------------------------------------------------------


def test_stream_lag_counts_from_the_last_event_or_heartbeat(campaign):
    source = make_source(campaign, "imraising", name="Stream", stream_connected=True)
    long_ago = timezone.now() - timedelta(minutes=11)
    type(source).objects.filter(pk=source.pk).update(last_success_at=long_ago)
    olive = signed_in("olive")
    health = olive.get("/dashboard/spring/health.json").json()["sources"][0]
    assert health["lag_seconds"] > 600
    StreamActivity.objects.create(source=source, last_activity_at=timezone.now())
    health = olive.get("/dashboard/spring/health.json").json()["sources"][0]
    assert health["lag_seconds"] < 5
