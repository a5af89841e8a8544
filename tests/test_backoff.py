"""One backoff policy per kind of failure, the same for streams, backfills and polls."""

import random
import statistics

import pytest

from fundboard.providers.errors import (
    AuthError,
    BadData,
    PermissionDenied,
    RateLimited,
    UpstreamUnavailable,
)
from fundboard.runners.backoff import (
    REJECTED_KEY,
    REJECTED_KEY_MAX_SECONDS,
    REJECTED_KEY_MIN_SECONDS,
    TRANSIENT,
    Cadence,
    failure_kind,
    plan_retry,
    poll_cadence,
    stream_cadence,
)

STREAM = stream_cadence(1, 60)
POLL = poll_cadence(interval=30, floor=5)


@pytest.mark.parametrize("error", [AuthError("401"), PermissionDenied("403")])
@pytest.mark.parametrize("cadence", [STREAM, POLL], ids=["stream-or-backfill", "poll"])
def test_a_rejected_key_waits_the_same_minutes_whoever_calls(error, cadence):
    rng = random.Random(1)
    assert failure_kind(error) == REJECTED_KEY
    first = [plan_retry(error, 1, cadence, rng).delay for _ in range(300)]
    assert min(first) >= REJECTED_KEY_MIN_SECONDS and max(first) <= 2 * REJECTED_KEY_MIN_SECONDS
    assert statistics.pstdev(first) > 10  # jittered: keys rejected together spread out
    tenth = [plan_retry(error, 10, cadence, rng).delay for _ in range(300)]
    assert min(tenth) >= REJECTED_KEY_MAX_SECONDS / 2 and max(tenth) <= REJECTED_KEY_MAX_SECONDS


@pytest.mark.parametrize(
    "error", [UpstreamUnavailable("503"), RateLimited("429"), BadData("x"), KeyError("bug")]
)
def test_anything_else_is_full_jitter_up_to_the_callers_exponential_cap(error):
    rng = random.Random(2)
    assert failure_kind(error) == TRANSIENT
    cadence = Cadence(initial=2, maximum=50, floor=0.5)
    for failures, cap in [(1, 2), (3, 8), (5, 32), (9, 50)]:
        delays = [plan_retry(error, failures, cadence, rng).delay for _ in range(400)]
        assert 0.5 <= min(delays) < 0.5 + cap / 4  # the floor, and spread down towards it
        assert cap * 3 / 4 < max(delays) <= cap


def test_retry_after_and_the_floor_are_never_undercut():
    rng = random.Random(3)
    limited = RateLimited("slow", retry_after=42)
    for cadence in (STREAM, POLL):
        plan = plan_retry(limited, 1, cadence, rng)
        assert plan.delay >= 42 and plan.not_before == 42
    assert plan_retry(UpstreamUnavailable("x"), 1, STREAM, rng).not_before == 0
    with_retry_field = stream_cadence(1, 60, retry_ms=10_000)
    assert (
        min(plan_retry(UpstreamUnavailable("x"), 1, with_retry_field, rng).delay for _ in range(50))
        >= 10
    )
    assert all(plan_retry(UpstreamUnavailable("x"), 1, POLL, rng).delay >= 5 for _ in range(50))


def test_the_callers_timescales():
    # A stream reconnects within seconds; a poll retries on its interval's scale (its cap
    # starts at twice the interval so sources polled at the floor still spread).
    assert (STREAM.initial, STREAM.maximum, STREAM.floor) == (1, 60, 0)
    assert (POLL.initial, POLL.maximum, POLL.floor) == (60, 600, 5)
    assert poll_cadence(interval=3600, floor=5).maximum == 3600
