"""`db(function, *args)`: ORM code called from the event loop, run in a worker thread.

One helper for every runner (streams, backfill, the embedded poll scheduler): Channels'
`database_sync_to_async`, which also closes stale connections before and after each call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from channels.db import database_sync_to_async

__all__ = ["db"]

P = ParamSpec("P")
T = TypeVar("T")


async def db(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `function(*args, **kwargs)` in a worker thread; the loop never blocks on the ORM.

    `thread_sensitive=False`: every source's runner and every embedded poll (and, embedded,
    the web server) does its database work at the same time, each in a thread of its own.
    Thread-sensitive calls would all queue on one thread, so one slow write or poll would
    hold up every other source.
    """
    call = database_sync_to_async(function, thread_sensitive=False)
    result: T = await call(*args, **kwargs)
    return result
