"""`keep_running`: a loop that must never stop, restarted whenever it ends or dies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["keep_running", "RESTART_DELAY"]

log = logging.getLogger("fundboard.runners")

RESTART_DELAY = 1.0  # seconds before a task that died starts over


async def keep_running(
    name: str,
    start: Callable[[], Awaitable[None]],
    source_id: int,
    *,
    delay: float = RESTART_DELAY,
) -> None:
    """Run `start()` (a loop meant to run until cancelled) again whenever it ends or dies:
    the exception is logged and, `delay` seconds later, the loop starts over."""
    while True:
        try:
            await start()
            log.error("source=%s %s task ended; restarting it", source_id, name)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - logged, then restarted
            log.exception("source=%s %s task died; restarting it", source_id, name)
        await asyncio.sleep(delay)
