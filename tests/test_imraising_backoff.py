"""The stream runner's reconnect delays: the shared policy, with the stream's `retry:` as a
floor and the per-source options as its timescale."""

import random

from fundboard.providers.errors import AuthError, RateLimited, UpstreamUnavailable
from fundboard.runners.backoff import REJECTED_KEY_MAX_SECONDS, REJECTED_KEY_MIN_SECONDS
from fundboard.runners.sources import StreamSettings
from fundboard.runners.stream import StreamRunner

SETTINGS = StreamSettings(backoff_initial=1, backoff_max=60)


def delays(error, failures: int, *, retry_ms=None, samples: int = 200) -> list[float]:
    runner = StreamRunner(1, rng=random.Random(7))
    runner.failures, runner.position.retry_ms = failures, retry_ms
    return [runner.reconnect_delay(SETTINGS, error) for _ in range(samples)]


def test_full_jitter_grows_with_failures_and_is_capped():
    first = delays(UpstreamUnavailable("x"), 1)
    assert all(0 <= d <= 1 for d in first)
    fifth = delays(UpstreamUnavailable("x"), 5)
    assert all(0 <= d <= 16 for d in fifth) and max(fifth) > 8
    many = delays(UpstreamUnavailable("x"), 200)
    assert all(d <= 60 for d in many) and max(many) > 30
    assert len(set(first)) > 100  # jitter: processes do not reconnect in step
    # A healthy connection that ended (failures reset to 0) waits like a first failure.
    assert all(0 <= d <= 1 for d in delays(UpstreamUnavailable("x"), 0))


def test_retry_field_and_retry_after_are_floors():
    assert all(d >= 10 for d in delays(UpstreamUnavailable("x"), 1, retry_ms=10000))
    limited = RateLimited("slow down", retry_after=7)
    assert all(d >= 7 for d in delays(limited, 1))


def test_a_rejected_key_waits_minutes_not_seconds_as_a_poll_does():
    first = delays(AuthError("401"), 1)
    assert all(REJECTED_KEY_MIN_SECONDS <= d <= 2 * REJECTED_KEY_MIN_SECONDS for d in first)
    later = delays(AuthError("401"), 10)
    assert all(REJECTED_KEY_MAX_SECONDS / 2 <= d <= REJECTED_KEY_MAX_SECONDS for d in later)


def test_options_override_defaults_and_bad_values_are_ignored():
    class FakeSource:
        pk = 1
        effective_poll_interval = 300.0
        options = {"read_timeout": "2.5", "backoff_max": -1, "backoff_initial": "soon"}

    settings = StreamSettings.from_source(FakeSource())
    assert settings.read_timeout == 2.5
    assert settings.backoff_max == 60 and settings.backoff_initial == 1
    assert settings.reconcile_interval == 300
