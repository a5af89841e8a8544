"""Memory per idle websocket: RSS growth of one web process divided by its open sockets.

    .venv/bin/python bench/bench_memory.py --sockets 2000 --servers uvicorn daphne

For each ASGI server: a fresh `manage.py serve --no-ingest` (PostgreSQL + the Redis channel
layer, as in production) is warmed up with a few sockets (so code paths, the hub's feed and
the cached snapshot are loaded), its RSS is read from /proc, then N viewer sockets are opened
(each receives its first snapshot and then idles) from separate client processes, and the RSS
is read again after the process settles. Target: <= 50 KB per idle socket.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import wait_until_ready  # noqa: E402
from stack_clients import PY, REPO, Stack  # noqa: E402

CLIENTS = str(REPO / "bench/scale_clients.py")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def open_idle(url: str, origin: str, sockets: int, procs: int) -> list[subprocess.Popen]:
    per = [sockets // procs + (1 if i < sockets % procs else 0) for i in range(procs)]
    clients = [
        subprocess.Popen(
            [PY, CLIENTS, url, "--origin", origin, "--sockets", str(n), "--idle"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        for n in per if n
    ]  # fmt: skip
    wait_until_ready(clients)
    return clients


def close_idle(clients: list[subprocess.Popen]) -> None:
    for client in clients:
        client.stdin.close()
    for client in clients:
        try:
            client.wait(timeout=30)
        except subprocess.TimeoutExpired:
            client.kill()


def settled_rss(pid: int, seconds: float = 3.0) -> int:
    time.sleep(seconds)
    return rss_kb(pid)


def measure(stack: Stack, server: str, sockets: int, procs: int) -> dict:
    process, port = stack.start_web(server)
    url, origin = f"ws://127.0.0.1:{port}/ws/campaigns/{stack.slug}", f"http://127.0.0.1:{port}"
    warm = open_idle(url, origin, 20, 1)
    before = settled_rss(process.pid)
    viewers = open_idle(url, origin, sockets, procs)
    after = settled_rss(process.pid)
    close_idle(viewers)
    close_idle(warm)
    process.terminate()
    process.wait(timeout=10)
    return {"before": before, "after": after, "per_socket": (after - before) / sockets}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--servers", nargs="+", default=["uvicorn", "daphne"])
    args = parser.parse_args()
    with Stack() as stack:
        for server in args.servers:
            row = measure(stack, server, args.sockets, args.client_procs)
            print(
                f"{server:<8} {args.sockets} idle sockets: RSS {row['before'] / 1024:6.1f} MB -> "
                f"{row['after'] / 1024:6.1f} MB = {row['per_socket']:5.1f} KB per socket "
                f"(target <= 50 KB)",
                flush=True,
            )


if __name__ == "__main__":
    main()
