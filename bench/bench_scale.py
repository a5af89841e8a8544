"""Thousands of viewers on one campaign over two web processes, through a burst of donations.

    .venv/bin/python bench/bench_scale.py --sockets 5000 --rate 200 --seconds 30
    .venv/bin/python bench/bench_scale.py --sockets 5000 --event-sockets 5000   # all alerts

For each ASGI server (uvicorn, daphne): a fresh PostgreSQL database, two web processes
(`manage.py serve --no-ingest`) on the Redis channel layer, and the viewers spread evenly over
both from several client processes (scale_clients.py). `--event-sockets` of them (default
50: the overlays in OBS and the alert screens) follow every event, as the alerts widget does;
the rest follow snapshots only (`?events=0`), as the thermometer, leaderboard, top-donors and
ticker widgets do: the thousands of website visitors. A writer process then ingests `rate`
donations a second for `seconds` through the real ingest path (ingest_donations in batches
of rate/20 every 50 ms, as a stream burst would arrive; each commit broadcasts through Redis).
Each donation carries the moment it was made upstream (`t0=` in its message), so every
viewer times each `donation` event from upstream to its socket (a snapshot-only viewer: to
the first snapshot that shows it), and notes when it first sees
a snapshot with the exact final total. By default one socket in ten is such a full
`websockets` client; the other nine are light sinks that only walk frame headers (answering
pings) and search the bytes for the final total, so the viewers' own CPU does not swamp the
servers on this 2-core machine (--measure-every 1 makes every socket a full client).

Printed: events delivered, p50/p99/max delay upstream -> socket, how many sockets ended on the
exact final total, and how far behind the last donation they were when they got there (p50,
p99; target <= 1 s). The client processes share the 2 cores with the servers, so at high
message rates the viewers' own work is part of what is measured.
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
from bench_ingest import amount_for, expected_sum  # noqa: E402
from common import wait_until_ready  # noqa: E402
from stack_clients import PY, REPO, Stack, percentile  # noqa: E402

TICKS_PER_SECOND = 20


# --- the writer process --------------------------------------------------------------------


def writer(args) -> None:
    import django

    django.setup()
    from django.utils import timezone

    from fundboard.campaigns.models import Source
    from fundboard.ingest.services import ingest_donations
    from fundboard.live.broadcast import broadcaster
    from fundboard.providers.records import DonationRecord

    source_id = Source.objects.get(name="Bench feed").pk
    total = args.rate * args.seconds
    per_tick = max(1, args.rate // TICKS_PER_SECOND)
    start = time.monotonic()
    index, lag_max, last_made = 0, 0.0, 0.0
    while index < total:
        due = start + index / args.rate
        lag_max = max(lag_max, time.monotonic() - due)
        time.sleep(max(0.0, due - time.monotonic()))
        records = []
        for i in range(index, min(total, index + per_tick)):
            last_made = time.time()
            records.append(
                DonationRecord(
                    f"d{i}", f"Donor {i % 300}", amount_for(i), "USD", timezone.now(),
                    message=f"t0={last_made:.6f}",
                )
            )  # fmt: skip
        ingest_donations(source_id, records)
        index += len(records)
    broadcaster.flush(timeout=30)
    elapsed = time.monotonic() - start
    print(json.dumps({"elapsed": elapsed, "last_made": last_made, "lag_max": lag_max}), flush=True)


# --- the driver ------------------------------------------------------------------------------


def start_viewers(urls: list[str], origin: str, final: str, timeout: float, args):
    per = _spread(args.sockets, args.client_procs)
    alerting = _spread(min(args.event_sockets, args.sockets), args.client_procs)
    clients = [
        subprocess.Popen(
            [PY, str(REPO / "bench/scale_clients.py"), *urls, "--origin", origin,
             "--sockets", str(n), "--event-sockets", str(e), "--final-total", final,
             "--timeout", str(timeout), "--measure-every", str(args.measure_every),
             "--ramp", str(args.ramp)],
            stdout=subprocess.PIPE, text=True,
        )
        for n, e in zip(per, alerting, strict=True) if n
    ]  # fmt: skip
    wait_until_ready(clients)
    return clients


def _spread(count: int, parts: int) -> list[int]:
    return [count // parts + (1 if i < count % parts else 0) for i in range(parts)]


def timing_event_sockets(args) -> int:
    """How many event-following sockets are full clients (those count the events)."""
    alerting = _spread(min(args.event_sockets, args.sockets), args.client_procs)
    return sum(len(range(0, e, args.measure_every or 1)) for e in alerting)


def histogram_percentile(histogram: dict[int, int], q: float) -> int:
    count = sum(histogram.values())
    target, seen = q * count, 0
    for ms in sorted(histogram):
        seen += histogram[ms]
        if seen >= target:
            return ms
    return -1


def run_server(server: str, args) -> dict:
    donations = args.rate * args.seconds
    final = expected_sum(range(donations))
    with Stack() as stack:
        webs = [stack.start_web(server, f"{server}-{n}") for n in (1, 2)]
        urls = [f"ws://127.0.0.1:{port}/ws/campaigns/{stack.slug}" for _, port in webs]
        origin = f"http://127.0.0.1:{webs[0][1]}"
        started = time.monotonic()
        viewers = start_viewers(urls, origin, final, args.seconds + args.grace, args)
        connect_seconds = time.monotonic() - started
        rss_before = [rss_mb(process.pid) for process, _ in webs]
        write = subprocess.run(
            [PY, __file__, "--writer", "--rate", str(args.rate), "--seconds", str(args.seconds)],
            env=stack.env, capture_output=True, text=True, timeout=args.seconds * 10 + 120,
        )  # fmt: skip
        if write.returncode != 0:
            raise RuntimeError(f"the writer failed:\n{write.stderr[-3000:]}")
        written = json.loads(write.stdout.strip().splitlines()[-1])
        histogram: dict[int, int] = {}
        first_shown: dict[int, int] = {}
        events, measured, finished, finished_at, retries, drops = 0, 0, 0, [], 0, 0
        for viewer in viewers:
            out, _ = viewer.communicate(timeout=args.seconds + args.grace + 60)
            result = json.loads(out.strip().splitlines()[-1])
            for ms, n in result["histogram"].items():
                histogram[int(ms)] = histogram.get(int(ms), 0) + n
            for ms, n in result["shown"].items():
                first_shown[int(ms)] = first_shown.get(int(ms), 0) + n
            events += result["events"]
            measured += result["measured"]
            retries += result["retries"]
            drops += result["drops"]
            finished += result["finished"]
            finished_at += result["finished_at"]
        count, stored = stack.stored_donations("Bench feed")
        shown = {port: _total(port, stack.slug) for _, port in webs}
    behind = [t - written["last_made"] for t in finished_at]
    return {
        "server": server,
        "connect_seconds": connect_seconds,
        "rss_before": rss_before,
        "writer": written,
        "events": events,
        "measured": measured,
        "expected_events": timing_event_sockets(args) * donations,
        "shown_p50": histogram_percentile(first_shown, 0.50),
        "shown_p99": histogram_percentile(first_shown, 0.99),
        "shown_count": sum(first_shown.values()),
        "retries": retries,
        "drops": drops,
        "p50": histogram_percentile(histogram, 0.50),
        "p99": histogram_percentile(histogram, 0.99),
        "max": max(histogram) if histogram else -1,
        "finished": finished,
        "behind_p50": percentile(behind, 0.50),
        "behind_p99": percentile(behind, 0.99),
        "exact_db": count == donations and stored == final,
        "exact_json": all(total == final for total in shown.values()),
        "final": final,
    }


def _total(port: int, slug: str) -> str:
    import httpx

    return httpx.get(f"http://127.0.0.1:{port}/api/v1/campaigns/{slug}", timeout=10).json()["total"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def report(row: dict, args) -> None:
    w = row["writer"]
    print(
        f"{row['server']:<8} {args.sockets} sockets over 2 processes (open in "
        f"{row['connect_seconds']:.1f} s, {row['retries']} handshakes retried), "
        f"{args.rate}/s for {args.seconds} s "
        f"(writer took {w['elapsed']:.1f} s, max schedule lag {w['lag_max'] * 1000:.0f} ms)\n"
        f"         {min(args.event_sockets, args.sockets)} sockets follow every event: "
        f"events delivered to the timing ones {row['events']}/{row['expected_events']}; "
        f"delay upstream->socket p50 {row['p50']} ms, p99 {row['p99']} ms, "
        f"max {row['max']} ms\n"
        f"         the others follow snapshots only: {row['shown_count']} donations timed "
        f"to the first snapshot showing them, p50 {row['shown_p50']} ms, "
        f"p99 {row['shown_p99']} ms ({row['measured']} timing sockets in all)\n"
        f"         sockets on the exact final total {row['final']}: "
        f"{row['finished']}/{args.sockets} ({row['drops']} dropped and reconnected); "
        f"behind the last donation when they got there: "
        f"p50 {row['behind_p50'] * 1000:.0f} ms, p99 {row['behind_p99'] * 1000:.0f} ms "
        f"(target <= 1000 ms); stored total exact: {row['exact_db']}, JSON on both "
        f"processes exact: {row['exact_json']}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--rate", type=int, default=200, help="donations per second")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--servers", nargs="+", default=["uvicorn", "daphne"])
    parser.add_argument("--client-procs", type=int, default=4)
    parser.add_argument(
        "--event-sockets",
        type=int,
        default=50,
        help="sockets that follow every event (alerts); the rest take snapshots only",
    )
    parser.add_argument(
        "--measure-every",
        type=int,
        default=10,
        help="every K-th socket is a full client timing events, the rest light sinks (0: all)",
    )
    parser.add_argument(
        "--ramp", type=float, default=250, help="new sockets per second per client process"
    )
    parser.add_argument("--grace", type=float, default=60, help="seconds viewers wait after")
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        writer(args)
        return
    print(f"final total expected: {expected_sum(range(args.rate * args.seconds))} "
          f"({Decimal(args.rate * args.seconds)} donations)", flush=True)  # fmt: skip
    for server in args.servers:
        try:
            report(run_server(server, args), args)
        except Exception as failure:  # noqa: BLE001 - one server failing is itself a result
            print(f"{server:<8} FAILED: {failure!r}"[:600], flush=True)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fundboard.settings")
    main()
