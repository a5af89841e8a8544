"""The in-process poll scheduler of embedded mode (`manage.py serve` without REDIS_URL).

It runs the same `poll_source` as the Celery task, in worker threads (`orm.db`) so the web
server's loop never blocks, for every enabled Action Network and P2P source. It rescans
the database every second, so sources added, disabled or given a staff "poll now" request
(`Source.poll_requested_at`) are picked up without a restart. The schedule lives in memory;
the database's `next_poll_at` is written only while a source fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time

from .locks import source_lock
from .orm import db
from .polling import PollOutcome, ScheduleEntry, _floor, due_source_ids, poll_source

__all__ = ["run_poll_scheduler", "poll_source_exclusively", "SCAN_SECONDS"]

log = logging.getLogger("fundboard.runners.scheduler")

SCAN_SECONDS = 1.0


def poll_source_exclusively(source_id: int) -> PollOutcome | None:
    """poll_source under the source's lock; None when another poll of it is running."""
    with source_lock(source_id) as acquired:
        if not acquired:
            return None
        return poll_source(source_id)


async def _poll(source_id: int, entry: ScheduleEntry) -> None:
    entry.started(time.time())
    try:
        outcome = await db(poll_source_exclusively, source_id)
    except Exception as error:  # the scheduler outlives any one poll
        delay = entry.crashed(error, time.time(), _floor())
        log.exception("poll failed to run source=%s retry_in=%.1fs", source_id, delay)
        return
    if outcome is None:
        entry.next_at = time.time() + 1
        return
    entry.finished(outcome, time.time())
    log.debug("polled source=%s result=%s next_in=%.1fs", source_id, outcome.result, outcome.delay)


def _forget(running: dict[int, asyncio.Task[None]], source_id: int, _task: object) -> None:
    running.pop(source_id, None)


async def run_poll_scheduler(stop: asyncio.Event) -> None:
    schedule: dict[int, ScheduleEntry] = {}
    running: dict[int, asyncio.Task[None]] = {}
    log.info("poll scheduler started")
    while not stop.is_set():
        try:
            due = await db(due_source_ids, schedule)
        except Exception:
            log.exception("poll scheduler could not read the sources")
            due = []
        for source_id in due:
            if source_id not in running:
                task = asyncio.create_task(_poll(source_id, schedule[source_id]))
                running[source_id] = task
                task.add_done_callback(functools.partial(_forget, running, source_id))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=SCAN_SECONDS)
    for task in list(running.values()):
        task.cancel()
