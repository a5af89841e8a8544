"""The stream supervisor: one `StreamRunner` per enabled ImRaising source, for good.

`run_stream_sources(stop)` rescans the database every `STREAM_SCAN_SECONDS` for added,
disabled, changed or reconnect-requested sources, and restarts a runner whose task ended.
With `leases` (the `runstreams` process, see `lease.py`) it runs only the sources whose
Redis lease it holds, so exactly one process consumes each stream. The leases are renewed on
their own timer (`SourceLeases.keep_renewed`), never behind the database scan: a database
slower than the lease's time to live must not cost the lease. A lease found lost stops its
runner at once; another process has the source now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from .lease import SourceLeases
from .orm import db
from .sources import SourceConfig, enabled_stream_sources
from .stream import StreamRunner
from .tuning import seconds

__all__ = ["run_stream_sources"]

log = logging.getLogger("fundboard.runners.supervisor")

RunnerFactory = Callable[[int], StreamRunner]


@dataclass
class _Running:
    runner: StreamRunner
    task: asyncio.Task[None]


@dataclass
class _Supervisor:
    leases: SourceLeases | None
    new_runner: RunnerFactory
    running: dict[int, _Running] = field(default_factory=dict)
    lost: set[int] = field(default_factory=set)  # leases the renewal timer found lost

    def leases_lost(self, source_ids: list[int]) -> None:
        """Called by the renewal timer: stop those runners now, before the next scan."""
        for source_id in source_ids:
            self.lost.add(source_id)
            if source_id in self.running:
                self.running[source_id].task.cancel()

    async def scan(self) -> None:
        wanted = await db(enabled_stream_sources)
        lost, self.lost = self.lost, set()
        for source_id, current in list(self.running.items()):
            reason = (
                "lease lost"
                if source_id in lost
                else _needs_restart(current, wanted.get(source_id))
            )
            if reason:
                await self._stop(source_id, reason, release=source_id not in wanted)
        for source_id in wanted:
            if source_id not in self.running:
                await self._start(source_id)

    async def _stop(self, source_id: int, reason: str, *, release: bool) -> None:
        log.info("stopping stream source=%s reason=%s", source_id, reason)
        current = self.running.pop(source_id)
        _log_death(source_id, current.task)
        await _stop_task(current.task)
        if self.leases is not None and reason != "lease lost" and release:
            await self.leases.release(source_id)

    async def _start(self, source_id: int) -> None:
        if self.leases is not None and not await self.leases.acquire(source_id):
            return
        runner = self.new_runner(source_id)
        task = asyncio.create_task(runner.run(), name=f"imraising-stream-{source_id}")
        self.running[source_id] = _Running(runner, task)
        log.info("started stream source=%s", source_id)

    async def stop_all(self) -> None:
        await asyncio.gather(*(_stop_task(r.task) for r in self.running.values()))


def _needs_restart(running: _Running, config: SourceConfig | None) -> str:
    if config is None:
        return "disabled or removed"
    if running.task.done():
        return "runner stopped"
    if config.fingerprint != running.runner.fingerprint and running.runner.fingerprint:
        return "configuration changed"
    requested = config.reconnect_requested_at
    if requested and requested > running.runner.started_at:
        return "reconnect requested"
    return ""


def _log_death(source_id: int, task: asyncio.Task[None]) -> None:
    if task.done() and not task.cancelled() and task.exception() is not None:
        log.error("stream runner source=%s died", source_id, exc_info=task.exception())


async def _stop_task(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def run_stream_sources(
    stop: asyncio.Event,
    *,
    leases: SourceLeases | None = None,
    scan_seconds: float = 0,
    new_runner: RunnerFactory = StreamRunner,
) -> None:
    """One StreamRunner per enabled ImRaising source until `stop` is set.

    `leases` limits this process to the sources whose lease it holds; without it (embedded
    mode) every source runs here. `new_runner(source_id)` makes a runner (tests give theirs
    a transport).
    """
    scan_seconds = scan_seconds or seconds("STREAM_SCAN_SECONDS")
    supervisor = _Supervisor(leases, new_runner)
    renewal: asyncio.Task[None] | None = None
    if leases is not None:
        renewal = asyncio.create_task(leases.keep_renewed(supervisor.leases_lost))
    try:
        while not stop.is_set():
            try:
                await supervisor.scan()
            except Exception:  # noqa: BLE001 - the database or Redis may be briefly away
                log.exception("stream supervisor scan failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), scan_seconds)
    finally:
        if renewal is not None:
            await _stop_task(renewal)
        await supervisor.stop_all()
        if leases is not None:
            await leases.release_all()
