"""The signature of a webhook request, Stripe-style.

    Fundboard-Signature: t=1764512345,v1=5257a869e7ec...(64 hex digits)

`v1` is the hex HMAC-SHA256, keyed with the endpoint's secret, of "<t>.<body>" (the
timestamp, a dot, and the exact bytes of the body). Receivers recompute it, compare in
constant time, and refuse a `t` older than their replay window (docs/webhooks.md: 5 minutes).
Every attempt is signed afresh, with its own `t`.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["SIGNATURE_HEADER", "REPLAY_WINDOW_SECONDS", "sign", "signature_header", "verify"]

SIGNATURE_HEADER = "Fundboard-Signature"
# What docs/webhooks.md tells receivers to accept; `verify` uses it by default.
REPLAY_WINDOW_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>" with `secret`."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = REPLAY_WINDOW_SECONDS,
) -> bool:
    """What a receiver does (the same code as docs/webhooks.md): True when the header signs
    `body` with `secret` and its timestamp is within `tolerance` seconds of `now`."""
    try:
        fields = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return hmac.compare_digest(expected, fields.get("v1", ""))
