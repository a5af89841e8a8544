"""What a poll costs: requests, queries and layer messages per unchanged poll, and the time
for one poll of a P2P event with 2,000 fundraisers (paged, 100 a request).

    .venv/bin/python bench/bench_polling.py                  # SQLite, in-memory layer
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/bench_polling.py --postgres   # a fresh PostgreSQL database

Everything is real: the sandbox over HTTP on loopback, the provider clients, the ingest path
and the channel layer (the in-memory one; messages are counted at the layer's group_send).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def setup_django(postgres: bool) -> str | None:
    """A fresh database for this run; returns the PostgreSQL name to drop afterwards."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fundboard.settings")
    os.environ.pop("REDIS_URL", None)
    os.environ["LOG_LEVEL"] = "WARNING"
    pg_name = None
    if postgres:
        import psycopg

        admin = os.environ["DATABASE_URL"]
        pg_name = f"fb_bench_poll_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        os.environ["DATABASE_URL"] = admin.rsplit("/", 1)[0] + "/" + pg_name
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["FUNDBOARD_SQLITE_PATH"] = str(Path(tempfile.mkdtemp()) / "bench.sqlite3")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return pg_name


class Counters:
    """Sandbox requests, SQL queries (and writes) and channel-layer messages of one call."""

    def __init__(self, sandbox_url: str):
        from channels.layers import get_channel_layer

        self.sandbox_url = sandbox_url
        self.messages = 0
        layer = get_channel_layer()
        real = layer.group_send

        async def counting(group, message):
            self.messages += 1
            await real(group, message)

        layer.group_send = counting

    def requests(self) -> int:
        import httpx

        total = 0
        for platform in ("actionnetwork", "p2p"):
            state = httpx.get(f"{self.sandbox_url}/_sandbox/{platform}/state").json()
            total += len(state["requests"])
        return total

    def measure(self, function) -> dict:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from fundboard.live.broadcast import broadcaster

        broadcaster.flush()
        time.sleep(0.15)
        requests, messages = self.requests(), self.messages
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            outcome = function()
            elapsed = time.perf_counter() - started
        broadcaster.flush()
        time.sleep(0.15)  # past the coalescing window: a late snapshot would be counted
        sql = [q["sql"].lstrip().upper() for q in queries.captured_queries]
        return {
            "result": outcome.result,
            "ms": elapsed * 1000,
            "requests": self.requests() - requests,
            "queries": len(sql),
            "writes": sum(s.startswith(("INSERT", "UPDATE", "DELETE")) for s in sql),
            "messages": self.messages - messages,
        }


def make_source(kind: str, url: str, ids: dict, key: str, slug: str):
    from fundboard.campaigns.models import Campaign, Source

    campaign = Campaign.objects.create(slug=slug, name=slug, goal=100000)
    return Source.objects.create(
        campaign=campaign, kind=kind, name=slug, base_url=url, api_key=key, provider_ids=ids
    )


def summarise(rows: list[dict]) -> dict:
    keys = ("requests", "queries", "writes", "messages")
    summary = {k: statistics.mean(r[k] for r in rows) for k in keys}
    summary["ms"] = statistics.median(r["ms"] for r in rows)
    summary["results"] = sorted({r["result"] for r in rows})
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--rounds", type=int, default=20, help="unchanged polls to average")
    parser.add_argument("--fundraisers", type=int, default=2000)
    args = parser.parse_args()
    pg_name = setup_django(args.postgres)
    import httpx

    from fundboard.runners.polling import poll_source
    from fundboard.sandbox import actionnetwork, p2p
    from fundboard.sandbox.server import SandboxServer

    try:
        with SandboxServer() as sandbox:
            url = sandbox.url
            counters = Counters(url)
            sources = {
                "Action Network, 3 pages (1 collection page)": make_source(
                    "actionnetwork", url, {"all_pages": True}, actionnetwork.API_KEY, "an"
                ),
                "P2P demo event (30 fundraisers, 5 teams, 40 gifts)": make_source(
                    "p2p", url, {"event_id": p2p.DEMO_EVENT_ID}, p2p.API_KEY, "p2p"
                ),
            }
            print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}")
            print("\n== unchanged poll (after a first poll and one settling poll)")
            for label, source in sources.items():
                poll_source(source.pk)
                poll_source(source.pk)
                rows = [
                    counters.measure(lambda s=source: poll_source(s.pk)) for _ in range(args.rounds)
                ]
                s = summarise(rows)
                print(
                    f"{label}: requests={s['requests']:.1f} queries={s['queries']:.1f} "
                    f"writes={s['writes']:.1f} layer_messages={s['messages']:.1f} "
                    f"median={s['ms']:.1f} ms results={s['results']}"
                )

            print(f"\n== P2P event with {args.fundraisers} fundraisers (limit=100 paging)")
            httpx.post(
                f"{url}/_sandbox/p2p/events",
                json={"event_id": "big", "fundraisers": args.fundraisers, "initial_raised": 50},
            ).raise_for_status()
            big = make_source("p2p", url, {"event_id": "big"}, p2p.API_KEY, "big")
            first = counters.measure(lambda: poll_source(big.pk))
            print(_line("first poll (everything new)", first))
            counters.measure(lambda: poll_source(big.pk))
            httpx.post(
                f"{url}/_sandbox/p2p/gifts",
                json={"event_id": "big", "fundraiser_id": "f-0001", "amount": "5"},
            )
            changed = counters.measure(lambda: poll_source(big.pk))
            print(_line("poll after one gift (boards re-read)", changed))
            counters.measure(lambda: poll_source(big.pk))
            unchanged = counters.measure(lambda: poll_source(big.pk))
            print(_line("unchanged poll (all 304)", unchanged))
    finally:
        if pg_name:
            from django.db import connections

            connections.close_all()
            import psycopg

            admin = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def _line(label: str, row: dict) -> str:
    return (
        f"{label}: {row['ms']:.0f} ms, requests={row['requests']} queries={row['queries']} "
        f"writes={row['writes']} layer_messages={row['messages']} result={row['result']}"
    )


if __name__ == "__main__":
    main()
