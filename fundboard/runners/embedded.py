"""Embedded mode: the stream runners and the poll scheduler inside the web process.

`manage.py serve` starts this on daphne's own event loop when FUNDBOARD_EMBEDDED_INGEST is
on (the default without REDIS_URL), so the in-memory channel layer reaches the sockets and
the demo needs no other service. In production the same code runs as `runstreams` and the
pollers on Celery.
"""

from __future__ import annotations

import asyncio
import logging

from fundboard.fx.tasks import run_rates_feed
from fundboard.incentives.tasks import run_incentive_clock
from fundboard.live.broadcast import broadcaster
from fundboard.webhooks.runner import run_webhook_deliveries

from .scheduler import run_poll_scheduler
from .supervisor import run_stream_sources

__all__ = ["run_embedded_ingest"]

log = logging.getLogger("fundboard.runners")


async def run_embedded_ingest(stop: asyncio.Event) -> None:
    broadcaster.bind(asyncio.get_running_loop())
    log.info("embedded ingest started (stream runners and poll scheduler in this process)")
    await asyncio.gather(
        run_stream_sources(stop),
        run_poll_scheduler(stop),
        run_webhook_deliveries(stop),
        run_rates_feed(stop),  # the optional exchange-rates feed (fundboard.fx.feed)
        run_incentive_clock(stop),  # incentives' open and close times (fundboard.incentives)
    )
