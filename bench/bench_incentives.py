"""Marathon incentives: snapshot size and ingest rate with incentives on.

    .venv/bin/python bench/bench_incentives.py                      # SQLite in a temp dir
    .venv/bin/python bench/bench_incentives.py --postgres postgresql://postgres@127.0.0.1:5432/postgres

Builds a campaign with 50 bid wars x 10 options (each option with two tags), then ingests
the same donations through fundboard.ingest.services.ingest_donations twice: into a campaign
without incentives and into the marathon campaign (a third of the messages carry an exact tag,
a tenth a misspelt one, the rest plain text). Prints donations/s for both (one donation per
call, as the stream runner does, and batches of 50, as a backfill does), the allocations and
queue made (which must match what was sent), and the snapshot's JSON size. A fresh database
every run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import drop_database, scratch_database  # noqa: E402

INCENTIVES, OPTIONS = 50, 10


def marathon_config() -> dict:
    incentives = []
    for i in range(INCENTIVES):
        options = [
            {"title": f"Choice {i}-{o}", "tags": [f"pick{i}x{o}", f"alias{i}x{o}"]}
            for o in range(OPTIONS)
        ]
        incentives.append(
            {
                "key": f"war{i}",
                "kind": "bidwar",
                "title": f"Bid war number {i}",
                "winners": 3,
                "option": options,
            }  # fmt: skip
        )
    return {
        "campaign": [
            {"slug": "plain", "name": "No incentives", "goal": "100000"},
            {"slug": "marathon", "name": "Marathon", "goal": "100000", "incentive": incentives},
        ]
    }


def message_for(index: int) -> str:
    war, option = index % 9, index % OPTIONS
    if index % 3 == 0:
        return f"Good luck! #pick{war}x{option}"
    if index % 10 == 1:
        return f"#pikc{war}x{option} please"  # misspelt: queued
    return "Love the run, greetings from the chat and keep going everyone"


def records(count: int, prefix: str):
    from fundboard.providers.records import DonationRecord

    now = datetime.now(UTC)
    return [
        DonationRecord(
            f"{prefix}{i}",
            f"Donor {i % 97}",
            Decimal(101 + (i * 7919) % 9900) / 100,
            "USD",
            now,
            message_for(i),
        )  # fmt: skip
        for i in range(count)
    ]


def ingest_rate(source_id: int, count: int, batch: int, prefix: str) -> float:
    from fundboard.ingest.services import ingest_donations

    rows = records(count, prefix)
    started = time.perf_counter()
    for start in range(0, count, batch):
        ingest_donations(source_id, rows[start : start + batch])
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--donations", type=int, default=3000)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fundboard.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    name = scratch_database(args.postgres, "bench-incentives")
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(args.postgres, name)


def run(args) -> None:
    import django

    django.setup()
    import logging

    from django.core.management import call_command

    logging.getLogger("fundboard").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    from fundboard.campaigns.loader import load_campaigns
    from fundboard.campaigns.models import Campaign, Source
    from fundboard.incentives.models import Allocation, Review
    from fundboard.live.snapshot import build_snapshot

    load_campaigns(marathon_config())
    sources = {
        slug: Source.objects.create(
            campaign=Campaign.objects.get(slug=slug), kind="imraising", name=f"Feed {slug}"
        )  # fmt: skip
        for slug in ("plain", "marathon")
    }
    n = args.donations
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; {n} donations per run")
    for batch in (1, 50):
        for slug, source in sources.items():
            rate = ingest_rate(source.pk, n, batch, f"{slug}-{batch}-")
            print(f"ingest {slug:9s} batch={batch:3d}: {rate:8.0f} donations/s")
    marathon = Campaign.objects.get(slug="marathon")
    sent = records(n, "x")
    tagged = sum(1 for r in sent if "#pick" in r.message) * 2  # two runs (batch 1 and 50)
    queued = sum(1 for r in sent if "#pikc" in r.message) * 2
    allocations = Allocation.objects.filter(incentive__campaign=marathon).count()
    reviews = Review.objects.filter(campaign=marathon).count()
    print(f"allocated {allocations} (sent {tagged} exact tags); queued {reviews} (sent {queued})")
    snapshot = build_snapshot(marathon)
    size = len(json.dumps(snapshot, separators=(",", ":")).encode())
    part = len(json.dumps(snapshot["incentives"], separators=(",", ":")).encode())
    options = sum(len(i["options"]) for i in snapshot["incentives"])
    print(
        f"snapshot: {size} bytes ({size / 1024:.1f} KB), of which incentives[] {part} bytes; "
        f"{len(snapshot['incentives'])} incentives, {options} options"
    )
    started = time.perf_counter()
    for _ in range(20):
        build_snapshot(marathon)
    print(f"snapshot build: {(time.perf_counter() - started) / 20 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
