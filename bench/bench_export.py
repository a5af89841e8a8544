"""CSV export memory vs row count: the streamed export stays flat, a buffered one grows.

    .venv/bin/python bench/bench_export.py                 # 10k, 25k, 50k, 100k rows
    .venv/bin/python bench/bench_export.py --rows 10000 100000 --no-server

Two measurements on a throwaway SQLite database:

1. In process, with tracemalloc: the peak Python allocation while consuming the export
   generator exactly as the ASGI server does (`csv_chunks`, async, batches of BATCH_SIZE),
   beside a naive export that loads every row and builds the whole CSV first.
2. Through a real `manage.py serve` (daphne): an organiser downloads
   /dashboard/<slug>/export/?download=1 while this script samples the server's RSS
   (/proc/<pid>/status VmRSS) every 20 ms; reported as the growth over the idle RSS.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

INSERT = """
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fundboard.campaigns.models import Campaign, Source
from fundboard.ingest.models import Donation
campaign, _ = Campaign.objects.get_or_create(slug="bench", defaults={{"name": "Bench", "goal": 1}})
source, _ = Source.objects.get_or_create(campaign=campaign, kind="manual", name="Manual")
start = datetime(2026, 1, 1, tzinfo=UTC)
have = Donation.objects.filter(campaign=campaign).count()
rows = (
    Donation(
        campaign=campaign, source=source, upstream_id=f"d{{i}}", display_name=f"Donor {{i}}",
        amount=Decimal("5.00") + i % 100, currency="USD", donated_at=start + timedelta(seconds=i),
        message="Thanks for everything you do, keep it up! " * 2, name_hidden=i % 17 == 0,
        removed=i % 23 == 0,
    )
    for i in range(have, {rows})
)
while True:
    batch = [row for _, row in zip(range(5000), rows)]
    if not batch:
        break
    Donation.objects.bulk_create(batch)
"""


def _fill(rows: int) -> None:
    from django.db import connection

    exec(INSERT.format(rows=rows), {})  # noqa: S102 (our own fixed code, shared with the server run)
    connection.close()


def measure_in_process(row_counts: list[int]) -> list[tuple[int, int, int, float]]:
    from asgiref.sync import async_to_sync

    from fundboard.campaigns.models import Campaign
    from fundboard.dashboard.export import _encode, _row, csv_chunks
    from fundboard.ingest.models import Donation

    results = []
    for rows in row_counts:
        _fill(rows)
        campaign = Campaign.objects.get(slug="bench")

        async def consume(campaign=campaign) -> int:
            size = 0
            async for chunk in csv_chunks(campaign):
                size += len(chunk)
            return size

        tracemalloc.start()
        began = time.perf_counter()
        async_to_sync(consume)()
        elapsed = time.perf_counter() - began
        streamed_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

        from fundboard.dashboard.export import _FIELDS

        tracemalloc.start()
        everything = list(Donation.objects.filter(campaign=campaign).values_list(*_FIELDS))
        text = _encode([_row(values, campaign) for values in everything])
        buffered_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del everything, text
        results.append((rows, streamed_peak, buffered_peak, elapsed))
    return results


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def measure_server(row_counts: list[int], tmp: Path) -> list[tuple[int, int, int, float]]:
    from tests.dashboard_support import StaffSession, create_user
    from tests.support import FundboardServer

    server = FundboardServer(tmp, ingest=False, use_postgres=False)
    create_user(server, "olive", "Organisers")
    results = []
    try:
        for rows in row_counts:
            server.stop()
            server.shell(INSERT.format(rows=rows))
            server.start()
            staff = StaffSession(server, "olive")
            pid = server.process.pid
            time.sleep(0.5)
            idle = _rss_kib(pid)
            peak, stop = [idle], threading.Event()

            def sample(pid=pid, peak=peak, stop=stop) -> None:
                while not stop.is_set():
                    peak[0] = max(peak[0], _rss_kib(pid))
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample)
            sampler.start()
            began = time.perf_counter()
            lines = 0
            with staff.client.stream("GET", "/dashboard/bench/export/?download=1") as response:
                for chunk in response.iter_bytes():
                    lines += chunk.count(b"\n")
            elapsed = time.perf_counter() - began
            stop.set()
            sampler.join()
            staff.close()
            assert lines == rows + 1, (lines, rows)  # the header and every row arrived
            results.append((rows, idle, peak[0], elapsed))
    finally:
        server.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 25_000, 50_000, 100_000])
    parser.add_argument("--no-server", action="store_true", help="only the in-process part")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fb-bench-export-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="fundboard.settings",
        FUNDBOARD_SQLITE_PATH=str(tmp / "inprocess.sqlite3"),
        FUNDBOARD_DATA_DIR=str(tmp),
        DATABASE_URL="",
        LOG_LEVEL="WARNING",
    )
    os.environ.pop("REDIS_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)

    print("In process (tracemalloc peak, MiB)")
    print(f"{'rows':>8} {'streamed':>10} {'buffered':>10} {'stream s':>9}")
    for rows, streamed, buffered, elapsed in measure_in_process(sorted(args.rows)):
        print(f"{rows:>8} {streamed / 2**20:>10.2f} {buffered / 2**20:>10.2f} {elapsed:>9.2f}")

    if not args.no_server:
        server_dir = tmp / "server"
        server_dir.mkdir()
        print("\nThrough manage.py serve (daphne), server RSS while downloading (MiB)")
        print(f"{'rows':>8} {'idle':>8} {'peak':>8} {'growth':>8} {'seconds':>8}")
        for rows, idle, peak, elapsed in measure_server(sorted(args.rows), server_dir):
            growth = (peak - idle) / 1024
            print(
                f"{rows:>8} {idle / 1024:>8.1f} {peak / 1024:>8.1f} {growth:>8.1f} {elapsed:>8.2f}"
            )


if __name__ == "__main__":
    main()
