"""How deliveries are timed: timeouts, the retry backoff, when to give up, the lease.

One frozen `DeliveryPolicy` carries every number; tests pass a faster one.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["DeliveryPolicy", "DEFAULT_POLICY", "backoff_seconds"]


@dataclass(frozen=True)
class DeliveryPolicy:
    connect_timeout: float = 5.0
    # The whole exchange: sending the body, the reply's headers and the bounded reply body.
    timeout: float = 10.0
    reply_max_bytes: int = 4096
    backoff_base: float = 10.0
    backoff_cap: float = 3600.0
    give_up_after: timedelta = timedelta(hours=24)
    disable_after: timedelta = timedelta(hours=24)
    # Longer than one attempt can take (timeout), renewed before each attempt.
    lease: timedelta = timedelta(seconds=60)
    # What one claim sends at most before it lets the endpoint go: a Celery worker child
    # (shared with the pollers) is not held for long by one slow endpoint; the next sweep
    # or kick goes on where it stopped.
    batch: int = 50
    claim_seconds: float = 30.0


DEFAULT_POLICY = DeliveryPolicy()


def backoff_seconds(
    attempts: int, policy: DeliveryPolicy, rng: Callable[[], float] = random.random
) -> float:
    """Full jitter: uniform in [1, min(cap, base * 2^(attempts-1))] seconds."""
    ceiling = min(policy.backoff_cap, policy.backoff_base * 2 ** max(attempts - 1, 0))
    return max(1.0, rng() * ceiling)
