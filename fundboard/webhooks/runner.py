"""Embedded mode's delivery loop, inside `manage.py serve` beside the pollers.

The same `deliver_endpoint` as the Celery task, in worker threads (`database_sync_to_async`,
which closes stale connections around each call) so the server's loop never blocks, one
task per endpoint so a slow endpoint delays only its own deliveries. It looks for due
deliveries every second, and at once when this process wrote some (outbox.on_enqueue).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

from channels.db import database_sync_to_async

from .delivery import deliver_endpoint
from .endpoint_lease import due_endpoint_ids
from .outbox import off_enqueue, on_enqueue
from .retention import prune_if_due

__all__ = ["run_webhook_deliveries", "SCAN_SECONDS"]

log = logging.getLogger("fundboard.webhooks")

SCAN_SECONDS = 1.0


# Not thread-sensitive: each endpoint's delivery runs in a thread of its own, in parallel
# (a slow endpoint must not hold up the others, nor the server's synchronous views, which
# share the one thread-sensitive thread).
_deliver_endpoint = database_sync_to_async(deliver_endpoint, thread_sensitive=False)
_due_endpoint_ids = database_sync_to_async(due_endpoint_ids, thread_sensitive=False)
_prune_if_due = database_sync_to_async(prune_if_due, thread_sensitive=False)


async def _deliver(endpoint_id: int) -> None:
    try:
        await _deliver_endpoint(endpoint_id)
    except Exception:  # the loop outlives any one endpoint; the rows keep what is pending
        log.exception("webhook delivery crashed endpoint=%s", endpoint_id)


async def run_webhook_deliveries(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def waker() -> None:
        loop.call_soon_threadsafe(wake.set)

    on_enqueue(waker)
    running: dict[int, asyncio.Task[None]] = {}
    log.info("webhook delivery loop started")
    while not stop.is_set():
        wake.clear()
        try:
            due = await _due_endpoint_ids()
            await _prune_if_due()
        except Exception:
            log.exception("webhook loop could not read the deliveries")
            due = []
        for endpoint_id in due:
            if endpoint_id not in running:
                task = asyncio.create_task(_deliver(endpoint_id))
                running[endpoint_id] = task
                task.add_done_callback(functools.partial(_forget, running, endpoint_id))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_either(stop, wake), timeout=SCAN_SECONDS)
    off_enqueue(waker)
    for task in list(running.values()):
        task.cancel()


def _forget(running: dict[int, asyncio.Task[None]], endpoint_id: int, _done: object) -> None:
    running.pop(endpoint_id, None)


async def _either(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
