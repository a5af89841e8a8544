"""Fetching the rates feed: a Celery task (beat, distributed mode) and the embedded loop
(inside `manage.py serve`), both calling fundboard.fx.feed.fetch_rates."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections

from .feed import FeedError, fetch_rates

__all__ = ["fetch_rates_task", "run_rates_feed"]

log = logging.getLogger("fundboard.fx")


def _fetch_quietly() -> int:
    close_old_connections()
    try:
        return fetch_rates()
    except FeedError:
        return 0  # logged; the stored rates stay
    finally:
        close_old_connections()


@shared_task(name="fundboard.fx.tasks.fetch_rates_task", ignore_result=True)
def fetch_rates_task() -> int:
    return _fetch_quietly()


async def run_rates_feed(stop: asyncio.Event) -> None:
    """Embedded mode: fetch at start, then every FUNDBOARD_RATES_EVERY seconds."""
    if not settings.FUNDBOARD.get("RATES_URL"):
        return
    every = settings.FUNDBOARD.get("RATES_EVERY_SECONDS", 3600.0)
    while not stop.is_set():
        try:
            await asyncio.to_thread(_fetch_quietly)
        except Exception:  # the loop outlives one bad fetch
            log.exception("rates feed crashed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
