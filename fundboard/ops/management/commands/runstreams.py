"""`manage.py runstreams`: the production ImRaising stream process.

Runs `run_stream_sources` on its own event loop. With REDIS_URL set it streams only the
sources whose Redis lease it holds (`fundboard.runners.lease`), so any number of these processes
can run and each source has exactly one consumer; without Redis (a single-machine setup that
does not use `serve`'s embedded ingestion) it streams every source. SIGTERM/SIGINT stop it
cleanly and release its leases.
"""

import asyncio
import signal

from django.conf import settings
from django.core.management.base import BaseCommand


async def run_stream_process(lease_seconds: float | None = None) -> None:
    from fundboard.live.broadcast import broadcaster
    from fundboard.ops.metrics import start_metrics_server
    from fundboard.runners.lease import SourceLeases
    from fundboard.runners.supervisor import run_stream_sources

    loop = asyncio.get_running_loop()
    # Ingest's after-commit signals reach the channel layer through this loop.
    broadcaster.bind(loop)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    start_metrics_server()
    leases = None
    if settings.REDIS_URL:
        # Without --lease-seconds: FUNDBOARD["STREAM_LEASE_SECONDS"], read now.
        leases = SourceLeases(settings.REDIS_URL, settings.REDIS_PREFIX, ttl=lease_seconds)
    await run_stream_sources(stop, leases=leases)
    await asyncio.sleep(0.2)  # let the last broadcasts leave


class Command(BaseCommand):
    help = "Consume the ImRaising streams (one consumer per source across processes)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--lease-seconds",
            type=float,
            default=None,
            help="lease time-to-live: a dead holder's sources move after this long",
        )

    def handle(self, *args, lease_seconds, **options):
        self.stdout.write("runstreams: consuming ImRaising streams", ending="\n")
        self.stdout.flush()
        asyncio.run(run_stream_process(lease_seconds))
