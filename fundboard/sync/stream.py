"""ImRaising stream runners (placeholder: filled in by its owner)."""

from __future__ import annotations

import asyncio


async def run_stream_sources(stop: asyncio.Event) -> None:
    await stop.wait()
