"""In-process poll scheduler for embedded mode (placeholder: filled in by its owner)."""

from __future__ import annotations

import asyncio


async def run_poll_scheduler(stop: asyncio.Event) -> None:
    await stop.wait()
