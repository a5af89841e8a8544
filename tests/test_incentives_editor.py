"""The dashboard's schedule and incentive editor (fundboard/incentives/editor.py): staff only,
Organisers edit and Moderators do not, CSRF enforced, forms validated, every change a new
campaign version, nothing with money on it removed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from fundboard.campaigns.loader import load_campaigns
from fundboard.campaigns.models import Campaign
from fundboard.dashboard.roles import MODERATORS, ORGANISERS
from fundboard.incentives.models import Incentive, Option, Run
from fundboard.incentives.schedule import start_run
from fundboard.ingest.services import ingest_donations
from fundboard.live.snapshot import build_snapshot

from .factories import make_source, record
from .test_incentives import MARATHON

pytestmark = pytest.mark.django_db

BASE = "/dashboard/gdq/incentives"


@pytest.fixture
def campaign() -> Campaign:
    load_campaigns(MARATHON)
    return Campaign.objects.get(slug="gdq")


def signed_in(group: str) -> Client:
    user = User.objects.create_user(group.lower(), password="pw-123456-abc", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def organiser() -> Client:
    return signed_in(ORGANISERS)


def version() -> int:
    return Campaign.objects.get(slug="gdq").version


def test_only_signed_in_organisers_edit(client, campaign):
    run = Run.objects.get(title="Zelda any%")
    assert client.get(f"{BASE}/runs/{run.pk}/edit").status_code == 302  # to the login
    moderator = signed_in(MODERATORS)
    assert moderator.get(f"{BASE}/runs/{run.pk}/edit").status_code == 403
    assert moderator.post(f"{BASE}/new", {"key": "x"}).status_code == 403
    assert "Add an incentive" not in moderator.get(f"{BASE}/").content.decode()
    page = signed_in(ORGANISERS).get(f"{BASE}/").content.decode()
    assert "Add an incentive" in page and "Add a run" in page and 'id="runs-import"' in page


def test_a_post_without_the_csrf_token_is_refused(campaign):
    user = User.objects.create_user("org", password="pw-123456-abc", is_staff=True)
    user.groups.add(Group.objects.get(name=ORGANISERS))
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    run = Run.objects.get(title="Mario 120 star")
    assert strict.post(f"{BASE}/runs/{run.pk}/remove").status_code == 403
    assert Run.objects.filter(pk=run.pk).exists()


def test_runs_are_added_edited_and_removed_with_a_new_version_each(organiser, campaign):
    before = version()
    answer = organiser.post(
        f"{BASE}/runs/new",
        {"title": " Celeste  any% ", "starts_at": "2026-12-01T21:30", "minutes": "40", "order": 5},
    )
    assert answer.status_code == 302
    run = Run.objects.get(title="Celeste any%")
    assert run.starts_at == datetime(2026, 12, 1, 21, 30, tzinfo=UTC)
    assert run.estimate == timedelta(minutes=40) and version() == before + 1
    edit = {"title": "Celeste 100%", "starts_at": "", "minutes": "95", "order": 5}
    assert organiser.post(f"{BASE}/runs/{run.pk}/edit", edit).status_code == 302
    run.refresh_from_db()
    assert (run.title, run.estimate, run.starts_at) == ("Celeste 100%", timedelta(minutes=95), None)
    assert organiser.post(f"{BASE}/runs/{run.pk}/remove").status_code == 302
    assert not Run.objects.filter(pk=run.pk).exists() and version() == before + 3
    titles = [r["title"] for r in build_snapshot(campaign)["schedule"]["runs"]]
    assert "Celeste 100%" not in titles


def test_a_run_form_rejects_bad_input_and_a_started_run_is_kept(organiser, campaign):
    bad = {"title": "zelda ANY%", "minutes": "0", "order": "-1", "starts_at": "tomorrow"}
    answer = organiser.post(f"{BASE}/runs/new", bad)
    assert answer.status_code == 400
    errors = answer.context["form"].errors
    assert set(errors) == {"title", "minutes", "order", "starts_at"}
    assert "Another run has this title." in errors["title"]
    zelda = Run.objects.get(title="Zelda any%")
    start_run(zelda.pk)
    answer = organiser.post(f"{BASE}/runs/{zelda.pk}/remove", follow=True)
    assert "has started: its total is history" in answer.content.decode()
    assert Run.objects.filter(pk=zelda.pk).exists()


def test_a_csv_schedule_is_uploaded_or_refused_with_its_reasons(organiser, campaign):
    good = b"title,estimate,incentives\nZelda any%,2:00,\nTetris,30,blindfold\n"
    upload = SimpleUploadedFile("runs.csv", good, content_type="text/csv")
    answer = organiser.post(f"{BASE}/runs/import", {"file": upload}, follow=True)
    assert "Schedule imported: 1 runs added, 1 updated." in answer.content.decode()
    assert Incentive.objects.get(key="blindfold").run.title == "Tetris"
    assert Run.objects.get(title="Zelda any%").estimate == timedelta(hours=2)
    bad = SimpleUploadedFile("runs.csv", b"title,estimate\nNew,abc\n", content_type="text/csv")
    page = organiser.post(f"{BASE}/runs/import", {"file": bad}, follow=True).content.decode()
    assert "Schedule not imported: line 2: estimate &#x27;abc&#x27; is not minutes" in page
    assert not Run.objects.filter(title="New").exists()


def test_an_incentive_is_added_with_options_edited_and_removed(organiser, campaign):
    before = version()
    form = {
        "key": "char", "title": "Pick a character", "kind": "bidwar", "winners": "1",
        "options_text": "Mario | #mario\nLuigi | #luigi #green\n", "order": "9",
    }  # fmt: skip
    assert organiser.post(f"{BASE}/new", form).status_code == 302
    char = Incentive.objects.get(key="char")
    assert [(o.title, o.tags) for o in char.options.all()] == [
        ("Mario", "#mario"), ("Luigi", "#luigi #green")
    ]  # fmt: skip
    assert version() == before + 1
    snapshot = build_snapshot(campaign)
    assert any(i["title"] == "Pick a character" for i in snapshot["incentives"])
    source = make_source(campaign, kind="imraising")
    ingest_donations(source.pk, [record("10", message="#luigi")])  # the new tag works at once
    form.update(title="Pick one", options_text="Peach | #peach\nLuigi | #luigi\n")
    page = organiser.post(f"{BASE}/{char.pk}/edit", form, follow=True).content.decode()
    assert "Option Luigi" not in page  # kept anyway: it is still listed
    assert [o.title for o in char.options.all()] == ["Peach", "Luigi"]  # Mario had no money
    form.update(options_text="Peach | #peach\nDaisy\n")
    page = organiser.post(f"{BASE}/{char.pk}/edit", form, follow=True).content.decode()
    assert "Option Luigi has money allocated: it was kept." in page
    assert Option.objects.filter(incentive=char, title="Luigi").exists()
    page = organiser.post(f"{BASE}/{char.pk}/remove", follow=True).content.decode()
    assert "Money went to Pick one: close it instead." in page
    goal = Incentive.objects.get(key="blindfold")
    assert organiser.post(f"{BASE}/{goal.pk}/remove").status_code == 302
    assert not Incentive.objects.filter(pk=goal.pk).exists()


INVALID = {
    "goal without a goal": ({"kind": "goal", "goal": ""}, "goal", "needs a goal"),
    "bid war of one": ({"kind": "bidwar", "options_text": "A"}, "options_text", "two options"),
    "stage without goal": (
        {"kind": "stretch", "options_text": "A | | 10\nB"}, "options_text", "needs a goal"
    ),
    "falling stages": (
        {"kind": "stretch", "options_text": "A | | 10\nB | | 5"}, "options_text", "rising"
    ),
    "bad amount": ({"kind": "stretch", "options_text": "A | | ten"}, "options_text", "amount"),
    "same option twice": (
        {"kind": "bidwar", "options_text": "A\na"}, "options_text", "same title"
    ),
    "too many parts": ({"kind": "bidwar", "options_text": "A|b|1|x\nB"}, "options_text", "Line 1"),
    "key taken": ({"key": "name", "kind": "goal", "goal": "5"}, "key", "Another incentive"),
    "closes before opening": (
        {"kind": "goal", "goal": "5", "opens_at": "2026-12-02T10:00",
         "closes_at": "2026-12-01T10:00"}, "closes_at", "close after",
    ),
    "negative goal": ({"kind": "goal", "goal": "-5"}, "goal", "positive"),
}  # fmt: skip


@pytest.mark.parametrize("name", INVALID)
def test_an_invalid_incentive_form_says_why(organiser, campaign, name):
    fields, field, words = INVALID[name]
    form = {"key": "new", "title": "New", "winners": "1", "order": "0", **fields}
    answer = organiser.post(f"{BASE}/new", form)
    assert answer.status_code == 400
    assert words in " ".join(answer.context["form"].errors.get(field, []))
    assert not Incentive.objects.filter(title="New").exists()


def test_an_edit_or_close_now_is_announced_once_not_again_by_the_clock(organiser, campaign):
    from fundboard.incentives.clock import announce_due_changes

    blindfold = Incentive.objects.get(key="blindfold")  # open: no times, no run
    form = {
        "key": "blindfold", "title": "Blindfold boss", "kind": "goal", "goal": "100",
        "winners": "1", "order": "0", "closes_at": "2020-01-01T00:00",
    }  # fmt: skip
    before = version()
    assert organiser.post(f"{BASE}/{blindfold.pk}/edit", form).status_code == 302
    blindfold.refresh_from_db()
    assert blindfold.announced_state == "closed" and version() == before + 1
    hero = Incentive.objects.get(key="name")
    assert organiser.post(f"{BASE}/{hero.pk}/close").status_code == 302
    assert announce_due_changes() == 0 and version() == before + 2
