"""Redis leases: exactly one live stream consumer per ImRaising source, across processes.

Every `runstreams` process tries to take each source's lease (`SET key owner NX PX ttl`);
the holder renews it every third of the TTL, on a timer of its own (`keep_renewed`: never
behind the supervisor's database scan, which may be slow), with a compare-and-renew script
(it only extends a lease that is still its own) and releases it with compare-and-delete on
exit. When a holder dies, its lease expires after `ttl` and another process takes the
source over within seconds. If Redis cannot be reached the holder counts its leases as
lost and stops its streams: better a few seconds without a consumer than two that cannot
see each other. Idempotent ingest makes a brief overlap harmless either way.

Keys are `<REDIS_PREFIX>:imraising-stream-lease:<source id>`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable

from redis import asyncio as redis
from redis.exceptions import RedisError

from .tuning import seconds

__all__ = ["SourceLeases"]

log = logging.getLogger("fundboard.runners.lease")


# Extend the lease only if it is still ours (it may have expired and been taken over).
RENEW = """
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("pexpire", KEYS[1], ARGV[2])
end
return 0
"""
# Delete the lease only if it is still ours.
RELEASE = """
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("del", KEYS[1])
end
return 0
"""


class SourceLeases:
    """The leases this process holds, one per source it streams."""

    def __init__(self, redis_url: str, prefix: str, *, ttl: float | None = None):
        ttl = ttl or seconds("STREAM_LEASE_SECONDS")
        self.renew_every = ttl / 3  # two renewals may fail before the lease expires
        self.redis = redis.from_url(redis_url, socket_timeout=max(ttl / 3, 1.0))
        self.prefix = prefix
        self.ttl_ms = int(ttl * 1000)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held: set[int] = set()
        self._renew = self.redis.register_script(RENEW)
        self._release = self.redis.register_script(RELEASE)

    def key(self, source_id: int) -> str:
        return f"{self.prefix}:imraising-stream-lease:{source_id}"

    async def acquire(self, source_id: int) -> bool:
        """Take the lease if it is free (or already ours); False if another process holds it."""
        key = self.key(source_id)
        try:
            taken = await self.redis.set(key, self.owner, nx=True, px=self.ttl_ms)
            if not taken:
                taken = bool(await self._renew(keys=[key], args=[self.owner, self.ttl_ms]))
        except RedisError as error:
            log.warning("lease acquire failed source=%s error=%r", source_id, error)
            return False
        if taken and source_id not in self.held:
            log.info("lease taken source=%s owner=%s", source_id, self.owner)
        if taken:
            self.held.add(source_id)
        return bool(taken)

    async def renew_all(self) -> list[int]:
        """Extend every lease held; returns the sources whose lease was lost."""
        lost = []
        for source_id in sorted(self.held):
            try:
                renewed = await self._renew(
                    keys=[self.key(source_id)], args=[self.owner, self.ttl_ms]
                )
            except RedisError as error:
                log.warning("lease renew failed source=%s error=%r", source_id, error)
                renewed = 0
            if not renewed:
                lost.append(source_id)
                self.held.discard(source_id)
                log.warning("lease lost source=%s owner=%s", source_id, self.owner)
        return lost

    async def keep_renewed(self, on_lost: Callable[[list[int]], None]) -> None:
        """Renew every held lease every `renew_every` seconds until cancelled, telling
        `on_lost` which were lost. Its own timer: nothing else the process waits for (a slow
        database, a busy supervisor) can delay a renewal past the lease's time to live."""
        while True:
            await asyncio.sleep(self.renew_every)
            lost = await self.renew_all()
            if lost:
                on_lost(lost)

    async def release(self, source_id: int) -> None:
        self.held.discard(source_id)
        try:
            await self._release(keys=[self.key(source_id)], args=[self.owner])
        except RedisError as error:
            log.warning("lease release failed source=%s error=%r", source_id, error)

    async def release_all(self) -> None:
        for source_id in sorted(self.held):
            await self.release(source_id)
        await self.redis.aclose()
