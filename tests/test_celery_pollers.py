"""Distributed mode: a real Celery worker and beat on Redis poll the platforms, and what they
find reaches a websocket client on a web process through the channels_redis layer."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from fundboard.sandbox import actionnetwork, p2p

from .support import REPO, http, wait_for

pytestmark = pytest.mark.integration

REDIS_PORT_HEX = f"{6379:04X}"


def _campaign(url: str) -> str:
    return f"""
[[campaign]]
slug = "walk"
name = "Walk"
goal = "20000"
  [[campaign.source]]
  kind = "p2p"
  name = "Walk"
  base_url = "{url}"
  api_key = "{p2p.API_KEY}"
  ids = {{ event_id = "{p2p.DEMO_EVENT_ID}" }}
  poll_interval = 0.5
  [[campaign.source]]
  kind = "actionnetwork"
  name = "Pages"
  base_url = "{url}"
  api_key = "{actionnetwork.API_KEY}"
  ids = {{ all_pages = true }}
  poll_interval = 0.5
"""


class Celery:
    """`celery -A fundboard worker|beat` as subprocesses with the web server's environment."""

    def __init__(self, env: dict, tmp: Path):
        self.env, self.tmp = env, tmp
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, role: str) -> None:
        args = [sys.executable, "-m", "celery", "-A", "fundboard", role, "--loglevel=INFO"]
        if role == "worker":
            args += ["--pool=solo", "--hostname", f"pollers-{os.getpid()}@%h"]
        else:
            args += ["--schedule", str(self.tmp / "beat-schedule")]
        log = open(self.tmp / f"celery-{role}.log", "ab")  # noqa: SIM115 (the child's lifetime)
        self.processes[role] = subprocess.Popen(
            args, env=self.env, cwd=REPO, stdout=log, stderr=log
        )

    def log(self, role: str) -> str:
        path = self.tmp / f"celery-{role}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def redis_connections(self, role: str) -> int:
        """TCP connections the process holds to Redis (its sockets, matched in /proc)."""
        pid = self.processes[role].pid
        inodes = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd) if fd.is_symlink() else ""
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        count = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                remote_port = fields[2].rsplit(":", 1)[1]
                if remote_port == REDIS_PORT_HEX and fields[9] in inodes:
                    count += 1
        return count

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def celery_for(tmp_path):
    started: list[Celery] = []

    def start(server) -> Celery:
        celery = Celery({**server.env, "FUNDBOARD_POLL_FLOOR_SECONDS": "0.3"}, tmp_path)
        started.append(celery)
        celery.start("worker")
        celery.start("beat")
        return celery

    yield start
    for celery in started:
        celery.stop()


def _event_raised(url: str) -> Decimal:
    state = http.get(f"{url}/_sandbox/p2p/state").json()
    return Decimal(state["events"][p2p.DEMO_EVENT_ID]["raised"])


def _pages_total(url: str) -> Decimal:
    pages = http.get(f"{url}/_sandbox/actionnetwork/state").json()["pages"]
    return sum((Decimal(str(p["total_amount"])) for p in pages), Decimal("0"))


def test_worker_and_beat_bring_a_sandbox_change_to_a_websocket(
    sandbox_server, fundboard_server, celery_for
):
    url = sandbox_server.url
    server = fundboard_server(_campaign(url), use_postgres=True, ingest=False)
    assert "REDIS_URL" in server.env  # the channels_redis layer, not the in-memory one
    celery = celery_for(server)
    try:
        start_total = _event_raised(url) + _pages_total(url)
        wait_for(lambda: Decimal(server.total("walk")) == start_total, timeout=40, interval=0.3)
        with server.live_client("walk") as client:
            client.wait_for(lambda m: m["type"] == "snapshot")
            connections = []
            for n in range(4):
                http.post(
                    f"{url}/_sandbox/p2p/gifts",
                    json={"fundraiser_id": "f-012", "amount": "25", "donor_name": f"Donor {n}"},
                )
                expected = start_total + 25 * (n + 1)
                client.wait_for_total(f"{expected:.2f}", timeout=20)
                alert = client.wait_for(
                    lambda m, n=n: m["type"] == "donation" and m["data"]["name"] == f"Donor {n}",
                    timeout=20,
                )
                assert alert["data"]["amount"] == "25.00"
                connections.append(celery.redis_connections("worker"))
        # One long-lived loop per worker: the Redis connections do not grow poll after poll.
        assert connections[-1] <= connections[0], connections
        time.sleep(1)
        worker_log = celery.log("worker")
        assert "Event loop is closed" not in worker_log
        assert "broadcast failed" not in worker_log
        assert p2p.API_KEY not in worker_log and actionnetwork.API_KEY not in worker_log
    except BaseException:
        print(celery.log("worker")[-4000:], celery.log("beat")[-2000:], server.log()[-2000:])
        raise


def test_the_redis_lock_lets_one_poll_of_a_source_run_at_a_time(settings):
    from fundboard.runners.locks import source_lock

    settings.REDIS_URL = os.environ["FUNDBOARD_TEST_REDIS_URL"]
    settings.REDIS_PREFIX = f"fblocktest{os.getpid()}"
    with source_lock(42, ttl=5) as first, source_lock(42, ttl=5) as second:
        assert first is True and second is False
    with source_lock(42, ttl=5) as again:
        assert again is True


@pytest.mark.django_db(transaction=True)
def test_beat_dispatch_serves_a_staff_poll_request_but_waits_out_retry_after(settings):
    import redis
    from django.utils import timezone

    from fundboard.sync.tasks import RedisSchedule, ScheduleEntry, dispatch_due_polls

    from .factories import make_campaign, make_source

    settings.REDIS_URL = os.environ["FUNDBOARD_TEST_REDIS_URL"]
    settings.REDIS_PREFIX = f"fbdispatch{os.getpid()}"
    source = make_source(make_campaign(), kind="p2p", provider_ids={"event_id": "x"})
    schedule, now = RedisSchedule(), time.time()
    try:
        # Polled 10 s ago (past the floor), next poll in a minute, Retry-After 5 s running.
        schedule.write(source.pk, ScheduleEntry(now - 10, now + 60, now + 5))
        assert dispatch_due_polls() == 0
        source.poll_requested_at = timezone.now()
        source.save(update_fields=["poll_requested_at"])
        assert dispatch_due_polls() == 0  # the request waits for Retry-After
        schedule.write(source.pk, ScheduleEntry(now - 10, now + 60, 0))
        assert dispatch_due_polls() == 1  # now it is served at once
        assert dispatch_due_polls() == 0  # queued once, not on every beat
    finally:
        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(f"{settings.REDIS_PREFIX}*"))
        if keys:
            client.delete(*keys)
        client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)  # the task no worker here consumes
        client.close()
