"""A shortcut past the ASGI server for the hub's hottest path, on uvicorn's websockets.

Sending one message to a thousand sockets through ASGI costs, per socket: waking that
socket's writer task, encoding the text and framing it (uvicorn's sans-I/O websockets
protocol), then the transport write. When a socket is idle (nothing queued, nothing being
sent, nothing waiting in its transport's buffer) and its websocket is open, the hub can
instead write a frame it built once for all sockets straight to that socket's transport: the
very bytes uvicorn would have written for the same text (an unmasked, uncompressed text
frame). Anything else (daphne, another websocket implementation, a close sent or received,
bytes still buffered, a backlog) takes the ordinary ASGI path, so ordering and backpressure
stay the outbox's. bench/bench_fanout.py measures the difference (docs/benchmarks.md, 1).
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

    # The check runs once per socket per broadcast, so it reads as few objects as it can:
    # going through the uvicorn protocol's flags and events cost ~4.8 µs a socket (cache
    # misses, mostly), this ~2 µs, besides the ~8 µs of the send itself (bench_fanout).
    __slots__ = ("_conn", "_transport")

    def __init__(self, protocol) -> None:
        # Both live as long as the connection; the writer is made once the socket is accepted.
        self._conn, self._transport = protocol.conn, protocol.transport

    @classmethod
    def for_send(cls, send) -> DirectWriter | None:
        """A writer for the connection behind an ASGI `send`, or None if not supported."""
        protocol = getattr(send, "__self__", None)
        if protocol is None or type(protocol).__module__ != _SANSIO_PROTOCOL:
            return None
        return cls(protocol)

    def write(self, frame: bytes) -> bool:
        """Write the frame if the websocket is open and its transport idle; False: use ASGI.

        `state` leaves OPEN as soon as a close frame is sent or received (by the app, a ping
        timeout or the client), and a lost connection's transport is closing. An empty
        buffer also means flow control is not paused, and a slow client's next message goes
        through its outbox, which keeps only what is worth sending.
        """
        transport = self._transport
        if (
            self._conn.state is not State.OPEN
            or transport.is_closing()
            or transport.get_write_buffer_size()
        ):
            return False
        transport.write(frame)
        return True
