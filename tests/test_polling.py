"""poll_source and the embedded scheduler: what changes, what stays quiet, how failures wait."""

import random
import time
import uuid
from datetime import timedelta

import pytest
from channels.layers import get_channel_layer
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fundboard.campaigns.models import Campaign, Source, SourceStatus
from fundboard.ingest import signals
from fundboard.live.broadcast import broadcaster
from fundboard.live.snapshot import build_snapshot
from fundboard.providers.errors import AuthError, RateLimited, UpstreamUnavailable
from fundboard.runners.backoff import REJECTED_KEY_MIN_SECONDS, plan_retry, poll_cadence
from fundboard.runners.polling import ScheduleEntry, is_due, poll_source
from fundboard.sandbox import actionnetwork, p2p

from .factories import make_campaign, make_source
from .support import FundboardServer, http, wait_for

WRITES = ("INSERT", "UPDATE", "DELETE")


def _an_source(server, **fields) -> Source:
    return make_source(
        fields.pop("campaign", None) or make_campaign(),
        kind="actionnetwork",
        base_url=server.url,
        api_key=fields.pop("api_key", actionnetwork.API_KEY),
        provider_ids={"all_pages": True},
        **fields,
    )


def _p2p_source(server, **fields) -> Source:
    return make_source(
        fields.pop("campaign", None) or make_campaign(),
        kind="p2p",
        base_url=server.url,
        api_key=p2p.API_KEY,
        provider_ids={"event_id": p2p.DEMO_EVENT_ID},
        **fields,
    )


class LayerMessages:
    """Counts what reaches the channel layer (wrapping the real layer's group_send)."""

    def __init__(self, monkeypatch):
        self.sent: list[tuple[str, dict]] = []
        layer = get_channel_layer()
        real = layer.group_send

        async def counting(group, message):
            self.sent.append((group, message))
            await real(group, message)

        monkeypatch.setattr(layer, "group_send", counting)


@pytest.fixture
def announced():
    """Every change ingest announces (the signals live turns into broadcasts)."""
    seen = []

    def receiver(sender, **kwargs):
        seen.append(sender)

    for signal in (signals.campaign_changed, signals.donations_added):
        signal.connect(receiver, dispatch_uid=f"test-polling-{id(signal)}")
    yield seen
    for signal in (signals.campaign_changed, signals.donations_added):
        signal.disconnect(dispatch_uid=f"test-polling-{id(signal)}")


def _quiet_poll(source_id: int, monkeypatch, announced) -> tuple[list[str], LayerMessages]:
    broadcaster.flush()
    messages = LayerMessages(monkeypatch)
    announced.clear()
    with CaptureQueriesContext(connection) as queries:
        outcome = poll_source(source_id)
    broadcaster.flush()
    time.sleep(0.3)  # longer than the coalescing window: a late snapshot would show
    assert outcome.result == "unchanged"
    return [q["sql"] for q in queries.captured_queries], messages


@pytest.mark.django_db(transaction=True)
def test_unchanged_action_network_poll_writes_nothing_and_broadcasts_nothing(
    sandbox_server, monkeypatch, announced
):
    source = _an_source(sandbox_server)
    assert poll_source(source.pk).result == "changed"
    assert build_snapshot("drive")["total"] == "4705.50"
    version = source.campaign.__class__.objects.get(pk=source.campaign_id).version
    sql, messages = _quiet_poll(source.pk, monkeypatch, announced)
    assert not [s for s in sql if s.lstrip().upper().startswith(WRITES)], sql
    assert len(sql) <= 3, sql  # the source row, the health check: reads only
    assert messages.sent == [] and announced == []
    assert source.campaign.__class__.objects.get(pk=source.campaign_id).version == version
    requests = http.get(f"{sandbox_server.url}/_sandbox/actionnetwork/state").json()["requests"]
    assert len(requests) == 2  # one collection page per poll


@pytest.mark.django_db(transaction=True)
def test_unchanged_p2p_poll_writes_nothing_and_broadcasts_nothing(
    sandbox_server, monkeypatch, announced
):
    source = _p2p_source(sandbox_server)
    assert poll_source(source.pk).result == "changed"
    poll_source(source.pk)  # the gift cursor moved on: one round to settle its ETag
    sql, messages = _quiet_poll(source.pk, monkeypatch, announced)
    assert not [s for s in sql if s.lstrip().upper().startswith(WRITES)], sql
    assert messages.sent == [] and announced == []


@pytest.mark.django_db(transaction=True)
def test_a_change_upstream_is_written_and_broadcast(sandbox_server, monkeypatch, announced):
    source = _p2p_source(sandbox_server)
    poll_source(source.pk)
    broadcaster.flush()
    messages = LayerMessages(monkeypatch)
    http.post(
        f"{sandbox_server.url}/_sandbox/p2p/gifts",
        json={"fundraiser_id": "f-004", "amount": "40", "donor_name": "Noor"},
    )
    assert poll_source(source.pk).result == "changed"
    wait_for(lambda: any(m["kind"] == "snapshot" for _, m in messages.sent), timeout=5)
    assert any(m["kind"] == "donation" for _, m in messages.sent)
    snapshot = build_snapshot("drive")
    assert snapshot["total"] == "2405.00"  # the event's reported total, gifts not added again
    assert snapshot["recent"][0]["name"] == "Noor"


@pytest.mark.django_db(transaction=True)
def test_429_retry_after_7_delays_the_next_poll_at_least_7_seconds(sandbox_server):
    source = _an_source(sandbox_server, poll_interval=1)
    http.post(
        f"{sandbox_server.url}/_sandbox/actionnetwork/faults",
        json={"fail_next": 1, "status": 429, "retry_after": 7},
    )
    before = timezone.now()
    outcome = poll_source(source.pk)
    assert outcome.result == "failed" and outcome.delay >= 7 and outcome.not_before == 7
    source.refresh_from_db()
    assert source.status == SourceStatus.RATE_LIMITED
    assert source.next_poll_at >= before + timedelta(seconds=7)
    # Neither the schedule nor a staff "poll now" request may go earlier than Retry-After.
    entry, now = ScheduleEntry(last_started=time.time()), time.time()
    entry.finished(outcome, now)
    asked = timezone.now()
    assert not is_due(entry, now + 6.9, asked, floor=0.2)
    assert is_due(entry, now + 7.01, asked, floor=0.2)


@pytest.mark.django_db(transaction=True)
def test_a_failing_source_keeps_its_last_good_numbers_marked_stale(sandbox_server):
    source = _p2p_source(sandbox_server)
    poll_source(source.pk)
    good = build_snapshot("drive")["total"]
    http.post(
        f"{sandbox_server.url}/_sandbox/p2p/faults",
        json={"status_false_next": 10, "error": "Maintenance"},
    )
    outcome = poll_source(source.pk)
    assert outcome.result == "failed" and "Maintenance" in outcome.error
    snapshot = build_snapshot("drive")
    assert snapshot["total"] == good != "0.00"
    assert snapshot["sources"][0]["status"] == "stale"
    source.refresh_from_db()
    assert source.consecutive_failures == 1 and "Maintenance" in source.last_error
    assert source.next_poll_at is not None


@pytest.mark.django_db(transaction=True)
def test_wrong_key_backs_off_long_and_the_key_never_reaches_health(sandbox_server):
    source = _an_source(sandbox_server, api_key="wrong-key-1234")
    outcome = poll_source(source.pk)
    assert outcome.result == "failed" and outcome.delay >= REJECTED_KEY_MIN_SECONDS
    source.refresh_from_db()
    assert source.status == SourceStatus.AUTH_ERROR
    assert "401" in source.last_error and "wrong-key-1234" not in source.last_error


def test_backoff_is_full_jitter_between_the_floor_and_an_exponential_cap():
    rng = random.Random(3)
    error = UpstreamUnavailable("down")
    cadence = poll_cadence(interval=10, floor=2)
    delays = [plan_retry(error, 4, cadence, rng).delay for _ in range(500)]
    assert 2 <= min(delays) < 20 and 130 < max(delays) <= 160  # cap 2 * 10 * 2**3
    assert plan_retry(AuthError("no"), 1, cadence, rng).delay >= REJECTED_KEY_MIN_SECONDS
    limited = plan_retry(RateLimited("slow", retry_after=7), 1, poll_cadence(1, 0.2), rng)
    assert limited.delay >= 7 and limited.not_before == 7


def test_a_staff_request_skips_the_wait_but_not_the_floor():
    now = time.time()
    entry = ScheduleEntry(last_started=now, next_at=now + 60)
    asked = timezone.now() + timedelta(seconds=1)  # after the last poll started
    assert not is_due(entry, now + 1, None, floor=5)
    assert not is_due(entry, now + 4, asked, floor=5)
    assert is_due(entry, now + 5, asked, floor=5)
    old_request = timezone.now() - timedelta(seconds=30)  # before the last poll: served
    assert not is_due(entry, now + 5, old_request, floor=5)


# --- the embedded scheduler inside a real server ---------------------------------------------
# One server for the module: each test loads a campaign of its own (its own slug, fed by its
# own sandbox) into it while it runs, as staff adding a campaign would; the scheduler finds
# new sources on its next scan. What each test counts (requests its sandbox saw, its source's
# health) belongs to its campaign alone, so the tests stay independent and order-free.

FAST = {"FUNDBOARD_POLL_FLOOR_SECONDS": "0.2"}


@pytest.fixture(scope="module")
def server(tmp_path_factory, django_db_blocker):
    server = FundboardServer(
        tmp_path_factory.mktemp("polling"), extra_env=FAST, db_blocker=django_db_blocker
    )
    yield server.start()
    server.close()


@pytest.fixture
def add_campaign(server):
    """Load a campaign into the running server; removed after the test (its sandbox is
    gone then, and a source failing in the background is noise in the shared log)."""
    slugs: list[str] = []

    def add(toml: str, slug: str) -> None:
        path = server.tmp / f"campaign-{uuid.uuid4().hex[:6]}.toml"
        path.write_text(toml)
        server.orm(lambda: call_command("loadcampaigns", str(path)))
        slugs.append(slug)

    yield add
    server.orm(lambda: Campaign.objects.filter(slug__in=slugs).delete())


def _campaign_toml(
    sandbox_url: str, slug: str, *, key: str = actionnetwork.API_KEY, interval=0.5
) -> str:
    return f"""
[[campaign]]
slug = "{slug}"
name = "Pages"
goal = "10000"
  [[campaign.source]]
  kind = "actionnetwork"
  name = "AN pages"
  base_url = "{sandbox_url}"
  api_key = "{key}"
  ids = {{ all_pages = true }}
  poll_interval = {interval}
"""


def _an_requests(sandbox_server) -> list[dict]:
    url = f"{sandbox_server.url}/_sandbox/actionnetwork/state"
    return [r for r in http.get(url).json()["requests"] if r["path"].startswith("/api/")]


def test_a_page_total_rising_upstream_reaches_a_websocket_client(
    sandbox_server, server, add_campaign
):
    add_campaign(_campaign_toml(sandbox_server.url, "rising"), "rising")
    wait_for(lambda: server.total("rising") == "4705.50", timeout=15)
    page_id = actionnetwork.ActionNetworkState().ordered()[0].id
    with server.live_client("rising") as client:
        client.wait_for(lambda m: m["type"] == "snapshot")
        http.post(
            f"{sandbox_server.url}/_sandbox/actionnetwork/pages",
            json={"id": page_id, "total_amount": "1850.00", "total_donations": 38},
        )
        message = client.wait_for_total("4715.50", timeout=10)
    board = message["data"]["fundraisers"]
    assert board[0]["raised"] == "2250.00" and {"1850.00", "615.50"} <= {r["raised"] for r in board}


def test_wrong_key_shows_on_health_and_stops_hammering(sandbox_server, server, add_campaign):
    add_campaign(_campaign_toml(sandbox_server.url, "badkey", key="bad-key-9876"), "badkey")
    first = wait_for(lambda: _an_requests(sandbox_server), timeout=15)[0]
    # At 0.5 s a poll a hammering poller would have sent ~5 more in 2.5 s; even one treating
    # the 401 as a transient failure would have retried (its first cap is 2 x 0.5 s).
    time.sleep(max(0.0, first["at"] + 2.5 - time.time()))
    assert len(_an_requests(sandbox_server)) == 1

    def health() -> tuple:
        s = Source.objects.get(campaign__slug="badkey")
        return s.status, s.consecutive_failures, s.next_poll_at is not None, s.last_error

    status, failures, scheduled, error = server.orm(health)
    assert (status, failures, scheduled) == ("auth_error", 1, True)
    assert "401" in error and "bad-key-9876" not in error
    assert server.snapshot("badkey")["sources"][0]["status"] == "auth_error"
    assert "bad-key-9876" not in server.log()


def test_429_retry_after_holds_the_embedded_scheduler_back(sandbox_server, server, add_campaign):
    # 3 s: three times the first retry cap of a 0.5 s source (2 x interval), so only the
    # Retry-After header can explain a gap this long.
    http.post(
        f"{sandbox_server.url}/_sandbox/actionnetwork/faults",
        json={"fail_next": 1, "status": 429, "retry_after": 3},
    )
    add_campaign(_campaign_toml(sandbox_server.url, "limited"), "limited")
    wait_for(lambda: len(_an_requests(sandbox_server)) >= 2, timeout=15, interval=0.2)
    first, second = _an_requests(sandbox_server)[:2]
    assert second["at"] - first["at"] >= 3


def test_a_staff_poll_request_is_served_at_once(sandbox_server, server, add_campaign):
    add_campaign(_campaign_toml(sandbox_server.url, "asked", interval=600), "asked")
    wait_for(lambda: server.total("asked") == "4705.50", timeout=15)
    assert len(_an_requests(sandbox_server)) == 1
    http.post(
        f"{sandbox_server.url}/_sandbox/actionnetwork/pages",
        json={"summary": "Late page", "total_amount": "94.50"},
    )
    # The dashboard's "poll now" is this column; the scheduler reads it from the database.
    server.orm(
        lambda: Source.objects.filter(campaign__slug="asked").update(
            poll_requested_at=timezone.now()
        )
    )
    wait_for(lambda: server.total("asked") == "4800.00", timeout=10)
    time.sleep(1.5)  # more than one scheduler scan (1 s): a request served on every scan shows
    assert len(_an_requests(sandbox_server)) == 2  # served once, not on every scan
