"""Backfill and reconciliation of one ImRaising source: nothing the stream missed stays missed.

- `backfill(config)` ingests every listed donation from a little before the newest one
  stored (the paged listing); idempotent ingest absorbs the overlap. The stream runner
  calls `backfill_when_open` once each new stream is open (first the stream, then the
  listing, so nothing donated in between falls through), retrying per `backoff.py`.
- `reconcile(config)`, every `reconcile_interval`: upstream's `/donations/total` (and
  `/topDonors`) over the campaign window against what is stored. A disagreement is written
  as drift and triggers a backfill; when we still count more, donations upstream no longer
  lists whose sum is exactly the excess are removed (deletes missed during a gap).
  Agreement clears the drift.

A Limited key cannot list: that is said on health (`LIMITED_KEY_NOTE`), streaming goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import httpx
from django.utils import timezone

from fundboard.ingest.services import (
    ingest_donations,
    record_drift,
    record_failure,
    record_rejection,
    record_success,
)
from fundboard.providers.errors import PermissionDenied, ProviderError
from fundboard.providers.imraising import ImRaisingClient
from fundboard.sync.pending import remove_or_hold

from .backoff import plan_retry, stream_cadence
from .orm import db
from .sources import (
    SourceConfig,
    SourceGone,
    backfill_start,
    load_config,
    stored_donor_totals,
    stored_not_listed,
    stored_total,
)

__all__ = ["Backfiller", "LIMITED_KEY_NOTE", "BACKFILL_ATTEMPTS"]

log = logging.getLogger("fundboard.runners.backfill")

BACKFILL_ATTEMPTS = 5
LIMITED_KEY_NOTE = (
    "unchecked: the API key is Limited, so missed donations cannot be backfilled and totals "
    "cannot be reconciled (both need an Advanced key); live streaming works"
)


class Backfiller:
    """Backfills one source's gaps and reconciles its totals (see the module docstring)."""

    def __init__(
        self,
        source_id: int,
        *,
        rng: random.Random | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.source_id = source_id
        self._rng = rng or random.Random()
        self._transport = transport
        self._lock = asyncio.Lock()  # one backfill at a time (stream and reconciliation)

    def _client(self, config: SourceConfig) -> ImRaisingClient:
        return ImRaisingClient(config.base_url, config.api_key, transport=self._transport)

    async def note(self, recorder: Callable[[int, str], object], text: str) -> None:
        """Health is best effort here: a database that is away must not end the task."""
        try:
            await db(recorder, self.source_id, text)
        except Exception:  # noqa: BLE001
            log.exception("source=%s could not record its health", self.source_id)

    # --- backfill ------------------------------------------------------------------------

    async def backfill_when_open(self, config: SourceConfig, said_something: asyncio.Event) -> None:
        # The stream is registered upstream once it has said something (its `:` and
        # `retry:`); only then can nothing fall between the listing and the stream.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(said_something.wait(), config.settings.backfill_delay)
        settings = config.settings
        cadence = stream_cadence(settings.backoff_initial, settings.backoff_max)
        for attempt in range(1, BACKFILL_ATTEMPTS + 1):
            try:
                await self.backfill(config)
                return
            except PermissionDenied:
                await self.note(record_drift, LIMITED_KEY_NOTE)
                log.warning("source=%s cannot backfill with a Limited key", self.source_id)
                return
            except SourceGone:
                return  # removed by staff meanwhile: nothing left to fill
            except ProviderError as error:
                failure: BaseException = error
                problem = f"backfill failed: {error}"
            except Exception as error:  # noqa: BLE001 - a bug or a lost database: log, retry
                log.exception("source=%s backfill error", self.source_id)
                failure, problem = error, f"backfill failed: {type(error).__name__}"
            await self.note(record_failure, problem)
            await asyncio.sleep(plan_retry(failure, attempt, cadence, self._rng).delay)
        log.warning("source=%s gave up backfilling until the next reconnect", self.source_id)

    async def backfill(self, config: SourceConfig) -> int:
        """Ingest every listed donation from a little before the newest seen; returns new ones."""
        async with self._lock:
            overlap = config.settings.backfill_overlap
            start = await db(backfill_start, self.source_id, overlap, config.starts_at)
            added = 0
            async with self._client(config) as client:
                async for page in client.backfill_since(start):
                    if page.records:
                        outcome = await db(ingest_donations, self.source_id, page.records)
                        added += len(outcome.added)
                    for reason in page.rejected:
                        await db(record_rejection, self.source_id, reason)
            await db(record_success, self.source_id)
            log.info("backfill done source=%s since=%s added=%s", self.source_id, start, added)
            return added

    # --- reconciliation ------------------------------------------------------------------

    async def reconcile_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                config = await db(load_config, self.source_id)
                interval = config.settings.reconcile_interval
                await self.reconcile(config)
            except PermissionDenied:
                await self.note(record_drift, LIMITED_KEY_NOTE)
            except ProviderError as error:
                log.warning("source=%s reconciliation failed: %s", self.source_id, error)
            except SourceGone:
                log.info("source=%s was removed: nothing to reconcile", self.source_id)
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
        async with self._client(config) as client:
            totals = await client.donations_total(*window)
            upstream = sum((t.total for t in totals if t.currency == config.currency), Decimal(0))
            excess = await db(stored_total, config) - upstream
            if excess <= 0:
                return False  # we count less: nothing a missed delete explains
            listed: set[str] = set()
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
        return bool(await db(remove_or_hold, self.source_id, missing))

    async def _drift(self, config: SourceConfig) -> str:
        window = (config.starts_at, config.ends_at)
        async with self._client(config) as client:
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
