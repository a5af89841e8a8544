"""The incentives and schedule widgets and the staff pages (queue, schedule control)."""

import json
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from fundboard.campaigns.loader import load_campaigns
from fundboard.campaigns.models import Campaign
from fundboard.dashboard.roles import MODERATORS
from fundboard.incentives.models import Allocation, AllocationAudit, Review, Run
from fundboard.ingest.services import ingest_donations

from .factories import make_source, record
from .test_incentives import MARATHON

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    load_campaigns(MARATHON)
    return Campaign.objects.get(slug="gdq")


@pytest.fixture
def moderator(client):
    user = User.objects.create_user("mod", password="pw-mod-123456", is_staff=True)
    user.groups.add(Group.objects.get(name=MODERATORS))
    client.force_login(user)
    return user


def _config(html: str) -> dict:
    match = re.search(r'<script id="fb-config" type="application/json">(.*?)</script>', html)
    assert match, "#fb-config missing"
    return json.loads(match.group(1))


def test_the_incentives_widget_is_number_free_cacheable_and_takes_theme_options(client, campaign):
    source = make_source(campaign, kind="imraising")
    ingest_donations(source.pk, [record("25.00", message="#zelda"), record("40", message="#bf")])
    response = client.get("/c/gdq/incentives?overlay=1&text=%23ffffff")
    assert response.status_code == 200
    html = response.content.decode()
    assert "fb-overlay" in html and "--fb-text:#ffffff" in html
    assert '<html lang="en" class="fb-overlay" data-pending>' in html  # the skeleton
    assert "fundboard/incentives.js" in html and "fb-snapshot" not in html
    # No numbers and no titles: incentives.js draws them from the JSON snapshot.
    assert "25.00" not in html and "Name the hero" not in html
    assert _config(html)["slug"] == "gdq" and _config(html)["currency"] == "USD"
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["Cache-Control"].startswith("public, max-age=60")
    # The same page after more donations (until the campaign's settings change).
    ingest_donations(source.pk, [record("5.00", message="#link")])
    assert client.get("/c/gdq/incentives?overlay=1&text=%23ffffff").content.decode() == html


def test_the_schedule_widget_draws_now_and_next_from_the_snapshot(client, campaign):
    from fundboard.incentives.schedule import start_run

    start_run(Run.objects.get(title="Zelda any%").pk)
    html = client.get("/c/gdq/schedule").content.decode()
    assert '<bdi id="schedule-now"></bdi>' in html and "Zelda any%" not in html
    schedule = client.get("/api/v1/campaigns/gdq").json()["schedule"]
    assert (schedule["current"]["title"], schedule["next"]["title"]) == (
        "Zelda any%",
        "Mario 120 star",
    )


@pytest.mark.parametrize(
    ("widget", "spanish"),
    [
        ("incentives", 'aria-label="Incentivos"'),
        ("schedule", '<span class="fb-label">Ahora</span>'),
    ],
)
def test_lang_es_gives_the_marathon_widgets_in_spanish(client, campaign, widget, spanish):
    response = client.get(f"/c/gdq/{widget}?lang=es")
    html = response.content.decode()
    assert '<html lang="es"' in html and response["Content-Language"] == "es"
    assert spanish in html
    assert _config(html)["words"] == {
        "incentives": "Incentivos",
        "schedule": "Programa",
        "closed": "cerrado",
        "no_incentives": "No hay incentivos abiertos.",
        "now": "Ahora",
        "next": "A continuación",
    }
    english = _config(client.get(f"/c/gdq/{widget}").content.decode())["words"]
    assert english["next"] == "Next" and english["closed"] == "closed"


def test_the_alert_words_carry_the_incentive_line_translated(client, campaign):
    words = _config(client.get("/c/gdq/alerts?lang=de").content.decode())["words"]
    assert words["alert_incentive"] == "für {incentive}"


def test_every_marathon_word_is_translated_in_every_language():
    from django.utils import translation

    from fundboard.incentives.widget_pages import incentive_words

    with translation.override("en"):
        english = incentive_words()
    for lang in ("es", "fr", "de", "pt-br"):
        with translation.override(lang):
            words = incentive_words()
        assert not {key for key in english if words[key] == english[key]}, lang


def test_staff_pages_need_a_login(client, campaign):
    response = client.get("/dashboard/gdq/incentives/queue")
    assert response.status_code == 302


def test_a_moderator_clears_the_queue_and_it_is_audited(client, campaign, moderator):
    source = make_source(campaign, kind="imraising")
    donation = ingest_donations(source.pk, [record("30.00", message="#zleda")]).added[0]
    page = client.get("/dashboard/gdq/incentives/queue").content.decode()
    assert "#zleda looks like #zelda" in page
    assert 'data-key="g"' in page and "incentives/queue.js" in page
    assert "<script>" not in page and " style=" not in page  # the staff CSP: no inline code
    hero = campaign.incentives.get(key="name")
    zelda = hero.options.get(title="Zelda")
    url = f"/dashboard/gdq/incentives/donations/{donation.pk}"
    client.post(url, {"target": f"{hero.pk}:{zelda.pk}"})
    assert Allocation.objects.get(donation=donation).amount == Decimal("30.00")
    assert Review.objects.get(donation=donation).state == "resolved"
    link = hero.options.get(title="Link")
    client.post(
        url,
        {
            "action": "split",
            "target_1": f"{hero.pk}:{zelda.pk}",
            "amount_1": "10",
            "target_2": f"{hero.pk}:{link.pk}",
            "amount_2": "25",  # 35 > 30: refused, nothing changes
        },
    )
    assert list(donation.allocations.values_list("amount", flat=True)) == [Decimal("30.00")]
    actions = list(AllocationAudit.objects.filter(donation=donation).values_list("action", "user"))
    assert actions == [("reassign", moderator.pk)]  # the refused split left no trace


def test_moderators_start_and_stop_runs_and_see_run_totals(client, campaign, moderator):
    run = Run.objects.get(title="Zelda any%")
    client.post(f"/dashboard/gdq/incentives/runs/{run.pk}", {"action": "start"})
    assert Run.objects.get(pk=run.pk).running
    source = make_source(campaign, kind="imraising")
    ingest_donations(source.pk, [record("7.00")])
    page = client.get("/dashboard/gdq/incentives/").content.decode()
    assert "Unallocated: 7.00 USD" in page and ">7.00</td>" in page
    client.post(f"/dashboard/gdq/incentives/runs/{run.pk}", {"action": "stop"})
    assert not Run.objects.get(pk=run.pk).running


def test_a_write_in_becomes_an_option_staff_can_allocate_to(client, campaign, moderator):
    hero = campaign.incentives.get(key="name")
    url = f"/dashboard/gdq/incentives/{hero.pk}/write-in"
    client.post(url, {"title": "Epona"})
    assert not hero.options.filter(title="Epona").exists()  # this bid war takes no write-ins
    hero.write_ins = True
    hero.save()
    assert (
        "Write-in for Name the hero"
        in client.get("/dashboard/gdq/incentives/queue").content.decode()
    )
    client.post(url, {"title": "Epona"})
    epona = hero.options.get(title="Epona")
    assert epona.write_in
    source = make_source(campaign, kind="imraising")
    donation = ingest_donations(source.pk, [record("9.00", message="#epona please")]).added[0]
    assert Review.objects.filter(donation=donation).exists()  # it has a title, no tag: queued
    client.post(
        f"/dashboard/gdq/incentives/donations/{donation.pk}", {"target": f"{hero.pk}:{epona.pk}"}
    )
    snapshot = client.get("/api/v1/campaigns/gdq").json()
    hero_now = next(i for i in snapshot["incentives"] if i["title"] == "Name the hero")
    assert {o["title"]: o["total"] for o in hero_now["options"]}["Epona"] == "9.00"
