"""A shortcut past the ASGI server for the hub's hottest path, on uvicorn's websockets.

Sending one message to a thousand sockets through ASGI costs, per socket: waking that
socket's writer task, encoding the text and framing it (uvicorn's sans-I/O websockets
protocol), then the transport write. When a socket is idle (nothing queued, nothing being
sent) and its transport is writable, the hub can instead write a frame it built once for
all sockets straight to that socket's transport: the very bytes uvicorn would have written
for the same text (an unmasked, uncompressed text frame). Anything else (daphne, another
websocket implementation, a connection closing, flow control paused, a backlog) takes the
ordinary ASGI path, so ordering and backpressure stay the outbox's.
bench/bench_fanout.py measures the difference (docs/benchmarks.md, section 1).
"""

from __future__ import annotations

from websockets.frames import Frame, Opcode
from websockets.protocol import State

__all__ = ["DirectWriter", "text_frame"]

_SANSIO_PROTOCOL = "uvicorn.protocols.websockets.websockets_sansio_impl"


def text_frame(text: str) -> bytes:
    """The wire bytes of a server-to-client text frame carrying `text`."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class DirectWriter:
    """Writes ready-made frames to one uvicorn websocket connection's transport."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol) -> None:
        self._protocol = protocol

    @classmethod
    def for_send(cls, send) -> DirectWriter | None:
        """A writer for the connection behind an ASGI `send`, or None if not supported."""
        protocol = getattr(send, "__self__", None)
        if protocol is None or type(protocol).__module__ != _SANSIO_PROTOCOL:
            return None
        return cls(protocol)

    def write(self, frame: bytes) -> bool:
        """Write the frame if the connection is open and writable; False: use ASGI instead."""
        protocol = self._protocol
        if (
            not protocol.handshake_complete
            or protocol.close_sent
            or protocol.disconnected
            or not protocol.writable.is_set()
            or protocol.conn.state is not State.OPEN
            or protocol.transport.is_closing()
        ):
            return False
        protocol.transport.write(frame)
        return True
