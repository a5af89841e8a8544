"""Hostile websocket clients against one `manage.py serve`, on daphne and on uvicorn (issue 12).

    .venv/bin/python bench/bench_hostile_clients.py                 # both parts, both servers
    .venv/bin/python bench/bench_hostile_clients.py --part flood --servers daphne

(a) flood: FLOODERS clients (default 5) send `{"type": "resync"}` as fast as they can for
    `--seconds` (default 20), reconnecting whenever they are closed, beside `--viewers`
    normal viewers (default 20) while this process ingests a donation every 0.5 s. Printed:
    messages the flooders sent and connections they used, the server's RSS before, at its
    peak and after, and the viewers' latency donation ingested -> event received (p50, p99).
    Targets: growth < 150 MB, viewers' p50 < 50 ms.
(b) mute: `--mute-sockets` (default 2,000) sockets complete the handshake and never read,
    while this process ingests `--rate` donations a second (default 5) for `--mute-seconds`
    (default 30). Printed once a second: sockets still open and the kernel's send queue of
    the server's side of them (sum and largest Send-Q, from `ss -tn`), and the server's RSS.
    Targets: total < 300 MB, <= ~150 KB a socket.

Like bench_fanout.py: SQLite plus the Redis channel layer (this process writes to the
server's database and broadcasts through the same Redis). Needs Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import resource
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

from common import PY, percentile

CAMPAIGN = """
[[campaign]]
slug = "bench"
name = "Bench"
goal = "100000"
  [[campaign.source]]
  kind = "manual"
  name = "Bench feed"
"""
PATH = "/ws/campaigns/bench"
MARK = re.compile(r"t0=(\d+\.\d+)")


def raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def open_socket(port: int, *, rcvbuf: int = 0) -> socket.socket:
    """A websocket handshake by hand; nothing past the response headers is read."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            raise ConnectionError("closed during the handshake")
        head += byte
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.split(b"\r\n")[0].decode())
    return sock


# --- helper processes ------------------------------------------------------------------------


def flooder(args) -> None:
    """Send resync requests as fast as possible; once closed, reconnect (--reconnect) or
    stay away for the rest of the time."""
    from websockets.frames import Frame, Opcode

    frame = Frame(Opcode.TEXT, b'{"type":"resync"}').serialize(mask=True)
    chunk, per_chunk = frame * 1000, 1000
    end = time.monotonic() + args.seconds
    sent = connections = refused = 0
    while time.monotonic() < end:
        try:
            sock = open_socket(args.port)
        except (OSError, ConnectionError):
            refused += 1
            time.sleep(0.05)
            continue
        connections += 1
        sock.settimeout(2)  # the server stopped reading us: start again
        try:
            while time.monotonic() < end:
                sock.sendall(chunk)
                sent += per_chunk
        except OSError:
            pass
        finally:
            sock.close()
        if not args.reconnect:
            time.sleep(max(0.0, end - time.monotonic()))
    print(json.dumps({"sent": sent, "connections": connections, "refused": refused}))


def viewers(args) -> None:
    """Normal viewers: time every marked donation event from its t0 to arrival."""
    import websockets

    latencies: list[float] = []

    async def one(opened: list) -> None:
        async with websockets.connect(args.url, origin=args.origin, max_size=None) as ws:
            opened.append(1)
            end = time.monotonic() + args.seconds
            while (left := end - time.monotonic()) > 0:
                try:
                    text = await asyncio.wait_for(ws.recv(), left)
                except TimeoutError:
                    break
                if text.startswith('{"type":"donation"') and (m := MARK.search(text)):
                    latencies.append(time.time() - float(m.group(1)))

    async def main() -> None:
        opened: list = []
        tasks = [asyncio.create_task(one(opened)) for _ in range(args.count)]
        while len(opened) < args.count:
            await asyncio.sleep(0.05)
        print("ready", flush=True)
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    print(json.dumps({"latencies": latencies}), flush=True)


# --- the server and the donations ----------------------------------------------------------


class Bench:
    """One server (its database, its Redis prefix) and this process as the donation writer."""

    def __init__(self, redis: str) -> None:
        from tests.support import FundboardServer

        tmp = Path(tempfile.mkdtemp(prefix="fb-hostile-"))
        prefix = f"fbhostile{uuid.uuid4().hex[:8]}"
        self.server = FundboardServer(
            tmp, CAMPAIGN, use_postgres=False, ingest=False,
            extra_env={"REDIS_URL": redis, "FUNDBOARD_REDIS_PREFIX": prefix,
                       "LOG_LEVEL": "WARNING"},
        )  # fmt: skip
        os.environ.update(
            {"FUNDBOARD_SQLITE_PATH": self.server.env["FUNDBOARD_SQLITE_PATH"],
             "DATABASE_URL": "", "REDIS_URL": redis, "FUNDBOARD_REDIS_PREFIX": prefix,
             "DJANGO_SETTINGS_MODULE": "fundboard.settings", "LOG_LEVEL": "WARNING"}
        )  # fmt: skip
        import django

        django.setup()
        from fundboard.campaigns.models import Source

        self.source_id = Source.objects.get(name="Bench feed").pk
        self.count = 0

    def start(self, asgi_server: str) -> None:
        self.server.env["FUNDBOARD_ASGI_SERVER"] = asgi_server
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def donate(self) -> None:
        from django.utils import timezone

        from fundboard.ingest.services import ingest_donations
        from fundboard.providers.records import DonationRecord

        self.count += 1
        record = DonationRecord(
            f"h{self.count}", "Bench donor", Decimal("1.00"), "USD", timezone.now(),
            message=f"t0={time.time():.6f} " + "m" * 100,
        )  # fmt: skip
        ingest_donations(self.source_id, [record])

    def donate_every(self, interval: float, seconds: float, stop: threading.Event) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not stop.is_set():
            self.donate()
            time.sleep(interval)


def part_flood(bench: Bench, asgi_server: str, args) -> None:
    from fundboard.live.broadcast import broadcaster

    bench.start(asgi_server)
    port, pid = bench.server.port, bench.server.process.pid
    try:
        url = f"ws://127.0.0.1:{port}{PATH}"
        watchers = subprocess.Popen(
            [PY, __file__, "viewers", "--url", url, "--origin", bench.server.url,
             "--count", str(args.viewers), "--seconds", str(args.seconds + 5)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert watchers.stdout.readline().strip() == "ready"
        bench.donate()  # warm-up: the first broadcast opens this process's Redis connection
        broadcaster.flush()
        time.sleep(1)
        before = peak = rss_mb(pid)
        floods = [
            subprocess.Popen(
                [
                    PY,
                    __file__,
                    "flood",
                    "--port",
                    str(port),
                    "--seconds",
                    str(args.seconds),
                    *(["--reconnect"] if args.reconnect else []),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for _ in range(args.flooders)
        ]
        stop = threading.Event()
        writer = threading.Thread(target=bench.donate_every, args=(0.5, args.seconds, stop))
        writer.start()
        while any(f.poll() is None for f in floods):
            peak = max(peak, rss_mb(pid))
            time.sleep(0.25)
        stop.set()
        writer.join()
        broadcaster.flush()
        results = [json.loads(f.communicate()[0].strip().splitlines()[-1]) for f in floods]
        time.sleep(2)
        after = rss_mb(pid)
        latencies = json.loads(watchers.communicate(timeout=60)[0].strip().splitlines()[-1])[
            "latencies"
        ]
        final_total = bench.server.snapshot("bench")["total"]
    finally:
        bench.stop()
    sent = sum(r["sent"] for r in results)
    connections = sum(r["connections"] for r in results)
    slowest = max(latencies, default=float("nan"))
    print(
        f"{asgi_server:<8} flood: {args.flooders} flooders x {args.seconds}s sent "
        f"{sent:,} messages over {connections} connections; RSS {before:.0f} MB -> peak "
        f"{peak:.0f} MB -> {after:.0f} MB after (growth {peak - before:+.0f} MB); "
        f"{args.viewers} viewers got {len(latencies)} events, p50 "
        f"{percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, max {slowest * 1000:.1f} ms; "
        f"final total {final_total}",
        flush=True,
    )


def send_queues(port: int) -> tuple[int, list[int]]:
    """Sockets of the port still connected, and the Send-Q of every server-side socket in any
    state but LISTEN (one closed the orderly way keeps its queue in FIN-WAIT until the client
    takes it)."""
    out = subprocess.run(
        ["ss", "-tanH", f"( sport = :{port} )"], capture_output=True, text=True, check=True
    ).stdout
    rows = [line.split() for line in out.splitlines() if line.strip()]
    connected = sum(1 for row in rows if row[0] == "ESTAB")
    return connected, [int(row[2]) for row in rows if row[0] != "LISTEN"]


def part_mute(bench: Bench, asgi_server: str, args) -> None:
    bench.start(asgi_server)
    port, pid = bench.server.port, bench.server.process.pid
    sockets = []
    try:
        for _ in range(args.mute_sockets):
            sockets.append(open_socket(port, rcvbuf=args.mute_rcvbuf))
        start_rss = rss_mb(pid)
        print(f"{asgi_server:<8} mute: {len(sockets)} sockets open, never read; {args.rate} "
              f"donations/s for {args.mute_seconds}s; RSS {start_rss:.0f} MB")  # fmt: skip
        stop = threading.Event()
        writer = threading.Thread(
            target=bench.donate_every, args=(1 / args.rate, args.mute_seconds, stop)
        )
        started = time.monotonic()
        writer.start()
        peak_total = peak_one = 0
        first_cut = all_cut = None
        while writer.is_alive() or time.monotonic() - started < args.mute_seconds + 3:
            connected, queues = send_queues(port)
            total, largest = sum(queues), max(queues, default=0)
            peak_total, peak_one = max(peak_total, total), max(peak_one, largest)
            elapsed = time.monotonic() - started
            if connected < len(sockets) and first_cut is None:
                first_cut = elapsed
            if not connected and all_cut is None:
                all_cut = elapsed
            print(f"  t={elapsed:5.1f}s open {connected:5d}  Send-Q total "
                  f"{total / 2**20:7.1f} MB  largest {largest / 1024:6.1f} KB  "
                  f"RSS {rss_mb(pid):6.0f} MB", flush=True)  # fmt: skip
            time.sleep(1)
        stop.set()
        writer.join()
        print(
            f"{asgi_server:<8} mute: peak Send-Q total {peak_total / 2**20:.1f} MB, largest "
            f"socket {peak_one / 1024:.1f} KB; first cut at {first_cut or float('nan'):.1f}s, "
            f"all cut by {all_cut or float('nan'):.1f}s",
            flush=True,
        )
    finally:
        for sock in sockets:
            sock.close()
        bench.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="role")
    flood = sub.add_parser("flood")
    flood.add_argument("--port", type=int, required=True)
    flood.add_argument("--seconds", type=float, required=True)
    flood.add_argument("--reconnect", action="store_true")
    watch = sub.add_parser("viewers")
    watch.add_argument("--url", required=True)
    watch.add_argument("--origin", required=True)
    watch.add_argument("--count", type=int, required=True)
    watch.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--part", choices=["flood", "mute", "both"], default="both")
    parser.add_argument("--servers", default="daphne,uvicorn")
    parser.add_argument("--flooders", type=int, default=5)
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--reconnect", action="store_true", help="flooders reconnect whenever they are closed"
    )
    parser.add_argument("--mute-rcvbuf", type=int, default=0, help="SO_RCVBUF of mute sockets")
    parser.add_argument("--mute-sockets", type=int, default=2000)
    parser.add_argument("--mute-seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=5)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    raise_file_limit()
    if args.role == "flood":
        return flooder(args)
    if args.role == "viewers":
        return viewers(args)
    bench = Bench(args.redis)
    try:
        for asgi_server in args.servers.split(","):
            if args.part in ("flood", "both"):
                part_flood(bench, asgi_server, args)
            if args.part in ("mute", "both"):
                part_mute(bench, asgi_server, args)
    finally:
        bench.server.close()


if __name__ == "__main__":
    main()
