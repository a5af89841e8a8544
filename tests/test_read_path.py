"""The JSON snapshot's read path: from memory, with the version as ETag, cacheable.

Issue 17: every snapshot request used to rebuild the snapshot from the database, with
`Cache-Control: no-cache` and no ETag. Now a cached campaign costs no query, a client that
has the current version gets a bodyless 304, and caches in front may keep it for a second.
"""

import asyncio
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import transaction
from django.test import Client

from fundboard.asgi import application
from fundboard.campaigns.loader import load_campaigns
from fundboard.campaigns.models import Campaign
from fundboard.ingest.services import commit_change, ingest_donations
from fundboard.live.consumers import campaign_id_for_slug
from fundboard.live.snapshot import build_snapshot, snapshot_message
from fundboard.live.snapshot_cache import SnapshotCache, snapshot_cache
from fundboard.live.views import CACHE_CONTROL
from fundboard.widgets import fast_lane

from .factories import make_campaign, make_source, record

pytestmark = pytest.mark.django_db

URL = "/api/v1/campaigns/spring"


@pytest.fixture
def client():
    return Client()


@pytest.fixture
def campaign():
    return make_campaign("spring", name="Spring Drive", goal=Decimal("1000"))


def _version(campaign: Campaign) -> int:
    campaign.refresh_from_db(fields=["version"])
    return campaign.version


def _committed(capture, source_id, records):
    """Ingest and run the after-commit signals, as a real commit does (the test's own
    transaction never commits): they tell this process's cache the snapshot changed."""
    with capture(execute=True):
        ingest_donations(source_id, records)


def test_the_etag_is_the_version_and_changes_exactly_when_it_does(
    client, campaign, django_capture_on_commit_callbacks
):
    source = make_source(campaign)
    first = client.get(URL)
    assert first["ETag"] == f'"v{_version(campaign)}"'
    assert client.get(URL)["ETag"] == first["ETag"]  # nothing changed: same tag

    _committed(django_capture_on_commit_callbacks, source.pk, [record("12.50", "Ann", uid="ann-1")])
    second = client.get(URL)
    assert second["ETag"] == f'"v{_version(campaign)}"' != first["ETag"]
    body = second.json()
    # The tag and the numbers come from the same moment.
    assert f'"v{body["version"]}"' == second["ETag"] and body["total"] == "12.50"

    # The same donation again changes nothing: no new version, the same tag.
    _committed(django_capture_on_commit_callbacks, source.pk, [record("12.50", "Ann", uid="ann-1")])
    assert _version(campaign) == body["version"]
    assert client.get(URL)["ETag"] == second["ETag"]


def test_an_unchanged_version_answers_304_without_a_body(
    client, campaign, django_capture_on_commit_callbacks
):
    source = make_source(campaign)
    tag = client.get(URL)["ETag"]
    for header in (tag, f"W/{tag}", f'"v999999", {tag}', "*"):
        response = client.get(URL, headers={"If-None-Match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response["ETag"] == tag and response["Cache-Control"] == CACHE_CONTROL
    _committed(django_capture_on_commit_callbacks, source.pk, [record("5.00")])
    changed = client.get(URL, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.json()["total"] == "5.00"


def test_a_cached_snapshot_costs_no_database_query(client, campaign, django_assert_num_queries):
    ingest_donations(make_source(campaign).pk, [record("7.00")])
    client.get(URL)  # the first request reads the database
    with django_assert_num_queries(0):
        response = client.get(URL)
    assert response.json()["total"] == "7.00"
    with django_assert_num_queries(0):
        assert client.get(URL, headers={"If-None-Match": response["ETag"]}).status_code == 304


def test_the_json_says_how_caches_may_keep_it(client, campaign):
    response = client.get(URL)
    assert response["Cache-Control"] == "public, max-age=1, stale-while-revalidate=60"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Access-Control-Expose-Headers"] == "ETag"
    assert response["Content-Type"] == "application/json"
    # The body is the snapshot as built from the database, nothing more or less.
    assert response.json() == build_snapshot(campaign)
    assert client.get("/api/v1/campaigns/nope").status_code == 404


def test_a_campaign_the_hub_follows_is_kept_current_by_its_broadcasts(
    campaign, django_assert_num_queries
):
    cache = SnapshotCache(ttl=0.0)  # anything not followed is read again every time
    cache.follow(campaign.pk)
    assert cache.get("spring", campaign_id_for_slug).version == _version(campaign)
    # A broadcast (what the hub receives) replaces it; no database read after that.
    newer = {**build_snapshot(campaign), "total": "99.00", "version": campaign.version + 1}
    cache.store(campaign.pk, snapshot_message(newer), newer["version"])
    with django_assert_num_queries(0):
        entry = cache.get("spring", campaign_id_for_slug)
    assert entry.version == newer["version"] and b'"total":"99.00"' in entry.body
    # An older snapshot arriving late never replaces a newer one.
    cache.store(campaign.pk, snapshot_message(build_snapshot(campaign)), campaign.version)
    assert cache.get("spring", campaign_id_for_slug).version == newer["version"]


def test_a_campaign_nobody_follows_is_read_again_after_its_ttl(
    campaign, django_assert_max_num_queries
):
    cache = SnapshotCache(ttl=0.0)
    cache.get("spring", campaign_id_for_slug)
    ingest_donations(make_source(campaign).pk, [record("3.00")])  # committed elsewhere
    assert b'"total":"3.00"' in cache.get("spring", campaign_id_for_slug).body
    # The hub leaving makes a followed entry expire like the others.
    cache.follow(campaign.pk)
    cache.get("spring", campaign_id_for_slug)
    cache.unfollow(campaign.pk)
    ingest_donations(make_source(campaign).pk, [record("4.00")])
    assert b'"total":"7.00"' in cache.get("spring", campaign_id_for_slug).body


def test_a_change_committed_in_this_process_is_served_at_once(
    client, campaign, django_capture_on_commit_callbacks
):
    source = make_source(campaign)
    assert client.get(URL).json()["total"] == "0.00"
    _committed(
        django_capture_on_commit_callbacks, source.pk, [record("8.00")]
    )  # within the TTL of the cached entry
    assert client.get(URL).json()["total"] == "8.00"


def test_the_cache_holds_a_bounded_number_of_campaigns(campaign):
    for slug in ("a", "b"):
        make_campaign(slug)
    cache = SnapshotCache(max_campaigns=2)
    for slug in ("spring", "a", "b"):
        cache.get(slug, campaign_id_for_slug)
    assert list(cache._by_slug) == ["a", "b"]  # the least recently used went out
    assert cache.get("nope", campaign_id_for_slug) is None


# --- widget pages ---------------------------------------------------------------------------


def test_a_widget_page_is_served_from_memory_until_its_page_version_moves(
    client, campaign, django_assert_num_queries, django_capture_on_commit_callbacks
):
    page = "/c/spring/thermometer?theme=dark&lang=de"
    first = client.get(page)
    with django_assert_num_queries(0):
        again = client.get(page)
    assert again.content == first.content
    for header in ("Content-Security-Policy", "Cache-Control", "Content-Language"):
        assert again[header] == first[header], header
    assert "X-Frame-Options" not in again  # still framable: the CSP says by whom

    # A new name moves the page version (donations do not: tests/test_page_version.py).
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(name="Autumn Drive")
        campaign.refresh_from_db()
        commit_change(campaign)
    assert b"Autumn Drive" in client.get(page).content


def test_reloading_the_campaigns_file_is_a_new_version(client, campaign):
    """Settings from TOML change the page and the JSON: the cached ones must not survive."""
    page, before = "/c/spring/thermometer", client.get(URL)["ETag"]
    client.get(page)
    load_campaigns({"campaign": [{"slug": "spring", "name": "Autumn Drive", "goal": "2000"}]})
    snapshot_cache.forget(campaign.pk)  # (the TTL's work, for a campaign nobody follows)
    assert client.get(URL)["ETag"] != before
    assert b"Autumn Drive" in client.get(page).content


# --- the fast lane (widgets/fast_lane.py), in front of Django's ASGI handler ---------------------


def _asgi_get(path: str, headers: dict[str, str] | None = None, method: str = "GET"):
    """One request through fundboard.asgi.application, as daphne or uvicorn would make it."""
    path, _, query = path.partition("?")
    headers = {"host": "testserver", **{k.lower(): v for k, v in (headers or {}).items()}}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict] = []

    async def run():
        received = []

        async def receive():
            if received:  # the body was read: the client stays connected
                await asyncio.Event().wait()
            received.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await application(scope, receive, send)

    async_to_sync(run)()
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


@pytest.fixture
def normal_chain_calls(monkeypatch):
    """The paths of the requests Django's middleware chain saw (SessionMiddleware's hook)."""
    calls = []
    original = SessionMiddleware.process_request
    monkeypatch.setattr(
        SessionMiddleware,
        "process_request",
        lambda self, request: calls.append(request.path) or original(self, request),
    )
    return calls


# Django's handler reads the database in its own threads: committed data, not a test transaction.
asgi_db = pytest.mark.django_db(transaction=True)


@asgi_db
@pytest.mark.parametrize(
    "path",
    [URL, "/c/spring/thermometer?theme=dark", "/c/spring/match", "/c/spring/schedule"],
)
def test_a_cached_answer_skips_django_with_the_same_headers(campaign, normal_chain_calls, path):
    first = _asgi_get(path)  # nothing cached yet: Django, its middleware and the view
    assert normal_chain_calls == [path.partition("?")[0]]
    again = _asgi_get(path)  # from memory, in the fast lane
    assert normal_chain_calls == [path.partition("?")[0]]
    assert again == first and again[0] == 200
    headers = again[1]
    # The security headers of the chain it skipped are there all the same.
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Content-Length"] == str(len(again[2]))


@asgi_db
def test_the_json_may_not_be_framed_and_a_widget_page_may(campaign, normal_chain_calls):
    for _ in range(2):  # Django, then the fast lane
        assert _asgi_get(URL)[1]["X-Frame-Options"] == "DENY"
        _, headers, _ = _asgi_get("/c/spring/ticker")
        assert "X-Frame-Options" not in headers
        assert "frame-ancestors" in headers["Content-Security-Policy"]
    assert len(normal_chain_calls) == 2


@asgi_db
def test_a_304_from_the_fast_lane(campaign, normal_chain_calls):
    tag = _asgi_get(URL)[1]["ETag"]
    status, headers, body = _asgi_get(URL, {"If-None-Match": tag})
    assert (status, body, headers["ETag"]) == (304, b"", tag)
    assert normal_chain_calls == [URL]


@asgi_db
def test_the_fast_lane_leaves_anything_unusual_to_django(campaign, normal_chain_calls):
    _asgi_get(URL)  # cached
    assert _asgi_get(URL, {"Host": "evil.example"})[0] == 400  # not in ALLOWED_HOSTS
    assert _asgi_get(URL, method="POST")[0] == 403  # Django's answer: CSRF comes first
    assert _asgi_get(URL, method="HEAD")[0] == 405  # as the view says (require_GET)
    assert _asgi_get("/api/v1/campaigns/nope")[0] == 404
    assert len(normal_chain_calls) == 5


@asgi_db
def test_a_failure_in_the_fast_lane_is_answered_by_django(
    campaign, normal_chain_calls, monkeypatch
):
    _asgi_get(URL)
    monkeypatch.setattr(fast_lane, "snapshot_response", lambda *args: 1 / 0)
    assert _asgi_get(URL)[0] == 200
    assert normal_chain_calls == [URL, URL]
