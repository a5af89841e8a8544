"""Benchmark helper: one process holding many websocket clients, timing marked messages.

Prints "ready" once every socket is open, then one JSON line with the latencies (seconds) of
every message that carries a marker `t0=<epoch seconds>`, measured on arrival.
Run by bench_fanout.py; several of these run at once so the client side is not the bottleneck.

By default each socket is a light client (`LightClient`): a hand-made handshake, then frames
are cut straight out of the bytes as they arrive; only the small event frames are searched
for the marker. A full `websockets` client per socket (--full) costs ~50-100 µs per message,
so 250 of them in one process spread one broadcast's arrivals over ~25 ms on their own, and
the clients, not the servers, would be what is measured.
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
from scale_clients import handshake

MARK = re.compile(r"t0=(\d+\.\d+)")
MARK_BYTES = re.compile(rb"t0=(\d+\.\d+)")
TIMED_PREFIXES = (b'{"type":"donation"', b"RAW")


class LightClient(asyncio.Protocol):
    """A websocket viewer that only cuts frames out of the byte stream (unmasked, server
    to client) and times the event frames; pings are answered so the server keeps it."""

    def __init__(self, request: bytes, expected: int, latencies: list, on_open, on_done):
        self.request, self.expected, self.latencies = request, expected, latencies
        self.on_open, self.on_done = on_open, on_done
        self.transport = None
        self.buffer = bytearray()
        self.upgraded = False
        self.seen = 0

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            del self.buffer[: end + 4]
            self.upgraded = True
            self.on_open()
        while self._frame(now):
            pass

    def _frame(self, now: float) -> bool:
        buffer = self.buffer
        if len(buffer) < 2:
            return False
        opcode, length = buffer[0] & 0x0F, buffer[1] & 0x7F
        start = 2 + (2 if length == 126 else 8 if length == 127 else 0)
        if len(buffer) < start:
            return False
        if length >= 126:
            length = int.from_bytes(buffer[2:start], "big")
        if len(buffer) < start + length:
            return False
        if opcode == 0x9:  # ping: a masked pong with the same payload
            payload = bytes(buffer[start : start + length])
            self.transport.write(bytes([0x8A, 0x80 | length]) + b"\0\0\0\0" + payload)
        elif opcode == 0x1 and length < 1024 and buffer.startswith(TIMED_PREFIXES, start):
            match = MARK_BYTES.search(buffer, start, start + length)
            if match:
                made = float(match.group(1))
                self.latencies.append((made, now - made))
                self.seen += 1
                if self.seen == self.expected:
                    self.on_done()
        del buffer[: start + length]
        return True


async def light_client(url, origin, expected, latencies, opened, counter, total, done):
    hostname, port, request = handshake(url, origin)

    def on_open():
        counter[0] += 1
        if counter[0] == total:
            opened.set()

    def on_done():
        counter[1] += 1
        if counter[1] == total:
            done.set()

    loop = asyncio.get_running_loop()
    await loop.create_connection(
        lambda: LightClient(request, expected, latencies, on_open, on_done), hostname, port
    )
    await asyncio.Future()  # the protocol does the rest; cancelled at the end


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
    connect = client if args.full else light_client
    for _ in range(args.sockets):
        tasks.append(
            asyncio.create_task(
                connect(
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
    parser.add_argument("--full", action="store_true", help="a websockets client per socket")
    asyncio.run(main(parser.parse_args()))
    sys.exit(0)
