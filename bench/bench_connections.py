"""PostgreSQL connections held by one web process under a steady load of page and API reads.

    FUNDBOARD_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/bench_connections.py                 # 10,000 requests
    .venv/bin/python bench/bench_connections.py --requests 2000 --server uvicorn --pool-size 4
    .venv/bin/python bench/bench_connections.py --pool-size 0       # no pool: one per request

A real `manage.py serve --no-ingest` on its own PostgreSQL database (migrated, one campaign
with 200 donations) takes requests at a steady rate, `--concurrency` at most in flight,
mixing widget pages (`/c/<slug>/thermometer`, `leaderboard`, `top-donors`) and JSON
snapshots (`/api/v1/campaigns/<slug>`). A thread samples `pg_stat_activity` for that
database every 50 ms. Printed: connections held (max during the load, at its end, 10 s
later) beside the pool size, requests per second and latency p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg
from common import BENCH_CAMPAIGN, seed_code

from tests.support import FundboardServer, pg_connections

PATHS = (
    "/api/v1/campaigns/bench",
    "/c/bench/thermometer",
    "/api/v1/campaigns/bench",
    "/c/bench/leaderboard",
    "/c/bench/top-donors",
)


class Sampler(threading.Thread):
    """pg_stat_activity's count for one database, every 50 ms, until stopped."""

    def __init__(self, database: str):
        super().__init__(daemon=True)
        self.database = database
        self.samples: list[int] = []
        self.lost = 0  # samples that failed
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            try:
                self.samples.append(pg_connections(self.database))
            except psycopg.OperationalError:  # PostgreSQL is shared: another run's terminations
                self.lost += 1


async def load(url: str, requests: int, rate: float, concurrency: int) -> tuple[list, Counter]:
    """Request i starts at i / rate seconds (or as soon as a slot frees up)."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()  # failures by status code or exception
    slots = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def one(path: str) -> None:
            try:
                began = time.perf_counter()
                response = await client.get(path)
                latencies.append(time.perf_counter() - began)
                if response.status_code != 200:
                    errors[str(response.status_code)] += 1
            except httpx.HTTPError as error:
                errors[type(error).__name__] += 1
            finally:
                slots.release()

        tasks = []
        start = time.perf_counter()
        for i in range(requests):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await slots.acquire()
            tasks.append(asyncio.create_task(one(PATHS[i % len(PATHS)])))
        await asyncio.gather(*tasks)
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=150.0, help="requests per second")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight at most")
    parser.add_argument("--pool-size", type=int, default=10, help="FUNDBOARD_DB_POOL_SIZE")
    parser.add_argument("--server", choices=("daphne", "uvicorn"), default="daphne")
    args = parser.parse_args()
    os.environ.setdefault(
        "FUNDBOARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )

    with tempfile.TemporaryDirectory(prefix="bench-connections-") as tmp:
        server = FundboardServer(
            Path(tmp),
            BENCH_CAMPAIGN,
            use_postgres=True,
            ingest=False,
            extra_env={
                "FUNDBOARD_DB_POOL_SIZE": str(args.pool_size),
                "FUNDBOARD_ASGI_SERVER": args.server,
                "REDIS_URL": "",  # the in-memory layer: this measures the database alone
            },
        )
        try:
            server.shell(seed_code(200, donors=40, messages=False))
            server.start()
            database = server.database.pg_name
            sampler = Sampler(database)
            sampler.start()
            began = time.perf_counter()
            latencies, errors = asyncio.run(
                load(server.url, args.requests, args.rate, args.concurrency)
            )
            elapsed = time.perf_counter() - began
            at_end = pg_connections(database)
            time.sleep(10)
            after_10s = pg_connections(database)
            sampler.done.set()
            sampler.join()
        finally:
            server.close()

    quantiles = statistics.quantiles(latencies, n=100)
    print(f"server {args.server}, pool size {args.pool_size}, concurrency {args.concurrency}")
    failed = sum(errors.values())
    print(
        f"requests {args.requests} ({failed} failed {dict(errors)}) in {elapsed:.1f} s: "
        f"{args.requests / elapsed:.0f}/s (target {args.rate:.0f}/s)"
    )
    print(f"latency p50 {quantiles[49] * 1000:.1f} ms, p99 {quantiles[98] * 1000:.1f} ms")
    print(
        f"PostgreSQL connections held: max {max(sampler.samples)} during the load "
        f"({len(sampler.samples)} samples, {sampler.lost} lost), "
        f"{at_end} at its end, {after_10s} 10 s later"
    )


if __name__ == "__main__":
    main()
