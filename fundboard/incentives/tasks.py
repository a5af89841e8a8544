"""Running the incentives clock (clock.announce_due_changes) once a second: a Celery task for
beat in the distributed mode, and a loop for the embedded runner inside `manage.py serve`."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from celery import shared_task
from channels.db import database_sync_to_async
from django.db import close_old_connections

from .clock import announce_due_changes

__all__ = ["announce_incentive_changes", "run_incentive_clock", "CLOCK_SECONDS"]

log = logging.getLogger("fundboard.incentives")

# How late an open or close time may be announced at most (beat uses the same period).
CLOCK_SECONDS = 1.0

# The embedded loop's ORM edge, as the runners and the webhook loop have it: Channels closes
# stale connections before and after each call. Not thread-sensitive: the one thread-sensitive
# thread serves the synchronous views, and a slow tick must not queue behind them (or they
# behind it).
_announce_in_thread = database_sync_to_async(announce_due_changes, thread_sensitive=False)


@shared_task(name="fundboard.incentives.tasks.announce_incentive_changes", ignore_result=True)
def announce_incentive_changes() -> int:
    # Plain sync code in a worker (database_sync_to_async is for async callers): Django's
    # own housekeeping around the unit of work, so a broken or aged connection is replaced.
    close_old_connections()
    try:
        return announce_due_changes()
    finally:
        close_old_connections()  # back to the pool between tasks


async def run_incentive_clock(stop: asyncio.Event) -> None:
    """Embedded mode: tick once a second, in a worker thread (the ORM never runs on the loop)."""
    while not stop.is_set():
        try:
            await _announce_in_thread()
        except Exception:  # the clock outlives one failed tick
            log.exception("incentives clock tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=CLOCK_SECONDS)
