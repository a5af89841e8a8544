"""Database connections: bounded per process on PostgreSQL, the same SQLite settings by URL.

Under ASGI each request's sync code runs in a thread of its own; a persistent connection
(CONN_MAX_AGE > 0) stayed with that thread, so a web process held one PostgreSQL connection
per request served until PostgreSQL refused clients. Each process now has one psycopg pool.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from .support import LOOPBACK_TLS, REPO, pg_connections

CAMPAIGN = """
[[campaign]]
slug = "drive"
name = "Drive"
goal = "1000"
  [[campaign.source]]
  kind = "manual"
  name = "Cheques"
"""
PATHS = ("/api/v1/campaigns/drive", "/c/drive/thermometer", "/c/drive/leaderboard")


def _database_settings(env: dict[str, str]) -> dict:
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default'], default=str))"
    )
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "fundboard.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def test_sqlite_by_url_gets_the_same_settings_as_the_default_path(tmp_path):
    path = str(tmp_path / "board.sqlite3")
    by_default = _database_settings({"FUNDBOARD_SQLITE_PATH": path, "FUNDBOARD_DATA_DIR": path})
    by_url = _database_settings({"DATABASE_URL": f"sqlite:///{path}"})
    assert by_url == by_default
    assert by_url["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in by_url["OPTIONS"]["init_command"]


class ConnectionSampler:
    """Samples, every 20 ms in a thread, the sessions PostgreSQL holds to one database."""

    def __init__(self, database: str):
        self.database = database
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.samples.append(pg_connections(self.database))

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def max(self) -> int:
        return max(self.samples, default=0)


POOL_SIZE = 4
BATCH = 25  # small: a leaking server fails after one batch instead of exhausting PostgreSQL


@pytest.mark.integration
def test_a_web_process_holds_no_more_connections_than_its_pool(fundboard_server):
    server = fundboard_server(
        CAMPAIGN,
        use_postgres=True,
        ingest=False,
        extra_env={"FUNDBOARD_DB_POOL_SIZE": str(POOL_SIZE)},
    )
    database = server.database.pg_name
    held_after_batch = []
    with (
        ConnectionSampler(database) as sampler,
        ThreadPoolExecutor(16) as threads,
        httpx.Client(verify=LOOPBACK_TLS, base_url=server.url, timeout=30) as client,
    ):
        for batch in range(12):  # 300 requests, 16 at a time
            paths = [PATHS[(batch + i) % len(PATHS)] for i in range(BATCH)]
            statuses = list(threads.map(lambda path: client.get(path).status_code, paths))
            assert statuses == [200] * BATCH
            held_after_batch.append(pg_connections(database))
            assert held_after_batch[-1] <= POOL_SIZE, held_after_batch
    assert sampler.max <= POOL_SIZE, f"held up to {sampler.max} with a pool of {POOL_SIZE}"
    assert len(sampler.samples) > 10  # the sampler did watch the load
