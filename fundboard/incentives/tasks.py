"""Running the incentives clock (clock.announce_due_changes) once a second: a Celery task for
beat in the distributed mode, and a loop for the embedded runner inside `manage.py serve`."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from celery import shared_task
from django.db import close_old_connections

from .clock import announce_due_changes

__all__ = ["announce_incentive_changes", "run_incentive_clock", "CLOCK_SECONDS"]

log = logging.getLogger("fundboard.incentives")

# How late an open or close time may be announced at most (beat uses the same period).
CLOCK_SECONDS = 1.0


def _tick() -> int:
    close_old_connections()
    try:
        return announce_due_changes()
    finally:
        close_old_connections()


@shared_task(name="fundboard.incentives.tasks.announce_incentive_changes", ignore_result=True)
def announce_incentive_changes() -> int:
    return _tick()


async def run_incentive_clock(stop: asyncio.Event) -> None:
    """Embedded mode: tick once a second, in a thread (the ORM never runs on the loop)."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(_tick)
        except Exception:  # the clock outlives one failed tick
            log.exception("incentives clock tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=CLOCK_SECONDS)
