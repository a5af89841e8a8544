"""When to poll a source again: its interval on success, backoff with full jitter on failure.

Failures back off exponentially with "full jitter" (a random wait between the floor and the
exponential cap), so many sources failing together do not retry together. A platform's
`Retry-After` (429/503) is a minimum we never undercut. A rejected key does not heal by
itself: it backs off long, so a wrong key does not hammer the platform.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from fundboard.providers.errors import AuthError, PermissionDenied, ProviderError

__all__ = ["RetryPlan", "plan_after_failure", "MAX_BACKOFF_SECONDS", "AUTH_BACKOFF_SECONDS"]

# The exponential cap for ordinary failures (timeouts, 5xx, bad data, status:false).
MAX_BACKOFF_SECONDS = 600.0
# A rejected key: first retry after 5 minutes, then up to an hour.
AUTH_BACKOFF_SECONDS = 300.0
MAX_AUTH_BACKOFF_SECONDS = 3600.0


@dataclass(frozen=True)
class RetryPlan:
    """Seconds until the next poll, and the part of it nothing may shorten (Retry-After)."""

    delay: float
    not_before: float = 0.0


def _capped(base: float, failures: int, cap: float) -> float:
    return min(cap, base * 2 ** max(0, failures - 1))


def _full_jitter(floor: float, cap: float, rng) -> float:
    """Anywhere between the floor and the cap, evenly: sources that failed together spread."""
    return rng.uniform(floor, max(floor, cap))


def plan_after_failure(
    error: BaseException,
    failures: int,
    interval: float,
    floor: float,
    rng: random.Random | None = None,
) -> RetryPlan:
    """The wait after the `failures`-th failure in a row of a source polled every `interval`."""
    rng = rng or random
    if isinstance(error, AuthError | PermissionDenied):
        cap = _capped(AUTH_BACKOFF_SECONDS, failures, MAX_AUTH_BACKOFF_SECONDS)
        delay = rng.uniform(AUTH_BACKOFF_SECONDS, max(cap, AUTH_BACKOFF_SECONDS))
    else:
        # The cap starts at twice the interval: a first retry drawn from [floor, interval]
        # alone would be the floor every time for a source polled at the floor, so sources
        # failing together would retry together once more.
        cap = _capped(2 * max(interval, floor), failures, max(MAX_BACKOFF_SECONDS, interval))
        delay = _full_jitter(floor, cap, rng)
    retry_after = getattr(error, "retry_after", None) if isinstance(error, ProviderError) else None
    if retry_after:
        return RetryPlan(delay=max(delay, float(retry_after)), not_before=float(retry_after))
    return RetryPlan(delay=delay)
