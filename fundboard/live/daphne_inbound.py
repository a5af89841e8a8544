"""daphne's websocket protocol with a bound on what a client can queue for the application.

daphne hands every message a client sends to the application through an unbounded queue,
straight from Twisted's read of the socket: one read of 64 KB is ~2,500 small messages, and
a client sending `{"type": "resync"}` as fast as it can took a process from 236 to 687 MB in
20 s, long before the consumer could look at them (uvicorn instead stops reading the socket
until the application has taken what it got). Here a client whose messages wait, untaken,
past limits.MAX_INBOUND_BACKLOG is closed with 1008 (policy violation) and whatever it still
sends is dropped; the consumer's own rate limit (limits.TokenBucket) covers the rest.

Imported only by `manage.py serve` on daphne (after daphne has installed its reactor).
"""

from __future__ import annotations

import logging

from daphne.ws_protocol import WebSocketProtocol

from . import limits

__all__ = ["BoundedInboundProtocol"]

log = logging.getLogger("fundboard.live")


class BoundedInboundProtocol(WebSocketProtocol):
    flooded = False

    def onMessage(self, payload, isBinary):
        if self.flooded:
            return
        queue = getattr(self, "application_queue", None)
        if queue is not None and queue.qsize() >= limits.MAX_INBOUND_BACKLOG:
            self.flooded = True
            log.info("socket closed: messages faster than served path=%s", self.request.path)
            self.sendClose(code=limits.CLOSE_POLICY_VIOLATION, reason="too many messages")
            return
        super().onMessage(payload, isBinary)
