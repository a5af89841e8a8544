"""Fetching the rates feed: a Celery task (beat, distributed mode) and the embedded loop
(inside `manage.py serve`), both calling fundboard.fx.feed.fetch_rates."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from celery import shared_task
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import close_old_connections

from .feed import FeedError, fetch_rates

__all__ = ["fetch_rates_task", "run_rates_feed"]

log = logging.getLogger("fundboard.fx")


def _fetch_quietly() -> int:
    try:
        return fetch_rates()
    except FeedError:
        return 0  # logged; the stored rates stay


# The embedded loop's ORM edge, as the runners and the webhook loop have it: Channels closes
# stale connections before and after the call. Not thread-sensitive: a fetch waits on the
# network for up to its timeout, and the one thread-sensitive thread serves the synchronous
# views meanwhile.
_fetch_in_thread = database_sync_to_async(_fetch_quietly, thread_sensitive=False)


@shared_task(name="fundboard.fx.tasks.fetch_rates_task", ignore_result=True)
def fetch_rates_task() -> int:
    # Plain sync code in a worker (database_sync_to_async is for async callers): Django's
    # own housekeeping around the unit of work, so a broken or aged connection is replaced.
    close_old_connections()
    try:
        return _fetch_quietly()
    finally:
        close_old_connections()  # back to the pool between tasks


async def run_rates_feed(stop: asyncio.Event) -> None:
    """Embedded mode: fetch at start, then every FUNDBOARD_RATES_EVERY seconds."""
    if not settings.FUNDBOARD.get("RATES_URL"):
        return
    every = settings.FUNDBOARD.get("RATES_EVERY_SECONDS", 3600.0)
    while not stop.is_set():
        try:
            await _fetch_in_thread()
        except Exception:  # the loop outlives one bad fetch
            log.exception("rates feed crashed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
