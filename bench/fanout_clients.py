"""Benchmark helper: one process holding many websocket clients, timing marked messages.

Prints "ready" once every socket is open, then one JSON line with the latencies (seconds) of
every message that carries a marker `t0=<epoch seconds>`, measured on arrival.
Run by bench_fanout.py; several of these run at once so the client side is not the bottleneck.
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


async def client(
    url: str,
    origin: str,
    expected: int,
    latencies: list,
    opened: asyncio.Event,
    counter: list,
    total: int,
    done: asyncio.Event,
) -> None:
    async with websockets.connect(
        url, origin=origin, open_timeout=60, max_queue=None, compression=None
    ) as ws:
        counter[0] += 1
        if counter[0] == total:
            opened.set()
        seen = 0
        while seen < expected:
            text = await ws.recv()
            now = time.time()
            # Only the per-donation event counts: snapshots repeat the marker in `recent`.
            if text.startswith('{"type":"donation"') or text.startswith("RAW"):
                match = MARK.search(text)
                if match:
                    latencies.append((float(match.group(1)), now - float(match.group(1))))
                    seen += 1
        counter[1] += 1
        if counter[1] == total:
            done.set()


async def main(args) -> None:
    latencies: list[float] = []
    opened, done = asyncio.Event(), asyncio.Event()
    counter = [0, 0]
    tasks = []
    for _ in range(args.sockets):
        tasks.append(
            asyncio.create_task(
                client(
                    args.url,
                    args.origin,
                    args.messages,
                    latencies,
                    opened,
                    counter,
                    args.sockets,
                    done,
                )
            )
        )
        await asyncio.sleep(0)  # spread the handshakes a little
    await asyncio.wait_for(opened.wait(), 120)
    print("ready", flush=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), args.timeout)
    print(json.dumps({"latencies": latencies, "complete": counter[1]}), flush=True)
    for task in tasks:
        task.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--origin", required=True)
    parser.add_argument("--sockets", type=int, default=250)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=120)
    asyncio.run(main(parser.parse_args()))
    sys.exit(0)
