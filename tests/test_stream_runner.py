"""The ImRaising stream runner in one process: the sandbox's ImRaising app -> runner -> database.

The runner reads the real sandbox app (same routes, SSE framing and faults as over
loopback) through a streaming ASGI transport (tests/inprocess_upstream.py), and what it
stores is read back from the database; what ingest announces after each commit is recorded
from its signals (the runner writes from worker threads, so the announcements are caught
where they are sent, not with `django_capture_on_commit_callbacks`, which sees one thread).
The path on to real servers and websockets is covered by tests/test_stream_end_to_end.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from fundboard.campaigns.models import Source
from fundboard.ingest import signals
from fundboard.ingest.models import Donation
from fundboard.live.broadcast import broadcaster
from fundboard.live.snapshot import build_snapshot
from fundboard.runners.orm import db
from fundboard.runners.stream import StreamRunner
from fundboard.runners.supervisor import run_stream_sources
from fundboard.sandbox.imraising import ADVANCED_KEY, LIMITED_KEY

from .factories import make_campaign, make_source
from .inprocess_upstream import BASE_URL, Upstream, stop, until

pytestmark = pytest.mark.django_db(transaction=True)

FAST_OPTIONS = {
    "read_timeout": 1,
    "connect_timeout": 1,
    "backoff_initial": 0.1,
    "backoff_max": 0.3,
    "healthy_after": 1,
    "backfill_delay": 0.3,
    "backfill_overlap": 60,
    "reconcile_interval": 3600,
}


@pytest.fixture(autouse=True)
def broadcasts_finished(transactional_db) -> Iterator[None]:
    """After each test, wait for the broadcaster's snapshot reads (a window after the last
    commit, in a worker thread) before the database is emptied. On PostgreSQL a read still
    in its transaction deadlocks with the teardown's TRUNCATE; the flush was the victim, and
    the next tests on that worker met the last one's rows ("live" already exists)."""
    yield
    broadcaster.flush()


def make_stream_source(key: str = ADVANCED_KEY, **options) -> Source:
    campaign = make_campaign("live", name="Live Marathon")
    return make_source(
        campaign,
        kind="imraising",
        name="Stream",
        base_url=BASE_URL,
        api_key=key,
        options={**FAST_OPTIONS, **options},
    )


def health() -> dict:
    source = Source.objects.get(name="Stream")
    return {
        name: getattr(source, name)
        for name in (
            "status", "rejected_records", "last_rejection", "last_error", "drift",
            "stream_connected", "consecutive_failures", "last_event_id", "next_poll_at",
        )
    }  # fmt: skip


def total() -> str:
    return build_snapshot("live")["total"]


def donation(nickname: str, amount, **extra) -> dict:
    return {"nickname": nickname, "amount": amount, **extra}


class Announced:
    """What ingest announced after its commits: each donation added or removed, in order."""

    def __init__(self) -> None:
        self.added: list[Donation] = []
        self.removed: list[Donation] = []

    def _on_added(self, sender, donations, **kwargs) -> None:
        self.added.extend(donations)

    def _on_removed(self, sender, donations, **kwargs) -> None:
        self.removed.extend(donations)

    def names(self) -> list[str]:
        return [d.display_name for d in self.added]


@pytest.fixture
def announced() -> Iterator[Announced]:
    seen = Announced()
    signals.donations_added.connect(seen._on_added, weak=False)
    signals.donations_removed.connect(seen._on_removed, weak=False)
    yield seen
    signals.donations_added.disconnect(seen._on_added)
    signals.donations_removed.disconnect(seen._on_removed)


@contextlib.asynccontextmanager
async def running(upstream: Upstream, source: Source, *, wait_open: bool = True):
    """A StreamRunner for `source` until the block ends; by default, once its stream is open
    and its first backfill has asked for the listing (so it cannot be what finds the
    donations a test posts next)."""
    await upstream.control("faults", {"heartbeat_seconds": 0.2, "retry_ms": 50})
    runner = StreamRunner(source.pk, transport=upstream.transport)
    task = asyncio.create_task(runner.run())
    try:
        if wait_open:
            await until(lambda: upstream.open_streams == 1 and upstream.listings())
        yield runner
    finally:
        await stop(task)


def run(scenario) -> None:
    asyncio.run(scenario)


def test_streamed_donations_duplicates_deletes_and_test_donations(announced):
    source = make_stream_source()

    async def scenario():
        upstream = Upstream()
        async with running(upstream, source):
            ids = (await upstream.control("donations", donation("Ann", "12.50", message="Go")))[
                "ids"
            ]
            await until(lambda: total() == "12.50")
            # The same upstream donation again (a retry upstream): counted once.
            await upstream.control("donations", donation("Ann", "12.50", _id=ids[0]))
            await upstream.control("donations", donation("Bob", 7))  # a JSON number
            await until(lambda: total() == "19.50")
            await upstream.control("delete", {"_id": ids[0]})
            await until(lambda: total() == "7.00")
            # The documented test donation: announced with XTS, the total stays.
            reply = await upstream.post(
                "/api/v1/donations",
                {"amount": 50, "message": "testing"},
                {"authorization": f'APIKey apikey="{ADVANCED_KEY}"'},
            )
            assert reply.status_code == 204
            await until(lambda: any(d.is_test for d in announced.added))

    run(scenario())
    assert [(d.display_name, str(d.amount), d.currency) for d in announced.added] == [
        ("Ann", "12.50", "USD"), ("Bob", "7.00", "USD"), ("Test Donation", "50.00", "XTS"),
    ]  # fmt: skip
    assert announced.added[0].message == "Go"
    assert [d.upstream_id for d in announced.removed] == [announced.added[0].upstream_id]
    snapshot = build_snapshot("live")
    assert (snapshot["total"], snapshot["donation_count"]) == ("7.00", 1)
    assert snapshot["sources"][0]["status"] == "ok"
    # Stopping the runner says the stream is no longer held.
    assert health()["stream_connected"] is False


def test_a_stream_dropped_mid_burst_loses_and_duplicates_nothing():
    source = make_stream_source()
    amounts = [f"{i}.25" for i in range(1, 31)]  # sum 472.50

    async def scenario():
        upstream = Upstream()
        async with running(upstream, source):
            gifts = [donation(f"d{i}", a) for i, a in enumerate(amounts)]
            await upstream.control("donations", gifts[:10])
            await upstream.control("faults", {"drop_streams": True})
            # Donated while no stream is open: only the backfill can find these.
            await upstream.control("donations", gifts[10:20])
            await until(lambda: len(upstream.listens()) >= 2)
            await upstream.control("donations", gifts[20:])
            await until(lambda: total() == "472.50")
            await asyncio.sleep(0.5)  # anything duplicated would have landed by now

    run(scenario())
    snapshot = build_snapshot("live")
    assert (snapshot["total"], snapshot["donation_count"]) == ("472.50", 30)


def test_donations_made_while_the_runner_was_down_are_backfilled():
    source = make_stream_source()

    async def scenario():
        upstream = Upstream()
        async with running(upstream, source):
            await upstream.control("donations", donation("Early", "10.00"))
            await until(lambda: total() == "10.00")
        await upstream.control("donations", [donation("While", "5.00"), donation("Down", "2.5")])
        async with running(upstream, source, wait_open=False):
            await until(lambda: total() == "17.50")

    run(scenario())
    assert build_snapshot("live")["donation_count"] == 3


def test_a_silent_stream_is_detected_by_the_read_timeout_and_recovers():
    source = make_stream_source()

    async def scenario():
        upstream = Upstream()
        async with running(upstream, source):
            await upstream.control("faults", {"hang_streams": True})
            # Never sent on the hung stream.
            await upstream.control("donations", donation("Quiet", "3.00"))
            # read_timeout is 1 s: the runner notices, reconnects, and the backfill finds it.
            await until(lambda: total() == "3.00", timeout=5)
            assert len(upstream.listens()) >= 2
            await upstream.control("faults", {"hang_streams": False})
            await until(lambda: upstream.open_streams >= 1)
            await asyncio.sleep(0.3)
            await upstream.control("donations", donation("Loud", "4.00"))
            await until(lambda: total() == "7.00")

    run(scenario())


def test_a_trickling_stream_is_recycled_though_bytes_keep_coming():
    """httpx's read timeout restarts on every byte; the runner wants a whole line."""
    source = make_stream_source()

    async def scenario():
        upstream = Upstream()
        async with running(upstream, source):
            await upstream.control("faults", {"trickle_seconds": 0.2})
            await upstream.control("donations", donation("Lost", "2.00"))
            await until(lambda: len(upstream.listens()) >= 2, timeout=5)
            await upstream.control("faults", {"trickle_seconds": 0})
            await until(lambda: total() == "2.00", timeout=5)

    run(scenario())
    assert "stalled" in health()["last_error"]


def test_unknown_events_and_malformed_records_are_skipped(announced):
    source = make_stream_source()

    async def scenario():
        upstream = Upstream()
        async with running(upstream, source):
            await upstream.control(
                "events", {"text": 'event: donation.update\ndata: {"_id": 1}\n\n'}
            )
            await upstream.control("events", {"text": "event: mystery\ndata: not json\n\n"})
            await upstream.control("donations", {"raw": '{"_id": "bad1", "amount": '})
            await upstream.control(
                "donations",
                [
                    donation("Nan", "NaN"),
                    donation("Huge", "1e12"),
                    donation("Negative", -5),
                    {"raw": '{"_id": "bad2", "nickname": "x", "amount": {"display": {}}}'},
                    donation("Fine", "8.00"),
                ],
            )
            await until(lambda: total() == "8.00")
            state = await until(lambda: (h := health())["rejected_records"] >= 5 and h)
            assert state["rejected_records"] == 5
            assert "amount" in state["last_rejection"]
            assert state["status"] == "ok" and state["stream_connected"] is True

    run(scenario())
    assert announced.names() == ["Fine"]
    assert total() == "8.00"


def test_script_in_a_nickname_or_message_is_stored_as_the_same_text(announced):
    source = make_stream_source()
    name, message = "<script>alert(1)</script>", '<img src=x onerror=alert(2)> & "hi"'

    async def scenario():
        upstream = Upstream()
        async with running(upstream, source):
            await upstream.control("donations", donation(name, "1.00", message=message))
            await until(lambda: announced.added)

    run(scenario())
    assert (announced.added[0].display_name, announced.added[0].message) == (name, message)
    recent = build_snapshot("live")["recent"][0]
    assert (recent["name"], recent["message"]) == (name, message)  # 25 characters: under 27


def test_an_invalid_key_shows_on_health_and_does_not_hammer(caplog):
    source = make_stream_source(key="InvalidKey-0123456789x")

    async def scenario():
        upstream = Upstream()
        with caplog.at_level(logging.DEBUG):
            async with running(upstream, source, wait_open=False):
                await until(lambda: health()["status"] == "auth_error")
                await asyncio.sleep(1.0)  # backoff_max is 0.3 s: a bad key must wait longer
        return len(upstream.listens())

    assert asyncio.run(scenario()) == 1
    state = health()
    assert "Authentication.InvalidAPIKey" in state["last_error"]
    # The next attempt is minutes away, and the dashboard can say when.
    assert state["next_poll_at"] > timezone.now() + timedelta(seconds=250)
    assert "InvalidKey-0123456789x" not in caplog.text
    assert build_snapshot("live")["sources"][0]["status"] == "auth_error"


def test_a_limited_key_streams_and_says_it_cannot_backfill():
    source = make_stream_source(key=LIMITED_KEY)

    async def scenario():
        upstream = Upstream()
        async with running(upstream, source):
            await upstream.control("donations", donation("Lim", "6.00"))
            await until(lambda: total() == "6.00")
            return await until(lambda: (h := health())["drift"] and h)

    state = asyncio.run(scenario())
    assert "Limited" in state["drift"]
    assert state["status"] == "ok"


def request_reconnect() -> None:
    """What the dashboard's "reconnect" button does."""
    Source.objects.filter(name="Stream").update(reconnect_requested_at=timezone.now())


def test_a_reconnect_request_reconnects_with_the_last_event_id():
    make_stream_source()

    async def scenario():
        upstream = Upstream()
        await upstream.control("faults", {"send_ids": True, "heartbeat_seconds": 0.2})
        stop_event = asyncio.Event()
        supervisor = asyncio.create_task(
            run_stream_sources(
                stop_event,
                scan_seconds=0.1,
                new_runner=lambda source_id: StreamRunner(source_id, transport=upstream.transport),
            )
        )
        try:
            await until(lambda: upstream.open_streams == 1 and upstream.listings())
            await upstream.control("donations", [donation("A", "1.00"), donation("B", "2.00")])
            await until(lambda: total() == "3.00")
            # The cursor is saved just after the donations it covers commit (a replay from an
            # older one is harmless: ingest is idempotent), so it may trail the total a moment.
            await until(lambda: health()["last_event_id"] == "2")
            await db(request_reconnect)
            await until(lambda: len(upstream.listens()) >= 2)
            assert upstream.listens()[-1]["last_event_id"] == "2"
            await until(lambda: upstream.open_streams == 1)
            await asyncio.sleep(0.2)
            await upstream.control("donations", donation("C", "4.00"))
            await until(lambda: total() == "7.00")
        finally:
            stop_event.set()
            await asyncio.wait_for(supervisor, 5)

    run(scenario())
    assert build_snapshot("live")["donation_count"] == 3
    assert health()["stream_connected"] is False  # the supervisor stopped its runner


def test_a_source_removed_under_its_runner_ends_quietly(caplog):
    """Staff removing a source used to log a traceback from the runner's next database step
    (reconciliation, or the reconnect's health write) before the supervisor stopped it."""
    source = make_stream_source(reconcile_interval=0.2)

    async def scenario():
        upstream = Upstream()
        async with running(upstream, source) as runner:
            await db(Source.objects.filter(pk=source.pk).delete)
            await upstream.control("faults", {"drop_streams": True})  # the stream ends too
            await until(lambda: "was removed" in caplog.text)
            await asyncio.sleep(0.5)  # a few more reconciliation rounds
            assert not runner.connected

    with caplog.at_level(logging.INFO, logger="fundboard"):
        run(scenario())
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == [], [r.getMessage() for r in problems]
    assert f"source={source.pk} was removed" in caplog.text


def test_reconciliation_backfills_a_gap_repairs_a_missed_delete_and_reports_drift(announced):
    source = make_stream_source(reconcile_interval=0.3)

    async def scenario():
        upstream = Upstream()
        async with running(upstream, source):
            ids = (
                await upstream.control("donations", [donation("A", "10.00"), donation("B", "5")])
            )["ids"]
            await until(lambda: total() == "15.00")
            # Upstream stored one without telling the stream: reconciliation backfills it.
            await upstream.control("donations", donation("Silent", "2.00", broadcast=False))
            await until(lambda: total() == "17.00")
            # The reconciliation that saw the gap recorded it as drift and backfilled it (that
            # is what made the total 17.00); it clears the drift once a second check agrees.
            await until(lambda: health()["drift"] == "")
            # Upstream deleted one without telling the stream (missed during a gap): its
            # totals and listing no longer have it, and exactly that much is removed here.
            await upstream.control("delete", {"_id": ids[1], "broadcast": False})
            await until(lambda: total() == "12.00", timeout=8)
            await until(lambda: health()["drift"] == "")
            assert (await db(Donation.objects.get, upstream_id=ids[1])).removed
            assert [d.upstream_id for d in announced.removed] == [ids[1]]  # viewers are told
            # Upstream counts a donation we refuse (absurd amount): the drift stays visible.
            await upstream.control("donations", donation("Whale", "5000000.00"))
            return await until(lambda: (h := health())["drift"] and h)

    state = asyncio.run(scenario())
    assert "upstream total 5000012.00 USD, stored 12.00" in state["drift"]
    assert "top donor 'Whale'" in state["drift"]
    assert total() == "12.00"
    assert state["rejected_records"] >= 1


def test_bom_ids_heartbeats_and_upstream_errors_on_reconnect():
    # httpx-sse 0.4.3 keeps a leading BOM and yields empty events after heartbeats once an
    # id was seen; neither may cost a donation.
    source = make_stream_source()

    async def scenario():
        upstream = Upstream()
        await upstream.control("faults", {"bom": True, "send_ids": True})
        async with running(upstream, source):
            await upstream.control("donations", donation("Bom", "2.00"))
            await until(lambda: total() == "2.00")
            await asyncio.sleep(0.7)  # several heartbeats after an id
            await upstream.control("donations", donation("Beat", "3.00"))
            await until(lambda: total() == "5.00")

            # The stream drops and the next attempts meet 503s: degraded, then back to ok.
            await upstream.control("faults", {"fail_next": 1000, "status": 503})
            await upstream.control("faults", {"drop_streams": True})
            await upstream.control("donations", donation("Gap", "4.00"))
            await until(lambda: health()["status"] == "degraded")
            assert (await db(build_snapshot, "live"))["sources"][0]["status"] == "stale"
            assert await db(total) == "5.00"  # the last good numbers stay on screen
            await upstream.control("faults", {"fail_next": 0})
            await until(lambda: total() == "9.00")
            return await until(lambda: (h := health())["status"] == "ok" and h)

    state = asyncio.run(scenario())
    assert state["stream_connected"] is True and state["rejected_records"] == 0


def test_a_burst_gives_one_announcement_per_donation_in_upstream_order(announced):
    source = make_stream_source()

    async def scenario():
        upstream = Upstream()
        burst = []
        for i in range(60):
            burst.append(donation(f"n{i:02d}", "1.00"))
            if i % 10 == 9:
                burst.append({"raw": "not json"})  # bad records mid-burst cost nothing else
        async with running(upstream, source):
            ids = (await upstream.control("donations", burst))["ids"]
            await upstream.control("delete", {"_id": ids[0]})
            await until(lambda: total() == "59.00")
            await until(lambda: announced.removed)

    run(scenario())
    assert announced.names() == [f"n{i:02d}" for i in range(60)]
    assert health()["rejected_records"] == 6
