"""Per-process fan-out: one channel-layer group membership per campaign, not per socket.

Each web process subscribes once to a campaign's group when its first viewer arrives and
leaves it with the last. Every message arrives here once, already encoded, and is put in
each local socket's small bounded outbox. A socket that falls behind (its outbox is full)
loses its backlog and gets the latest snapshot instead, so it never delays the others and
never grows an unbounded queue. Redis work per broadcast stays flat however many watch.

A socket may follow snapshots only (widgets that draw totals and lists have no use for the
per-donation events). Such a socket's outbox holds one message, the latest snapshot: the
frames it costs per second are bounded by the coalescing window, not by the donation rate,
which is what lets one process keep thousands of thermometers current through a burst.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field

from channels.layers import get_channel_layer

from fundboard.ops import metrics

from .direct import DirectWriter, text_frame
from .snapshot import read_snapshot_in_thread
from .snapshot_cache import snapshot_cache

__all__ = ["Outbox", "CampaignFeed", "CampaignHub", "get_hub", "reset_hubs"]

log = logging.getLogger("fundboard.live")

OUTBOX_LIMIT = 64
# A snapshot contains everything older ones said: an unsent one is simply replaced.
SNAPSHOT_ONLY_LIMIT = 1


class Outbox:
    """A socket's bounded queue of encoded messages; `overflowed` marks a needed resync.

    With a `direct` writer (uvicorn or daphne, see direct.py), a message for an idle socket is
    written at once as a frame built once for every socket, instead of waking its writer.
    """

    # Slots: the hub reads every outbox on every broadcast, and compact objects read faster.
    __slots__ = (
        "events", "limit", "items", "ready", "overflowed", "closed", "direct", "sending", "greeted"
    )  # fmt: skip

    def __init__(
        self, limit: int = OUTBOX_LIMIT, *, events: bool = True, direct: DirectWriter | None = None
    ) -> None:
        self.events = events  # False: this socket follows snapshots only
        self.limit = limit if events else SNAPSHOT_ONLY_LIMIT
        self.items: deque[str] = deque()
        self.ready = asyncio.Event()
        self.overflowed = False
        self.closed = False
        # Only for sockets that follow events, where every frame matters and arrives first.
        # A snapshot-only socket goes through its writer: under load its unsent snapshot is
        # replaced by the next (measured: written straight away, every snapshot went out and
        # piled up in slow viewers' kernel buffers, seconds behind; bench/bench_scale.py).
        self.direct = direct if events else None
        self.sending = False  # the writer holds a message it has not finished sending
        # False from joining until the first snapshot is in: a socket's first message is the
        # snapshot (the contract), so what arrives before it is held behind it, never direct.
        self.greeted = True

    def greet(self, snapshot: str | None) -> None:
        """Put the first snapshot ahead of anything that arrived while it was being read."""
        if snapshot is not None:
            self.items.appendleft(snapshot)
        self.greeted = True
        self.ready.set()

    def put(self, text: str, frame: bytes | None = None) -> bool:
        """Queue a message (True: it was written at once instead, see the class docstring)."""
        # Straight to the wire only when nothing is queued or being sent: order is kept.
        idle = self.greeted and not self.items and not self.sending
        if idle and frame is not None and self.direct is not None and self.direct.write(frame):
            return True
        if len(self.items) >= self.limit:
            self.items.clear()
            # Losing events needs a resync; a snapshot-only socket lost nothing by skipping.
            self.overflowed = self.events
        self.items.append(text)
        self.ready.set()
        return False

    async def get(self) -> str | None:
        while not self.items or not self.greeted:
            if self.closed:
                return None
            self.ready.clear()
            await self.ready.wait()
        return self.items.popleft()

    def close(self) -> None:
        self.closed = True
        self.ready.set()


@dataclass
class CampaignFeed:
    """One campaign's subscription in this process."""

    group: str
    channel: str = ""
    members: set[Outbox] = field(default_factory=set)  # sockets that want every message
    snapshot_members: set[Outbox] = field(default_factory=set)  # sockets on snapshots only
    reader: asyncio.Task | None = None
    latest_snapshot: str | None = None
    latest_version: int = -1
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class CampaignHub:
    def __init__(self) -> None:
        self._feeds: dict[str, CampaignFeed] = {}
        self._lock = asyncio.Lock()

    async def join(self, group: str, outbox: Outbox, *, snapshot_of: int | None) -> None:
        """Add a socket; its first message is the current snapshot (when `snapshot_of`)."""
        async with self._lock:
            feed = self._feeds.get(group)
            if feed is None:
                feed = CampaignFeed(group=group)
                self._feeds[group] = feed
                layer = get_channel_layer()
                feed.channel = await layer.new_channel("hub.")
                await layer.group_add(group, feed.channel)
                feed.reader = asyncio.create_task(self._read(feed), name=f"hub-{group}")
                if (campaign_id := _campaign_of(group)) is not None:
                    snapshot_cache.follow(campaign_id)  # the JSON endpoint may trust its cache
            if snapshot_of is not None:
                outbox.greeted = False  # events wait behind the snapshot read below
            (feed.members if outbox.events else feed.snapshot_members).add(outbox)
        if snapshot_of is None:
            return
        snapshot = None  # stays None if the campaign is gone (or the read failed)
        try:
            snapshot = await self._current_snapshot(feed, snapshot_of)
        finally:
            outbox.greet(snapshot)  # even on failure: never hold the socket's messages for ever

    async def leave(self, group: str, outbox: Outbox) -> None:
        outbox.close()
        async with self._lock:
            feed = self._feeds.get(group)
            if feed is None:
                return
            feed.members.discard(outbox)
            feed.snapshot_members.discard(outbox)
            if feed.members or feed.snapshot_members:
                return
            del self._feeds[group]
            if (campaign_id := _campaign_of(group)) is not None:
                snapshot_cache.unfollow(campaign_id)
            if feed.reader:
                feed.reader.cancel()
            await get_channel_layer().group_discard(group, feed.channel)

    async def latest_snapshot(self, group: str, campaign_id: int) -> str | None:
        """The newest snapshot this process has seen for a group one of its sockets follows
        (what a `resync` answers: no database read while the feed is subscribed); None if
        the campaign is gone."""
        feed = self._feeds.get(group) or CampaignFeed(group=group)
        return await self._current_snapshot(feed, campaign_id)

    async def _current_snapshot(self, feed: CampaignFeed, campaign_id: int) -> str | None:
        # While subscribed, the hub sees every snapshot broadcast; a newcomer gets the latest
        # one without touching the database. The first viewer reads it from the database
        # (after subscribing, so no change can fall between the read and the feed).
        if feed.latest_snapshot is None:
            text, version = await read_snapshot_in_thread(campaign_id)
            if feed.latest_snapshot is None or version > feed.latest_version:
                feed.latest_snapshot, feed.latest_version = text, version
        return feed.latest_snapshot

    async def _read(self, feed: CampaignFeed) -> None:
        layer = get_channel_layer()
        while True:
            try:
                message = await layer.receive(feed.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # a Redis hiccup must not end the feed
                log.exception("hub receive failed group=%s", feed.group)
                await asyncio.sleep(0.5)
                continue
            self.dispatch(feed, message)

    def dispatch(self, feed: CampaignFeed, message: dict) -> None:
        text, kind, version = message["text"], message.get("kind"), message.get("version", 0)
        if "sent_at" in message:
            metrics.BROADCAST_DELAY.observe(max(0.0, time.time() - message["sent_at"]))
        if kind == "snapshot":
            if version < feed.latest_version:
                return  # an older snapshot overtaken by a newer one
            feed.latest_snapshot, feed.latest_version = text, version
            if (campaign_id := _campaign_of(feed.group)) is not None:
                snapshot_cache.store(campaign_id, text, version)
        direct, sockets = 0, len(feed.members)
        if kind == "snapshot":
            # A snapshot-only outbox holds one message: this replaces an unsent older one.
            # (No direct path for these, see Outbox, so no frame either.)
            for outbox in feed.snapshot_members:
                outbox.put(text)
            sockets += len(feed.snapshot_members)
        # Built once, written as is to every idle socket that follows events (direct.py).
        frame = text_frame(text) if feed.members else None
        for outbox in feed.members:
            if outbox.put(text, frame):
                direct += 1
            elif outbox.overflowed:
                self._resume_from_snapshot(feed, outbox, kind)
        metrics.FRAMES_SENT.labels("direct").inc(direct)
        metrics.FRAMES_SENT.labels("queued").inc(sockets - direct)

    @staticmethod
    def _resume_from_snapshot(feed: CampaignFeed, outbox: Outbox, kind: str | None) -> None:
        # The socket fell behind and lost its backlog: it resumes from the latest snapshot,
        # which contains everything the lost messages said.
        outbox.overflowed = False
        if kind != "snapshot" and feed.latest_snapshot:
            outbox.items.appendleft(feed.latest_snapshot)


def _campaign_of(group: str) -> int | None:
    """The campaign a public group (`campaign.<id>`, broadcast.py) carries; None for others."""
    prefix, _, campaign_id = group.partition(".")
    return int(campaign_id) if prefix == "campaign" and campaign_id.isdigit() else None


_hubs: dict[int, CampaignHub] = {}


def get_hub() -> CampaignHub:
    """The hub of the running event loop (one per process in practice)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(id(loop))
    if hub is None:
        hub = _hubs[id(loop)] = CampaignHub()
    return hub


def reset_hubs() -> None:
    """Forget every loop's hub (tests: each starts with none; a loop's next get_hub makes a
    fresh one). Their feeds' reader tasks die with the loops they ran on."""
    _hubs.clear()
