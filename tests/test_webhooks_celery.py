"""Distributed mode: a real Celery worker and beat on Redis deliver webhooks, retrying a
failed one when beat's sweep finds it due (PostgreSQL + Redis)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from fundboard.ingest.services import ingest_donations
from fundboard.webhooks.models import DeliveryStatus, WebhookEndpoint

from .factories import make_campaign, make_source, record
from .support import REPO, redis_url, wait_for
from .test_webhooks import SECRET, _worker_env
from .webhook_receiver import Receiver

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery(tmp_path):
    """`celery -A fundboard worker` and `beat` on this test's database and a Redis prefix of
    their own; their logs in tmp_path."""
    env = {
        **_worker_env(),
        "REDIS_URL": redis_url(),
        "FUNDBOARD_REDIS_PREFIX": f"fbwh{uuid.uuid4().hex[:8]}",
    }
    base = [sys.executable, "-m", "celery", "-A", "fundboard"]
    roles = {
        "worker": [*base, "worker", "--pool=solo", "--hostname", f"webhooks-{os.getpid()}@%h"],
        "beat": [*base, "beat", "--schedule", str(tmp_path / "beat-schedule")],
    }
    processes = {}
    for role, args in roles.items():
        log = open(tmp_path / f"{role}.log", "ab")  # noqa: SIM115 (the child's lifetime)
        processes[role] = subprocess.Popen(args, env=env, cwd=REPO, stdout=log, stderr=log)
    yield tmp_path
    for process in processes.values():
        process.terminate()
    for process in processes.values():
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_celery_delivers_and_retries_a_failed_delivery(settings, celery):
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("the worker shares this test's database: PostgreSQL mode")
    settings.REDIS_URL = ""  # this process queues nothing: beat's sweep finds the rows
    campaign = make_campaign("relay")
    with Receiver() as hook:
        endpoint = WebhookEndpoint.objects.create(
            campaign=campaign, name="CRM", url=hook.url, secret=SECRET
        )
        hook.script("500")
        ingest_donations(make_source(campaign).pk, [record("15.00", "Dee")])
        try:
            wait_for(lambda: len(hook.requests) >= 2, timeout=60, interval=0.2)
            wait_for(
                lambda: endpoint.deliveries.get().status == DeliveryStatus.SUCCEEDED, timeout=10
            )
        except AssertionError:
            print((celery / "worker.log").read_text()[-4000:])
            print((celery / "beat.log").read_text()[-2000:])
            raise
        first, second = hook.requests
        assert first.json["id"] == second.json["id"]
        assert second.json["data"] == {**first.json["data"], "name": "Dee"}
    delivery = endpoint.deliveries.get()
    assert delivery.attempts == 2
    assert SECRET not in (celery / "worker.log").read_text()
