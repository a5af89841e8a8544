"""Donation-to-socket latency with many viewers, beside a raw `websockets` broadcast reference.

    .venv/bin/python bench/bench_fanout.py --sockets 1000 --messages 40

Fundboard side: `manage.py serve` (daphne, the per-process hub) with the Redis channel layer;
this process ingests one donation at a time through the real ingest path (insert, commit,
after-commit broadcast through Redis) and every viewer socket times the `donation` event from
the moment before the ingest call. Reference side: a bare `websockets.broadcast` server fed
the same number of messages of the same sizes (the event, then a snapshot-sized message).
Viewers are spread over several client processes, and each is a light byte-level client
(fanout_clients.py; --full-clients for a `websockets` client per socket), so the clients are
not what is measured. Also printed: how the hub handed the messages to sockets (written at
once to idle uvicorn sockets, or queued for the socket's writer).
Needs Redis on 127.0.0.1:6379 (./dev test starts it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

from common import PY, REPO, free_port, percentile

CAMPAIGN = """
[[campaign]]
slug = "bench"
name = "Bench"
goal = "100000"
  [[campaign.source]]
  kind = "manual"
  name = "Bench feed"
"""


def start_clients(url: str, origin: str, args) -> list:
    sockets, procs = args.sockets, args.client_procs
    per = [sockets // procs + (1 if i < sockets % procs else 0) for i in range(procs)]
    clients = [
        subprocess.Popen(
            [PY, str(REPO / "bench/fanout_clients.py"), url, "--origin", origin,
             "--sockets", str(n), "--messages", str(args.messages),
             *(["--full"] if args.full_clients else [])],
            stdout=subprocess.PIPE, text=True,
        )
        for n in per
    ]  # fmt: skip
    for client in clients:
        line = client.stdout.readline().strip()
        assert line == "ready", f"client failed to connect ({line!r})"
    return clients


def collect(clients: list) -> tuple[list[float], int]:
    latencies, complete = [], 0
    for client in clients:
        out, _ = client.communicate(timeout=300)
        result = json.loads(out.strip().splitlines()[-1])
        latencies += [latency for _, latency in result["latencies"]]
        if os.environ.get("FANOUT_DEBUG"):
            by_message = {}
            for t0, latency in result["latencies"]:
                by_message.setdefault(t0, []).append(latency)
            for t0 in sorted(by_message):
                low, high = min(by_message[t0]) * 1000, max(by_message[t0]) * 1000
                print(f"  t0={t0:.3f} n={len(by_message[t0])} min={low:.1f} max={high:.1f}")
        complete += result["complete"]
    return latencies, complete


def run_reference(args, event_size: int, snapshot_size: int) -> dict:
    from websockets.sync.client import connect

    port = free_port()
    server = subprocess.Popen(
        [PY, str(REPO / "bench/raw_broadcast_server.py"), "--port", str(port)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout.readline().strip() == "listening"
        url = f"ws://127.0.0.1:{port}/"
        clients = start_clients(url, url, args)
        with connect(f"ws://127.0.0.1:{port}/publish") as publisher:
            publisher.send("warm-up".ljust(event_size, "x"))
            time.sleep(args.interval)
            for _ in range(args.messages):
                event = f"RAW t0={time.time():.6f} "
                publisher.send(event.ljust(event_size, "x"))
                publisher.send("S".ljust(snapshot_size, "x"))
                time.sleep(args.interval)
        latencies, complete = collect(clients)
    finally:
        server.terminate()
        server.wait()
    return {"latencies": latencies, "complete": complete}


def run_fundboard(args) -> dict:
    from tests.support import FundboardServer

    tmp = Path(tempfile.mkdtemp(prefix="fb-bench-"))
    prefix = f"fbbench{uuid.uuid4().hex[:8]}"
    server = FundboardServer(
        tmp, CAMPAIGN, use_postgres=False, ingest=False,
        extra_env={"REDIS_URL": args.redis, "FUNDBOARD_REDIS_PREFIX": prefix,
                   "FUNDBOARD_ASGI_SERVER": args.server},
    )  # fmt: skip
    server.start()
    try:
        # This process writes to the server's database and publishes on the same Redis.
        os.environ.update(
            {"FUNDBOARD_SQLITE_PATH": server.env["FUNDBOARD_SQLITE_PATH"], "DATABASE_URL": "",
             "REDIS_URL": args.redis, "FUNDBOARD_REDIS_PREFIX": prefix,
             "DJANGO_SETTINGS_MODULE": "fundboard.settings", "LOG_LEVEL": "WARNING"}
        )  # fmt: skip
        import django

        django.setup()
        from django.utils import timezone

        from fundboard.campaigns.models import Source
        from fundboard.ingest.services import ingest_donations
        from fundboard.live.broadcast import broadcaster
        from fundboard.live.snapshot import build_snapshot, snapshot_message
        from fundboard.providers.records import DonationRecord

        source = Source.objects.get(name="Bench feed")
        ws_url = f"ws://127.0.0.1:{server.port}/ws/campaigns/bench"
        clients = start_clients(ws_url, server.url, args)
        # Warm-up (not timed: it carries no marker): the first broadcast of a process opens
        # its Redis connection and starts the broadcaster's loop, ~60 ms once.
        warm = DonationRecord("warm", "Warm-up", Decimal("1.00"), "USD", timezone.now())
        ingest_donations(source.pk, [warm])
        broadcaster.flush()
        time.sleep(args.interval)
        ingest_seconds = []
        for index in range(args.messages):
            record = DonationRecord(
                f"b{index}", "Bench donor", Decimal("1.00"), "USD", timezone.now(),
                message=f"t0={time.time():.6f}",
            )  # fmt: skip
            started = time.perf_counter()
            ingest_donations(source.pk, [record])
            ingest_seconds.append(time.perf_counter() - started)
            time.sleep(args.interval)
        broadcaster.flush()
        latencies, complete = collect(clients)
        snapshot = build_snapshot("bench")
        event_size = len(json.dumps({"type": "donation", "data": snapshot["recent"][0]}))
        sizes = (event_size, len(snapshot_message(snapshot)))
        exact = snapshot["total"] == f"{args.messages + 1}.00"
        frames = frame_paths(server.url)
    finally:
        server.close()
    return {
        "latencies": latencies,
        "complete": complete,
        "sizes": sizes,
        "exact": exact,
        "ingest_p50_ms": statistics.median(ingest_seconds) * 1000,
        "frames": frames,
    }


def frame_paths(url: str) -> str:
    """How the hub handed messages to sockets: written at once, or queued for the writer."""
    import httpx

    text = httpx.get(f"{url}/metrics", timeout=10).text
    found = re.findall(r'fundboard_frames_sent_total\{path="(\w+)"\} (\S+)', text)
    return ", ".join(f"{path} {float(n):.0f}" for path, n in found)


def summary(name: str, result: dict, expected: int) -> dict:
    values = result["latencies"]
    row = {
        "name": name,
        "received": f"{len(values)}/{expected}",
        "p50_ms": percentile(values, 0.50) * 1000 if values else float("nan"),
        "p95_ms": percentile(values, 0.95) * 1000 if values else float("nan"),
        "p99_ms": percentile(values, 0.99) * 1000 if values else float("nan"),
        "mean_ms": statistics.fmean(values) * 1000 if values else float("nan"),
    }
    print(
        f"{name:<28} received {row['received']:>12}  p50 {row['p50_ms']:7.1f} ms  "
        f"p95 {row['p95_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between donations")
    parser.add_argument("--client-procs", type=int, default=4)
    parser.add_argument(
        "--full-clients",
        action="store_true",
        help="a websockets client per socket instead of the light byte-level one",
    )
    parser.add_argument("--server", choices=["daphne", "uvicorn"], default="uvicorn")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    expected = args.sockets * args.messages
    print(f"{args.sockets} sockets on one campaign, {args.messages} donations "
          f"{args.interval}s apart, clients in {args.client_procs} processes")  # fmt: skip
    fundboard = run_fundboard(args)
    event_size, snapshot_size = fundboard["sizes"]
    print(f"message sizes: donation event {event_size} B, snapshot {snapshot_size} B; "
          f"final total exact: {fundboard['exact']}; ingest call (insert+commit) p50 "
          f"{fundboard['ingest_p50_ms']:.1f} ms, included in Fundboard's latency; frames: "
          f"{fundboard['frames']}")  # fmt: skip
    reference = run_reference(args, event_size, snapshot_size)
    fb = summary(f"fundboard ({args.server} + hub)", fundboard, expected)
    ref = summary("raw websockets.broadcast", reference, expected)
    print(f"ratio fundboard/reference: p50 {fb['p50_ms'] / ref['p50_ms']:.2f}x  "
          f"p99 {fb['p99_ms'] / ref['p99_ms']:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
