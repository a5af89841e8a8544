"""Exactly one live consumer per ImRaising source across `runstreams` processes.

Integration: real PostgreSQL and Redis. Two `runstreams` processes share one source; only the
lease holder connects. SIGKILL it, and the other takes the source over within seconds; the
backfill fills the gap, so the final total (seen by a websocket client of a separate web
process, through the channels_redis layer) is exact.
"""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
import redis

from fundboard.sandbox.imraising import ADVANCED_KEY

from .support import REPO, redis_url, wait_for
from .test_stream_runner import campaign_toml, control, listens, sandbox_state

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
        assert httpx.get(server.url + "/api/v1/campaigns/live").json()["total"] == "0.00"
    finally:
        if process.poll() is None:
            process.kill()
    assert os.path.exists(server.tmp / "runstreams-solo.log")
