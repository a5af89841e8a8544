"""The distributed deployment, as separate processes on the real PostgreSQL and Redis.

Two web processes (`serve --no-ingest`), a Celery worker and beat (the pollers), and ImRaising
stream runners (`runstreams`) share one fresh PostgreSQL database and one Redis prefix, with
the sandbox as the upstream platforms. What viewers see is checked through real websockets
and the public JSON on each web process:

- a donation streamed by the sandbox reaches the sockets on both web processes;
- each web process holds one Redis subscription per campaign, however many sockets it has;
- killing one web process (SIGKILL) leaves the other's sockets receiving, and its
  subscription does not linger;
- killing the stream runner hands the source to a standby runner, which backfills what was
  donated meanwhile, and the final total is exact (nothing lost, nothing counted twice);
- an Action Network page polled by the Celery worker (dispatched by beat) shows its total.

The tests share one deployment and run in file order (each reads the totals it starts from).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import httpx
import pytest
import redis
from websockets.exceptions import ConnectionClosed

from fundboard.sandbox import actionnetwork
from fundboard.sandbox.app import Sandbox
from fundboard.sandbox.imraising import ADVANCED_KEY
from fundboard.sandbox.server import SandboxServer, free_port

from .support import REPO, FundboardServer, LiveClient, http, redis_url, wait_for

pytestmark = pytest.mark.integration

STREAM_OPTIONS = {
    "read_timeout": 3,
    "connect_timeout": 2,
    "backoff_initial": 0.2,
    "backoff_max": 1,
    "healthy_after": 1,
    "backfill_delay": 0.3,
    "backfill_overlap": 120,
    "reconcile_interval": 3600,
}
LEASE_SECONDS = "3"
# The sandbox's Action Network account starts with pages worth this much.
PAGES_TOTAL = "4705.50"


def campaigns_toml(sandbox_url: str) -> str:
    options = "\n".join(f"  {name} = {value}" for name, value in STREAM_OPTIONS.items())
    return f"""
[[campaign]]
slug = "marathon"
name = "Marathon"
goal = "5000"
currency = "USD"
  [[campaign.source]]
  kind = "imraising"
  name = "Stream"
  base_url = "{sandbox_url}"
  api_key = "{ADVANCED_KEY}"
  [campaign.source.options]
{options}

[[campaign]]
slug = "pages"
name = "Pages"
goal = "10000"
  [[campaign.source]]
  kind = "actionnetwork"
  name = "AN pages"
  base_url = "{sandbox_url}"
  api_key = "{actionnetwork.API_KEY}"
  ids = {{ all_pages = true }}
  poll_interval = 1
"""


class Process:
    """One long-running process of the deployment, logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict, log_dir) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 (kept open for the child's lifetime)
        self.popen = subprocess.Popen(args, env=env, cwd=REPO, stdout=log, stderr=log)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.alive():
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class WebProcess(Process):
    def __init__(self, name: str, env: dict, log_dir) -> None:
        self.port = free_port()
        manage = [sys.executable, str(REPO / "manage.py")]
        args = [*manage, "serve", "--no-ingest", "--port", str(self.port)]
        super().__init__(name, args, env, log_dir)

    def wait_until_serving(self) -> None:
        wait_for(self._answers, timeout=40, interval=0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _answers(self) -> bool:
        assert self.alive(), f"{self.name} exited early:\n{self.log()}"
        try:
            return http.get(self.url + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def snapshot(self, slug: str) -> dict:
        response = http.get(f"{self.url}/api/v1/campaigns/{slug}", timeout=5)
        response.raise_for_status()
        return response.json()

    def live_client(self, slug: str) -> LiveClient:
        return LiveClient(f"ws://127.0.0.1:{self.port}/ws/campaigns/{slug}", origin=self.url)


class Deployment:
    """Everything the tests start; `close()` ends it all, also after a failure."""

    def __init__(self, tmp) -> None:
        self.tmp = tmp
        self.processes: list[Process] = []
        self.clients: list[LiveClient] = []
        self.sandbox = SandboxServer(Sandbox(rate=0.0, seed=1)).start()
        self.control("faults", {"heartbeat_seconds": 0.5, "retry_ms": 200})
        self.database = FundboardServer(
            tmp, campaigns_toml(self.sandbox.url), use_postgres=True, ingest=False
        )
        self.env = {**self.database.env, "FUNDBOARD_POLL_FLOOR_SECONDS": "0.5"}
        self.redis = redis.Redis.from_url(redis_url())
        self.posted = Decimal("0.00")
        self.donations_posted = 0  # distinct upstream donations (a re-delivery is not one)

    # --- processes ---------------------------------------------------------------------------

    def web(self, name: str) -> WebProcess:
        web = WebProcess(name, self.env, self.tmp)
        self.processes.append(web)  # before waiting, so a failed start is still cleaned up
        web.wait_until_serving()
        return web

    def runner(self, name: str) -> Process:
        args = [sys.executable, str(REPO / "manage.py"), "runstreams"]
        runner = Process(name, [*args, "--lease-seconds", LEASE_SECONDS], self.env, self.tmp)
        self.processes.append(runner)
        return runner

    def celery(self, role: str) -> Process:
        args = [sys.executable, "-m", "celery", "-A", "fundboard", role, "--loglevel=INFO"]
        if role == "worker":
            args += ["--pool=solo", "--hostname", f"worker-{os.getpid()}@%h"]
        else:
            args += ["--schedule", str(self.tmp / "beat-schedule")]
        process = Process(f"celery-{role}", args, self.env, self.tmp)
        self.processes.append(process)
        return process

    def client(self, web: WebProcess, slug: str = "marathon") -> LiveClient:
        client = web.live_client(slug)
        self.clients.append(client)
        first = client.receive(timeout=15)
        assert first["type"] == "snapshot"
        return client

    # --- the sandbox -------------------------------------------------------------------------

    def control(self, path: str, body) -> dict:
        url = f"{self.sandbox.url}/_sandbox/imraising/{path}"
        response = http.post(url, json=body, timeout=5)
        response.raise_for_status()
        return response.json()

    def donate(self, upstream_id: str, amount: str) -> None:
        """A donation upstream: stored by the sandbox and sent down every open stream."""
        self.control("donations", {"_id": upstream_id, "nickname": "Viewer", "amount": amount})
        self.posted += Decimal(amount)
        self.donations_posted += 1

    def open_streams(self) -> int:
        url = f"{self.sandbox.url}/_sandbox/imraising/state"
        return http.get(url, timeout=5).json()["open_streams"]

    def expected_total(self) -> str:
        return f"{self.posted:.2f}"

    def campaign_subscribers(self) -> int:
        """Redis subscriptions to the marathon's group: one per web process with viewers."""
        prefix = self.env["FUNDBOARD_REDIS_PREFIX"]
        channels = self.redis.pubsub_channels(f"{prefix}__group__campaign.*")
        counts = self.redis.pubsub_numsub(*channels) if channels else []
        return sum(count for _, count in counts)

    def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):  # a socket of a killed server is gone
                client.close()
        for process in reversed(self.processes):
            process.stop()
        self.sandbox.stop()
        self.redis.close()
        self.database.close()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log()[-3000:]}" for p in self.processes)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    deployment = Deployment(tmp_path_factory.mktemp("deployment"))
    try:
        deployment.web_a = deployment.web("web-a")
        deployment.web_b = deployment.web("web-b")
        deployment.celery("worker")
        deployment.celery("beat")
        deployment.runner_1 = deployment.runner("runstreams-1")
        wait_for(lambda: deployment.open_streams() == 1, timeout=40, interval=0.2)
        yield deployment
    except BaseException:
        print(deployment.logs())
        raise
    finally:
        deployment.close()


def test_a_streamed_donation_reaches_sockets_on_both_web_processes(deployment):
    viewers_a = [deployment.client(deployment.web_a) for _ in range(3)]
    viewer_b = deployment.client(deployment.web_b)
    # One Redis subscription per process for the campaign, not one per socket (4 sockets).
    wait_for(lambda: deployment.campaign_subscribers() == 2, timeout=10)

    deployment.donate("mp-1", "12.50")

    total = deployment.expected_total()
    for viewer in [*viewers_a, viewer_b]:
        alert = viewer.wait_for(lambda m: m["type"] == "donation", timeout=15)
        assert alert["data"]["amount"] == "12.50"
        viewer.wait_for_total(total, timeout=15)
    for web in (deployment.web_a, deployment.web_b):
        assert web.snapshot("marathon")["total"] == total


def test_killing_one_web_process_leaves_the_others_sockets_receiving(deployment):
    viewer_a = deployment.client(deployment.web_a)
    viewer_b = deployment.client(deployment.web_b)
    wait_for(lambda: deployment.campaign_subscribers() == 2, timeout=10)

    deployment.web_a.stop(signal.SIGKILL)

    # The dead process's subscription ends with its Redis connection: no zombie member.
    wait_for(lambda: deployment.campaign_subscribers() == 1, timeout=10)
    with pytest.raises(ConnectionClosed):
        viewer_a.receive(timeout=5)
    deployment.donate("mp-2", "7.25")
    deployment.donate("mp-3", "0.75")
    viewer_b.wait_for_total(deployment.expected_total(), timeout=15)
    alerts = [m["data"]["amount"] for m in viewer_b.of_type("donation")]
    assert alerts[-2:] == ["7.25", "0.75"]
    # A newcomer on the surviving process starts from the exact current state.
    newcomer = deployment.web_b.live_client("marathon")
    deployment.clients.append(newcomer)
    assert newcomer.receive(timeout=10)["data"]["total"] == deployment.expected_total()


def test_killing_the_stream_runner_hands_the_source_over_with_an_exact_total(deployment):
    # What earlier tests donated counts too (the deployment is shared; with -k they may not
    # have run): the expected total is what was posted, not a figure for the whole module.
    started_from = deployment.posted
    viewer = deployment.client(deployment.web_b)
    standby = deployment.runner("runstreams-2")
    time.sleep(4)  # longer than the lease: the standby must still not open a second stream
    assert deployment.open_streams() == 1
    deployment.donate("mp-4", "5.00")
    viewer.wait_for_total(deployment.expected_total(), timeout=15)

    deployment.runner_1.stop(signal.SIGKILL)
    wait_for(lambda: deployment.open_streams() == 0, timeout=10)
    # Donated while no runner streams: only the standby's backfill can bring these in.
    deployment.donate("mp-5", "20.00")
    deployment.donate("mp-6", "30.00")
    wait_for(lambda: deployment.open_streams() == 1, timeout=30, interval=0.2)
    assert standby.alive()
    deployment.donate("mp-7", "1.11")
    # The same upstream donation delivered again (a retried webhook, a replay): counted once.
    deployment.control("donations", {"_id": "mp-7", "nickname": "Viewer", "amount": "1.11"})

    final = deployment.expected_total()
    viewer.wait_for_total(final, timeout=30)
    time.sleep(1.5)  # room for a late duplicate to show up, if there were one
    snapshot = deployment.web_b.snapshot("marathon")
    assert Decimal(final) - started_from == Decimal("56.11")  # mp-4..mp-7, mp-7 once
    assert snapshot["total"] == final
    assert snapshot["donation_count"] == deployment.donations_posted
    assert viewer.of_type("snapshot")[-1]["data"]["total"] == final


def test_the_celery_worker_polls_the_action_network_pages(deployment):
    wait_for(
        lambda: deployment.web_b.snapshot("pages")["total"] == PAGES_TOTAL,
        timeout=30,
        interval=0.5,
    )
    page_id = actionnetwork.ActionNetworkState().ordered()[0].id
    viewer = deployment.client(deployment.web_b, "pages")
    http.post(
        f"{deployment.sandbox.url}/_sandbox/actionnetwork/pages",
        json={"id": page_id, "total_amount": "1850.00", "total_donations": 38},
        timeout=5,
    ).raise_for_status()
    viewer.wait_for_total("4715.50", timeout=30)
