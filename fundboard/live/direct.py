"""A shortcut past the ASGI server for the hub's hottest path, on uvicorn and on daphne.

Sending one message to a thousand sockets through ASGI costs, per socket: waking that
socket's writer task, encoding the text and framing it (uvicorn's sans-I/O websockets
protocol, or autobahn under daphne), then the transport write; under daphne, Twisted also
registers the socket with the event loop for writing and sends on a later turn (two extra
system calls per socket per message). When a socket is idle (nothing queued, nothing being
sent, nothing waiting in its transport's buffer) and its websocket is open, the hub can
instead write a frame it built once for all sockets straight to that socket: the very bytes
the server would have written for the same text (an unmasked, uncompressed text frame).
Anything else (another server, TLS terminated by daphne itself, a close sent or received,
bytes still buffered, a backlog) takes the ordinary ASGI path, so ordering and backpressure
stay the outbox's. bench/bench_fanout.py measures the difference (docs/benchmarks.md, 1).

The same handle on the connection bounds what a viewer that stops reading can cost
(limits.py): the kernel's send buffer of the socket is capped, `unsent_bytes` counts what
waits in the kernel and in the server, and `abort` drops the connection at once.

All of this reads server internals (private attributes of Twisted's TCP transport, of
autobahn's and uvicorn's protocols), so it is used only on the releases it was verified
against (VERIFIED_RELEASES; tests/test_direct_writes.py checks what it relies on): on any
other release a warning says so and every socket takes the ordinary ASGI path.
`settings.FUNDBOARD["DIRECT_FRAMES"]` (FUNDBOARD_DIRECT_FRAMES=0) turns the frame shortcut
off on purpose (the unsent-bytes bounds stay).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import importlib.metadata
import logging
import socket
import struct
import sys
import termios
from typing import Any

from django.conf import settings
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from . import limits

__all__ = [
    "DirectWriter",
    "text_frame",
    "direct_frames_enabled",
    "internals_verified",
    "VERIFIED_RELEASES",
]

log = logging.getLogger("fundboard.live")

_UVICORN_PROTOCOL = "uvicorn.protocols.websockets.websockets_sansio_impl"
_DAPHNE_PROTOCOL = "daphne.ws_protocol"
_TWISTED_TCP = "twisted.internet.tcp"  # a plain TCP transport (not TLS, which would wrap it)

# The releases whose internals the writers below were verified against, per server. After
# an upgrade: run tests/test_direct_writes.py and bench/bench_fanout.py, then update this.
VERIFIED_RELEASES = {
    "daphne": {"daphne": "4.2.3", "Twisted": "26.10.0", "autobahn": "26.10.2"},
    "uvicorn": {"uvicorn": "0.54.0", "websockets": "17.4"},
}


def installed_releases(server: str) -> dict[str, str]:
    """The installed version of each package the writer of `server` reads internals of."""
    return {name: importlib.metadata.version(name) for name in VERIFIED_RELEASES[server]}


@functools.cache
def internals_verified(server: str) -> bool:
    """True when the installed releases are the verified ones (checked once per process)."""
    installed = installed_releases(server)
    if installed == VERIFIED_RELEASES[server]:
        return True
    log.warning(
        "direct socket writes off on %s: verified with %s, installed %s",
        server,
        VERIFIED_RELEASES[server],
        installed,
    )
    return False


def direct_frames_enabled() -> bool:
    """Whether the hub may write frames straight to idle sockets (the setting)."""
    return bool(settings.FUNDBOARD["DIRECT_FRAMES"])


# Linux: the bytes of a TCP socket's send queue not yet acknowledged by the peer (`ss -tn`'s
# Send-Q). Elsewhere the kernel's share is not counted (the server's own buffer still is).
_OUTQ = termios.TIOCOUTQ if sys.platform.startswith("linux") else None
_INT = b"\0\0\0\0"
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends a reset


def kernel_unsent(fd: int) -> int:
    """Bytes waiting in the kernel's send queue of socket `fd` (0 if unknown or closed)."""
    if _OUTQ is None or fd < 0:
        return 0
    try:
        return struct.unpack("i", fcntl.ioctl(fd, _OUTQ, _INT))[0]
    except OSError:
        return 0


def limit_send_buffer(fd: int, size: int) -> None:
    """Cap the kernel's send buffer of socket `fd` (Linux then allows about 2 x `size`)."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    except OSError:
        pass
    finally:
        sock.detach()  # the server owns the descriptor: only borrowed here


def text_frame(text: str) -> bytes:
    """The wire bytes of a server-to-client text frame carrying `text`."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class DirectWriter:
    """Writes ready-made frames to one websocket connection; see the module docstring."""

    # Bytes handed over since the last look at what the client has not taken; cut: dropped.
    __slots__ = ("unchecked", "is_cut")

    def __init__(self) -> None:
        self.unchecked, self.is_cut = 0, False

    @staticmethod
    def for_send(send: Any) -> DirectWriter | None:
        """A writer for the connection behind an ASGI `send`, or None if not supported (an
        unknown server, TLS, or releases other than VERIFIED_RELEASES)."""
        # uvicorn's send is a method of its protocol; daphne's a partial over its protocol.
        protocol = getattr(send, "__self__", None)
        if protocol is not None and type(protocol).__module__ == _UVICORN_PROTOCOL:
            return UvicornWriter(protocol) if internals_verified("uvicorn") else None
        if isinstance(send, functools.partial) and send.args:
            protocol = send.args[0]
            transport = getattr(protocol, "transport", None)
            if (
                # daphne's protocol or serve's subclass of it (daphne_inbound.py)
                any(cls.__module__ == _DAPHNE_PROTOCOL for cls in type(protocol).__mro__)
                and type(transport).__module__ == _TWISTED_TCP
            ):
                return DaphneWriter(protocol) if internals_verified("daphne") else None
        return None

    def write(self, frame: bytes) -> bool:
        """Write the frame if the websocket is open and its transport idle; False: use ASGI."""
        raise NotImplementedError

    def written(self, size: int) -> None:
        """Count `size` bytes sent to this client; once every limits.CHECK_EVERY_BYTES, cut
        it if it has not taken more than limits.MAX_UNSENT_BYTES (one `ioctl`). This bounds
        a kernel queue that grows faster than the sweep looks (stalls.py)."""
        self.unchecked += size
        if self.unchecked >= limits.CHECK_EVERY_BYTES:
            self.unchecked = 0
            if (unsent := self.unsent_bytes()) > limits.MAX_UNSENT_BYTES:
                self.cut(unsent)

    def cut(self, unsent: int) -> None:
        if not self.is_cut:
            self.is_cut = True
            log.info("viewer cut: not reading unsent_bytes=%d", unsent)
            self.abort()

    def fileno(self) -> int:
        raise NotImplementedError

    def buffered_bytes(self) -> int:
        """Bytes the server holds for this connection, not yet handed to the kernel."""
        raise NotImplementedError

    def unsent_bytes(self) -> int:
        """Bytes sent to this client that it has not taken yet: the kernel's queue plus the
        server's own buffer."""
        return kernel_unsent(self.fileno()) + self.buffered_bytes()

    def limit_send_buffer(self, size: int) -> None:
        limit_send_buffer(self.fileno(), size)

    def abort(self) -> None:
        """Drop the TCP connection now, discarding anything unsent (a client that stopped
        reading would never take a close frame; the server reports the disconnect)."""
        raise NotImplementedError


class UvicornWriter(DirectWriter):
    # The check runs once per socket per broadcast, so it reads as few objects as it can:
    # going through the uvicorn protocol's flags and events cost ~4.8 µs a socket (cache
    # misses, mostly), this ~2 µs, besides the ~8 µs of the send itself (bench_fanout).
    __slots__ = ("_conn", "_transport")

    def __init__(self, protocol: Any) -> None:
        # Both live as long as the connection; the writer is made once the socket is accepted.
        super().__init__()
        self._conn, self._transport = protocol.conn, protocol.transport

    def write(self, frame: bytes) -> bool:
        """`state` leaves OPEN as soon as a close frame is sent or received (by the app, a
        ping timeout or the client), and a lost connection's transport is closing. An empty
        buffer also means flow control is not paused, and a slow client's next message goes
        through its outbox, which keeps only what is worth sending."""
        transport = self._transport
        if (
            self._conn.state is not State.OPEN
            or transport.is_closing()
            or transport.get_write_buffer_size()
        ):
            return False
        transport.write(frame)
        self.written(len(frame))
        return True

    def fileno(self) -> int:
        sock = self._transport.get_extra_info("socket")
        return sock.fileno() if sock is not None else -1

    def buffered_bytes(self) -> int:
        return self._transport.get_write_buffer_size()

    def abort(self) -> None:
        # asyncio's abort closes the socket the orderly way, and the kernel would keep the
        # unsent bytes of an orphaned socket until the client takes them: a zero linger
        # makes the close a reset that frees them at once (as Twisted's abort does).
        sock = self._transport.get_extra_info("socket")
        if sock is not None and sock.fileno() >= 0:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
        self._transport.abort()


class DaphneWriter(DirectWriter):
    __slots__ = ("_protocol", "_transport")

    def __init__(self, protocol: Any) -> None:
        # daphne's protocol is autobahn's WebSocketServerProtocol on a Twisted TCP transport.
        super().__init__()
        self._protocol, self._transport = protocol, protocol.transport

    def write(self, frame: bytes) -> bool:
        """autobahn's `state` leaves STATE_OPEN when a close starts; its `send_queue` and
        Twisted's two buffers hold anything not yet on the wire. `writeSomeData` is Twisted's
        own immediate send; what the kernel does not take goes to Twisted's buffer, in order."""
        protocol, transport = self._protocol, self._transport
        if (
            protocol.state != protocol.STATE_OPEN
            or protocol.send_queue
            or transport.dataBuffer
            or transport._tempDataBuffer
            or not transport.connected
            or transport.disconnecting
        ):
            return False
        sent = transport.writeSomeData(frame)
        if isinstance(sent, BaseException):  # the connection is lost: Twisted will notice
            return False
        if sent < len(frame):
            transport.write(frame[sent:])
        self.written(len(frame))
        return True

    def fileno(self) -> int:
        try:
            return self._transport.fileno()
        except (AttributeError, OSError):
            return -1

    def buffered_bytes(self) -> int:
        transport = self._transport
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen

    def abort(self) -> None:
        if self._transport.connected:
            self._transport.abortConnection()

    def limit_send_buffer(self, size: int) -> None:
        """Left to the kernel on daphne: with the buffer capped, a viewer that stalled, then
        read again, was at times left without its last frames (tests/test_stream_runner.py,
        the stalled viewer; cause in Twisted's buffering not found). The bound on unsent
        bytes still holds there: the sweep (stalls.py) counts the kernel's queue too."""
