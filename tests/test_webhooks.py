"""Signed outbound webhooks against a real receiver over HTTP on loopback (issue 15).

Donations go in through ingest (the real write path and its after-commit signals); the
delivery function sends to a threaded http.server that records each request and can
answer 500, hang or redirect. Retries are driven with a controllable clock instead of
sleeping; the worker-restart test kills a real worker process mid-request.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from fundboard.ingest.services import ingest_donations, remove_donations
from fundboard.providers.records import TEST_CURRENCY
from fundboard.webhooks.delivery import deliver_due, deliver_endpoint
from fundboard.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from fundboard.webhooks.outbox import redeliver
from fundboard.webhooks.policy import DeliveryPolicy, backoff_seconds
from fundboard.webhooks.retention import prune_finished
from fundboard.webhooks.signing import SIGNATURE_HEADER, verify

from .factories import make_campaign, make_source, record
from .support import REPO, wait_for
from .webhook_receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "whsec-test-0123456789abcdef"
# Short timeouts so a hanging receiver costs the test half a second, not ten.
FAST = DeliveryPolicy(connect_timeout=0.5, timeout=0.5)


class Clock:
    """A clock the test moves by hand; starts at the real now (rows are written with it)."""

    def __init__(self) -> None:
        self.now = timezone.now()

    def __call__(self):
        return self.now

    def to(self, moment) -> None:
        self.now = max(self.now, moment)


@pytest.fixture(autouse=True)
def _no_celery(settings):
    # Without REDIS_URL no Celery task is queued: these tests call the delivery function.
    settings.REDIS_URL = ""


@pytest.fixture
def hook():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def campaign():
    return make_campaign("drive", goal=Decimal("100"), milestones=["50", "80"])


@pytest.fixture
def source(campaign):
    return make_source(campaign, "manual")


def endpoint_for(campaign, hook, **fields) -> WebhookEndpoint:
    defaults = {"name": "CRM", "url": hook.url, "secret": SECRET}
    return WebhookEndpoint.objects.create(campaign=campaign, **{**defaults, **fields})


def pending(endpoint) -> list[WebhookDelivery]:
    return list(endpoint.deliveries.filter(status=DeliveryStatus.PENDING).order_by("sequence"))


def head(endpoint) -> WebhookDelivery:
    return endpoint.deliveries.order_by("sequence").first()


# --- the body and its signature ------------------------------------------------------------------


def test_a_donation_arrives_signed_with_exact_amounts_and_its_idempotency_id(
    campaign, source, hook
):
    endpoint = endpoint_for(campaign, hook)
    ingest_donations(source.pk, [record("12.50", "Ann", message="Go team")])
    assert deliver_due() == 1

    (request,) = hook.requests
    body = request.json
    delivery = head(endpoint)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert body["id"] == request.headers["Fundboard-Delivery"] == str(delivery.event_id)
    assert body["type"] == "donation" and request.headers["Fundboard-Event"] == "donation"
    assert body["campaign"] == "drive"
    campaign.refresh_from_db()
    assert body["version"] == campaign.version
    data = body["data"]
    assert data["amount"] == "12.50" and isinstance(data["amount"], str)
    assert (data["name"], data["currency"], data["message"]) == ("Ann", "USD", "Go team")
    assert body["created_at"].endswith("Z")

    header = request.headers[SIGNATURE_HEADER]
    assert verify(SECRET, header, request.body)
    assert not verify("another-secret-0123456789", header, request.body)
    assert not verify(SECRET, header, request.body.replace(b"12.50", b"99.50"))
    timestamp = int(header.split(",")[0].removeprefix("t="))
    assert not verify(SECRET, header, request.body, now=timestamp + 301)  # replay window


def test_the_verification_snippet_of_the_docs_accepts_a_real_request(campaign, source, hook):
    docs = (REPO / "docs" / "webhooks.md").read_text()
    snippet = docs.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102 -- our own documentation's code
    check = namespace["verify_fundboard_signature"]
    endpoint_for(campaign, hook)
    ingest_donations(source.pk, [record("3.00")])
    deliver_due()
    (request,) = hook.requests
    header = request.headers[SIGNATURE_HEADER]
    assert check(SECRET, header, request.body)
    assert not check(SECRET + "x", header, request.body)
    assert not check(SECRET, header, request.body + b" ")


def test_hidden_names_and_messages_follow_the_public_contract(campaign, source, hook):
    campaign.hold_for_review = True
    campaign.save()
    endpoint_for(campaign, hook)
    ingest_donations(source.pk, [record("5.00", "Held Person", message="secret words")])
    deliver_due()
    data = hook.requests[0].json["data"]
    assert data["name"] == "Anonymous"
    assert "message" not in data


def test_test_donations_are_not_announced(campaign, source, hook):
    endpoint = endpoint_for(campaign, hook)
    test_record = record("5.00", "Tester", currency=TEST_CURRENCY)
    ingest_donations(source.pk, [test_record])
    assert not endpoint.deliveries.exists()


def test_an_endpoint_deleted_by_another_process_does_not_cost_the_others_their_events(
    campaign, source, hook
):
    gone = endpoint_for(campaign, hook, name="Gone")
    kept = endpoint_for(campaign, hook, name="Kept")
    ingest_donations(source.pk, [record("1.00")])  # this process now knows both endpoints
    with connection.cursor() as cursor:  # another process deletes one: no signal here
        cursor.execute("DELETE FROM webhooks_webhookdelivery WHERE endpoint_id = %s", [gone.pk])
        cursor.execute("DELETE FROM webhooks_webhookendpoint WHERE id = %s", [gone.pk])
    ingest_donations(source.pk, [record("2.00")])
    assert [json.loads(d.body)["data"]["amount"] for d in pending(kept)] == ["1.00", "2.00"]


# --- retries ----------------------------------------------------------------------------------


def test_retries_after_500s_with_exponential_backoff_and_jitter(campaign, source, hook):
    endpoint = endpoint_for(campaign, hook)
    hook.script("500", "500", "500")
    ingest_donations(source.pk, [record("7.00")])
    clock = Clock()  # after the deliveries were written

    ceilings = [10, 20, 40]
    for attempt, ceiling in enumerate(ceilings, start=1):
        assert deliver_endpoint(endpoint.pk, clock=clock) == 1
        delivery = head(endpoint)
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, attempt)
        assert delivery.last_status_code == 500
        assert "receiver says no" in delivery.last_error
        wait = (delivery.next_attempt_at - clock.now).total_seconds()
        assert 1 <= wait <= ceiling, (attempt, wait)
        # Not due yet: nothing is sent before the backoff is over.
        assert deliver_endpoint(endpoint.pk, clock=clock) == 0
        assert len(hook.requests) == attempt
        clock.to(delivery.next_attempt_at)

    assert deliver_endpoint(endpoint.pk, clock=clock) == 1
    delivery = head(endpoint)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 4)
    # Every attempt is the same delivery, signed afresh.
    assert len({r.headers["Fundboard-Delivery"] for r in hook.requests}) == 1
    assert all(verify(SECRET, r.headers[SIGNATURE_HEADER], r.body) for r in hook.requests)


def test_backoff_is_full_jitter_under_a_doubling_ceiling_capped_at_an_hour():
    policy = DeliveryPolicy()
    assert backoff_seconds(1, policy, rng=lambda: 1.0) == 10
    assert backoff_seconds(4, policy, rng=lambda: 1.0) == 80
    assert backoff_seconds(30, policy, rng=lambda: 1.0) == 3600
    assert backoff_seconds(3, policy, rng=lambda: 0.5) == 20
    assert backoff_seconds(3, policy, rng=lambda: 0.0) == 1  # never a busy loop


def test_a_receiver_that_hangs_times_out_and_is_retried(campaign, source, hook):
    endpoint = endpoint_for(campaign, hook)
    hook.script("hang:5")
    ingest_donations(source.pk, [record("7.00")])
    clock = Clock()  # after the deliveries were written

    assert deliver_endpoint(endpoint.pk, clock=clock, policy=FAST) == 1
    delivery = head(endpoint)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error == "timed out" and delivery.last_status_code is None

    clock.to(delivery.next_attempt_at)
    assert deliver_endpoint(endpoint.pk, clock=clock, policy=FAST) == 1
    assert head(endpoint).status == DeliveryStatus.SUCCEEDED
    assert len(hook.requests) == 2


def test_an_address_httpx_refuses_is_a_failed_attempt_not_a_crash(campaign, source):
    endpoint = WebhookEndpoint.objects.create(  # bypasses validation, as a raw SQL edit would
        campaign=campaign, name="Broken", url="http://[::1/hook", secret=SECRET
    )
    ingest_donations(source.pk, [record("7.00")])
    assert deliver_endpoint(endpoint.pk) == 1
    delivery = head(endpoint)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.last_error.startswith("could not send")
    assert delivery.next_attempt_at > timezone.now()


def test_redirects_are_not_followed(campaign, source, hook):
    endpoint = endpoint_for(campaign, hook)
    hook.script("redirect")
    ingest_donations(source.pk, [record("7.00")])
    deliver_endpoint(endpoint.pk)
    delivery = head(endpoint)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_status_code == 302
    assert "redirects are not followed" in delivery.last_error
    assert len(hook.requests) == 1


# --- order, duplicates, restarts -----------------------------------------------------------


def test_order_is_kept_per_endpoint_and_a_failing_endpoint_holds_up_only_itself(
    campaign, source, hook
):
    with Receiver() as healthy:
        slow = endpoint_for(campaign, hook, name="Slow")
        fine = endpoint_for(campaign, healthy, name="Fine")
        hook.script("500")
        ingest_donations(source.pk, [record("1.00", "A"), record("2.00", "B")])
        ingest_donations(source.pk, [record("3.00", "C")])
        clock = Clock()  # after the deliveries were written

        deliver_due(clock=clock)
        # The failing first delivery holds back the two after it; the other endpoint got all.
        assert [r.json["data"]["name"] for r in hook.requests] == ["A"]
        assert [r.json["data"]["name"] for r in healthy.requests] == ["A", "B", "C"]
        assert [d.sequence for d in pending(slow)] == [1, 2, 3]

        clock.to(head(slow).next_attempt_at)
        deliver_due(clock=clock)
        assert [r.json["data"]["name"] for r in hook.requests] == ["A", "A", "B", "C"]
        assert pending(slow) == [] and pending(fine) == []
        # One idempotency id per event, shared by the endpoints it went to.
        assert hook.requests[-1].json["id"] == healthy.requests[-1].json["id"]


def test_a_redelivery_carries_the_same_idempotency_id_and_body(campaign, source, hook):
    endpoint = endpoint_for(campaign, hook)
    ingest_donations(source.pk, [record("9.00")])
    deliver_due()
    original = head(endpoint)
    copy = redeliver(original)
    assert copy.sequence == original.sequence + 1
    deliver_due()
    first, second = hook.requests
    assert first.body == second.body
    assert first.headers["Fundboard-Delivery"] == second.headers["Fundboard-Delivery"]
    assert first.json["id"] == second.json["id"] == str(original.event_id)


WORKER = """
import sys
import django
django.setup()
from fundboard.webhooks.delivery import deliver_endpoint
print("delivering", flush=True)
deliver_endpoint(int(sys.argv[1]))
"""


def _worker_env() -> dict:
    """The environment of a worker process that uses this test's database."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "fundboard.settings", "REDIS_URL": ""}
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        env.update(DATABASE_URL="", FUNDBOARD_SQLITE_PATH=str(database["NAME"]))
    else:
        user = database["USER"] or "postgres"
        password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
        host, port = database["HOST"] or "127.0.0.1", database["PORT"] or 5432
        env["DATABASE_URL"] = f"postgresql://{user}{password}@{host}:{port}/{database['NAME']}"
    return env


def test_a_delivery_claimed_by_a_worker_that_died_is_sent_after_its_lease(campaign, source, hook):
    endpoint = endpoint_for(campaign, hook)
    hook.script("hang:60")
    ingest_donations(source.pk, [record("4.00")])
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(endpoint.pk)],
        cwd=REPO,
        env=_worker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: hook.requests, timeout=30)  # the worker is mid-request...
    finally:
        worker.send_signal(signal.SIGKILL)  # ...and dies there
        worker.wait(timeout=10)

    delivery = head(endpoint)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    # Its lease still holds the endpoint: no second worker sends meanwhile.
    assert deliver_due() == 0
    endpoint.refresh_from_db()
    clock = Clock()
    clock.to(endpoint.lease_until + timedelta(seconds=1))
    assert deliver_due(clock=clock) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 2)
    first, second = hook.requests
    assert first.headers["Fundboard-Delivery"] == second.headers["Fundboard-Delivery"]


def test_finished_deliveries_are_pruned_after_thirty_days_pending_ones_never(
    campaign, source, hook
):
    endpoint = endpoint_for(campaign, hook)
    ingest_donations(source.pk, [record("1.00"), record("2.00"), record("3.00")])
    old, recent, waiting = endpoint.deliveries.order_by("sequence")
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=old.pk).update(
        status=DeliveryStatus.SUCCEEDED, finished_at=now - timedelta(days=31)
    )
    WebhookDelivery.objects.filter(pk=recent.pk).update(
        status=DeliveryStatus.FAILED, finished_at=now - timedelta(days=29)
    )
    WebhookDelivery.objects.filter(pk=waiting.pk).update(created_at=now - timedelta(days=40))
    assert prune_finished() == 1
    assert [d.pk for d in endpoint.deliveries.order_by("sequence")] == [recent.pk, waiting.pk]


# --- a day of failures --------------------------------------------------------------------------


def test_an_endpoint_failing_for_a_day_is_given_up_and_disabled(campaign, source, hook, caplog):
    endpoint = endpoint_for(campaign, hook)
    hook.script(*["500"] * 200)
    ingest_donations(source.pk, [record("1.00"), record("2.00")])
    clock = Clock()  # after the deliveries were written
    started = clock.now
    caplog.set_level(logging.WARNING, logger="fundboard.webhooks")

    rounds = 0
    while WebhookEndpoint.objects.get(pk=endpoint.pk).enabled:
        rounds += 1
        assert rounds < 100, "still enabled after 100 rounds"
        assert deliver_endpoint(endpoint.pk, clock=clock) == 1
        first = head(endpoint)
        if first.status == DeliveryStatus.PENDING:
            clock.to(first.next_attempt_at)

    endpoint.refresh_from_db()
    first = head(endpoint)
    assert first.status == DeliveryStatus.FAILED
    failed_for = clock.now - started
    assert timedelta(hours=22) < failed_for <= timedelta(hours=24), failed_for
    assert first.attempts == rounds > 10  # backoff, not a retry a minute
    assert "failed since" in endpoint.disabled_reason and "HTTP 500" in endpoint.disabled_reason
    assert "webhook endpoint disabled" in caplog.text
    # Signed with the wall clock, not the schedule's: a day "later" still verifies now.
    last = hook.requests[-1]
    assert verify(SECRET, last.headers[SIGNATURE_HEADER], last.body)
    # The second delivery is kept, pending, for when staff enable the endpoint again.
    assert [d.attempts for d in pending(endpoint)] == [0]
    assert deliver_due(clock=clock) == 0


# --- Discord and donor text ----------------------------------------------------------------------

HOSTILE_NAME = "<script>alert(1)</script> @everyone"
HOSTILE_MESSAGE = "hi @here **bold** <@123456> [x](https://evil.example)"


def test_the_discord_format_neutralises_mentions_and_markup(campaign, source, hook):
    endpoint_for(campaign, hook, format="discord")
    ingest_donations(source.pk, [record("25.00", HOSTILE_NAME, message=HOSTILE_MESSAGE)])
    deliver_due()
    (request,) = hook.requests
    assert b"<script>" not in request.body and b"@everyone" not in request.body
    body = request.json
    assert set(body) == {"content", "embeds", "allowed_mentions"}
    assert body["allowed_mentions"] == {"parse": []}
    content, embed = body["content"], body["embeds"][0]
    assert "25.00 USD" in content
    assert "@everyone" not in content and "@\u200beveryone" in content
    description = embed["description"]
    assert "@here" not in description and "<@123456>" not in description
    assert "\\*\\*bold\\*\\*" in description and "\\[x\\]" in description
    assert verify(SECRET, request.headers[SIGNATURE_HEADER], request.body)


def test_json_keeps_a_hostile_name_as_plain_text_without_raw_markup_on_the_wire(
    campaign, source, hook
):
    endpoint_for(campaign, hook)
    ingest_donations(source.pk, [record("25.00", HOSTILE_NAME, message=HOSTILE_MESSAGE)])
    deliver_due()
    (request,) = hook.requests
    assert b"<" not in request.body and b">" not in request.body
    data = request.json["data"]
    assert (data["name"], data["message"]) == (HOSTILE_NAME, HOSTILE_MESSAGE)


# --- milestones ---------------------------------------------------------------------------------


def events_of(endpoint) -> list[tuple[str, str]]:
    rows = endpoint.deliveries.order_by("sequence")
    return [
        (d.event, json.loads(d.body)["data"].get("milestone", ""))
        for d in rows
        if d.event != "donation"
    ]


def test_milestones_and_the_goal_are_announced_once_each(campaign, source, hook):
    endpoint = endpoint_for(campaign, hook, events=["milestone_reached", "goal_reached"])
    first = record("60.00")
    ingest_donations(source.pk, [first])
    assert events_of(endpoint) == [("milestone_reached", "50.00")]
    body = json.loads(head(endpoint).body)
    assert body["data"] == {
        "milestone": "50.00", "total": "60.00", "goal": "100.00", "currency": "USD",
    }  # fmt: skip

    # A refund drops below 50 and the next gift crosses it again: nothing new.
    remove_donations(source.pk, [first.upstream_id])
    ingest_donations(source.pk, [record("60.00")])
    assert events_of(endpoint) == [("milestone_reached", "50.00")]

    ingest_donations(source.pk, [record("45.00")])  # 105: past 80 and the goal at once
    assert events_of(endpoint) == [
        ("milestone_reached", "50.00"),
        ("milestone_reached", "80.00"),
        ("goal_reached", ""),
    ]
    deliver_due()
    assert [r.json["type"] for r in hook.requests] == [
        "milestone_reached", "milestone_reached", "goal_reached",
    ]  # fmt: skip


def test_an_endpoint_added_half_way_hears_only_of_milestones_still_ahead(campaign, source, hook):
    ingest_donations(source.pk, [record("60.00")])
    endpoint = endpoint_for(campaign, hook, events=["milestone_reached"])
    ingest_donations(source.pk, [record("1.00")])
    assert events_of(endpoint) == []
    ingest_donations(source.pk, [record("20.00")])
    assert events_of(endpoint) == [("milestone_reached", "80.00")]


# --- secrets ----------------------------------------------------------------------------------


def test_the_secret_is_never_logged_nor_in_any_body(campaign, source, hook, caplog):
    caplog.set_level(logging.DEBUG)
    endpoint = endpoint_for(campaign, hook)
    hook.script("500", "hang:5")
    ingest_donations(source.pk, [record("3.00", "Ann")])
    clock = Clock()  # after the deliveries were written
    for _ in range(3):
        deliver_endpoint(endpoint.pk, clock=clock, policy=FAST)
        clock.to(head(endpoint).next_attempt_at)
    assert head(endpoint).status == DeliveryStatus.SUCCEEDED
    assert "webhook failed" in caplog.text and "webhook delivered" in caplog.text
    assert SECRET not in caplog.text
    assert hook.url not in caplog.text  # only the origin: a URL may carry a token
    assert len(hook.requests) == 3
    for request in hook.requests:
        assert SECRET not in request.body.decode()
        assert SECRET not in json.dumps(request.headers)
