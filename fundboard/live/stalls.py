"""Cutting viewers that stopped reading, before their unsent frames pile up in the kernel.

A browser tab that froze, a phone in a tunnel or a hostile client that never reads leaves
every frame sent to it waiting: first in the kernel's send buffer of its socket (which Linux
grows to megabytes on its own: 2,000 such sockets held 776 MB within 15 s), then in the
server's buffer. Each socket's kernel buffer is capped when it opens (limits.SEND_BUFFER_BYTES)
and, every SWEEP_SECONDS, this sweep reads every watched socket's unsent bytes (one `ioctl`
each) and drops the connection of any past MAX_UNSENT_BYTES. The write paths also look once
every CHECK_EVERY_BYTES they send to a socket (DirectWriter.written), which catches a burst
between two sweeps at the cost of one `ioctl` per 32 KB; the sweep catches the sockets no
longer written to (uvicorn's writer waits once its buffer is full).
"""

from __future__ import annotations

import asyncio
import logging

from . import limits
from .direct import DirectWriter

__all__ = ["StallSweep", "get_sweep", "reset_sweeps"]

log = logging.getLogger("fundboard.live")


class StallSweep:
    def __init__(self, max_unsent: int = limits.MAX_UNSENT_BYTES) -> None:
        self.max_unsent = max_unsent
        self._connections: dict[DirectWriter, str] = {}  # connection -> its path
        self._task: asyncio.Task | None = None

    def watch(self, connection: DirectWriter, path: str) -> None:
        connection.limit_send_buffer(limits.SEND_BUFFER_BYTES)
        self._connections[connection] = path
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="stall-sweep")

    def forget(self, connection: DirectWriter) -> None:
        self._connections.pop(connection, None)

    async def _run(self) -> None:
        while self._connections:
            await asyncio.sleep(limits.SWEEP_SECONDS)
            try:
                self.sweep()
            except Exception:  # one odd connection must not end the sweep for all
                log.exception("stall sweep failed")

    def sweep(self) -> int:
        """Drop every connection past the bound; returns how many were cut."""
        stalled = [
            (connection, unsent)
            for connection in self._connections
            if not connection.is_cut and (unsent := connection.unsent_bytes()) > self.max_unsent
        ]
        for connection, unsent in stalled:
            self._connections.pop(connection, None)
            connection.cut(unsent)
        return len(stalled)


_sweeps: dict[int, StallSweep] = {}


def get_sweep() -> StallSweep:
    """The sweep of the running event loop (one per process in practice)."""
    loop = asyncio.get_running_loop()
    sweep = _sweeps.get(id(loop))
    if sweep is None:
        sweep = _sweeps[id(loop)] = StallSweep()
    return sweep


def reset_sweeps() -> None:
    """Forget every loop's sweep (tests; a loop's next get_sweep makes a fresh one)."""
    _sweeps.clear()
