"""The read path under load: JSON snapshot (200 and 304) and a widget page beside /healthz.

    # one `serve --no-ingest` on PostgreSQL (started here, seeded with N donations):
    FUNDBOARD_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/bench_read_path.py
    # a running stack instead (e.g. the compose stack through nginx's micro-cache):
    .venv/bin/python bench/bench_read_path.py --url http://127.0.0.1:8080 --slug demo

A real HTTP load client: `--processes` processes with `--threads` threads each, every thread
one keep-alive connection (http.client) sending the same GET back to back for `--seconds`
(after a short warm-up). Phases run one after another against the same server process:
/healthz (the framework's floor: a view that does nothing), the JSON snapshot (200), the
same with a query string no cache has seen (through nginx: what the origin does without the
micro-cache), the JSON with the current ETag as If-None-Match (304), a widget page, and
/healthz again.
Printed per phase: requests/s, p50/p99 latency, errors, and throughput relative to /healthz
(the mean of its two runs). The machine's load average is printed before and after: the
figures are only comparable with the load they were measured under.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CAMPAIGN = """
[[campaign]]
slug = "bench"
name = "Bench Drive"
goal = "100000"
currency = "USD"
milestones = ["25000", "50000", "75000"]
  [[campaign.source]]
  kind = "manual"
  name = "Bench feed"
"""
SEED = """
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fundboard.campaigns.models import Source
from fundboard.ingest.services import ingest_donations
from fundboard.providers.records import DonationRecord
source = Source.objects.get(name="Bench feed")
start = datetime.now(UTC) - timedelta(hours=2)
records = [
    DonationRecord(f"b{{i}}", f"Donor {{i % 150}}", Decimal(5 + i % 95), "USD",
                   start + timedelta(seconds=i), message="Good luck!" if i % 3 else "")
    for i in range({donations})
]
for chunk in range(0, len(records), 500):
    ingest_donations(source.pk, records[chunk:chunk + 500])
"""


def _thread_load(host, port, path, headers, until, warm_until, latencies, counts):
    """One keep-alive connection sending GETs back to back; latencies after the warm-up."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    sent = 0
    while True:
        started = time.perf_counter()
        if started >= until:
            break
        sent += 1
        try:
            # `{n}`: a query no cache has seen (bypasses nginx's micro-cache: the origin rate)
            target = path.replace("{n}", f"{threading.get_ident()}-{sent}")
            conn.request("GET", target, headers=headers)
            response = conn.getresponse()
            response.read()
            ok = response.status in (200, 304)
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=10)
        elapsed = time.perf_counter() - started
        if started >= warm_until:
            if ok:
                latencies.append(elapsed)
            else:
                counts["errors"] += 1
    conn.close()


def _process_load(args) -> tuple[list[float], int]:
    host, port, path, headers, threads, seconds, warmup = args
    start = time.perf_counter()
    warm_until, until = start + warmup, start + warmup + seconds
    latencies: list[float] = []
    counts = {"errors": 0}
    workers = [
        threading.Thread(
            target=_thread_load,
            args=(host, port, path, headers, until, warm_until, latencies, counts),
        )
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return latencies, counts["errors"]


def run_phase(pool, base: str, path: str, headers: dict, opts) -> dict:
    parts = urlsplit(base)
    job = (parts.hostname, parts.port or 80, path, headers, opts.threads, opts.seconds, 1.0)
    results = pool.map(_process_load, [job] * opts.processes)
    latencies = sorted(lat for lats, _ in results for lat in lats)
    errors = sum(err for _, err in results)
    if not latencies:
        return {"rate": 0.0, "p50": 0.0, "p99": 0.0, "errors": errors, "count": 0}
    return {
        "count": len(latencies),
        "rate": len(latencies) / opts.seconds,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000,
        "errors": errors,
    }


def _get(base: str, path: str) -> http.client.HTTPResponse:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


def bench(base: str, slug: str, opts) -> None:
    json_path = f"/api/v1/campaigns/{slug}"
    widget_path = f"/c/{slug}/thermometer"
    first = _get(base, json_path)
    etag = first.getheader("ETag")
    print(
        f"JSON: {len(first.body):,} bytes, ETag {etag}, Cache-Control "
        f"{first.getheader('Cache-Control')!r}, X-Cache-Status {first.getheader('X-Cache-Status')}"
    )
    page = _get(base, widget_path)
    print(f"widget: {len(page.body):,} bytes, Cache-Control {page.getheader('Cache-Control')!r}")
    phases = [
        ("/healthz", "/healthz", {}),
        ("JSON snapshot (200)", json_path, {}),
        ("JSON snapshot, a new URL each time (never cached)", json_path + "?n={n}", {}),
        ("JSON snapshot, If-None-Match (304)", json_path, {"If-None-Match": etag or '"none"'}),
        ("widget page (thermometer)", widget_path, {}),
        ("/healthz (again)", "/healthz", {}),
    ]
    print(f"\nload average before: {os.getloadavg()}  (cores: {os.cpu_count()})")
    print(
        f"{opts.processes} processes x {opts.threads} keep-alive connections, "
        f"{opts.seconds:g} s per phase after 1 s warm-up\n"
    )
    with multiprocessing.get_context("fork").Pool(opts.processes) as pool:
        rows = [
            (name, run_phase(pool, base, path, headers, opts)) for name, path, headers in phases
        ]
    floor = statistics.mean([rows[0][1]["rate"], rows[-1][1]["rate"]]) or 1.0
    print("| request | req/s | p50 ms | p99 ms | errors | vs /healthz |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows:
        print(
            f"| {name} | {r['rate']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
            f"{r['errors']} | {r['rate'] / floor:.2f}x |"
        )
    print(f"\nload average after: {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="bench a running server instead of starting one")
    parser.add_argument("--slug", default="bench")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--donations", type=int, default=2000)
    opts = parser.parse_args()
    if opts.url:
        bench(opts.url.rstrip("/"), opts.slug, opts)
        return

    from tests.support import FundboardServer, postgres_url

    if not postgres_url():
        print("note: FUNDBOARD_TEST_POSTGRES_URL unset, the server runs on SQLite")
    server = FundboardServer(Path(tempfile.mkdtemp()), CAMPAIGN, ingest=False)
    server.shell(SEED.format(donations=opts.donations))
    server.start()
    try:
        print(
            f"serve --no-ingest on {'PostgreSQL' if postgres_url() else 'SQLite'}, "
            f"{opts.donations} donations, total {server.total('bench')}"
        )
        bench(server.url, "bench", opts)
    finally:
        server.close()


if __name__ == "__main__":
    main()
