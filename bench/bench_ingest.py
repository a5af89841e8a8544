"""Ingest throughput on PostgreSQL, with exact totals.

    .venv/bin/python bench/bench_ingest.py --donations 20000 --batch 50 --writers 1 2
    .venv/bin/python bench/bench_ingest.py --donations 5000 --stream

Service path: writer processes call fundboard.ingest.services.ingest_donations with batches
(what a stream burst or a backfill page gives), each batch one transaction with its
after-commit broadcast on the Redis channel layer, as in production. One batch in ten is sent
twice (the overlap a backfill gives after a reconnect): idempotent ingest must store it once.
Stream path (--stream): the sandbox process streams the donations over SSE to a real
`manage.py runstreams` process (one transaction per event, as the runner does), timed from the
first donation handed to the sandbox to the last one stored.
Each run uses a fresh PostgreSQL database; the final campaign total from the snapshot code and
the stored rows must equal the sum of what was sent.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack_clients import PY, Stack  # noqa: E402


def amount_for(index: int) -> Decimal:
    """Deterministic, varied amounts (1.01 .. 100.00) so a lost or doubled row shows."""
    return Decimal(101 + (index * 7919) % 9900) / 100


def expected_sum(indices) -> str:
    return f"{sum((amount_for(i) for i in indices), Decimal('0')):.2f}"


# --- the writer process ------------------------------------------------------------------------


def writer(args) -> None:
    import django

    django.setup()
    from django.utils import timezone

    from fundboard.campaigns.models import Source
    from fundboard.ingest.services import ingest_donations
    from fundboard.live.broadcast import broadcaster
    from fundboard.providers.records import DonationRecord

    source_id = Source.objects.get(name="Bench feed").pk
    indices = range(args.first, args.first + args.count)
    batches = [indices[i : i + args.batch] for i in range(0, len(indices), args.batch)]
    now = timezone.now()
    sent = 0
    started = time.perf_counter()
    for number, batch in enumerate(batches):
        records = [
            DonationRecord(f"d{i}", f"Donor {i % 500}", amount_for(i), "USD", now) for i in batch
        ]
        ingest_donations(source_id, records)
        sent += len(records)
        if number % 10 == 9:  # the overlap of a backfill: the same batch again
            ingest_donations(source_id, records)
            sent += len(records)
    broadcaster.flush(timeout=30)
    elapsed = time.perf_counter() - started
    print(json.dumps({"elapsed": elapsed, "records": sent}), flush=True)


# --- the driver ----------------------------------------------------------------------------------


def run_service(stack: Stack, donations: int, batch: int, writers: int) -> dict:
    per = [donations // writers + (1 if i < donations % writers else 0) for i in range(writers)]
    firsts = [sum(per[:i]) for i in range(writers)]
    procs = [
        subprocess.Popen(
            [PY, __file__, "--writer", "--first", str(first), "--count", str(count),
             "--batch", str(batch)],
            env=stack.env, stdout=subprocess.PIPE, text=True,
        )
        for first, count in zip(firsts, per, strict=True)
    ]  # fmt: skip
    started = time.perf_counter()
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, "a writer failed"
        results.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - started
    slowest = max(r["elapsed"] for r in results)
    records = sum(r["records"] for r in results)
    return {"wall": wall, "ingest_seconds": slowest, "records": records}


def run_stream(stack: Stack, donations: int, post_batch: int) -> dict:
    import httpx

    stack.start_runstreams()
    specs = [
        {"_id": f"s{i}", "nickname": f"Donor {i % 500}", "amount": f"{amount_for(i):.2f}"}
        for i in range(donations)
    ]
    started = time.perf_counter()
    with httpx.Client() as client:
        for i in range(0, donations, post_batch):
            stack.post_donations(specs[i : i + post_batch], client)
    posted = time.perf_counter() - started
    deadline = time.monotonic() + 600
    while stack.stored_donations("Bench stream")[0] < donations:
        if time.monotonic() > deadline:
            raise RuntimeError("the stream runner did not store every donation in time")
        time.sleep(0.05)
    return {"ingest_seconds": time.perf_counter() - started, "posted": posted}


def snapshot_total(stack: Stack) -> tuple[str, int]:
    code = (
        "from fundboard.live.snapshot import build_snapshot;"
        f"s = build_snapshot('{stack.slug}'); print('TOTAL', s['total'], s['donation_count'])"
    )
    line = [x for x in stack.db.shell(code).splitlines() if x.startswith("TOTAL ")][-1]
    _, total, count = line.split()
    return total, int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--donations", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=50, help="records per ingest call")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--stream", action="store_true", help="through sandbox SSE + runstreams")
    parser.add_argument("--post-batch", type=int, default=100)
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        writer(args)
        return
    want = expected_sum(range(args.donations))
    rows = [("stream", 1)] if args.stream else [("service", w) for w in args.writers]
    for path, writers in rows:
        with Stack(sandbox=path == "stream") as stack:
            if path == "stream":
                result = run_stream(stack, args.donations, args.post_batch)
                label = "sandbox SSE -> runstreams -> ingest (1 event/txn)"
            else:
                result = run_service(stack, args.donations, args.batch, writers)
                label = f"ingest_donations, {writers} writer(s), batch {args.batch}"
            source = "Bench stream" if path == "stream" else "Bench feed"
            count, stored = stack.stored_donations(source)
            total, shown = snapshot_total(stack)
            exact = count == args.donations and stored == want and total == want
            rate = args.donations / result["ingest_seconds"]
            extra = f" ({result['records']} records incl. replays)" if "records" in result else ""
            print(
                f"{label:<52} {args.donations} donations{extra} in "
                f"{result['ingest_seconds']:6.2f} s = {rate:7.0f} donations/s; "
                f"rows {count}, total {total} (want {want}, count shown {shown}) "
                f"exact={exact}",
                flush=True,
            )


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fundboard.settings")
    main()
