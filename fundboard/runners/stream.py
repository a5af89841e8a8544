"""The stream runner: one ImRaising source's `/api/v1/listen` stream, kept open for good.

A `StreamRunner` connects through `fundboard.providers.imraising.listen` (which owns the
HTTP, the SSE framing, the liveness deadline and the typed events) and:

- stores what the stream says: `DonationAdded` -> `ingest_donations`, `DonationDeleted` ->
  `remove_donations`, `EventRejected` -> the reason on the source's health; a reader queues
  events while a writer stores them, so a burst is written in a few transactions;
- once the stream is open, has its `Backfiller` fetch what was missed (backfill.py), and
  reconciles totals on a slow interval;
- after any end of the stream (a timeout, a stall, a broken connection, a clean end of the
  body, an error status) reconnects after the wait `backoff.py` gives for that failure,
  never sooner than the stream's `retry:`; the source's health says what happened.

Nothing one record or one bug does may stop a runner: a record the database refuses is
rejected alone (`ingest_donations`); the writer retries a failed batch, then reconnects (the
backfill finds what was not stored); the stream and reconciliation loops are kept running
by `keep_running`, and the supervisor restarts a runner whose task ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
from django.utils import timezone

from fundboard.ingest.services import record_failure, record_success
from fundboard.ops import metrics
from fundboard.ops.logging import redact
from fundboard.providers.errors import ProviderError
from fundboard.providers.imraising import StreamEnded, StreamEvent, StreamPosition, listen
from fundboard.sync.pending import note_stream_activity

from .backfill import Backfiller
from .backoff import plan_retry, stream_cadence
from .keep_running import keep_running
from .orm import db
from .sources import SourceConfig, SourceGone, StreamSettings, apply_events, load_config

__all__ = ["StreamRunner", "MAX_BATCH", "MAX_QUEUED_EVENTS"]

log = logging.getLogger("fundboard.runners.stream")

WRITE_ATTEMPTS = 3  # a batch the database refused this often ends the connection
MAX_BATCH = 500  # stream events written in one go when they pile up
MAX_QUEUED_EVENTS = 5000  # the reader waits when the writer is this far behind
ACTIVITY_SAVE_SECONDS = 5.0  # how stale the dashboard's "last spoke" may be

_Queue = asyncio.Queue[StreamEvent | None]  # None: the reader is done


class StreamRunner:
    """Keeps one ImRaising source's stream open; its Backfiller fills gaps, reconciles."""

    def __init__(
        self,
        source_id: int,
        *,
        rng: random.Random | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.source_id = source_id
        self.started_at = timezone.now()
        self.fingerprint: tuple[str, ...] = ()
        self.position = StreamPosition()  # the stream's cursor and `retry:`
        self.failures = 0
        self.connected = False
        self.last_activity_at: datetime | None = None  # the stream's last complete line
        self._rng = rng or random.Random()
        self._transport = transport
        self.backfiller = Backfiller(source_id, rng=self._rng, transport=transport)

    async def run(self) -> None:
        """Runs until cancelled."""
        config = await db(load_config, self.source_id)
        self.fingerprint = config.fingerprint
        self.position.last_event_id = config.last_event_id
        interval = config.settings.reconcile_interval
        try:
            await asyncio.gather(
                keep_running("stream", self._stream_forever, self.source_id),
                keep_running(
                    "reconciliation",
                    lambda: self.backfiller.reconcile_forever(interval),
                    self.source_id,
                ),
            )
        finally:
            if self.connected:
                # Best effort: the dashboard should not show a stream we no longer hold.
                with contextlib.suppress(Exception):
                    await asyncio.shield(db(record_success, self.source_id, stream_connected=False))

    # --- connecting and reconnecting -----------------------------------------------------

    async def _stream_forever(self) -> None:
        config: SourceConfig | None = None
        while True:
            opened_at = time.monotonic()
            try:
                config = await db(load_config, self.source_id)
                await self._consume(config)
                error: BaseException = StreamEnded("the server ended the stream")
            except ProviderError as failure:
                error = failure
            except SourceGone:
                # Removed by staff: no health row to write, and the supervisor's next scan
                # (every STREAM_SCAN_SECONDS) stops this runner. Until then, wait quietly.
                log.info("source=%s was removed: waiting to be stopped", self.source_id)
                await asyncio.sleep((config.settings if config else StreamSettings()).backoff_max)
                continue
            except Exception as failure:  # noqa: BLE001 - a bug or a lost database must not end it
                log.exception("source=%s stream runner error", self.source_id)
                error = failure
            settings = config.settings if config else StreamSettings()
            healthy = self.connected and time.monotonic() - opened_at >= settings.healthy_after
            api_key = config.api_key if config else ""
            await self._after_disconnect(settings, api_key, error, healthy)

    async def _after_disconnect(
        self, settings: StreamSettings, api_key: str, error: BaseException, healthy: bool
    ) -> None:
        self.connected = False
        self.failures = 0 if healthy else self.failures + 1
        delay = self.reconnect_delay(settings, error)
        metrics.STREAM_RECONNECTS.labels(self.source_id).inc()
        message = redact(str(error) or type(error).__name__, api_key)
        log.info(
            "stream closed source=%s reason=%s reconnect_in=%.1fs", self.source_id, message, delay
        )
        next_at = timezone.now() + timedelta(seconds=delay)
        try:
            if healthy and isinstance(error, StreamEnded):
                # A long, healthy connection that the server ended: not a failure.
                await db(
                    record_success, self.source_id, stream_connected=False, next_poll_at=next_at
                )
            else:
                await db(
                    record_failure,
                    self.source_id,
                    error,
                    stream_connected=False,
                    next_poll_at=next_at,
                )
        except SourceGone:
            pass  # removed meanwhile: the next round says so and waits to be stopped
        except Exception:  # noqa: BLE001 - the wait below must happen whatever the database says
            log.exception("source=%s could not record the stream's health", self.source_id)
        await asyncio.sleep(delay)

    def reconnect_delay(self, settings: StreamSettings, error: BaseException) -> float:
        """The shared policy (backoff.py), floored by the stream's own `retry:`."""
        cadence = stream_cadence(
            settings.backoff_initial, settings.backoff_max, self.position.retry_ms
        )
        return plan_retry(error, self.failures, cadence, self._rng).delay

    # --- one connection ------------------------------------------------------------------

    async def _consume(self, config: SourceConfig) -> None:
        """One connection, until the stream ends (which always raises)."""
        settings = config.settings
        said_something = asyncio.Event()

        def spoke() -> None:
            said_something.set()
            self.last_activity_at = timezone.now()

        async with listen(
            config.base_url,
            config.api_key,
            self.position,
            read_timeout=settings.read_timeout,
            connect_timeout=settings.connect_timeout,
            on_line=spoke,
            transport=self._transport,
        ) as stream:
            self.connected = True
            await db(record_success, self.source_id, stream_connected=True)
            log.info("stream open source=%s", self.source_id)
            backfill = asyncio.create_task(
                self.backfiller.backfill_when_open(config, said_something)
            )
            activity = asyncio.create_task(self._save_activity_forever())
            try:
                await self._read_events(stream.events())
            finally:
                for task in (backfill, activity):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    async def _read_events(self, events: AsyncIterator[StreamEvent]) -> None:
        """Queue events as they come; a writer task stores them, in bursts when they pile up.

        While the writer waits on the database the reader goes on queueing, so a burst is
        written in a few transactions instead of one per donation; alone, an event is written
        at once. Whatever was read is written before this returns (unless cancelled).
        """
        queue: _Queue = asyncio.Queue(maxsize=MAX_QUEUED_EVENTS)
        writer = asyncio.create_task(self._write_events(queue))
        try:
            async for event in events:
                while queue.full() and not writer.done():
                    await asyncio.wait({writer}, timeout=0.05)  # let the writer catch up
                if writer.done():
                    break  # it failed: its exception is raised below
                queue.put_nowait(event)
        except asyncio.CancelledError:
            writer.cancel()
            raise
        except BaseException:
            await self._finish_writing(queue, writer)
            raise
        await self._finish_writing(queue, writer)

    async def _save_activity_forever(self) -> None:
        """The dashboard's stream lag: when the stream last spoke, saved at most every
        ACTIVITY_SAVE_SECONDS (one small write, not one per event or heartbeat)."""
        saved = None
        while True:
            await asyncio.sleep(ACTIVITY_SAVE_SECONDS)
            spoke = self.last_activity_at
            if spoke is not None and spoke != saved:
                await db(note_stream_activity, self.source_id, spoke)
                saved = spoke

    # --- storing what was read -----------------------------------------------------------

    @staticmethod
    async def _finish_writing(queue: _Queue, writer: asyncio.Task[None]) -> None:
        """Let the writer store what is queued, then end; raises the writer's failure."""
        while not writer.done():
            try:
                queue.put_nowait(None)
                break
            except asyncio.QueueFull:
                await asyncio.wait({writer}, timeout=0.1)  # it is busy writing (or failed)
        await writer

    async def _write_events(self, queue: _Queue) -> None:
        while True:
            first = await queue.get()
            if first is None:
                return
            batch, finished = [first], False
            while len(batch) < MAX_BATCH and not queue.empty():
                item = queue.get_nowait()
                if item is None:
                    finished = True
                    break
                batch.append(item)
            await self._write_batch(batch)
            if finished:
                return

    async def _write_batch(self, batch: list[StreamEvent]) -> None:
        """Store a batch, retrying a failure (the database away for a moment). A batch that
        keeps failing raises: the stream reconnects and its backfill stores what was lost.
        (One bad record cannot fail a batch: `ingest_donations` rejects it alone.)"""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                await db(apply_events, self.source_id, batch)
                return
            except Exception:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise
                log.exception(
                    "source=%s could not store %s stream event(s), retrying",
                    self.source_id,
                    len(batch),
                )
                await asyncio.sleep(0.5 * 2**attempt)
