"""Benchmark helper: one process holding many websocket viewers (bench_scale, bench_memory).

    scale_clients.py URL [URL ...] --origin O --sockets N [--event-sockets E]
                     [--final-total T | --idle]

Sockets are spread round-robin over the given URLs (one per web process). The first E follow
every event (as the alerts widget does); the others ask for snapshots only (`?events=0`, as
the thermometer, leaderboard, top-donors and ticker widgets do). Prints "ready" once every
socket is open and has its first snapshot, then:

- `--idle`: holds the sockets open until stdin closes (memory per idle socket);
- otherwise: times every `donation` event that carries a marker `t0=<epoch seconds>` (the
  moment the donation was made upstream) into a 1 ms histogram; a snapshot-only socket times
  each donation the first time a snapshot shows it (its `recent` list carries the marker in
  the message) into a second histogram; and it notes when each socket
  first sees a snapshot whose total is `--final-total`. At the end (every socket on the final
  total, or --timeout) it prints one JSON line: the histogram, events seen, sockets finished,
  and each finished socket's arrival time of the final total.

A histogram instead of raw values keeps memory flat with millions of deliveries.

`--measure-every K` makes only every K-th socket a full `websockets` client that times
events; the others are light sinks (`SinkViewer`): a hand-made handshake, then only frame
headers are walked (to answer pings) and the bytes are searched for the final total. With
thousands of sockets on a 2-core machine that keeps the viewers from being what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import json
import os
import random
import re
import sys
import time

import websockets

MARK = re.compile(r"t0=(\d+\.\d+)")
MAX_MS = 120_000
# A handshake not done by then is abandoned and retried (a backlog overflow drops SYNs, and
# the kernel's own connect timeout is two minutes).
HANDSHAKE_SECONDS = 15


class Tally:
    def __init__(self, sockets: int, final_total: str) -> None:
        self.sockets = sockets
        self.final_marker = f'"total":"{final_total}"' if final_total else None
        self.final_bytes = self.final_marker.encode() if self.final_marker else b""
        self.histogram = [0] * (MAX_MS + 1)  # donation events, upstream -> socket
        self.shown = [0] * (MAX_MS + 1)  # donations first shown by a snapshot-only socket
        self.events = 0
        self.shown_count = 0
        self.measured = 0  # full clients, the ones that time events
        self.retries = 0  # handshakes refused or timed out, then retried
        self.drops = 0  # open sockets the server closed, then reopened
        self.last_error = ""
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

    def on_snapshot(self, text: str, now: float, newest: float) -> float:
        """Time the donations this snapshot shows for the first time; return the newest."""
        made = [float(match.group(1)) for match in MARK.finditer(text)]
        for moment in made:
            if moment > newest:
                self.shown[min(max(int((now - moment) * 1000), 0), MAX_MS)] += 1
                self.shown_count += 1
        return max([newest, *made])

    def is_final(self, text: str) -> bool:
        # Cheap text test first; parse only the candidate to check the campaign's own total.
        if self.final_marker is None or self.final_marker not in text:
            return False
        return json.loads(text)["data"]["total"] == self.final_marker[9:-1]

    def on_final(self, now: float) -> None:
        self.finished_at.append(now)
        if len(self.finished_at) == self.sockets:
            self.all_done.set()


class Seat:
    """One viewer's place: it reconnects (as the widgets do) but is counted once."""

    def __init__(self, tally: Tally, events: bool) -> None:
        self.tally = tally
        self.events = events  # follows every event, or snapshots only (?events=0)
        self.opened = False
        self.finished = False

    def on_open(self) -> None:
        if not self.opened:
            self.opened = True
            self.tally.on_open()

    def on_final(self, now: float) -> None:
        if not self.finished:
            self.finished = True
            self.tally.on_final(now)


async def viewer(url: str, origin: str, seat: Seat, idle: bool) -> None:
    tally = seat.tally
    async with websockets.connect(
        url, origin=origin, open_timeout=HANDSHAKE_SECONDS, max_queue=None, compression=None
    ) as ws:
        first = await ws.recv()  # the first snapshot: what it shows is not timed
        newest = max([0.0, *(float(match.group(1)) for match in MARK.finditer(first))])
        if not seat.opened:
            tally.measured += 1
        seat.on_open()
        if idle:
            await asyncio.Future()  # hold the socket until cancelled
        while True:
            text = await ws.recv()
            now = time.time()
            if text.startswith('{"type":"donation"'):
                tally.on_event(text, now)
            elif text.startswith('{"type":"snapshot"'):
                if not seat.events:
                    newest = tally.on_snapshot(text, now, newest)
                if tally.is_final(text):
                    seat.on_final(now)
                    return


class SinkViewer(asyncio.Protocol):
    """A websocket viewer that reads almost for free: no per-message parsing or decoding."""

    def __init__(self, seat: Seat, request: bytes) -> None:
        self.seat = seat
        self.tally = seat.tally
        self.request = request
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.upgraded = False
        self.first_frame = True
        self.pending = b""  # unparsed bytes of the current frame header run
        self.skip = 0  # payload bytes of the current frame still to come
        self.tail = b""
        self.finished = False
        self.closed = asyncio.get_running_loop().create_future()
        self.opened = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        if not self.upgraded:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.head.startswith(b"HTTP/1.1 101"):
                self.transport.close()
                return
            self.upgraded, data = True, self.head[end + 4 :]
        self._walk_frames(data)
        if not self.finished and self.tally.final_bytes:
            chunk = self.tail + data
            if self.tally.final_bytes in chunk:
                self.finished = True
                self.seat.on_final(time.time())
            self.tail = chunk[-len(self.tally.final_bytes) :]

    def _walk_frames(self, data: bytes) -> None:
        # Only headers are looked at: to count the first snapshot and to answer pings.
        buffer = self.pending + data if self.pending else data
        position = 0
        while True:
            if self.skip:
                step = min(self.skip, len(buffer) - position)
                position += step
                self.skip -= step
                if self.skip:
                    break
            if len(buffer) - position < 2:
                break
            opcode, length = buffer[position] & 0x0F, buffer[position + 1] & 0x7F
            header = 2 + (2 if length == 126 else 8 if length == 127 else 0)
            if len(buffer) - position < header:
                break
            if length == 126:
                length = int.from_bytes(buffer[position + 2 : position + 4], "big")
            elif length == 127:
                length = int.from_bytes(buffer[position + 2 : position + 10], "big")
            if opcode == 0x9:  # ping: answer with a masked pong carrying the same payload
                if len(buffer) - position < header + length:
                    break
                payload = buffer[position + header : position + header + length]
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            elif self.first_frame:
                self.first_frame = False
                self.seat.on_open()
                self.opened.set_result(True)
            position += header
            self.skip = length
        self.pending = buffer[position:] if position < len(buffer) else b""

    def connection_lost(self, exc) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)


def handshake(url: str, origin: str) -> tuple[str, int, bytes]:
    """(host, port, the HTTP upgrade request) for a hand-made websocket client of `url`."""
    host, _, path = url.removeprefix("ws://").partition("/")
    hostname, _, port = host.partition(":")
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /{path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: {origin}\r\n\r\n"
    ).encode()
    return hostname, int(port or 80), request


async def sink_viewer(url: str, origin: str, seat: Seat) -> None:
    hostname, port, request = handshake(url, origin)
    loop = asyncio.get_running_loop()
    connecting = loop.create_connection(lambda: SinkViewer(seat, request), hostname, port)
    transport, protocol = await asyncio.wait_for(connecting, HANDSHAKE_SECONDS)
    try:
        await asyncio.wait_for(asyncio.shield(protocol.opened), HANDSHAKE_SECONDS)
    except TimeoutError:
        transport.abort()
        raise
    await protocol.closed
    raise ConnectionError("the server closed a sink viewer's socket")


async def keep_seat(seat: Seat, connect, attempts: int = 12) -> None:
    """Connect, and reconnect with capped backoff after a refused or dropped socket."""
    for attempt in range(attempts):
        try:
            await connect()
            return
        except (OSError, websockets.exceptions.WebSocketException, TimeoutError) as error:
            if seat.finished:
                return
            if seat.opened:
                seat.tally.drops += 1
            else:
                seat.tally.retries += 1
            seat.tally.last_error = repr(error)
            await asyncio.sleep(min(5.0, 0.2 * 2**attempt) * (0.5 + random.random()))


async def main(args) -> None:
    tally = Tally(args.sockets, args.final_total)
    tasks = []
    for index in range(args.sockets):
        seat = Seat(tally, events=index < args.event_sockets)
        url = args.urls[index % len(args.urls)] + ("" if seat.events else "?events=0")
        if args.measure_every and index % args.measure_every:
            connect = functools.partial(sink_viewer, url, args.origin, seat)
        else:
            connect = functools.partial(viewer, url, args.origin, seat, args.idle)
        tasks.append(asyncio.create_task(keep_seat(seat, connect)))
        await asyncio.sleep(1 / args.ramp)  # viewers arrive at this rate, not all at once
    try:
        await asyncio.wait_for(tally.all_open.wait(), 300)
    except TimeoutError:
        print(f"failed: {tally.opened}/{args.sockets} open; {tally.last_error}", flush=True)
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
                    "shown": {ms: n for ms, n in enumerate(tally.shown) if n},
                    "events": tally.events,
                    "shown_count": tally.shown_count,
                    "measured": tally.measured,
                    "finished": len(tally.finished_at),
                    "finished_at": tally.finished_at,
                    "retries": tally.retries,
                    "drops": tally.drops,
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
    parser.add_argument("--event-sockets", type=int, default=None, help="default: all")
    parser.add_argument("--idle", action="store_true")
    parser.add_argument("--measure-every", type=int, default=0, help="full client every K-th")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--ramp", type=float, default=250, help="new sockets per second")
    arguments = parser.parse_args()
    if arguments.event_sockets is None:
        arguments.event_sockets = arguments.sockets
    asyncio.run(main(arguments))
    sys.exit(0)
