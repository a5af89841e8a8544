"""The latest encoded snapshot per campaign, in this process's memory: the read path's source.

The JSON endpoint (views.py) answers from here, so a crowd loading a campaign costs no
database work once the campaign is cached. Two ways an entry stays current:

- **Followed**: while this process's hub is subscribed to the campaign's group (it has
  viewers on sockets), every snapshot the hub receives is stored here too (`store`): the same
  text the sockets get, as fresh as theirs. Such an entry does not expire.
- **Not followed**: no subscription, so nothing tells this process about changes made
  elsewhere (the stream runner, a Celery worker, another web process). The entry was read
  from the database and is trusted for `TTL` seconds only, then read again. We do not join
  the group just to keep the cache fresh: that would be one Redis subscription per campaign
  ever requested, for every process, to save at most one read per campaign per second.
  A change committed in this process (ingest, staff actions) drops the entry at once.

At most `MAX_CAMPAIGNS` entries (least recently used out first): a crawler walking every
slug cannot grow it. The body is the snapshot's JSON, encoded once per version, and the ETag
is the version: a snapshot's version moves exactly when its numbers may have. Beside it, the
page version (page_version.py): what widget pages are cached by, unmoved by donations.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace

from fundboard.campaigns.models import Campaign

from .page_version import page_version_in
from .snapshot import build_snapshot, snapshot_message

__all__ = ["CachedSnapshot", "SnapshotCache", "snapshot_cache", "etag_for"]

TTL = 1.0  # seconds an entry no broadcast keeps current may be served
MAX_CAMPAIGNS = 1000
# snapshot_message()'s wrapper around the snapshot: the JSON body is what sits inside it.
_PREFIX = '{"type":"snapshot","data":'


def etag_for(version: int) -> str:
    return f'"v{version}"'


@dataclass(frozen=True, slots=True)
class CachedSnapshot:
    campaign_id: int
    version: int
    body: bytes  # the snapshot as the JSON endpoint sends it
    etag: str
    expires_at: float  # time.monotonic(); inf while the hub follows the campaign
    page_version: str  # the widget pages' cache key (page_version.py)


def _body_of(message: str) -> bytes:
    if message.startswith(_PREFIX) and message.endswith("}"):
        return message[len(_PREFIX) : -1].encode()
    raise ValueError("not a snapshot message")


class SnapshotCache:
    """Thread-safe: the hub writes from the event loop, sync views read from worker threads."""

    def __init__(self, ttl: float = TTL, max_campaigns: int = MAX_CAMPAIGNS) -> None:
        self.ttl, self.max_campaigns = ttl, max_campaigns
        self._lock = threading.Lock()
        self._by_slug: OrderedDict[str, CachedSnapshot] = OrderedDict()
        self._slug_of: dict[int, str] = {}
        # Campaigns the hub is subscribed to, and since when (time.monotonic()).
        self._followed: dict[int, float] = {}
        # The hub's newest snapshot of a followed campaign not yet requested over HTTP: a
        # database read racing a broadcast must not store an older one as never expiring.
        self._heard: dict[int, tuple[str, int]] = {}
        self._reading: dict[str, threading.Lock] = {}  # one database read per slug at a time

    # --- reading ---------------------------------------------------------------------

    def get(self, slug: str, campaign_id_for_slug) -> CachedSnapshot | None:
        """The current snapshot of `slug` (None: no such campaign), read at most once per
        TTL from the database; `campaign_id_for_slug(slug)` is called only on a miss."""
        entry = self.fresh(slug)
        if entry is not None:
            return entry
        with self._lock:
            reading = self._reading.setdefault(slug, threading.Lock())
        with reading:  # a crowd arriving at a cold campaign makes one read, not one each
            entry = self.fresh(slug)
            if entry is not None:
                return entry
            campaign_id = campaign_id_for_slug(slug)
            if campaign_id is None:
                return None
            started = time.monotonic()
            try:  # in the request's thread and connection (no close_old_connections here)
                snapshot = build_snapshot(campaign_id)
            except Campaign.DoesNotExist:
                return None
            text = snapshot_message(snapshot)
            return self._put(slug, campaign_id, text, snapshot["version"], started)

    def fresh(self, slug: str) -> CachedSnapshot | None:
        """The snapshot of `slug` if this process holds a current one, else None: no
        database work, so the event loop may call it (widgets/fast_lane.py)."""
        with self._lock:
            entry = self._by_slug.get(slug)
            if entry is None or entry.expires_at <= time.monotonic():
                return None
            self._by_slug.move_to_end(slug)
            return entry

    # --- writing -----------------------------------------------------------------------

    def _put(
        self, slug: str, campaign_id: int, text: str, version: int, read_at: float
    ) -> CachedSnapshot:
        with self._lock:
            current = self._by_slug.get(slug)
            if current is not None and current.version > version:
                return current  # a broadcast brought a newer one meanwhile
            heard = self._heard.pop(campaign_id, None)
            if heard is not None and heard[1] > version:
                text, version = heard
            entry = self._entry(campaign_id, text, version, read_at)
            self._by_slug[slug] = entry
            self._by_slug.move_to_end(slug)
            self._slug_of[campaign_id] = slug
            while len(self._by_slug) > self.max_campaigns:
                old_slug, old = self._by_slug.popitem(last=False)
                self._slug_of.pop(old.campaign_id, None)
                self._reading.pop(old_slug, None)
            return entry

    def _entry(self, campaign_id: int, text: str, version: int, read_at: float) -> CachedSnapshot:
        # Kept current by broadcasts only if read after the subscription began: a read from
        # before it may have missed a change whose broadcast went out before we listened.
        followed = self._followed.get(campaign_id, read_at + 1) <= read_at
        return CachedSnapshot(
            campaign_id=campaign_id,
            version=version,
            body=_body_of(text),
            etag=etag_for(version),
            expires_at=float("inf") if followed else time.monotonic() + self.ttl,
            page_version=page_version_in(text, version),
        )

    def store(self, campaign_id: int, text: str, version: int) -> None:
        """A snapshot the hub received for a campaign it follows (kept if newer)."""
        with self._lock:
            slug = self._slug_of.get(campaign_id)
            current = self._by_slug.get(slug) if slug else None
            if slug is None or current is None:  # not requested over HTTP here yet
                if campaign_id in self._followed:
                    self._heard[campaign_id] = (text, version)
                return
            if current.version > version:
                return
            self._by_slug[slug] = self._entry(campaign_id, text, version, time.monotonic())

    def follow(self, campaign_id: int) -> None:
        """The hub subscribed: from now on every snapshot reaches `store`."""
        with self._lock:
            self._followed.setdefault(campaign_id, time.monotonic())

    def unfollow(self, campaign_id: int) -> None:
        """The hub left: the entry is trusted for one more TTL, then read again."""
        with self._lock:
            self._followed.pop(campaign_id, None)
            self._heard.pop(campaign_id, None)
            self._expire(campaign_id, time.monotonic() + self.ttl)

    def forget(self, campaign_id: int) -> None:
        """A change committed in this process: the next request reads it."""
        with self._lock:
            self._expire(campaign_id, 0.0)

    def _expire(self, campaign_id: int, at: float) -> None:
        slug = self._slug_of.get(campaign_id)
        entry = self._by_slug.get(slug) if slug else None
        if slug is not None and entry is not None and entry.expires_at > at:
            self._by_slug[slug] = replace(entry, expires_at=at)

    def clear(self) -> None:
        with self._lock:
            self._by_slug.clear()
            self._slug_of.clear()
            self._followed.clear()
            self._heard.clear()
            self._reading.clear()


snapshot_cache = SnapshotCache()
