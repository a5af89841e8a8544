"""One poll of one polled source (Action Network pages, a P2P event): the plain function.

`poll_source(source_id)` fetches through the provider client with the validators of the
previous poll (ETag / Last-Modified, kept in `Source.etags`), hands the result to
`fundboard.ingest.services.apply_poll_result` (which writes and announces only what changed)
and says when to poll next. The Celery task and the embedded scheduler are thin callers;
both keep the next-poll schedule out of the database on the happy path (Redis or memory)
and use `is_due` to decide. The database's `next_poll_at` is written only while failing,
so the dashboard can show when the next attempt comes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from fundboard.campaigns.models import Source, SourceKind
from fundboard.ingest.services import apply_poll_result, record_failure, record_success
from fundboard.ops import metrics
from fundboard.ops.logging import redact
from fundboard.providers.actionnetwork import ActionNetworkClient
from fundboard.providers.errors import ProviderError
from fundboard.providers.p2p import P2PClient

from .backoff import plan_retry, poll_cadence
from .tuning import seconds

__all__ = [
    "POLLED_KINDS",
    "PollOutcome",
    "ScheduleEntry",
    "client_for",
    "due_source_ids",
    "is_due",
    "is_source_due",
    "poll_source",
    "polled_sources",
]

log = logging.getLogger("fundboard.runners")

CLIENTS: dict[SourceKind, type[ActionNetworkClient | P2PClient]] = {
    SourceKind.ACTIONNETWORK: ActionNetworkClient,
    SourceKind.P2P: P2PClient,
}
POLLED_KINDS = tuple(CLIENTS)


@dataclass(frozen=True)
class PollOutcome:
    source_id: int
    result: str  # "changed", "unchanged", "failed" or "skipped"
    delay: float  # seconds until the next poll
    not_before: float = 0.0  # the part of `delay` a staff request may not shorten
    error: str = ""
    kind: str = ""  # the platform, for the poll-latency metric


def client_for(source: Source) -> ActionNetworkClient | P2PClient:
    client_class = CLIENTS[SourceKind(source.kind)]
    return client_class(
        source.effective_base_url, source.api_key, source.provider_ids or {}, source.options or {}
    )


def _floor() -> float:
    return seconds("POLL_FLOOR_SECONDS")


def poll_source(source_id: int) -> PollOutcome:
    """Poll one source now (the caller makes sure no other poll of it runs meanwhile)."""
    started = time.monotonic()
    outcome = _poll(source_id)
    metrics.POLLS.labels(source_id, outcome.result).inc()
    if outcome.result != "skipped":
        metrics.POLL_SECONDS.labels(outcome.kind).observe(time.monotonic() - started)
    return outcome


def _poll(source_id: int) -> PollOutcome:
    source = Source.objects.filter(pk=source_id).first()
    if source is None or not source.enabled or source.kind not in CLIENTS:
        return PollOutcome(source_id, "skipped", delay=60.0)
    interval = source.effective_poll_interval
    try:
        result = client_for(source).poll(source.etags or {})
    except ProviderError as error:
        return _failed(source, error, interval)
    except Exception as error:  # a bug or an odd reply must not stop the worker
        log.exception("poll crashed source=%s", source.pk)
        return _failed(source, error, interval)
    outcome = apply_poll_result(source.pk, result)
    if source.consecutive_failures:
        # Recovered: the backoff shown on the dashboard is over.
        record_success(source.pk, next_poll_at=timezone.now() + timedelta(seconds=interval))
    result_name = "changed" if outcome.changed else "unchanged"
    return PollOutcome(source.pk, result_name, delay=interval, kind=source.kind)


def _failed(source: Source, error: BaseException, interval: float) -> PollOutcome:
    cadence = poll_cadence(interval, _floor())
    plan = plan_retry(error, source.consecutive_failures + 1, cadence)
    next_poll_at = timezone.now() + timedelta(seconds=plan.delay)
    record_failure(source.pk, error, next_poll_at=next_poll_at)
    message = redact(str(error), source.api_key)[:200]
    return PollOutcome(source.pk, "failed", plan.delay, plan.not_before, message, kind=source.kind)


# --- scheduling, shared by the embedded scheduler and Celery beat's dispatch ----------------


@dataclass
class ScheduleEntry:
    """One source's schedule, in epoch seconds (kept in memory or in Redis, not the DB)."""

    last_started: float = 0.0
    next_at: float = 0.0
    not_before: float = 0.0
    crashes: float = 0  # polls in a row that raised instead of giving an outcome

    def started(self, now: float) -> None:
        self.last_started = now

    def finished(self, outcome: PollOutcome, now: float) -> None:
        self.next_at = now + outcome.delay
        self.not_before = now + outcome.not_before
        self.crashes = 0

    def crashed(self, error: BaseException, now: float, floor: float) -> float:
        """A poll that raised (the database locked or gone, a bug): wait like a failed poll,
        exponentially and with jitter, so sources that crashed together do not retry
        together. Returns the wait."""
        self.crashes += 1
        delay = plan_retry(error, int(self.crashes), poll_cadence(floor, floor)).delay
        self.next_at = now + delay
        return delay

    @classmethod
    def resumed(cls, row: dict) -> ScheduleEntry:
        """A source seen for the first time: a backoff still running in the DB holds."""
        entry = cls()
        if row["consecutive_failures"] and row["next_poll_at"]:
            entry.next_at = row["next_poll_at"].timestamp()
        return entry


def is_due(entry: ScheduleEntry, now: float, requested_at: datetime | None, floor: float) -> bool:
    """Due on schedule, or because staff asked for a poll after the last one started.

    A request skips the wait and an exponential backoff, but never the floor nor a
    platform's Retry-After. Nothing is due sooner than the floor after the last start.
    """
    if now < entry.last_started + floor:
        return False
    if now >= entry.next_at:
        return True
    if requested_at is not None and requested_at.timestamp() > entry.last_started:
        return now >= max(entry.not_before, entry.last_started + floor)
    return False


SCHEDULE_FIELDS = ("id", "poll_requested_at", "next_poll_at", "consecutive_failures")


def polled_sources() -> list[dict]:
    return list(Source.objects.filter(enabled=True, kind__in=POLLED_KINDS).values(*SCHEDULE_FIELDS))


def is_source_due(source_id: int, entry: ScheduleEntry | None, now: float | None = None) -> bool:
    """Is this one source due now? Asked again by a poll task when it starts: it may have been
    queued on a schedule read just before the previous poll finished."""
    row = (
        Source.objects.filter(pk=source_id, enabled=True, kind__in=POLLED_KINDS)
        .values(*SCHEDULE_FIELDS)
        .first()
    )
    if row is None:
        return False
    entry = entry if entry is not None else ScheduleEntry.resumed(row)
    now = time.time() if now is None else now
    return is_due(entry, now, row["poll_requested_at"], _floor())


def due_source_ids(
    schedule: dict[int, ScheduleEntry], now: float | None = None, rows: list[dict] | None = None
) -> list[int]:
    """Ids of the enabled polled sources due now; adds new sources to `schedule`."""
    now = time.time() if now is None else now
    floor = _floor()
    due = []
    rows = polled_sources() if rows is None else rows
    for row in rows:
        entry = schedule.get(row["id"])
        if entry is None:
            entry = schedule[row["id"]] = ScheduleEntry.resumed(row)
        if is_due(entry, now, row["poll_requested_at"], floor):
            due.append(row["id"])
    for gone in set(schedule) - {row["id"] for row in rows}:
        del schedule[gone]  # disabled or deleted
    return due
