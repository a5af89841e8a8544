"""ImRaising stream runners: one long-lived `/api/v1/listen` consumer per source.

A `StreamRunner` keeps one source's stream open for as long as the process runs:

- it connects with the documented `authorization` header (plus `Last-Event-ID` once the
  stream gave ids), with an explicit read timeout longer than the heartbeat, so a silent
  dead stream is noticed (never httpx's 5 s default, never none), and a trickling one too:
  a complete line must arrive within that timeout;
- `donation.add` -> `ingest_donations`, `donation.delete` -> `remove_donations`; other events
  are ignored, as upstream asks; malformed records are rejected with a reason on the source's
  health and the stream goes on;
- after the stream is open (first, so nothing donated meanwhile falls through) it backfills
  from a little before the last donation seen, through the paged listing; idempotent ingest
  absorbs the overlap. A Limited key cannot list: that is said on health, streaming goes on;
- any end of the stream (ReadError, ReadTimeout, RemoteProtocolError, a clean end of the body)
  leads to a reconnect after capped exponential backoff with full jitter, never sooner than
  the stream's `retry:`; a bad key (401) backs off for minutes, so it does not hammer;
- on a slow interval it reconciles: upstream's `/donations/total` (and `/topDonors`) over the
  campaign window against what is stored; a disagreement is written as drift and triggers a
  backfill (and, when we count more, the removal of donations upstream no longer lists whose
  sum is exactly the excess: deletes missed during a gap); agreement clears it.

The body is read by `fundboard.sync.sse` (not httpx-sse's own reader): a stream is
recycled when no complete line (an event's field or a heartbeat comment) came within its
read timeout, even if single bytes keep trickling in (httpx's read timeout restarts on each
byte); lines and events are bounded in size, a too-large or too-deeply nested event is
rejected alone and the stream goes on.

Nothing one record or one bug does may stop a runner: a record the database refuses is
rejected alone (`ingest_donations`); the writer retries a failed batch, then reconnects (the
backfill finds what was not stored); the backfill task logs and retries any error; the
stream and reconciliation loops are kept running by `keep_running`, which logs and restarts
one that died; and the supervisor restarts a runner whose task ended.

`run_stream_sources(stop)` supervises one runner per enabled ImRaising source, rescanning the
database every second or so for added, disabled, changed or reconnect-requested sources. With
`leases` (the `runstreams` process, see `lease.py`) it runs only the sources whose Redis lease
it holds, so exactly one process consumes each stream.

Per-source tuning lives in `Source.options` (seconds): read_timeout (45), connect_timeout,
backoff_initial, backoff_max, auth_backoff_initial (60), auth_backoff_max (900),
healthy_after, backfill_overlap (300), backfill_delay, reconcile_interval (default: the
source's poll interval, 300 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.db import close_old_connections
from django.db.models import Max, Sum
from django.utils import timezone
from httpx_sse import SSEError, aconnect_sse

from fundboard.campaigns.models import Source, SourceKind
from fundboard.ingest.models import Donation
from fundboard.ingest.services import (
    ingest_donations,
    record_drift,
    record_failure,
    record_rejection,
    record_success,
    remove_donations,
)
from fundboard.ops import metrics
from fundboard.ops.logging import redact
from fundboard.providers.errors import (
    AuthError,
    BadData,
    BadRecord,
    PermissionDenied,
    ProviderError,
    UpstreamUnavailable,
)
from fundboard.providers.imraising import (
    EVENT_MAX_BYTES,
    ImRaisingClient,
    auth_headers,
    decode_event_data,
    error_for_response,
    parse_donation,
    parse_removal,
)

from .pending import note_stream_activity, remove_or_hold
from .sse import Event, StreamStalled, StreamTooLarge, read_events

__all__ = [
    "StreamSettings",
    "StreamRunner",
    "run_stream_sources",
    "keep_running",
    "LIMITED_KEY_NOTE",
]

log = logging.getLogger("fundboard.sync.stream")

BACKFILL_ATTEMPTS = 5
WRITE_ATTEMPTS = 3  # a batch the database refused this often ends the connection
RESTART_DELAY = 1.0  # seconds before keep_running restarts a task that died
CENT = Decimal("0.01")
MAX_BATCH = 500  # stream events written in one go when they pile up
MAX_QUEUED_EVENTS = 5000  # the reader waits when the writer is this far behind
ACTIVITY_SAVE_SECONDS = 5.0  # how stale the dashboard's "last spoke" may be
LIMITED_KEY_NOTE = (
    "unchecked: the API key is Limited, so missed donations cannot be backfilled and totals "
    "cannot be reconciled (both need an Advanced key); live streaming works"
)


@dataclass(frozen=True)
class StreamSettings:
    read_timeout: float = 45.0
    connect_timeout: float = 10.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    auth_backoff_initial: float = 60.0
    auth_backoff_max: float = 900.0
    healthy_after: float = 30.0  # a connection that lasted this long resets the backoff
    backfill_overlap: float = 300.0  # backfill from this long before the last donation seen
    backfill_delay: float = 1.0  # if the new stream says nothing, backfill after this anyway
    reconcile_interval: float = 300.0

    @classmethod
    def from_source(cls, source: Source) -> StreamSettings:
        options = source.options or {}
        values = {"reconcile_interval": source.effective_poll_interval}
        for setting in fields(cls):
            if setting.name not in options:
                continue
            try:
                value = float(options[setting.name])
            except (TypeError, ValueError):
                value = math.nan
            if math.isfinite(value) and value > 0:
                values[setting.name] = value
            else:
                log.warning("source=%s ignores option %s=%r", source.pk, setting.name, value)
        return cls(**values)


@dataclass(frozen=True)
class SourceConfig:
    """What a runner needs of its source, read once per connection (outside the loop)."""

    source_id: int
    base_url: str
    api_key: str
    settings: StreamSettings
    currency: str
    starts_at: datetime | None
    ends_at: datetime | None
    last_event_id: str
    fingerprint: tuple
    reconnect_requested_at: datetime | None


# --- database edge (runs in worker threads, never on the loop) -------------------------------


def _in_thread(function, args, kwargs):
    close_old_connections()
    try:
        return function(*args, **kwargs)
    finally:
        close_old_connections()


async def db(function, *args, **kwargs):
    """Run an ORM function in a worker thread; the event loop never touches the database."""
    return await sync_to_async(_in_thread, thread_sensitive=False)(function, args, kwargs)


def _config(source: Source) -> SourceConfig:
    return SourceConfig(
        source_id=source.pk,
        base_url=source.effective_base_url,
        api_key=source.api_key,
        settings=StreamSettings.from_source(source),
        currency=source.campaign.currency,
        starts_at=source.campaign.starts_at,
        ends_at=source.campaign.ends_at,
        last_event_id=source.last_event_id,
        fingerprint=(source.effective_base_url, source.api_key, repr(source.options)),
        reconnect_requested_at=source.reconnect_requested_at,
    )


def load_config(source_id: int) -> SourceConfig:
    return _config(Source.objects.select_related("campaign").get(pk=source_id))


def enabled_stream_sources() -> dict[int, SourceConfig]:
    sources = Source.objects.select_related("campaign").filter(
        kind=SourceKind.IMRAISING, enabled=True
    )
    return {source.pk: _config(source) for source in sources}


def backfill_start(source_id: int, overlap: float, fallback: datetime | None) -> datetime | None:
    """A little before the newest donation seen; the campaign start when none was seen yet."""
    latest = Donation.objects.filter(source_id=source_id, is_test=False, removed=False).aggregate(
        latest=Max("donated_at")
    )["latest"]
    if latest is None:
        return fallback
    return latest - timedelta(seconds=overlap)


def _stored(config: SourceConfig):
    qs = Donation.objects.counted().filter(source_id=config.source_id, currency=config.currency)
    if config.starts_at:
        qs = qs.filter(donated_at__gte=config.starts_at)
    if config.ends_at:
        qs = qs.filter(donated_at__lt=config.ends_at)
    return qs


def stored_total(config: SourceConfig) -> Decimal:
    total = _stored(config).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    return total.quantize(CENT)  # SQLite's SUM loses the scale


def stored_not_listed(
    config: SourceConfig, listed: set[str], before: datetime
) -> dict[str, Decimal]:
    """Counted donations (upstream id -> amount) older than `before` that were not listed."""
    rows = _stored(config).filter(created_at__lt=before).values_list("upstream_id", "amount")
    return {upstream_id: amount for upstream_id, amount in rows if upstream_id not in listed}


def stored_donor_totals(config: SourceConfig, names: list[str]) -> dict[str, Decimal]:
    """What we stored per donor name; `names` are cleaned as stored names are (clean_name)."""
    rows = (
        _stored(config)
        .filter(display_name__in=[name for name in names if name])
        .values("display_name")
        .annotate(total=Sum("amount"))
    )
    return {row["display_name"]: row["total"].quantize(CENT) for row in rows}


@dataclass(frozen=True)
class StreamEvent:
    """One parsed stream event waiting to be written: an add, a delete or a rejection."""

    kind: str  # "add", "delete" or "reject"
    record: object = None  # DonationRecord, RemovalRecord, or the rejection reason
    event_id: str = ""


def apply_events(source_id: int, events: list[StreamEvent]) -> None:
    """A burst of stream events into the database, in order, a run of one kind per call.

    Consecutive adds become one `ingest_donations` (one transaction, one `donation` event
    each, in order), consecutive deletes one `remove_donations`. The stream's cursor is
    stored when it gave ids.
    """
    index = 0
    while index < len(events):
        kind = events[index].kind
        end = index
        while end < len(events) and events[end].kind == kind:
            end += 1
        run = [event.record for event in events[index:end]]
        if kind == "add":
            ingest_donations(source_id, run)
        elif kind == "delete":
            remove_donations(source_id, [record.upstream_id for record in run])
        else:
            for reason in run:
                record_rejection(source_id, reason)
        index = end
    last_id = next((e.event_id for e in reversed(events) if e.event_id), "")
    if last_id:
        Source.objects.filter(pk=source_id).update(last_event_id=last_id[:200])


# --- one source ------------------------------------------------------------------------------


class StreamEnded(Exception):
    """The server closed the body cleanly; reconnect all the same."""


async def _read_bounded(response: httpx.Response, limit: int = EVENT_MAX_BYTES) -> bytes:
    """At most `limit` bytes of an error reply: a hostile host cannot make us hold more."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            break
    return bytes(body[:limit])


class StreamRunner:
    """Keeps one ImRaising source's stream open, backfills gaps, reconciles totals."""

    def __init__(self, source_id: int, *, rng: random.Random | None = None):
        self.source_id = source_id
        self.started_at = timezone.now()
        self.fingerprint: tuple = ()
        self.retry_ms: int | None = None
        self.last_event_id = ""
        self.failures = 0
        self.connected = False
        self.last_activity_at: datetime | None = None  # the stream's last line (see _spoke)
        self._rng = rng or random.Random()
        self._backfill_lock = asyncio.Lock()

    async def run(self) -> None:
        """Runs until cancelled."""
        config = await db(load_config, self.source_id)
        self.fingerprint, self.last_event_id = config.fingerprint, config.last_event_id
        interval = config.settings.reconcile_interval
        try:
            await asyncio.gather(
                keep_running("stream", self._stream_forever, self.source_id),
                keep_running(
                    "reconciliation", lambda: self._reconcile_forever(interval), self.source_id
                ),
            )
        finally:
            if self.connected:
                # Best effort: the dashboard should not show a stream we no longer hold.
                with contextlib.suppress(Exception):
                    await asyncio.shield(db(record_success, self.source_id, stream_connected=False))

    # --- the stream ------------------------------------------------------------------------

    async def _stream_forever(self) -> None:
        config: SourceConfig | None = None
        while True:
            opened_at = time.monotonic()
            try:
                config = await db(load_config, self.source_id)
                await self._consume(config)
            except StreamEnded as ended:
                error: BaseException = ended
            except ProviderError as failure:
                error = failure
            except httpx.TimeoutException as failure:
                error = UpstreamUnavailable(f"stream timed out ({type(failure).__name__})")
            except StreamStalled as failure:
                error = UpstreamUnavailable(f"stream stalled: {failure}")
            except StreamTooLarge as failure:
                error = BadData(str(failure))
            except httpx.TransportError as failure:
                error = UpstreamUnavailable(f"stream broke ({type(failure).__name__})")
            except SSEError as failure:
                error = BadData(f"not an event stream: {failure}")
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
        except Exception:  # noqa: BLE001 - the wait below must happen whatever the database says
            log.exception("source=%s could not record the stream's health", self.source_id)
        await asyncio.sleep(delay)

    def reconnect_delay(self, settings: StreamSettings, error: BaseException) -> float:
        """Capped exponential backoff; a rejected key waits minutes, the rest full jitter."""
        attempt = max(self.failures - 1, 0)
        if isinstance(error, AuthError | PermissionDenied):
            ceiling = min(settings.auth_backoff_max, settings.auth_backoff_initial * 2**attempt)
            # Half fixed, half random: never near zero, so a bad key cannot hammer.
            return ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        ceiling = min(settings.backoff_max, settings.backoff_initial * 2 ** min(attempt, 30))
        delay = self._rng.uniform(0, ceiling)
        floor = max(
            (self.retry_ms or 0) / 1000,
            getattr(error, "retry_after", None) or 0,
        )
        return max(delay, floor)

    def _request_headers(self, config: SourceConfig) -> dict[str, str]:
        headers = auth_headers(config.api_key)
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        return headers

    async def _consume(self, config: SourceConfig) -> None:
        settings = config.settings
        timeout = httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.connect_timeout,
            pool=settings.connect_timeout,
        )
        async with (
            httpx.AsyncClient(timeout=timeout) as http,
            aconnect_sse(
                http,
                "GET",
                f"{config.base_url}/api/v1/listen",
                headers=self._request_headers(config),
            ) as event_source,
        ):
            response = event_source.response
            if response.status_code != 200:
                raise error_for_response(response, await _read_bounded(response))
            self.connected = True
            await db(record_success, self.source_id, stream_connected=True)
            log.info("stream open source=%s", self.source_id)
            said_something = asyncio.Event()
            backfill = asyncio.create_task(self._backfill_when_open(config, said_something))
            activity = asyncio.create_task(self._save_activity_forever())
            try:
                await self._read_events(response, settings.read_timeout, said_something)
            finally:
                for task in (backfill, activity):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
        raise StreamEnded("the server ended the stream")

    async def _read_events(
        self, response: httpx.Response, read_timeout: float, said_something: asyncio.Event
    ) -> None:
        """Parse events as they come; a writer task stores them, in bursts when they pile up.

        While the writer waits on the database the reader goes on queueing, so a burst is
        written in a few transactions instead of one per donation; alone, an event is written
        at once. Whatever was read is written before this returns (unless cancelled).
        """
        queue: asyncio.Queue = asyncio.Queue(maxsize=MAX_QUEUED_EVENTS)
        writer = asyncio.create_task(self._write_events(queue))
        try:
            async for event in read_events(response, read_timeout, on_line=self._spoke):
                said_something.set()
                parsed = self._parse(event)
                while queue.full() and not writer.done():
                    await asyncio.wait({writer}, timeout=0.05)  # let the writer catch up
                if writer.done():
                    break  # it failed: its exception is raised below
                if parsed is not None:
                    queue.put_nowait(parsed)
        except asyncio.CancelledError:
            writer.cancel()
            raise
        except BaseException:
            await self._finish_writing(queue, writer)
            raise
        await self._finish_writing(queue, writer)

    def _spoke(self) -> None:
        self.last_activity_at = timezone.now()

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

    @staticmethod
    async def _finish_writing(queue: asyncio.Queue, writer: asyncio.Task) -> None:
        """Let the writer store what is queued, then end; raises the writer's failure."""
        while not writer.done():
            try:
                queue.put_nowait(None)
                break
            except asyncio.QueueFull:
                await asyncio.wait({writer}, timeout=0.1)  # it is busy writing (or failed)
        await writer

    async def _write_events(self, queue: asyncio.Queue) -> None:
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

    def _parse(self, event: Event) -> StreamEvent | None:
        if event.retry is not None and event.retry >= 0:
            self.retry_ms = event.retry
        event_id = ""
        if event.id and event.id != self.last_event_id:
            self.last_event_id = event_id = event.id
        if event.too_large:
            reason = f"{event.event[:40]}: event data larger than the stream's bound"
            return StreamEvent("reject", reason, event_id)
        if not event.data.strip():
            return None  # retry-only and id-only events carry nothing
        if event.event == "donation.add":
            kind, parse = "add", parse_donation
        elif event.event == "donation.delete":
            kind, parse = "delete", parse_removal
        else:
            log.debug("source=%s ignores event %r", self.source_id, event.event[:40])
            return None
        try:
            return StreamEvent(kind, parse(decode_event_data(event.data)), event_id)
        except BadRecord as error:
            return StreamEvent("reject", f"{event.event}: {error}", event_id)
        except Exception as error:  # noqa: BLE001 - a bug costs this event, not the stream
            log.exception("source=%s could not parse a %s event", self.source_id, event.event)
            return StreamEvent("reject", f"{event.event}: {type(error).__name__}", event_id)

    # --- backfill --------------------------------------------------------------------------

    async def _backfill_when_open(self, config: SourceConfig, said_something: asyncio.Event):
        # The stream is registered upstream once it has said something (its `:` and
        # `retry:`); only then can nothing fall between the listing and the stream.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(said_something.wait(), config.settings.backfill_delay)
        for attempt in range(BACKFILL_ATTEMPTS):
            try:
                await self.backfill(config)
                return
            except PermissionDenied:
                await self._note(record_drift, LIMITED_KEY_NOTE)
                log.warning("source=%s cannot backfill with a Limited key", self.source_id)
                return
            except ProviderError as error:
                problem, retry_after = f"backfill failed: {error}", error.retry_after
            except Exception as error:  # noqa: BLE001 - a bug or a lost database: log, retry
                log.exception("source=%s backfill error", self.source_id)
                problem, retry_after = f"backfill failed: {type(error).__name__}", None
            await self._note(record_failure, problem)
            ceiling = min(config.settings.backoff_max, config.settings.backoff_initial * 2**attempt)
            await asyncio.sleep(max(self._rng.uniform(ceiling / 2, ceiling), retry_after or 0))
        log.warning("source=%s gave up backfilling until the next reconnect", self.source_id)

    async def _note(self, recorder, text: str) -> None:
        """Health is best effort here: a database that is away must not end the task."""
        try:
            await db(recorder, self.source_id, text)
        except Exception:  # noqa: BLE001
            log.exception("source=%s could not record its health", self.source_id)

    async def backfill(self, config: SourceConfig) -> int:
        """Ingest every listed donation from a little before the newest seen; returns new ones."""
        async with self._backfill_lock:
            start = await db(
                backfill_start, self.source_id, config.settings.backfill_overlap, config.starts_at
            )
            added = 0
            async with ImRaisingClient(config.base_url, config.api_key) as client:
                async for page in client.backfill_since(start):
                    if page.records:
                        outcome = await db(ingest_donations, self.source_id, page.records)
                        added += len(outcome.added)
                    for reason in page.rejected:
                        await db(record_rejection, self.source_id, reason)
            await db(record_success, self.source_id)
            log.info("backfill done source=%s since=%s added=%s", self.source_id, start, added)
            return added

    # --- reconciliation --------------------------------------------------------------------

    async def _reconcile_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                config = await db(load_config, self.source_id)
                interval = config.settings.reconcile_interval
                await self.reconcile(config)
            except PermissionDenied:
                await self._note(record_drift, LIMITED_KEY_NOTE)
            except ProviderError as error:
                log.warning("source=%s reconciliation failed: %s", self.source_id, error)
            except Exception:  # noqa: BLE001 - a bug or a lost database must not end the runner
                log.exception("source=%s reconciliation error", self.source_id)

    async def reconcile(self, config: SourceConfig) -> str:
        """Compare upstream's totals with ours; on disagreement say so, backfill, check again.

        If we still count more than upstream, a `donation.delete` was probably missed while
        the stream was down (a backfill only finds additions): see `_repair_missed_deletes`.
        """
        drift = await self._drift(config)
        if drift:
            await db(record_drift, self.source_id, drift)
            await self.backfill(config)
            drift = await self._drift(config)
        if drift and await self._repair_missed_deletes(config):
            drift = await self._drift(config)
        await db(record_drift, self.source_id, drift)
        return drift

    async def _repair_missed_deletes(self, config: SourceConfig) -> bool:
        """Remove stored donations upstream no longer lists, when they explain the excess.

        Only donations older than the listing (so not just streamed in), missing from the
        whole listing of the campaign window, and only when their sum is exactly what we
        count above upstream's own total: a listing that skipped a row while paging cannot
        make us remove a real donation.
        """
        listed_before = timezone.now() - timedelta(seconds=2)
        window = (config.starts_at, config.ends_at)
        async with ImRaisingClient(config.base_url, config.api_key) as client:
            totals = await client.donations_total(*window)
            upstream = sum((t.total for t in totals if t.currency == config.currency), Decimal(0))
            excess = await db(stored_total, config) - upstream
            if excess <= 0:
                return False  # we count less: nothing a missed delete explains
            listed = set()
            async for page in client.backfill_since(*window):
                listed.update(record.upstream_id for record in page.records)
        missing = await db(stored_not_listed, config, listed, listed_before)
        if not missing or sum(missing.values()) != excess:
            return False
        log.warning(
            "source=%s %s donation(s) upstream no longer lists (missed deletes): %s",
            self.source_id,
            len(missing),
            ", ".join(sorted(missing))[:300],
        )
        # A few are removed at once; a mass removal waits for staff (fundboard.sync.pending).
        return await db(remove_or_hold, self.source_id, missing)

    async def _drift(self, config: SourceConfig) -> str:
        window = (config.starts_at, config.ends_at)
        async with ImRaisingClient(config.base_url, config.api_key) as client:
            totals = await client.donations_total(*window)
            top = await client.top_donors(*window, limit=10)
        upstream = sum((t.total for t in totals if t.currency == config.currency), Decimal("0"))
        ours = await db(stored_total, config)
        problems = []
        if upstream != ours:
            problems.append(f"upstream total {upstream} {config.currency}, stored {ours}")
        top = [t for t in top if t.currency == config.currency and t.nickname]
        stored = await db(stored_donor_totals, config, [t.nickname for t in top])
        for donor in top:
            mine = stored.get(donor.nickname, Decimal("0"))
            if mine != donor.total:
                problems.append(
                    f"top donor {donor.nickname!r}: upstream {donor.total}, stored {mine}"
                )
        return "; ".join(problems)


# --- supervision -----------------------------------------------------------------------------


async def keep_running(name: str, start, source_id: int, *, delay: float = RESTART_DELAY) -> None:
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


@dataclass
class _Running:
    runner: StreamRunner
    task: asyncio.Task


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


def _log_death(source_id: int, task: asyncio.Task) -> None:
    if task.done() and not task.cancelled() and task.exception() is not None:
        log.error("stream runner source=%s died", source_id, exc_info=task.exception())


async def _stop(running: _Running) -> None:
    running.task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await running.task


async def run_stream_sources(stop: asyncio.Event, *, leases=None, scan_seconds: float = 0) -> None:
    """One StreamRunner per enabled ImRaising source until `stop` is set.

    `leases` (a `fundboard.sync.lease.SourceLeases`) limits this process to the sources whose
    lease it holds; without it (embedded mode) every source runs here.
    """
    scan_seconds = scan_seconds or django_settings.FUNDBOARD["STREAM_SCAN_SECONDS"]
    running: dict[int, _Running] = {}
    try:
        while not stop.is_set():
            try:
                await _supervise(running, leases)
            except Exception:  # noqa: BLE001 - the database or Redis may be briefly away
                log.exception("stream supervisor scan failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), scan_seconds)
    finally:
        await asyncio.gather(*(_stop(r) for r in running.values()))
        if leases is not None:
            await leases.release_all()


async def _supervise(running: dict[int, _Running], leases) -> None:
    wanted = await db(enabled_stream_sources)
    lost = set(await leases.renew_all()) if leases is not None else set()
    for source_id, current in list(running.items()):
        reason = _needs_restart(current, wanted.get(source_id))
        if source_id in lost:
            reason = "lease lost"
        if reason:
            log.info("stopping stream source=%s reason=%s", source_id, reason)
            _log_death(source_id, current.task)
            await _stop(running.pop(source_id))
            if leases is not None and reason != "lease lost" and source_id not in wanted:
                await leases.release(source_id)
    for source_id in wanted:
        if source_id in running:
            continue
        if leases is not None and not await leases.acquire(source_id):
            continue
        runner = StreamRunner(source_id)
        task = asyncio.create_task(runner.run(), name=f"imraising-stream-{source_id}")
        running[source_id] = _Running(runner, task)
        log.info("started stream source=%s", source_id)
