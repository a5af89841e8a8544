"""Exactly one live consumer per ImRaising source across `runstreams` processes.

Integration: real PostgreSQL and Redis. Two `runstreams` processes share one source; only the
lease holder connects. SIGKILL it, and the other takes the source over within seconds; the
backfill fills the gap, so the final total (seen by a websocket client of a separate web
process, through the channels_redis layer) is exact. In one process, against the same Redis:
the lease is renewed on its own timer, whatever the database scan costs.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis

from fundboard.runners import supervisor
from fundboard.runners.lease import SourceLeases
from fundboard.runners.stream import StreamRunner
from fundboard.sandbox.imraising import ADVANCED_KEY

from .factories import make_campaign, make_source
from .support import REPO, http, redis_url, wait_for
from .test_stream_end_to_end import campaign_toml, control, listens, sandbox_state

pytestmark = pytest.mark.integration

LEASE_SECONDS = 3


def start_runstreams(server, name: str) -> subprocess.Popen:
    log = open(server.tmp / f"runstreams-{name}.log", "ab")  # noqa: SIM115 (child keeps it)
    return subprocess.Popen(
        [
            sys.executable,
            str(REPO / "manage.py"),
            "runstreams",
            "--lease-seconds",
            str(LEASE_SECONDS),
        ],
        env=server.env,
        cwd=REPO,
        stdout=log,
        stderr=log,
    )


def lease_owner_pid(server) -> int | None:
    client = redis.Redis.from_url(redis_url())
    try:
        keys = client.keys(f"{server.env['FUNDBOARD_REDIS_PREFIX']}:imraising-stream-lease:*")
        owners = [client.get(key) for key in keys]
    finally:
        client.close()
    owners = [o.decode() for o in owners if o]
    return int(owners[0].split(":")[1]) if len(owners) == 1 else None


def gifts(start: int, count: int) -> list[dict]:
    return [{"nickname": f"d{i}", "amount": f"{i}.00"} for i in range(start, start + count)]


def test_one_consumer_per_source_and_takeover_after_sigkill(fundboard_server, sandbox_server):
    control(sandbox_server, "faults", {"heartbeat_seconds": 0.5, "retry_ms": 200})
    server = fundboard_server(campaign_toml(sandbox_server.url, key=ADVANCED_KEY), ingest=False)
    assert server.env.get("REDIS_URL"), "the integration run sets FUNDBOARD_TEST_REDIS_URL"
    processes = {name: start_runstreams(server, name) for name in ("a", "b")}
    try:
        wait_for(lambda: sandbox_state(sandbox_server)["open_streams"] == 1, timeout=30)
        holder_pid = wait_for(lambda: lease_owner_pid(server), timeout=10)
        time.sleep(2 * LEASE_SECONDS)  # the other process keeps trying, and keeps failing
        assert sandbox_state(sandbox_server)["open_streams"] == 1
        assert len(listens(sandbox_server)) == 1

        with server.live_client("live") as client:
            client.receive()
            control(sandbox_server, "donations", gifts(1, 10))  # 55.00
            client.wait_for_total("55.00", timeout=15)

            holder = next(p for p in processes.values() if p.pid == holder_pid)
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=5)
            killed_at = time.monotonic()
            control(sandbox_server, "donations", gifts(11, 10))  # nobody listening: 155.00
            wait_for(lambda: len(listens(sandbox_server)) >= 2, timeout=15)
            takeover = time.monotonic() - killed_at
            assert takeover < LEASE_SECONDS + 5
            assert lease_owner_pid(server) not in (None, holder_pid)
            wait_for(lambda: sandbox_state(sandbox_server)["open_streams"] == 1, timeout=10)
            control(sandbox_server, "donations", gifts(21, 5))  # 115.00
            client.wait_for_total("325.00", timeout=20)
        time.sleep(1)
        snapshot = server.snapshot("live")
        assert (snapshot["total"], snapshot["donation_count"]) == ("325.00", 25)
        assert sandbox_state(sandbox_server)["open_streams"] == 1
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


def test_runstreams_releases_its_lease_on_sigterm(fundboard_server, sandbox_server):
    control(sandbox_server, "faults", {"heartbeat_seconds": 0.5, "retry_ms": 200})
    server = fundboard_server(campaign_toml(sandbox_server.url), ingest=False)
    process = start_runstreams(server, "solo")
    try:
        wait_for(lambda: lease_owner_pid(server) == process.pid, timeout=30)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert lease_owner_pid(server) is None  # released, not left to expire
        wait_for(lambda: sandbox_state(sandbox_server)["open_streams"] == 0, timeout=5)
        assert http.get(server.url + "/api/v1/campaigns/live").json()["total"] == "0.00"
    finally:
        if process.poll() is None:
            process.kill()
    assert os.path.exists(server.tmp / "runstreams-solo.log")


# --- lease renewal has its own timer (in one process, real Redis) ---------------------------


class IdleRunner(StreamRunner):
    """Holds its source without connecting: the lease, not the stream, is under test."""

    cancelled = False

    async def run(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            IdleRunner.cancelled = True
            raise


@pytest.mark.django_db(transaction=True)
def test_a_database_slower_than_the_lease_does_not_cost_it(monkeypatch):
    """Renewal used to wait behind the supervisor's database scan: a scan longer than the
    lease's time to live let it expire, and another process took the stream over."""
    ttl = 2.0  # long enough for a loaded 2-core machine's scheduling hiccups
    source = make_source(make_campaign("live"), kind="imraising", api_key=ADVANCED_KEY)
    real_scan = supervisor.enabled_stream_sources
    scans = []

    def slow_scan():
        scans.append(time.monotonic())
        if len(scans) > 1:
            time.sleep(3 * ttl)  # the database takes three lease lifetimes to answer
        return real_scan()

    monkeypatch.setattr(supervisor, "enabled_stream_sources", slow_scan)
    IdleRunner.cancelled = False
    prefix = f"fbtest{uuid.uuid4().hex[:8]}"
    key = f"{prefix}:imraising-stream-lease:{source.pk}"
    client = redis.Redis.from_url(redis_url(), decode_responses=True)

    async def scenario():
        leases = SourceLeases(redis_url(), prefix, ttl=ttl)
        stop = asyncio.Event()
        task = asyncio.create_task(
            supervisor.run_stream_sources(
                stop, leases=leases, scan_seconds=0.05, new_runner=IdleRunner
            )
        )
        try:
            while len(scans) < 2:  # the first scan took the lease; the slow one has begun
                await asyncio.sleep(0.01)
            for _ in range(3):  # across one and a half lease lifetimes of the slow scan
                await asyncio.sleep(ttl / 2)
                assert client.get(key) == leases.owner, "the lease expired behind the scan"
            assert not IdleRunner.cancelled
            # Taken over by another process: the runner stops at once, not after the scan.
            client.set(key, "another-process")
            await asyncio.sleep(ttl / 3 + 0.3)
            assert IdleRunner.cancelled and len(scans) == 2
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        return leases

    try:
        asyncio.run(scenario())
        assert client.get(key) == "another-process"  # not released: it was not ours any more
    finally:
        client.delete(key)
        client.close()
