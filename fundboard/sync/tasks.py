"""Celery tasks: beat's dispatcher finds due sources, one task polls one source.

The schedule lives in Redis (one hash per source: last_started, next_at, not_before), so the
happy path writes nothing to the database. A source is queued at most once at a time (a
"queued" marker with the same lifetime as the task's expiry) and polled by one worker at a
time (a Redis lock with a TTL). Tasks expire: polls queued during an outage are dropped, not
run in a burst when workers return.

A worker reaches the channel layer through the broadcaster's own long-lived background loop
(fundboard.live.broadcast), never `async_to_sync` per call: that would open a new loop and
Redis connections every time and end in "Event loop is closed".
"""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections

from fundboard.runners.locks import redis_client, redis_key, source_lock
from fundboard.runners.polling import (
    PollOutcome,
    ScheduleEntry,
    due_source_ids,
    is_source_due,
    poll_source,
    polled_sources,
)

__all__ = ["dispatch_due_polls", "poll_source_task", "RedisSchedule", "TASK_EXPIRES_SECONDS"]

log = logging.getLogger("fundboard.sync")

# A poll not started within this long after it was queued is dropped (the next dispatch
# queues a fresh one if the source is still due).
TASK_EXPIRES_SECONDS = 30
FIELDS = ("last_started", "next_at", "not_before", "crashes")


class RedisSchedule:
    """Per-source ScheduleEntry in Redis hashes, shared by beat and every worker."""

    def __init__(self) -> None:
        self.redis = redis_client()

    def read(self, source_ids: list[int]) -> dict[int, ScheduleEntry]:
        pipe = self.redis.pipeline(transaction=False)
        for source_id in source_ids:
            pipe.hmget(redis_key("schedule", source_id), FIELDS)
        entries = {}
        for source_id, values in zip(source_ids, pipe.execute(), strict=True):
            if any(v is not None for v in values):
                entries[source_id] = ScheduleEntry(*(float(v or 0) for v in values))
        return entries

    def write(self, source_id: int, entry: ScheduleEntry) -> None:
        key = redis_key("schedule", source_id)
        self.redis.hset(key, mapping={name: getattr(entry, name) for name in FIELDS})
        self.redis.expire(key, 7 * 24 * 3600)  # forgotten once a source is gone for a week

    def mark_queued(self, source_id: int) -> bool:
        key = redis_key("queued", source_id)
        return bool(self.redis.set(key, "1", nx=True, ex=TASK_EXPIRES_SECONDS))

    def clear_queued(self, source_id: int) -> None:
        self.redis.delete(redis_key("queued", source_id))


@shared_task(name="fundboard.sync.tasks.poll_source_task", ignore_result=True)
def poll_source_task(source_id: int) -> str:
    from fundboard.live.broadcast import broadcaster

    schedule = RedisSchedule()
    try:
        with source_lock(source_id) as acquired:
            if not acquired:
                return "locked"
            # Plain sync code in a worker, so Channels' database_sync_to_async (for async
            # callers) does not apply: Django's own housekeeping around the unit of work,
            # as a request gets, so a connection past CONN_MAX_AGE or broken is replaced.
            close_old_connections()
            try:
                outcome = _poll_if_still_due(source_id, schedule)
            finally:
                close_old_connections()  # back to the pool between tasks
            if outcome is None:
                return "not due"
    finally:
        # Cleared when done, not when started: beat does not queue more while this one runs.
        schedule.clear_queued(source_id)
    # Let the broadcaster's loop send what the poll announced before the task ends.
    broadcaster.flush()
    # Unchanged polls are the steady state (one a second per source): keep them out of INFO.
    level = logging.DEBUG if outcome.result == "unchanged" else logging.INFO
    log.log(
        level, "polled source=%s result=%s next_in=%.1fs", source_id, outcome.result, outcome.delay
    )
    return outcome.result


def _poll_if_still_due(source_id: int, schedule: RedisSchedule) -> PollOutcome | None:
    """Poll under the lock, unless the source is not due any more (None).

    Beat may queue this task on a schedule read just before the previous poll of the source
    finished: asked again here, under the lock, two polls are never closer than the floor.
    A poll that raises instead of failing cleanly backs off like a failure, with jitter.
    """
    known = schedule.read([source_id]).get(source_id)
    if not is_source_due(source_id, known):
        return None
    entry = known or ScheduleEntry()
    entry.started(time.time())
    schedule.write(source_id, entry)
    try:
        outcome = poll_source(source_id)
    except Exception as error:
        entry.crashed(error, time.time(), float(settings.FUNDBOARD["POLL_FLOOR_SECONDS"]))
        schedule.write(source_id, entry)
        raise
    entry.finished(outcome, time.time())
    schedule.write(source_id, entry)
    return outcome


@shared_task(name="fundboard.sync.tasks.dispatch_due_polls", ignore_result=True)
def dispatch_due_polls() -> int:
    """Queue a poll for every due source (beat runs this every second or so)."""
    close_old_connections()
    schedule = RedisSchedule()
    rows = polled_sources()
    known = schedule.read([row["id"] for row in rows])
    queued = 0
    for source_id in due_source_ids(known, rows=rows):
        if schedule.mark_queued(source_id):
            poll_source_task.apply_async((source_id,), expires=TASK_EXPIRES_SECONDS)
            queued += 1
    return queued
