"""Benchmark helper: the distributed stack as separate processes, on loopback.

Used by bench_scale.py, bench_ingest.py and bench_memory.py. A `Stack` owns one fresh
PostgreSQL database (through tests.support.FundboardServer, which migrates it and loads the
campaign) and the processes started against it: web processes (`manage.py serve --no-ingest`,
uvicorn or daphne), the sandbox (`python -m fundboard.sandbox`) and ImRaising stream runners
(`manage.py runstreams`). Every process shares one Redis prefix, so they form one deployment.
`close()` stops every process it started and drops the database, also after a failure.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from common import PY, REPO, percentile

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
SANDBOX_KEY = "sbxAdvancedKey-0000001"  # fundboard.sandbox.imraising.ADVANCED_KEY

__all__ = ["Stack", "percentile", "campaign_toml", "SANDBOX_KEY", "REPO", "PY"]


def campaign_toml(slug: str, sandbox_url: str = "") -> str:
    """One campaign with a manual source, plus an ImRaising source when a sandbox is given."""
    text = f"""
[[campaign]]
slug = "{slug}"
name = "Scale bench"
goal = "10000000"
currency = "USD"
  [[campaign.source]]
  kind = "manual"
  name = "Bench feed"
"""
    if sandbox_url:
        text += f"""
  [[campaign.source]]
  kind = "imraising"
  name = "Bench stream"
  base_url = "{sandbox_url}"
  api_key = "{SANDBOX_KEY}"
"""
    return text


def _wait(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out waiting for {what}")


class Stack:
    def __init__(self, *, redis_url: str = "", postgres_url: str = "", sandbox: bool = False):
        os.environ.setdefault("FUNDBOARD_TEST_POSTGRES_URL", postgres_url or DEFAULT_POSTGRES)
        from tests.support import FundboardServer

        self.tmp = Path(tempfile.mkdtemp(prefix="fb-scale-"))
        self.redis_url = redis_url or os.environ.get("REDIS_URL") or DEFAULT_REDIS
        self.prefix = f"fbscale{uuid.uuid4().hex[:8]}"
        self.processes: list[subprocess.Popen] = []
        self.sandbox_url = self._start_sandbox() if sandbox else ""
        self.slug = "scale"
        self.db = FundboardServer(
            self.tmp,
            campaign_toml(self.slug, self.sandbox_url),
            use_postgres=True,
            ingest=False,
            extra_env={
                "REDIS_URL": self.redis_url,
                "FUNDBOARD_REDIS_PREFIX": self.prefix,
                "LOG_LEVEL": "WARNING",
                "FUNDBOARD_LOG_LEVEL": "WARNING",
            },
        )
        self.env = dict(self.db.env)

    # --- processes -----------------------------------------------------------------------

    def _spawn(self, args: list[str], name: str, env: dict | None = None) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 (child keeps it)
        process = subprocess.Popen(
            args, env=env or self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _start_sandbox(self) -> str:
        from fundboard.sandbox.server import free_port

        port = free_port()
        self._spawn(
            [PY, "-m", "fundboard.sandbox", "--port", str(port)], "sandbox", env=dict(os.environ)
        )
        url = f"http://127.0.0.1:{port}"
        _wait(lambda: _answers(url + "/_sandbox/imraising/state"), 20, "the sandbox")
        return url

    def start_web(self, server: str, name: str = "") -> tuple[subprocess.Popen, int]:
        """A pure web process (no ingestion) on its own port; returns (process, port)."""
        from fundboard.sandbox.server import free_port

        port = free_port()
        args = [PY, str(REPO / "manage.py"), "serve", "--no-ingest", "--server", server]
        process = self._spawn([*args, "--port", str(port)], name or f"web-{server}-{port}")
        url = f"http://127.0.0.1:{port}/api/v1/campaigns/{self.slug}"
        _wait(lambda: process.poll() is None and _answers(url), 40, f"{server} on {port}")
        return process, port

    def start_runstreams(self, name: str = "runstreams") -> subprocess.Popen:
        process = self._spawn([PY, str(REPO / "manage.py"), "runstreams"], name)
        _wait(lambda: self.sandbox_streams() >= 1, 40, "the stream runner to connect")
        return process

    def sandbox_streams(self) -> int:
        reply = httpx.get(self.sandbox_url + "/_sandbox/imraising/state", timeout=5).json()
        return reply["open_streams"]

    def post_donations(self, specs: list[dict], client: httpx.Client | None = None) -> None:
        """Hand donations to the sandbox, which stores them and streams them out at once."""
        poster = client or httpx
        poster.post(
            self.sandbox_url + "/_sandbox/imraising/donations", json=specs, timeout=30
        ).raise_for_status()

    # --- reading the database directly (no Django in the driver) ---------------------------

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def stored_donations(self, source_name: str) -> tuple[int, str]:
        """(rows, sum of amounts) counted for a source: what totals are derived from."""
        rows = self.sql(
            "SELECT count(*), coalesce(sum(d.amount), 0) FROM ingest_donation d "
            "JOIN campaigns_source s ON s.id = d.source_id "
            "WHERE s.name = %s AND NOT d.removed AND NOT d.is_test",
            (source_name,),
        )
        count, total = rows[0]
        return count, f"{total:.2f}"

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.db.close()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
