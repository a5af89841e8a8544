"""Sending committed changes to the channel layer: events at once, snapshots coalesced.

Ingest announces changes with signals after commit (in whatever thread committed). The
`LiveBroadcaster` turns them into channel-layer messages on one event loop per process: the
running loop of an async process (`serve`, the stream runner), or a private background loop
in a sync process (a Celery worker). Keeping one long-lived loop is what avoids the
channels_redis pitfalls of `async_to_sync` in workers: a new loop per call leaks Redis
connections and ends in "Event loop is closed".

Coalescing: every donation produces its own `donation` event, in order, immediately; the
`snapshot` of a campaign is rebuilt from the database one window (FUNDBOARD["COALESCE_SECONDS"])
after the first change it covers, however many changes arrive in that window. Waiting out
the window even for a lone change lets its event go first and alone: a snapshot read and
sent at the same moment competes with the event's delivery for the CPU (and, in the process
that ingested it, for the GIL); measured with bench/bench_fanout.py, the event's median
latency to 1,000 sockets fell from 16-17 ms to 12 ms (docs/benchmarks.md, section 1).
While changes keep coming (BUSY_FLUSHES snapshots of a campaign within BUSY_SPAN seconds),
snapshots are at least FUNDBOARD["COALESCE_BUSY_SECONDS"] apart: a snapshot goes to every
viewer, and in a big burst the frames per viewer, not the database or Redis, are what a web
process runs out of.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import Future
from datetime import timedelta

from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from fundboard.campaigns.models import Campaign
from fundboard.incentives.alerts import alert_incentives

from .snapshot import donation_payload, read_snapshot_in_thread

__all__ = ["campaign_group", "dashboard_group", "LiveBroadcaster", "broadcaster"]

log = logging.getLogger("fundboard.live")

# This many snapshots of one campaign within BUSY_SPAN seconds make it busy (the long
# window); the span is long enough that a campaign on the long window stays busy.
BUSY_FLUSHES = 5
BUSY_SPAN = 1.5


def campaign_group(campaign_id: int) -> str:
    return f"campaign.{campaign_id}"


def dashboard_group(campaign_id: int) -> str:
    return f"dashboard.{campaign_id}"


def _encode(message_type: str, data: dict) -> str:
    return json.dumps({"type": message_type, "data": data}, separators=(",", ":"))


def _event(donation, campaign: Campaign, version: int, incentives: dict[int, dict]) -> dict:
    """A `donation` event: the donation as in the snapshot, plus the incentive it went to."""
    data = {**donation_payload(donation, campaign), "version": version}
    if donation.pk in incentives:
        data["incentive"] = incentives[donation.pk]
    return data


def _layer_message(text: str, kind: str, version: int) -> dict:
    # Plain types only: channels_redis encodes with msgpack. `sent_at` measures the delay.
    return {
        "type": "campaign.message",
        "text": text,
        "kind": kind,
        "version": version,
        "sent_at": time.time(),
    }


class LiveBroadcaster:
    """Thread-safe front door to the channel layer for one process."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._owner_pid: int | None = None
        # The loop and thread this object started itself, when no caller bound one.
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._own_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending: set[int] = set()
        self._flushes: dict[int, deque[float]] = {}  # recent snapshot times per campaign
        self._inflight: set[Future] = set()
        # One per campaign, on the loop: batches of events go out whole and in order.
        self._send_locks: dict[int, asyncio.Lock] = {}

    # --- the loop ------------------------------------------------------------------------

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Use an async process's own running loop (call from that loop at start-up)."""
        with self._lock:
            self._loop, self._owner_pid = loop, os.getpid()
            self._pending.clear()
            self._send_locks.clear()

    def reset(self) -> None:
        """Forget the loop and everything pending, stopping the loop this object started (tests:
        each starts from a broadcaster as a fresh process has; the next send starts anew)."""
        with self._lock:
            own_loop, own_thread = self._own_loop, self._own_thread
            self._loop = self._own_loop = self._owner_pid = self._own_thread = None
            self._pending.clear()
            self._flushes.clear()
            self._inflight.clear()
            self._send_locks.clear()
        if own_thread is not None and own_loop is not None and own_thread.is_alive():
            own_loop.call_soon_threadsafe(own_loop.stop)
            own_thread.join(timeout=5)
            if not own_loop.is_running():
                own_loop.close()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            # A forked Celery child inherits the parent's object but not its thread.
            if self._loop is None or self._owner_pid != os.getpid() or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="fundboard-broadcast", daemon=True
                )
                thread.start()
                self._loop, self._owner_pid, self._own_thread = loop, os.getpid(), thread
                self._own_loop = loop
                self._pending.clear()
                self._send_locks.clear()
            return self._loop

    def _submit(self, coro) -> None:
        loop = self._ensure_loop()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            task = loop.create_task(coro)
            task.add_done_callback(self._log_failure)
            return
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        self._inflight.add(future)
        future.add_done_callback(self._inflight.discard)
        future.add_done_callback(self._log_failure)

    @staticmethod
    def _log_failure(future) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.error("broadcast failed: %r", future.exception())

    def wait_for_reads(self, timeout: float) -> None:
        """Wait (from a sync caller) until the work submitted to this object's loop from other
        threads (snapshot reads and sends) is done; what is only scheduled is not waited for."""
        deadline = time.monotonic() + timeout
        while self._inflight and time.monotonic() < deadline:
            time.sleep(0.01)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait (from a sync caller) until what was submitted has been sent."""
        deadline = time.monotonic() + timeout
        while (self._inflight or self._pending) and time.monotonic() < deadline:
            time.sleep(0.01)

    # --- what ingest announces --------------------------------------------------------------

    def donations_added(self, campaign: Campaign, donations, version: int) -> None:
        """One `donation` event each. Old donations (a first poll's history, a backfill
        after a long outage) reach the staff feed but raise no public alert: they are in the
        snapshot, and a burst of stale alerts on a stream would only confuse viewers."""
        oldest_alert = timezone.now() - timedelta(
            seconds=settings.FUNDBOARD["ALERT_MAX_AGE_SECONDS"]
        )
        texts, public = [], []
        incentives = alert_incentives(campaign, donations)  # "for Name the character: Zelda"
        for donation in donations:
            texts.append(_encode("donation", _event(donation, campaign, version, incentives)))
            # Held for review: staff see it, viewers get its alert once approved.
            held = campaign.hold_for_review and donation.approved is not True
            public.append(donation.donated_at >= oldest_alert and not held)
        self._submit(self._send_texts(campaign.pk, texts, "donation", version, public))

    def donations_approved(self, campaign: Campaign, donations, version: int) -> None:
        """The `donation` events held back for review, now with the approved name and
        message, to viewers only (staff saw them arrive), whatever their age."""
        incentives = alert_incentives(campaign, donations)
        texts = [_encode("donation", _event(d, campaign, version, incentives)) for d in donations]
        self._submit(self._send_texts(campaign.pk, texts, "donation", version, dashboard=False))

    def alert_control(self, campaign_id: int, data: dict) -> None:
        """Staff commands for the alert overlays (skip, pause, resume, clear, replay): an
        `alert_control` message to every socket of the campaign that follows events."""
        text = _encode("alert_control", data)
        self._submit(
            self._group_send(campaign_group(campaign_id), _layer_message(text, "alert_control", 0))
        )

    def donations_removed(self, campaign: Campaign, donations, version: int) -> None:
        texts = [_encode("donation_removed", {"id": d.pk, "version": version}) for d in donations]
        self._submit(self._send_texts(campaign.pk, texts, "donation_removed", version))

    def campaign_changed(self, campaign_id: int) -> None:
        self._submit(self._schedule_snapshot(campaign_id))

    def dashboard_event(self, campaign_id: int, message_type: str, data: dict) -> None:
        """Staff-only messages (source health, moderation) on the dashboard group."""
        text = _encode(message_type, data)
        self._submit(
            self._group_send(dashboard_group(campaign_id), _layer_message(text, message_type, 0))
        )

    # --- on the loop ------------------------------------------------------------------------

    async def _group_send(self, group: str, message: dict) -> None:
        await get_channel_layer().group_send(group, message)

    async def _send_texts(
        self,
        campaign_id: int,
        texts: list[str],
        kind: str,
        version: int,
        public: list[bool] | None = None,
        *,
        dashboard: bool = True,
    ) -> None:
        layer = get_channel_layer()
        # Two batches submitted back to back would interleave at every await; the lock
        # (FIFO, taken in submission order) keeps each campaign's events in commit order.
        async with self._send_locks.setdefault(campaign_id, asyncio.Lock()):
            for index, text in enumerate(texts):
                message = _layer_message(text, kind, version)
                if public is None or public[index]:
                    await layer.group_send(campaign_group(campaign_id), message)
                if dashboard:
                    await layer.group_send(dashboard_group(campaign_id), message)

    @staticmethod
    def _window(flushes: deque[float]) -> float:
        """The least time between two snapshots of a campaign: longer while it is busy."""
        busy = len(flushes) == flushes.maxlen and time.monotonic() - flushes[0] < BUSY_SPAN
        key = "COALESCE_BUSY_SECONDS" if busy else "COALESCE_SECONDS"
        return settings.FUNDBOARD[key]

    @classmethod
    def _snapshot_delay(cls, flushes: deque[float]) -> float:
        """How long a change waits for its snapshot: one short window (see the module
        docstring), and longer if the campaign's window since the last snapshot is not over."""
        since_last = (flushes[-1] if flushes else 0.0) + cls._window(flushes) - time.monotonic()
        return max(settings.FUNDBOARD["COALESCE_SECONDS"], since_last)

    async def _schedule_snapshot(self, campaign_id: int) -> None:
        if campaign_id in self._pending:
            return  # a snapshot is already due within the window; it will read this change
        self._pending.add(campaign_id)
        flushes = self._flushes.setdefault(campaign_id, deque(maxlen=BUSY_FLUSHES))
        try:
            await asyncio.sleep(self._snapshot_delay(flushes))
        finally:
            # Leave the pending set before reading, so a change committed during the read
            # schedules one more snapshot instead of being lost. Not after the read: by then
            # the mark may be that next snapshot's, and clearing it let a third change
            # schedule a twin of it (two snapshots at once, seen under load on PostgreSQL).
            self._pending.discard(campaign_id)
        flushes.append(time.monotonic())
        text, version = await read_snapshot_in_thread(campaign_id)
        if text is None:
            return
        message = _layer_message(text, "snapshot", version)
        layer = get_channel_layer()
        await layer.group_send(campaign_group(campaign_id), message)
        await layer.group_send(dashboard_group(campaign_id), message)


broadcaster = LiveBroadcaster()
