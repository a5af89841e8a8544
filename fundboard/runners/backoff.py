"""How long to wait after a failure: one policy per kind of failure, for every runner.

The stream runner (reconnecting), its backfill (retrying the listing) and the pollers (the
next poll of a failing source) all ask `plan_retry`, so a failure means the same wait
wherever it happens:

| kind          | failures                              | wait after the n-th failure in a row   |
|---------------|---------------------------------------|----------------------------------------|
| rejected key  | AuthError (401), PermissionDenied (403) | half fixed, half random, doubling from |
|               |                                       | 300-600 s up to 1800-3600 s            |
| anything else | timeouts, 5xx, 429, a dropped stream, | full jitter: anywhere between the floor|
|               | bad data, a bug                       | and min(maximum, initial * 2**(n-1))   |

- A rejected key does not heal by itself: waiting minutes keeps a wrong key from hammering
  the platform; never near zero, whatever the draw. Fixing the key does not wait: a changed
  key restarts a stream at once (the supervisor compares fingerprints) and a staff "poll
  now" request skips the wait (`polling.is_due`).
- "Full jitter" (a uniform draw up to an exponential cap) spreads sources that failed
  together (a platform outage), so they do not retry together.
- The caller's `Cadence` sets the timescale of the second kind: a stream reconnects after
  seconds (`stream_cadence`: 1 s doubling to 60 s, per-source options `backoff_initial` and
  `backoff_max`); a poll retries on its own interval's scale (`poll_cadence`: twice the
  interval doubling to 600 s or the interval, whichever is longer).
- Floors nothing shortens: the caller's floor (the poll floor; the stream's `retry:`) and a
  platform's `Retry-After` (429/503), which is also returned as `not_before`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

from fundboard.providers.errors import AuthError, PermissionDenied, ProviderError

__all__ = [
    "REJECTED_KEY",
    "TRANSIENT",
    "REJECTED_KEY_MIN_SECONDS",
    "REJECTED_KEY_MAX_SECONDS",
    "MAX_POLL_BACKOFF_SECONDS",
    "Cadence",
    "RetryPlan",
    "failure_kind",
    "plan_retry",
    "poll_cadence",
    "stream_cadence",
]

REJECTED_KEY = "rejected key"
TRANSIENT = "transient"
# A rejected key: the first retry after 5 to 10 minutes, then doubling up to an hour.
REJECTED_KEY_MIN_SECONDS = 300.0
REJECTED_KEY_MAX_SECONDS = 3600.0
# The exponential cap of a failing poll (unless its own interval is longer).
MAX_POLL_BACKOFF_SECONDS = 600.0


class _Uniform(Protocol):
    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True)
class Cadence:
    """The caller's timescale for transient failures: the first cap, the largest cap, and a
    floor no wait goes under."""

    initial: float
    maximum: float
    floor: float = 0.0


@dataclass(frozen=True)
class RetryPlan:
    """Seconds until the next attempt, and the part of it nothing may shorten (Retry-After)."""

    delay: float
    not_before: float = 0.0


def stream_cadence(initial: float, maximum: float, retry_ms: int | None = None) -> Cadence:
    """A stream's: seconds, never sooner than the stream's own `retry:`."""
    return Cadence(initial, maximum, floor=(retry_ms or 0) / 1000)


def poll_cadence(interval: float, floor: float) -> Cadence:
    """A polled source's. The cap starts at twice the interval: a first retry drawn from
    [floor, interval] alone would be the floor every time for a source polled at the floor,
    so sources failing together would retry together once more."""
    return Cadence(
        initial=2 * max(interval, floor),
        maximum=max(MAX_POLL_BACKOFF_SECONDS, interval),
        floor=floor,
    )


def failure_kind(error: BaseException) -> str:
    if isinstance(error, AuthError | PermissionDenied):
        return REJECTED_KEY
    return TRANSIENT


def _ceiling(initial: float, maximum: float, failures: int) -> float:
    return min(maximum, initial * 2 ** min(max(failures, 1) - 1, 30))


def plan_retry(
    error: BaseException, failures: int, cadence: Cadence, rng: _Uniform | None = None
) -> RetryPlan:
    """The wait after the `failures`-th failure in a row (see the table above)."""
    draw: _Uniform = rng or random
    if failure_kind(error) == REJECTED_KEY:
        ceiling = _ceiling(2 * REJECTED_KEY_MIN_SECONDS, REJECTED_KEY_MAX_SECONDS, failures)
        delay = draw.uniform(ceiling / 2, ceiling)
    else:
        ceiling = _ceiling(cadence.initial, max(cadence.maximum, cadence.initial), failures)
        delay = draw.uniform(cadence.floor, max(cadence.floor, ceiling))
    delay = max(delay, cadence.floor)
    retry_after = error.retry_after if isinstance(error, ProviderError) else None
    if retry_after:
        return RetryPlan(delay=max(delay, float(retry_after)), not_before=float(retry_after))
    return RetryPlan(delay=delay)
