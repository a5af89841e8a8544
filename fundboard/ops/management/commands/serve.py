"""`manage.py serve`: the ASGI server, plus (in embedded mode) the ingestion in the same process.

daphne is the default server. `--server uvicorn` (or FUNDBOARD_ASGI_SERVER=uvicorn) runs the
same application on uvicorn, which keeps thousands of viewers closer to live through a burst
(docs/benchmarks.md has the figures); production's websocket processes use it. On both, the
hub writes ready-made frames straight to idle sockets (fundboard/live/direct.py).
"""

import asyncio
import gc
import logging
import signal
from collections.abc import Callable
from typing import Protocol, cast

from django.conf import settings
from django.core.management.base import BaseCommand

log = logging.getLogger("fundboard.ops")

SERVERS = ("daphne", "uvicorn")


class _SystemEventTriggers(Protocol):
    """The one reactor method used here, typed as Twisted documents it. Twisted declares its
    reactor methods on zope.interface interfaces, without `self`; mypy without the mypy-zope
    plugin binds the first argument as `self` and checks every call one argument off."""

    def addSystemEventTrigger(
        self, phase: str, event_type: str, trigger: Callable[..., object], /, *args: object
    ) -> object: ...


class Command(BaseCommand):
    help = "Serve Fundboard; in embedded mode also run the stream runners and pollers."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--server", choices=SERVERS, default=settings.FUNDBOARD["ASGI_SERVER"])
        parser.add_argument(
            "--ingest",
            action="store_true",
            default=None,
            help="run stream runners and pollers here (default: on without REDIS_URL)",
        )
        parser.add_argument("--no-ingest", dest="ingest", action="store_false")

    def handle(self, *args, host, port, server, ingest, **options):
        if ingest is None:
            ingest = settings.FUNDBOARD["EMBEDDED_INGEST"]
        # A broadcast allocates a few objects per socket; with the default thresholds a full
        # (generation 2) collection over every socket's objects landed inside broadcasts
        # and put ~100 ms on the p99 (bench/bench_fanout.py, docs/benchmarks.md section 1).
        # Objects alive at start-up are frozen out of collection; collections run less often.
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
        run = serve_daphne if server == "daphne" else serve_uvicorn
        run(host, port, ingest, announce=self._announce)

    def _announce(self, host: str, port: int, server: str) -> None:
        self.stdout.write(f"Fundboard listening on http://{host}:{port}/ ({server})")
        self.stdout.flush()


def _start_ingest(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> asyncio.Task:
    from fundboard.runners.embedded import run_embedded_ingest

    task = loop.create_task(run_embedded_ingest(stop))
    task.add_done_callback(_report_crash)
    return task


def serve_daphne(host: str, port: int, ingest: bool, announce) -> None:
    # daphne.server installs Twisted's asyncio reactor on import: import it first.
    from daphne.server import Server, twisted_loop
    from twisted.internet import reactor

    from fundboard.asgi import application
    from fundboard.live import limits
    from fundboard.live.broadcast import broadcaster
    from fundboard.live.daphne_inbound import BoundedInboundProtocol

    stop = asyncio.Event()
    broadcaster.bind(twisted_loop)

    def ready():
        # Called by run() once its websocket factory exists, before any connection: each
        # client's queue of inbound messages is bounded, an oversized message is closed
        # with 1009 (autobahn would otherwise drop the TCP connection without a code), and
        # a client that does not answer our close is dropped soon (limits.py).
        server.ws_factory.protocol = BoundedInboundProtocol
        server.ws_factory.setProtocolOptions(
            failByDrop=False, closeHandshakeTimeout=limits.CLOSE_GRACE_SECONDS
        )
        if ingest:
            task = _start_ingest(twisted_loop, stop)
            # Let the runners say goodbye (stream_connected off, leases released) before
            # the reactor and its loop stop.
            triggers = cast(_SystemEventTriggers, reactor)
            triggers.addSystemEventTrigger("before", "shutdown", _stop_ingest, stop, task)
        announce(host, port, "daphne")

    server = Server(
        application=application,
        # Twisted's default listen backlog (50) drops connection attempts when thousands of
        # viewers arrive at once (a stream going live).
        endpoints=[f"tcp:port={port}:interface={host}:backlog=1024"],
        signal_handlers=True,
        websocket_timeout=-1,  # overlays stay open for days
        # autobahn applies the message limit to what it SENDS too (a snapshot is often over
        # 4 KB), so inbound frames get the small bound and whole messages only a large one;
        # the consumer then refuses any message over limits.MAX_MESSAGE_BYTES.
        websocket_max_message_size=limits.MAX_SENT_MESSAGE_BYTES,
        websocket_max_frame_size=limits.MAX_MESSAGE_BYTES,
        ready_callable=ready,
        verbosity=0,
    )
    try:
        server.run()
    finally:
        twisted_loop.call_soon_threadsafe(stop.set)


def serve_uvicorn(host: str, port: int, ingest: bool, announce) -> None:
    import uvicorn

    from fundboard.asgi import application
    from fundboard.live import limits
    from fundboard.live.broadcast import broadcaster

    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        lifespan="off",  # Django's ASGI handler has no lifespan support
        log_level="warning",
        ws="websockets-sansio",
        # Compressing each frame for each socket costs more CPU than the whole fan-out;
        # daphne does not compress either.
        ws_per_message_deflate=False,
        ws_max_size=limits.MAX_MESSAGE_BYTES,  # a bigger client message: closed with 1009
        ws_ping_interval=20,
        ws_ping_timeout=30,
        proxy_headers=settings.FUNDBOARD_BEHIND_PROXY,
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        broadcaster.bind(loop)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, server.handle_exit, signal.SIGTERM, None)
        ingest_task = _start_ingest(loop, stop) if ingest else None
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        announce(host, port, "uvicorn")
        await serving
        stop.set()
        if ingest_task:
            await asyncio.wait([ingest_task], timeout=5)

    asyncio.run(main())


def _stop_ingest(stop: asyncio.Event, task: asyncio.Task):
    """A Deferred that fires once the ingest task ended (or after 5 s)."""
    from twisted.internet.defer import Deferred

    stop.set()
    waited = asyncio.ensure_future(asyncio.wait([task], timeout=5))
    return Deferred.fromFuture(waited)


def _report_crash(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("embedded ingest stopped: %r", task.exception())
