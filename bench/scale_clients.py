"""Benchmark helper: one process holding many websocket viewers (bench_scale, bench_memory).

    scale_clients.py URL [URL ...] --origin O --sockets N [--final-total T | --idle]

Sockets are spread round-robin over the given URLs (one per web process). Prints "ready" once
every socket is open and has its first snapshot, then:

- `--idle`: holds the sockets open until stdin closes (memory per idle socket);
- otherwise: times every `donation` event that carries a marker `t0=<epoch seconds>` (the
  moment the donation was made upstream) into a 1 ms histogram, and notes when each socket
  first sees a snapshot whose total is `--final-total`. At the end (every socket on the final
  total, or --timeout) it prints one JSON line: the histogram, events seen, sockets finished,
  and each finished socket's arrival time of the final total.

A histogram instead of raw values keeps memory flat with millions of deliveries.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
import time

import websockets

MARK = re.compile(r"t0=(\d+\.\d+)")
MAX_MS = 120_000


class Tally:
    def __init__(self, sockets: int, final_total: str) -> None:
        self.sockets = sockets
        self.final_marker = f'"total":"{final_total}"' if final_total else None
        self.histogram = [0] * (MAX_MS + 1)
        self.events = 0
        self.opened = 0
        self.finished_at: list[float] = []
        self.all_open = asyncio.Event()
        self.all_done = asyncio.Event()

    def on_open(self) -> None:
        self.opened += 1
        if self.opened == self.sockets:
            self.all_open.set()

    def on_event(self, text: str, now: float) -> None:
        match = MARK.search(text)
        if match:
            delay_ms = int((now - float(match.group(1))) * 1000)
            self.histogram[min(max(delay_ms, 0), MAX_MS)] += 1
            self.events += 1

    def is_final(self, text: str) -> bool:
        # Cheap text test first; parse only the candidate to check the campaign's own total.
        if self.final_marker is None or self.final_marker not in text:
            return False
        return json.loads(text)["data"]["total"] == self.final_marker[9:-1]

    def on_final(self, now: float) -> None:
        self.finished_at.append(now)
        if len(self.finished_at) == self.sockets:
            self.all_done.set()


async def viewer(url: str, origin: str, tally: Tally, idle: bool) -> None:
    async with websockets.connect(
        url, origin=origin, open_timeout=120, max_queue=None, compression=None
    ) as ws:
        await ws.recv()  # the first snapshot
        tally.on_open()
        if idle:
            await asyncio.Future()  # hold the socket until cancelled
        while True:
            text = await ws.recv()
            now = time.time()
            if text.startswith('{"type":"donation"'):
                tally.on_event(text, now)
            elif text.startswith('{"type":"snapshot"') and tally.is_final(text):
                tally.on_final(now)
                return


async def main(args) -> None:
    tally = Tally(args.sockets, args.final_total)
    tasks = []
    for index in range(args.sockets):
        url = args.urls[index % len(args.urls)]
        tasks.append(asyncio.create_task(viewer(url, args.origin, tally, args.idle)))
        if index % 50 == 49:
            await asyncio.sleep(0.01)  # spread the handshakes a little
    opening = asyncio.create_task(tally.all_open.wait())
    await asyncio.wait([opening, *tasks], timeout=300, return_when=asyncio.FIRST_COMPLETED)
    failed = [t for t in tasks if t.done() and t.exception() is not None]
    if failed or not opening.done():
        print(f"failed: {tally.opened}/{args.sockets} open; {failed[:1]!r}", flush=True)
        return
    print("ready", flush=True)
    if args.idle:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    else:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.all_done.wait(), args.timeout)
        buckets = {ms: n for ms, n in enumerate(tally.histogram) if n}
        print(
            json.dumps(
                {
                    "histogram": buckets,
                    "events": tally.events,
                    "finished": len(tally.finished_at),
                    "finished_at": tally.finished_at,
                }
            ),
            flush=True,
        )
    for task in tasks:
        task.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--origin", required=True)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--final-total", default="")
    parser.add_argument("--idle", action="store_true")
    parser.add_argument("--timeout", type=float, default=120)
    asyncio.run(main(parser.parse_args()))
    sys.exit(0)
