"""Marathon incentives: allocation from message tags, the queue, staff actions, schedule.

In-process against the real database through ingest's own entry points (the same calls the
stream runner and pollers make); tests/test_incentives_http.py drives the same rules through
the sandbox and a real server over HTTP.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fundboard.campaigns.loader import load_campaigns
from fundboard.campaigns.models import Campaign
from fundboard.incentives.models import Allocation, AllocationAudit, Review, ReviewState, Run
from fundboard.incentives.schedule import start_run, stop_run
from fundboard.incentives.services import AllocationError, Part, set_allocations
from fundboard.incentives.tags import TagIndex, Target, read_message
from fundboard.ingest.models import Donation
from fundboard.ingest.services import ingest_donations, remove_donations
from fundboard.live.snapshot import build_snapshot

from .factories import make_source, record

pytestmark = pytest.mark.django_db

MARATHON = {
    "campaign": [
        {
            "slug": "gdq",
            "name": "Marathon",
            "goal": "10000",
            "run": [
                {"title": "Zelda any%", "minutes": 90},
                {"title": "Mario 120 star", "minutes": 240},
            ],
            "incentive": [
                {"key": "blindfold", "kind": "goal", "title": "Blindfold boss", "goal": "100",
                 "tags": ["blindfold", "bf"]},
                {"key": "name", "kind": "bidwar", "title": "Name the hero", "winners": 1,
                 "option": [{"title": "Link", "tags": ["link"]},
                            {"title": "Zelda", "tags": ["zelda"]},
                            {"title": "Ganon", "tags": ["ganon"]}]},
                {"key": "songs", "kind": "bidwar", "title": "Songs played", "winners": 2,
                 "option": [{"title": "Aria", "tags": ["aria"]},
                            {"title": "Bolero", "tags": ["bolero"]},
                            {"title": "Minuet", "tags": ["minuet"]}]},
                {"key": "chain", "kind": "stretch", "title": "Extra runs", "tags": ["stretch"],
                 "option": [{"title": "Bonus 1", "goal": "50"},
                            {"title": "Bonus 2", "goal": "120"}]},
                {"key": "mario", "kind": "goal", "title": "Mario blind", "goal": "500",
                 "tags": ["marioblind"], "run": "Mario 120 star"},
            ],
        }
    ]
}  # fmt: skip


@pytest.fixture
def marathon():
    load_campaigns(MARATHON)
    campaign = Campaign.objects.get(slug="gdq")
    return campaign, make_source(campaign, kind="imraising")


def give(source, amount, message, **kwargs) -> Donation:
    return ingest_donations(source.pk, [record(amount, message=message, **kwargs)]).added[0]


def incentive(snapshot, title) -> dict:
    return next(i for i in snapshot["incentives"] if i["title"] == title)


def option_totals(snapshot, title) -> dict:
    return {o["title"]: o["total"] for o in incentive(snapshot, title)["options"]}


def test_an_exact_tag_is_allocated_at_once_and_counted(marathon):
    campaign, source = marathon
    before = Campaign.objects.get(pk=campaign.pk).version
    donation = give(source, "25.00", "Go go #Zelda!")
    snapshot = build_snapshot(campaign)
    assert snapshot["version"] > before
    assert option_totals(snapshot, "Name the hero") == {
        "Zelda": "25.00", "Link": "0.00", "Ganon": "0.00"
    }  # fmt: skip
    assert incentive(snapshot, "Name the hero")["options"][0] == {
        "id": donation.allocations.get().option_id, "title": "Zelda", "total": "25.00", "rank": 1
    }  # fmt: skip
    give(source, "40.00", "#bf please")
    assert incentive(build_snapshot(campaign), "Blindfold boss")["total"] == "40.00"
    assert Allocation.objects.get(donation=donation).confirmed is False  # provisional


@pytest.mark.parametrize(
    "message",
    [
        "#zelda #link",  # two options
        "#zelda and #bf",  # two incentives
        "#zleda",  # a close misspelling
        "half to zelda, half to link",  # names options without tags
        "#zelda but half to Ganon",  # a tag and another option named
        "go ganon",  # an option named without '#'
        "#name",  # neither: the bid war's title as a tag? it is not a tag: nothing
    ],
)
def test_anything_doubtful_goes_to_the_queue_and_is_never_guessed(marathon, message):
    campaign, source = marathon
    donation = give(source, "10.00", message)
    assert not Allocation.objects.filter(donation=donation).exists()
    queued = Review.objects.filter(donation=donation, state=ReviewState.PENDING).exists()
    assert queued is (message != "#name")
    snapshot = build_snapshot(campaign)
    assert all(i["total"] == "0.00" for i in snapshot["incentives"])


def test_plain_messages_and_test_donations_are_left_alone(marathon):
    _, source = marathon
    plain = give(source, "10.00", "Good luck everyone")
    assert not Review.objects.filter(donation=plain).exists()
    ingest_donations(source.pk, [record("5.00", message="#zelda", currency="XTS")])  # a test
    assert not Allocation.objects.exists() and not Review.objects.exists()


def test_staff_split_is_audited_and_never_exceeds_the_amount(marathon, django_user_model):
    campaign, source = marathon
    staff = django_user_model.objects.create(username="mod", is_staff=True)
    donation = give(source, "30.00", "half to zelda, half to link")
    hero = campaign.incentives.get(key="name")
    zelda, link = hero.options.get(title="Zelda"), hero.options.get(title="Link")
    with pytest.raises(AllocationError):
        set_allocations(
            donation.pk,
            [Part(hero.pk, zelda.pk, Decimal("20")), Part(hero.pk, link.pk, Decimal("10.01"))],
            user=staff,
        )
    set_allocations(
        donation.pk,
        [Part(hero.pk, zelda.pk, Decimal("15")), Part(hero.pk, link.pk, Decimal("15"))],
        user=staff,
        action="split",
    )
    assert option_totals(build_snapshot(campaign), "Name the hero")["Link"] == "15.00"
    assert Review.objects.get(donation=donation).state == ReviewState.RESOLVED
    audit = AllocationAudit.objects.filter(donation=donation, action="split").get()
    assert audit.user == staff and len(audit.detail["after"]) == 2
    # Reassign everything to Ganon, then mark it general: the money moves, then leaves.
    ganon = hero.options.get(title="Ganon")
    set_allocations(donation.pk, [Part(hero.pk, ganon.pk, Decimal("30"))], user=staff)
    assert option_totals(build_snapshot(campaign), "Name the hero") == {
        "Ganon": "30.00", "Zelda": "0.00", "Link": "0.00"
    }  # fmt: skip
    set_allocations(donation.pk, [], user=staff, action="general")
    assert incentive(build_snapshot(campaign), "Name the hero")["total"] == "0.00"


def test_a_refund_releases_the_allocation(marathon):
    campaign, source = marathon
    donation = give(source, "12.00", "#link")
    assert incentive(build_snapshot(campaign), "Name the hero")["total"] == "12.00"
    queued = give(source, "8.00", "#lnik")
    remove_donations(source.pk, [donation.upstream_id, queued.upstream_id])
    assert incentive(build_snapshot(campaign), "Name the hero")["total"] == "0.00"
    assert not Allocation.objects.exists()
    assert Review.objects.get(donation=queued).state == ReviewState.RELEASED
    assert AllocationAudit.objects.filter(donation=donation, action="released").exists()


def test_closing_locks_allocations(marathon, django_user_model):
    campaign, source = marathon
    donation = give(source, "10.00", "#aria")
    songs = campaign.incentives.get(key="songs")
    songs.closes_at = datetime.now(UTC) - timedelta(seconds=1)
    songs.save()
    late = give(source, "5.00", "#bolero")  # a tag of a closed incentive: queued
    assert Review.objects.get(donation=late).reason.endswith("closed")
    bolero = songs.options.get(title="Bolero")
    with pytest.raises(AllocationError, match="locked"):
        set_allocations(late.pk, [Part(songs.pk, bolero.pk, Decimal("5"))])
    with pytest.raises(AllocationError, match="locked"):
        set_allocations(donation.pk, [])  # money may not leave a closed incentive either
    assert incentive(build_snapshot(campaign), "Songs played")["total"] == "10.00"


def test_bid_war_winner_and_top_n(marathon):
    campaign, source = marathon
    for amount, tag in [("5", "aria"), ("9", "bolero"), ("7", "minuet"), ("3", "aria")]:
        give(source, amount, f"#{tag}")
    for amount, tag in [("4", "zelda"), ("6", "ganon")]:
        give(source, amount, f"#{tag}")
    snapshot = build_snapshot(campaign)
    songs = incentive(snapshot, "Songs played")
    assert songs["state"] == "open" and songs["winners"] == []  # no winner while open
    assert [(o["title"], o["rank"]) for o in songs["options"]] == [
        ("Bolero", 1), ("Aria", 2), ("Minuet", 3)
    ]  # fmt: skip
    past = datetime.now(UTC) - timedelta(seconds=1)
    campaign.incentives.filter(key__in=["songs", "name"]).update(closes_at=past)
    snapshot = build_snapshot(campaign)
    ids = {o["title"]: o["id"] for o in incentive(snapshot, "Songs played")["options"]}
    assert incentive(snapshot, "Songs played")["winners"] == [ids["Bolero"], ids["Aria"]]
    hero = {o["title"]: o["id"] for o in incentive(snapshot, "Name the hero")["options"]}
    assert incentive(snapshot, "Name the hero")["winners"] == [hero["Ganon"]]


def test_stretch_chain_unlocks_in_order(marathon):
    campaign, source = marathon
    give(source, "40.00", "#stretch")
    chain = incentive(build_snapshot(campaign), "Extra runs")
    assert chain["winners"] == [] and chain["goal"] == "120.00"
    assert [o["total"] for o in chain["options"]] == ["40.00", "0.00"]
    give(source, "20.00", "#stretch")
    chain = incentive(build_snapshot(campaign), "Extra runs")
    assert chain["winners"] == [chain["options"][0]["id"]]
    assert [o["total"] for o in chain["options"]] == ["50.00", "10.00"]
    give(source, "60.00", "#stretch")
    chain = incentive(build_snapshot(campaign), "Extra runs")
    assert chain["winners"] == [o["id"] for o in chain["options"]]


def test_an_incentive_opens_and_closes_with_its_run(marathon):
    campaign, source = marathon
    mario = Run.objects.get(title="Mario 120 star")
    early = give(source, "10.00", "#marioblind")
    assert Review.objects.get(donation=early).reason.endswith("upcoming")
    start_run(mario.pk)
    give(source, "20.00", "#marioblind")
    stop_run(mario.pk)
    give(source, "30.00", "#marioblind")
    snapshot = build_snapshot(campaign)
    assert incentive(snapshot, "Mario blind")["total"] == "20.00"
    assert incentive(snapshot, "Mario blind")["state"] == "closed"


def test_run_totals_match_the_donations_in_its_window_exactly(marathon):
    campaign, source = marathon
    zelda, mario = Run.objects.order_by("order")
    t0 = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    start_run(zelda.pk, now=t0)
    start_run(mario.pk, now=t0 + timedelta(hours=1))  # stops Zelda at the same moment
    stop_run(mario.pk, now=t0 + timedelta(hours=3))
    gifts = [
        (t0 - timedelta(seconds=1), "1.00"),  # before: no run
        (t0, "2.00"),  # Zelda (start inclusive)
        (t0 + timedelta(minutes=59, seconds=59), "4.00"),  # Zelda
        (t0 + timedelta(hours=1), "8.00"),  # Mario (Zelda's end exclusive)
        (t0 + timedelta(hours=3) - timedelta(microseconds=1), "16.00"),  # Mario
        (t0 + timedelta(hours=3), "32.00"),  # after
    ]
    ingest_donations(source.pk, [record(amount, when=when) for when, amount in gifts])
    runs = {r["title"]: r for r in build_snapshot(campaign)["schedule"]["runs"]}
    assert runs["Zelda any%"]["total"] == "6.00"
    assert runs["Mario 120 star"]["total"] == "24.00"
    assert runs["Zelda any%"]["ended_at"] == "2026-12-01T19:00:00Z"


def test_schedule_now_and_next(marathon):
    campaign, _ = marathon
    schedule = build_snapshot(campaign)["schedule"]
    assert schedule["current"] is None and schedule["next"]["title"] == "Zelda any%"
    start_run(Run.objects.get(title="Zelda any%").pk)
    schedule = build_snapshot(campaign)["schedule"]
    assert schedule["current"]["title"] == "Zelda any%"
    assert schedule["next"]["title"] == "Mario 120 star"


def test_loading_twice_is_idempotent_and_keeps_the_run_state(marathon):
    campaign, _ = marathon
    start_run(Run.objects.get(title="Zelda any%").pk)
    load_campaigns(MARATHON)
    assert campaign.incentives.count() == 5 and campaign.runs.count() == 2
    assert Run.objects.get(title="Zelda any%").running


def test_a_campaign_without_incentives_has_empty_parts():
    load_campaigns({"campaign": [{"slug": "plain", "goal": "10"}]})
    snapshot = build_snapshot("plain")
    assert snapshot["incentives"] == []
    assert snapshot["schedule"] == {"current": None, "next": None, "runs": []}


def test_misspellings_are_found_among_many_tags():
    tags = {f"option{n:03d}": Target(1, n) for n in range(500)}
    tags["zelda"] = Target(2, 1)
    index = TagIndex(tags, {})
    assert read_message("#zelda", index).targets == {Target(2, 1)}
    assert read_message("#zelda", index).doubts == []
    assert read_message("#zeldaa", index).doubts == ["#zeldaa looks like #zelda"]
    assert read_message("#zel", index).doubts == []  # too short to call it a misspelling
    assert read_message("zlda forever", index).doubts == []  # bare words: one edit, 5+ letters


def test_the_demo_campaigns_generated_messages_show_the_whole_flow():
    from fundboard.ops.management.commands.demo import demo_config
    from fundboard.sandbox.imraising import MESSAGES

    load_campaigns(demo_config("http://127.0.0.1:9"))
    campaign = Campaign.objects.get(slug="demo")
    source = campaign.sources.get(kind="imraising")
    donations = {m: give(source, "5.00", m) for m in MESSAGES}
    allocated = {m for m, d in donations.items() if d.allocations.exists()}
    queued = {m for m, d in donations.items() if Review.objects.filter(donation=d).exists()}
    assert allocated == {"#zelda all the way!", "Blindfold run please #blindfold", "#link",
                         "#bonus games!"}  # fmt: skip
    assert queued == {"#link #zelda", "half to zelda, half to navi", "#zleda!!", "#blindfodl"}


def test_a_corrected_or_restored_manual_donation_is_read_again(marathon):
    from fundboard.ingest.manual import (
        ManualDonation,
        add_manual_donation,
        edit_manual_donation,
        remove_manual_donation,
        restore_manual_donation,
    )

    campaign, _ = marathon
    make_source(campaign, kind="manual")

    when = datetime.now(UTC)

    def entry(amount: str, message: str, name: str = "Cheque") -> ManualDonation:
        return ManualDonation(name, Decimal(amount), "USD", when, message)

    donation = add_manual_donation(campaign.pk, entry("50.00", "#zelda"))
    assert option_totals(build_snapshot(campaign), "Name the hero")["Zelda"] == "50.00"
    edit_manual_donation(donation.pk, entry("20.00", "#link"))  # typed wrong: corrected
    totals = option_totals(build_snapshot(campaign), "Name the hero")
    assert (totals["Zelda"], totals["Link"]) == ("0.00", "20.00")
    remove_manual_donation(donation.pk)
    assert option_totals(build_snapshot(campaign), "Name the hero")["Link"] == "0.00"
    restore_manual_donation(donation.pk)
    assert option_totals(build_snapshot(campaign), "Name the hero")["Link"] == "20.00"
    # A name corrected later leaves a moderator's allocation alone.
    hero = campaign.incentives.get(key="name")
    ganon = hero.options.get(title="Ganon")
    set_allocations(donation.pk, [Part(hero.pk, ganon.pk, Decimal("20"))])
    edit_manual_donation(donation.pk, entry("20.00", "#link", "Cheque 2"))
    assert option_totals(build_snapshot(campaign), "Name the hero")["Ganon"] == "20.00"
