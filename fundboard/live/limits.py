"""What one websocket client may cost the server, in one place.

A viewer's socket is mostly one-way: the server sends, the client may send `{"type":
"resync"}` now and then (the widgets' script does after a reconnect or a version gap). Every
other use is bounded here, on both servers (daphne and uvicorn):

- inbound messages: at most MAX_MESSAGE_BYTES each (the server closes with 1009 beyond), at a
  sustained MESSAGE_RATE per second with bursts of MESSAGE_BURST (beyond: closed with 1008,
  policy violation; its connection dropped CLOSE_GRACE_SECONDS later); on daphne, which
  queues whatever the client sends for the application without limit, a client more than
  MAX_INBOUND_BACKLOG messages ahead of it is closed too;
- outbound data: the kernel keeps at most about twice SEND_BUFFER_BYTES of a socket's frames
  (Linux doubles the requested size for its bookkeeping; uvicorn only, see direct.py), and a
  viewer whose unsent bytes (kernel queue plus the server's own buffer, looked at every
  SWEEP_SECONDS and every CHECK_EVERY_BYTES sent) pass MAX_UNSENT_BYTES is cut: it stopped
  reading, or reads far slower than the campaign changes. Its page reconnects and starts
  again from a fresh snapshot.
"""

from __future__ import annotations

import time

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MAX_SENT_MESSAGE_BYTES",
    "MESSAGE_RATE",
    "MESSAGE_BURST",
    "MAX_INBOUND_BACKLOG",
    "SEND_BUFFER_BYTES",
    "MAX_UNSENT_BYTES",
    "SWEEP_SECONDS",
    "CLOSE_POLICY_VIOLATION",
    "TokenBucket",
]

MAX_MESSAGE_BYTES = 4096  # a resync request is 17 bytes
# daphne (autobahn) checks one limit on whole messages in both directions: the largest
# snapshot we send must fit under it (a full snapshot is tens of KB).
MAX_SENT_MESSAGE_BYTES = 1024 * 1024
MESSAGE_RATE = 2.0  # messages a second, sustained
MESSAGE_BURST = 10
MAX_INBOUND_BACKLOG = 64  # daphne only: messages received but not yet taken by the app
SEND_BUFFER_BYTES = 64 * 1024  # SO_SNDBUF asked for each websocket (the kernel doubles it)
# Below what the kernel holds of a full send buffer (93-128 KB measured on loopback), so
# that a stalled viewer is cut by its next frame whichever server buffers the rest: uvicorn
# holds at most ~64 KB more before its writer waits, and that viewer would sit there.
MAX_UNSENT_BYTES = 96 * 1024
SWEEP_SECONDS = 0.5  # how often every socket's unsent bytes are looked at
CHECK_EVERY_BYTES = 32 * 1024  # ...and also each time this much more was sent to it

CLOSE_POLICY_VIOLATION = 1008
CLOSE_MESSAGE_TOO_BIG = 1009
# After closing a flooding client, its connection is dropped this soon: until then the
# server still reads (and drops) what it sends, ~0.5 s of CPU per second of grace measured
# with reconnecting flooders (bench/bench_hostile_clients.py --reconnect).
CLOSE_GRACE_SECONDS = 0.2


class TokenBucket:
    """`take()` is True while a client stays within `rate` a second with bursts of `burst`.

    O(1) per call: one clock read and a little arithmetic, so a flooding client costs the
    server no more per message than a polite one.
    """

    __slots__ = ("rate", "burst", "tokens", "updated")

    def __init__(self, rate: float = MESSAGE_RATE, burst: int = MESSAGE_BURST) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.updated = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True
