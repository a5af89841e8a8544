"""The staff side of webhooks: the dashboard page, redeliver and test, the admin's write-only
secret, URL rules, and both runners (embedded loop, Celery task) with the same function."""

from __future__ import annotations

import asyncio
import re
import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.test import Client

from fundboard.ingest.services import ingest_donations
from fundboard.webhooks.addresses import validate_webhook_url
from fundboard.webhooks.delivery import deliver_due
from fundboard.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

from .factories import make_campaign, make_source, record
from .support import wait_for
from .webhook_receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "whsec-staff-test-0123456789"
TOKEN_PATH = "/api/webhooks/123/tok-PATH-TOKEN-abcdef"
PASSWORD = "Staff-pw-4711"


@pytest.fixture(autouse=True)
def _no_celery(settings):
    settings.REDIS_URL = ""
    # force_login's request has no client address, which django-axes cannot store on
    # PostgreSQL; login throttling has its own tests (tests/test_login_throttle.py).
    settings.AXES_ENABLED = False


@pytest.fixture
def hook():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def campaign():
    return make_campaign("spring", goal=Decimal("1000"))


@pytest.fixture
def endpoint(campaign, hook):
    return WebhookEndpoint.objects.create(
        campaign=campaign, name="<b>CRM</b>", url=hook.url + TOKEN_PATH, secret=SECRET
    )


def signed_in(username: str, *groups: str, staff: bool = True) -> Client:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=staff)
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_post(client: Client, page: str, url: str, data: dict | None = None):
    """POST as the page's form does: with the CSRF token the page was served with."""
    client.get(page)
    token = client.cookies["csrftoken"].value
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": token})


PAGE = "/dashboard/spring/webhooks/"


def test_anonymous_and_moderators_are_kept_out(endpoint):
    delivery_url = "/dashboard/spring/webhooks/deliveries/1/redeliver"
    test_url = f"/dashboard/spring/webhooks/{endpoint.pk}/test"
    anonymous = Client()
    for response in (anonymous.get(PAGE), anonymous.post(delivery_url), anonymous.post(test_url)):
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/?next=")
    moderator = signed_in("moe", "Moderators")
    assert moderator.get(PAGE).status_code == 403
    assert csrf_post(moderator, "/dashboard/spring/", test_url).status_code == 403
    assert not WebhookDelivery.objects.exists()


def test_organisers_see_endpoints_and_deliveries_escaped_without_secret_or_token(
    campaign, endpoint, hook
):
    hook.script("500")
    ingest_donations(make_source(campaign).pk, [record("5.00", "Ann")])
    deliver_due()
    response = signed_in("olive", "Organisers").get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "&lt;b&gt;CRM&lt;/b&gt;" in html and "<b>CRM</b>" not in html
    assert SECRET not in html and "tok-PATH-TOKEN" not in html
    assert f"http://127.0.0.1:{hook.server.server_port}/…" in html
    assert "HTTP 500" in html and "Pending" in html
    # The strict CSP of staff pages: no inline script or style.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "style=" not in html and "<style" not in html


def test_send_test_event_and_redeliver_need_the_csrf_token(campaign, endpoint, hook):
    olive = signed_in("olive", "Organisers")
    test_url = f"/dashboard/spring/webhooks/{endpoint.pk}/test"
    assert olive.post(test_url).status_code == 403  # no token
    response = csrf_post(olive, PAGE, test_url)
    assert response.status_code == 302 and response["Location"] == PAGE
    deliver_due()
    (request,) = hook.requests
    assert request.json["type"] == "test" and request.path.endswith("tok-PATH-TOKEN-abcdef")

    delivery = endpoint.deliveries.get()
    redeliver_url = f"/dashboard/spring/webhooks/deliveries/{delivery.pk}/redeliver"
    assert olive.post(redeliver_url).status_code == 403
    assert csrf_post(olive, PAGE, redeliver_url).status_code == 302
    deliver_due()
    first, second = hook.requests
    assert first.json["id"] == second.json["id"] == str(delivery.event_id)


def test_a_disabled_endpoint_shows_why(campaign, endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False, disabled_reason="every delivery failed since yesterday"
    )
    html = signed_in("olive", "Organisers").get(PAGE).content.decode()
    assert "every delivery failed since yesterday" in html


# --- the admin --------------------------------------------------------------------------------


def test_the_admin_never_shows_the_secret_and_keeps_it_unless_a_new_one_is_typed(
    campaign, endpoint
):
    olive = signed_in("olive", "Organisers")
    change = f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/"
    html = olive.get(change).content.decode()
    assert "set (hidden)" in html and SECRET not in html
    form = {
        "campaign": campaign.pk,
        "name": "CRM",
        "url": endpoint.url,
        "events": ["donation", "goal_reached"],
        "format": "json",
        "enabled": "on",
        "new_secret": "",
    }
    assert csrf_post(olive, change, change, form).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret == SECRET and endpoint.events == ["donation", "goal_reached"]

    new_secret = "a-brand-new-secret-4242424242"
    assert csrf_post(olive, change, change, {**form, "new_secret": new_secret}).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret == new_secret
    assert new_secret not in olive.get(change).content.decode()


def test_the_admin_refuses_other_schemes_and_credentials(campaign):
    olive = signed_in("olive", "Organisers")
    add = "/admin/webhooks/webhookendpoint/add/"
    form = {
        "campaign": campaign.pk,
        "name": "Bad",
        "events": ["donation"],
        "format": "json",
        "new_secret": "long-enough-secret-123456",
    }
    for url in ("ftp://example.org/x", "https://user:pw@example.org/x", "javascript:alert(1)"):
        response = csrf_post(olive, add, add, {**form, "url": url})
        assert response.status_code == 200, url  # the form again, with the error
    assert not WebhookEndpoint.objects.exists()


def test_webhook_urls_are_http_or_https_bounded_and_optionally_allow_listed(settings):
    validate_webhook_url("https://discord.com/api/webhooks/1/abc?wait=true")
    validate_webhook_url("http://crm:8080/hooks")
    for bad in (
        "file:///etc/passwd",
        "gopher://x",
        "https://a:b@example.org/",
        "https://example.org/#x",
        "https://example.org/ x",
        "https://example.org/" + "a" * 2000,
    ):
        with pytest.raises(ValidationError):
            validate_webhook_url(bad)
    settings.FUNDBOARD = {**settings.FUNDBOARD, "WEBHOOK_HOSTS": ["*.discord.com", "crm:8080"]}
    validate_webhook_url("https://ptb.discord.com/api/webhooks/1/abc")
    validate_webhook_url("http://crm:8080/hooks")
    with pytest.raises(ValidationError):
        validate_webhook_url("http://crm:9090/hooks")
    with pytest.raises(ValidationError):
        validate_webhook_url("http://169.254.169.254/latest/meta-data")


# --- both runners, the same delivery function -------------------------------------------


def test_the_embedded_runner_delivers_what_ingest_announces(campaign, endpoint, hook):
    from fundboard.webhooks.runner import run_webhook_deliveries

    source = make_source(campaign)

    async def main():
        stop = asyncio.Event()
        runner = asyncio.create_task(run_webhook_deliveries(stop))
        await asyncio.to_thread(ingest_donations, source.pk, [record("8.00", "Bea")])
        await asyncio.to_thread(wait_for, lambda: hook.requests)
        stop.set()
        await asyncio.wait_for(runner, timeout=10)

    # In a thread of its own, as `serve` runs it (not in the test's thread).
    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    thread.join(timeout=30)
    assert [r.json["data"]["name"] for r in hook.requests] == ["Bea"]
    wait_for(lambda: endpoint.deliveries.get().status == DeliveryStatus.SUCCEEDED)


def test_the_celery_sweep_queues_the_same_delivery_function(campaign, endpoint, hook):
    from fundboard.celery import app
    from fundboard.webhooks.tasks import dispatch_due_webhooks

    ingest_donations(make_source(campaign).pk, [record("8.00", "Cal")])
    app.conf.task_always_eager = True  # the worker's work, in this process
    try:
        assert dispatch_due_webhooks() == 1
    finally:
        app.conf.task_always_eager = False
    assert [r.json["data"]["name"] for r in hook.requests] == ["Cal"]
    assert endpoint.deliveries.get().status == DeliveryStatus.SUCCEEDED


# --- campaigns.toml -----------------------------------------------------------------------------

WEBHOOK_TOML = """
[[campaign]]
slug = "spring"
name = "Spring Drive"
  [[campaign.webhook]]
  name = "Discord"
  url = "https://discord.com/api/webhooks/1/abc"
  events = ["donation", "goal_reached"]
  format = "discord"
  secret = "env:SPRING_WEBHOOK_SECRET"
"""


def test_loadcampaigns_creates_and_updates_webhooks_with_the_secret_from_the_environment(
    monkeypatch,
):
    import tomllib

    from fundboard.campaigns.loader import ConfigError, load_campaigns

    config = tomllib.loads(WEBHOOK_TOML)
    with pytest.raises(ConfigError, match="SPRING_WEBHOOK_SECRET"):
        load_campaigns(config)
    monkeypatch.setenv("SPRING_WEBHOOK_SECRET", SECRET)
    report = load_campaigns(config)
    assert "webhook spring/Discord" in report.created
    endpoint = WebhookEndpoint.objects.get(name="Discord")
    assert (endpoint.secret, endpoint.format) == (SECRET, "discord")
    assert endpoint.events == ["donation", "goal_reached"]

    assert "webhook spring/Discord" in load_campaigns(config).updated
    assert WebhookEndpoint.objects.count() == 1

    config["campaign"][0]["webhook"][0]["url"] = "ftp://example.org/"
    with pytest.raises(ConfigError, match="url"):
        load_campaigns(config)


SERVED_TOML = """
[[campaign]]
slug = "served"
name = "Served"
goal = "100"
milestones = ["10"]
  [[campaign.source]]
  kind = "manual"
  name = "Cheques"
  [[campaign.webhook]]
  name = "Receiver"
  url = "{url}"
  secret = "{secret}"
"""

ADD_DONATION = """
from decimal import Decimal
from django.utils import timezone
from fundboard.campaigns.models import Source
from fundboard.ingest.services import ingest_donations
from fundboard.providers.records import DonationRecord
source = Source.objects.get(name="Cheques")
ingest_donations(source.pk, [DonationRecord("c-1", "Eve", Decimal("12.00"), "USD",
                                            timezone.now())])
"""


def test_serve_delivers_from_its_embedded_loop(fundboard_server, hook):
    from fundboard.webhooks.signing import SIGNATURE_HEADER, verify

    server = fundboard_server(SERVED_TOML.format(url=hook.url, secret=SECRET))
    server.shell(ADD_DONATION)  # another process writes the deliveries, as a poller would
    wait_for(lambda: len(hook.requests) >= 2, timeout=20)
    donation, milestone = hook.requests
    assert donation.json["data"]["name"] == "Eve" and donation.json["data"]["amount"] == "12.00"
    assert milestone.json["type"] == "milestone_reached"
    assert milestone.json["data"]["milestone"] == "10.00"
    assert all(verify(SECRET, r.headers[SIGNATURE_HEADER], r.body) for r in hook.requests)
    assert SECRET not in server.log()
