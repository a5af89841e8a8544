"""Never two polls of one source at once.

With REDIS_URL (Celery workers on any number of hosts): a Redis lock with a TTL, so a worker
killed mid-poll cannot keep the source locked forever; released only by its holder (a token
compared in Lua). Without Redis (embedded mode, one process): a process-local lock.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator

from django.conf import settings

__all__ = ["source_lock", "redis_client", "redis_key", "LOCK_TTL_SECONDS"]

# Longer than any poll can take (each request times out after 10 s; the biggest events page
# through a few dozen requests).
LOCK_TTL_SECONDS = 300

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

_local_guard = threading.Lock()
_local_held: set[int] = set()
_client = None
_client_pid: int | None = None


def redis_key(*parts: object) -> str:
    return ":".join([settings.REDIS_PREFIX, "poll", *(str(p) for p in parts)])


def redis_client():
    """One Redis client (a connection pool) per process; a forked child makes its own."""
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        import redis

        _client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5, decode_responses=True
        )
        _client_pid = os.getpid()
    return _client


@contextlib.contextmanager
def _redis_lock(source_id: int, ttl: int) -> Iterator[bool]:
    client = redis_client()
    key, token = redis_key("lock", source_id), uuid.uuid4().hex
    acquired = bool(client.set(key, token, nx=True, ex=ttl))
    try:
        yield acquired
    finally:
        if acquired:
            client.eval(_RELEASE, 1, key, token)


@contextlib.contextmanager
def _local_lock(source_id: int) -> Iterator[bool]:
    with _local_guard:
        acquired = source_id not in _local_held
        _local_held.add(source_id)
    try:
        yield acquired
    finally:
        if acquired:
            with _local_guard:
                _local_held.discard(source_id)


def source_lock(source_id: int, ttl: int = LOCK_TTL_SECONDS):
    """`with source_lock(id) as acquired:` -- poll only when `acquired` is True."""
    if settings.REDIS_URL:
        return _redis_lock(source_id, ttl)
    return _local_lock(source_id)
