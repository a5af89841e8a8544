"""Widget pages are cached by the campaign's page version, not by its version.

Issue 17 follow-up: the page cache was keyed by the campaign version, which moves on every
donation, so at marathon rates every process re-rendered every page on each donation for
HTML that had not changed. The page version (fundboard/live/page_version.py) is a hash of
the settings the pages print: donations leave it (and the page, and its ETag) alone, a new
title or allowed origin moves it at once.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.http import HttpResponse
from django.test import Client

from fundboard.campaigns.loader import load_campaigns
from fundboard.campaigns.models import Campaign
from fundboard.incentives.models import Incentive, Run
from fundboard.ingest.moderation import announce_campaign_edit
from fundboard.ingest.services import ingest_donations
from fundboard.live.page_version import PAGE_FIELDS, page_version, page_version_in
from fundboard.live.snapshot import build_snapshot, snapshot_message
from fundboard.live.snapshot_cache import SnapshotCache, snapshot_cache
from fundboard.widgets.page_cache import page_cache, page_etag
from fundboard.widgets.views import PAGES

from .factories import make_campaign, make_source, record
from .test_incentives import MARATHON
from .test_read_path import _asgi_get

PAGE = "/c/spring/thermometer?bg=%23102030"
JSON = "/api/v1/campaigns/spring"

# Django's handler reads the database in its own threads: committed data, not a test transaction.
asgi_db = pytest.mark.django_db(transaction=True)


@pytest.fixture
def campaign():
    return make_campaign("spring", name="Spring Drive", goal=Decimal("1000"))


def _edit(campaign: Campaign, **fields) -> None:
    """A settings change as the admin makes it: the row saved, then announced (a new
    version; after the commit this process's snapshot cache drops the campaign)."""
    Campaign.objects.filter(pk=campaign.pk).update(**fields)
    announce_campaign_edit(campaign.pk)


# --- in one process, through fundboard.asgi.application (fast lane and Django) -------------


@asgi_db
def test_donations_do_not_re_render_a_widget_page(campaign):
    source = make_source(campaign)
    status, first_headers, first = _asgi_get(PAGE)
    assert status == 200 and page_cache.renders == 1
    versions = [_asgi_get(JSON)[1]["ETag"]]
    for amount in ("5.00", "7.50", "12.00"):
        ingest_donations(source.pk, [record(amount)])  # committed: the snapshot moves on
        versions.append(_asgi_get(JSON)[1]["ETag"])
        status, headers, body = _asgi_get(PAGE)
        assert (status, body) == (200, first)
        assert headers["ETag"] == first_headers["ETag"]
    assert len(set(versions)) == 4  # every donation was a new campaign version...
    assert page_cache.renders == 1  # ...and the page was rendered once, then reused
    assert page_cache.hits == 3


@asgi_db
def test_an_unchanged_page_answers_304_after_donations(campaign):
    source = make_source(campaign)
    tag = _asgi_get(PAGE)[1]["ETag"]
    ingest_donations(source.pk, [record("20.00")])
    for _ in range(2):  # Django's view (the snapshot was dropped), then the fast lane
        status, headers, body = _asgi_get(PAGE, {"If-None-Match": tag})
        assert (status, body, headers["ETag"]) == (304, b"", tag)
        assert headers["Cache-Control"].startswith("public, max-age=60")
    assert page_cache.renders == 1


@asgi_db
def test_a_new_title_is_in_the_very_next_response(campaign):
    make_source(campaign)
    _, headers, body = _asgi_get(PAGE)
    assert b"Spring Drive" in body
    _edit(campaign, name="Autumn Drive")
    status, new_headers, new_body = _asgi_get(PAGE, {"If-None-Match": headers["ETag"]})
    assert status == 200 and b"Autumn Drive" in new_body and b"Spring Drive" not in new_body
    assert new_headers["ETag"] != headers["ETag"]
    assert page_cache.renders == 2
    assert _asgi_get(PAGE)[2] == new_body and page_cache.renders == 2  # kept again


@asgi_db
def test_new_allowed_origins_are_in_the_very_next_csp(campaign):
    assert "frame-ancestors *" in _asgi_get(PAGE)[1]["Content-Security-Policy"]
    _edit(campaign, allowed_origins="https://charity.example")
    csp = _asgi_get(PAGE)[1]["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://charity.example" in csp


@asgi_db
def test_the_goal_is_drawn_by_the_script_so_it_does_not_re_render(campaign):
    """The thermometer's HTML has no goal (live.js draws it from the snapshot): a new goal
    reaches the page through the JSON at once, and the page stays the one rendered."""
    body = _asgi_get(PAGE)[2]
    _edit(campaign, goal=Decimal("5000"))
    assert _asgi_get(JSON)[2].count(b'"goal":"5000.00"') == 1
    assert _asgi_get(PAGE)[2] == body and page_cache.renders == 1


@asgi_db
def test_theme_and_language_are_in_the_url_so_each_is_its_own_page(campaign):
    light = _asgi_get("/c/spring/thermometer?bg=%23ffffff&lang=de")
    dark = _asgi_get("/c/spring/thermometer?bg=%23000000&font=mono&lang=de")
    assert b"--fb-bg:#000000" in dark[2] and b"--fb-bg:#000000" not in light[2]
    assert page_cache.renders == 2 and light[1]["Content-Language"] == "de"
    assert _asgi_get("/c/spring/thermometer?bg=%23ffffff&lang=de") == light


@asgi_db
def test_the_incentives_page_is_reused_after_donations():
    load_campaigns(MARATHON)
    source = make_source(Campaign.objects.get(slug="gdq"), kind="imraising")
    body = _asgi_get("/c/gdq/incentives")[2]
    ingest_donations(source.pk, [record("25.00", message="#zelda")])
    assert _asgi_get("/c/gdq/incentives")[2] == body
    assert page_cache.renders == 1 and page_cache.hits == 1


# --- the page version follows exactly what the pages print ----------------------------------

# Bookkeeping, not settings: the version and times move with every change.
NOT_SETTINGS = {"id", "version", "created_at", "updated_at"}
CHANGED = {  # a valid other value for fields whose type alone does not give one
    "slug": lambda value: "renamed",
    "currency": lambda value: "EUR",
    "allowed_origins": lambda value: "https://charity.example",
    "blocked_words": lambda value: "spam",
}
BY_TYPE = {
    "CharField": lambda value: f"{value} changed",
    "TextField": lambda value: f"{value} changed",
    "DecimalField": lambda value: value + 7,
    "BooleanField": lambda value: not value,
    "DateTimeField": lambda value: datetime(2030, 1, 2, 3, 4, tzinfo=UTC),
    "JSONField": lambda value: ["123"],
    "IntegerField": lambda value: value + 1,
    "PositiveIntegerField": lambda value: value + 1,
    "FloatField": lambda value: value + 1.5,
}
EVERY_PAGE = [*PAGES, "incentives", "schedule"]


def _changed_value(field, value):
    change = CHANGED.get(field.name) or BY_TYPE.get(field.get_internal_type())
    assert change, f"a new Campaign field {field.name}: say how to change it here"
    return change(value)


def _every_page(slug: str) -> dict[str, tuple]:
    """Each page as Django renders it now (caches emptied): body and CSP."""
    snapshot_cache.clear()
    page_cache.clear()
    client, pages = Client(), {}
    for widget in EVERY_PAGE:
        response = client.get(f"/c/{slug}/{widget}?overlay=1")
        assert response.status_code == 200, widget
        pages[widget] = (response.content, response["Content-Security-Policy"])
    return pages


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field",
    [f for f in Campaign._meta.concrete_fields if f.name not in NOT_SETTINGS],
    ids=lambda f: f.name,
)
def test_a_setting_moves_the_page_version_exactly_when_it_changes_a_page(field):
    """Fails when a template starts printing a campaign field PAGE_FIELDS does not list
    (its pages would be served stale), or when a listed one no longer shows."""
    load_campaigns(MARATHON)  # incentives and runs too: their pages must not print them
    campaign = Campaign.objects.get(slug="gdq")
    before, version_before = _every_page("gdq"), page_version(campaign)
    setattr(campaign, field.name, _changed_value(field, getattr(campaign, field.name)))
    campaign.save()
    after = _every_page(campaign.slug)
    changed_pages = [widget for widget in EVERY_PAGE if after[widget] != before[widget]]
    printed = field.name in PAGE_FIELDS
    assert bool(changed_pages) == printed, (field.name, changed_pages)
    assert (page_version(campaign) != version_before) == printed


@pytest.mark.django_db
def test_incentives_and_runs_are_not_in_the_pages():
    """The incentives and schedule pages are drawn by incentives.js: editing what they show
    changes the snapshot, not the HTML (so it need not move the page version)."""
    load_campaigns(MARATHON)
    before = _every_page("gdq")
    for model in (Incentive, Run):
        for row in model.objects.filter(campaign__slug="gdq"):
            model.objects.filter(pk=row.pk).update(title=f"Renamed {row.title}")
    assert _every_page("gdq") == before


# --- carried in the snapshot, found in the broadcast text --------------------------------


@pytest.mark.django_db
def test_a_broadcast_snapshot_carries_the_page_version_to_every_process(campaign):
    """The hub stores what it hears (snapshot_cache.store): the page version comes with it,
    read from the text without parsing it, and what a donor typed cannot fake it."""
    source = make_source(campaign)
    fake = '"page_version":"0000000000000000"'
    ingest_donations(source.pk, [record("3.00", name=fake, message=fake)])
    snapshot = build_snapshot(campaign)
    assert snapshot["page_version"] == page_version(campaign)
    cache = SnapshotCache()
    cache.follow(campaign.pk)
    cache.get("spring", lambda slug: campaign.pk)
    Campaign.objects.filter(pk=campaign.pk).update(name="Autumn Drive")
    campaign.refresh_from_db()
    newer = {**build_snapshot(campaign), "version": campaign.version + 1}
    text = snapshot_message(newer)
    assert r"\"page_version\":\"0000000000000000" in text  # the donor's, escaped
    cache.store(campaign.pk, text, newer["version"])
    entry = cache.fresh("spring")
    assert entry is not None and entry.page_version == page_version(campaign)
    assert entry.page_version != snapshot["page_version"]


def test_a_snapshot_without_a_page_version_falls_back_to_its_version():
    """From a process that predates page versions (a rolling deploy): its pages are then
    cached per campaign version, as before, never served for the wrong settings."""
    text = snapshot_message({"slug": "spring", "name": "x", "version": 41})
    assert page_version_in(text, 41) == "v41"


def test_the_etag_changes_with_the_html_even_at_one_page_version():
    """A deploy changes static URLs without changing the settings: no 304 for old HTML."""
    old, new = HttpResponse(b"<link href=a.1.css>"), HttpResponse(b"<link href=a.2.css>")
    assert page_etag("abc", old) != page_etag("abc", new)
    assert page_etag("abc", old) == page_etag("abc", HttpResponse(old.content))
    assert page_etag("abc", old).startswith('"abc-')
