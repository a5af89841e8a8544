"""The small set of failures a provider client can report."""

from __future__ import annotations

__all__ = [
    "ProviderError",
    "AuthError",
    "PermissionDenied",
    "RateLimited",
    "UpstreamUnavailable",
    "BadData",
    "BadRecord",
]


class ProviderError(Exception):
    """An upstream call failed. `retry_after` (seconds) is set when the platform said when."""

    retry_after: float | None = None

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class AuthError(ProviderError):
    """The API key is missing, malformed or unknown (HTTP 401, `Invalid API key`)."""


class PermissionDenied(ProviderError):
    """The key works but may not use this endpoint (HTTP 403, e.g. a Limited ImRaising key)."""


class RateLimited(ProviderError):
    """HTTP 429: slow down, for `retry_after` seconds when given."""


class UpstreamUnavailable(ProviderError):
    """Timeouts, connection errors, 5xx: try again later."""


class BadData(ProviderError):
    """The reply as a whole could not be understood (malformed JSON, wrong shape)."""


class BadRecord(ValueError):
    """One record is invalid; it is rejected with this reason and the rest go on."""
