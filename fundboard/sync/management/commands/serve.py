"""`manage.py serve`: daphne, plus (in embedded mode) the ingestion in the same process."""

import asyncio
import logging

from django.conf import settings
from django.core.management.base import BaseCommand

log = logging.getLogger("fundboard.sync")


class Command(BaseCommand):
    help = "Serve Fundboard with daphne; in embedded mode also run the stream runners and pollers."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--ingest",
            action="store_true",
            default=None,
            help="run stream runners and pollers here (default: on without REDIS_URL)",
        )
        parser.add_argument("--no-ingest", dest="ingest", action="store_false")

    def handle(self, *args, host, port, ingest, **options):
        # daphne.server installs Twisted's asyncio reactor on import: import it first.
        from daphne.server import Server, twisted_loop

        from fundboard.asgi import application
        from fundboard.live.broadcast import broadcaster

        if ingest is None:
            ingest = settings.FUNDBOARD["EMBEDDED_INGEST"]
        stop = asyncio.Event()
        broadcaster.bind(twisted_loop)

        def ready():
            if ingest:
                from fundboard.sync.embedded import run_embedded_ingest

                task = twisted_loop.create_task(run_embedded_ingest(stop))
                task.add_done_callback(_report_crash)
            self.stdout.write(f"Fundboard listening on http://{host}:{port}/", ending="\n")
            self.stdout.flush()

        server = Server(
            application=application,
            endpoints=[f"tcp:port={port}:interface={host}"],
            signal_handlers=True,
            websocket_timeout=-1,  # overlays stay open for days
            ready_callable=ready,
            verbosity=0,
        )
        try:
            server.run()
        finally:
            twisted_loop.call_soon_threadsafe(stop.set)


def _report_crash(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("embedded ingest stopped: %r", task.exception())
