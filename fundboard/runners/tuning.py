"""The runners' settings, read from `settings.FUNDBOARD` when asked (never at import time,
so tests and `override_settings` see their own values)."""

from __future__ import annotations

from django.conf import settings

__all__ = ["seconds"]


def seconds(name: str) -> float:
    """A duration of `settings.FUNDBOARD`: POLL_FLOOR_SECONDS, STREAM_SCAN_SECONDS,
    STREAM_LEASE_SECONDS."""
    value = settings.FUNDBOARD[name]
    if not isinstance(value, int | float | str):
        raise TypeError(f"FUNDBOARD[{name!r}] is not a number of seconds: {value!r}")
    return float(value)
