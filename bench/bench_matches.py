"""Snapshot build time with sponsor match windows and converted donations (issue 15).

    .venv/bin/python bench/bench_matches.py                      # SQLite in a temp dir
    .venv/bin/python bench/bench_matches.py --donations 20000 --postgres postgresql://postgres@127.0.0.1:5432/postgres

Stores N donations (a third in EUR, converted at a campaign rate) into three campaigns: no
match window, one window over every donation, and three overlapping windows. Each snapshot
derives the matched amounts from the stored rows (never from memory), so its cost grows with
the donations inside the windows: printed, the median and worst of 20 build_snapshot calls
per campaign and the matched totals (which must be the same in every run). A fresh database
every run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import drop_database, scratch_database  # noqa: E402

START = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)


def records(n: int, prefix: str):
    from fundboard.providers.records import DonationRecord

    return [
        DonationRecord(
            upstream_id=f"{prefix}{i}",
            display_name=f"Donor {i % 500}",
            amount=Decimal(5 + i % 200),
            currency="EUR" if i % 3 == 0 else "USD",
            donated_at=START + timedelta(seconds=i),
        )
        for i in range(n)
    ]


def windows(campaign, count: int) -> None:
    from fundboard.matching.models import MatchWindow

    for k in range(count):
        MatchWindow.objects.create(
            campaign=campaign, sponsor=f"Sponsor {k}", starts_at=START - timedelta(hours=1),
            ends_at=START + timedelta(days=2), cap=Decimal("100000"), precedence=k,
        )  # fmt: skip


def timed_builds(slug: str, rounds: int = 20) -> tuple[float, float, dict]:
    from fundboard.live.snapshot import build_snapshot

    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        snapshot = build_snapshot(slug)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), max(times), snapshot


def run(args) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from fundboard.campaigns.models import Campaign, Source
    from fundboard.fx.services import set_rate
    from fundboard.ingest.services import ingest_donations

    n = args.donations
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; {n} donations per campaign")
    for slug, count in (("none", 0), ("one", 1), ("three", 3)):
        campaign = Campaign.objects.create(slug=slug, name=slug, goal=Decimal("1000000"))
        set_rate(campaign, "EUR", Decimal("1.0842"))
        windows(campaign, count)
        source = Source.objects.create(campaign=campaign, kind="imraising", name="Feed")
        sent = records(n, f"{slug}-")
        for i in range(0, n, 500):
            ingest_donations(source.pk, sent[i : i + 500])
        median, worst, snapshot = timed_builds(slug)
        matched = [m["matched"] for m in snapshot["matches"]]
        print(
            f"windows={count}: build_snapshot median {median:6.1f} ms, worst {worst:6.1f} ms; "
            f"total {snapshot['total']}, matched {matched}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--donations", type=int, default=10000)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fundboard.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    name = scratch_database(args.postgres, "bench-matches")
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(args.postgres, name)


if __name__ == "__main__":
    main()
