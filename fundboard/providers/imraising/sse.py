"""Reading a Server-Sent Events body with bounds: a liveness deadline, and line/event sizes.

(Used by `listen.py`; callers outside this package see typed events, never these.)

httpx's read timeout restarts on every byte, so a stream that trickles a byte now and then
(a stuck proxy, a hostile host) is never noticed as dead: its events wait for the next
reconciliation. `read_events` instead requires a complete, non-empty line (an event's field
or a `:` heartbeat comment) within `read_timeout`, or raises `StreamStalled`.

It also bounds memory: a line longer than `max_line` ends the connection (`StreamTooLarge`,
nothing real comes close), and an event whose data adds up to more than `max_data` is
delivered as `too_large` with its data dropped, so the caller rejects it alone and the
stream goes on.

Parsing follows the WHATWG event-stream rules as httpx-sse 0.4.3 does (lines end in CRLF,
LF or CR; `:` starts a comment; one leading space after the colon is dropped; an `id`
with NUL is ignored; a blank line dispatches once any field was seen), apart from the
bounds. The body is decoded as utf-8-sig, so a leading BOM is dropped.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import cast

import httpx
from httpx_sse import SSEError

__all__ = [
    "Event",
    "StreamStalled",
    "StreamTooLarge",
    "NotAnEventStream",
    "LineSplitter",
    "EventDecoder",
    "read_events",
    "MAX_LINE",
    "MAX_DATA",
]

# Far above a real event (a donation is under 2 KB), far below what would hurt.
MAX_LINE = 512 * 1024
MAX_DATA = 512 * 1024
_NEWLINE = re.compile(r"\r\n|\r|\n")


class StreamStalled(Exception):
    """No complete line arrived within the read timeout, whatever bytes trickled in."""


class StreamTooLarge(Exception):
    """A line longer than the bound: not an event stream we can read."""


class NotAnEventStream(SSEError):
    """The reply is not `text/event-stream`."""


@dataclass(frozen=True)
class Event:
    event: str = ""
    data: str = ""
    id: str = ""
    retry: int | None = None
    too_large: bool = False  # its data passed MAX_DATA and was dropped


class LineSplitter:
    """Complete lines out of text chunks; the unfinished rest is kept (within `max_line`)."""

    def __init__(self, max_line: int = MAX_LINE):
        self.max_line = max_line
        self._pieces: list[str] = []
        self._size = 0
        self._trailing_cr = False

    def feed(self, text: str) -> list[str]:
        # A CR at the end of a chunk may be the first half of a CRLF: decide with the next.
        if self._trailing_cr:
            text, self._trailing_cr = "\r" + text, False
        if text.endswith("\r"):
            text, self._trailing_cr = text[:-1], True
        # LF alone is what servers send; CR and CRLF take the slower split.
        lines = _NEWLINE.split(text) if "\r" in text else text.split("\n")
        if len(lines) == 1:
            self._keep(text)
            return []
        lines[0] = "".join(self._pieces) + lines[0]
        self._pieces, self._size = [], 0
        self._keep(lines.pop())
        if any(len(line) > self.max_line for line in lines):
            raise StreamTooLarge(f"a stream line is longer than {self.max_line} characters")
        return lines

    def _keep(self, text: str) -> None:
        if text:
            self._pieces.append(text)
            self._size += len(text)
        if self._size > self.max_line:
            raise StreamTooLarge(f"a stream line is longer than {self.max_line} characters")


class EventDecoder:
    """Lines to events, as the event-stream interpretation rules say, data within a bound."""

    def __init__(self, max_data: int = MAX_DATA):
        self.max_data = max_data
        self.last_event_id = ""
        self._reset()

    def _reset(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._data_size = 0
        self._too_large = False
        self._retry: int | None = None
        self._seen = False

    def decode(self, line: str) -> Event | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        self._seen = True
        if name == "event":
            self._event = value
        elif name == "data":
            self._add_data(value)
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _add_data(self, value: str) -> None:
        self._data_size += len(value) + 1
        if self._data_size > self.max_data:
            self._too_large, self._data = True, []
        elif not self._too_large:
            self._data.append(value)

    def _dispatch(self) -> Event | None:
        if not self._seen:
            return None
        event = Event(
            event=self._event,
            data="\n".join(self._data),
            id=self.last_event_id,
            retry=self._retry,
            too_large=self._too_large,
        )
        self._reset()
        return event


def check_content_type(response: httpx.Response) -> None:
    content_type = response.headers.get("content-type", "").partition(";")[0]
    if "text/event-stream" not in content_type:
        raise NotAnEventStream(f"expected text/event-stream, got {content_type[:40]!r}")


async def read_events(
    response: httpx.Response,
    read_timeout: float,
    *,
    max_line: int = MAX_LINE,
    max_data: int = MAX_DATA,
    on_line: Callable[[], None] | None = None,
) -> AsyncIterator[Event]:
    """The events of an open SSE response; `StreamStalled` when no complete, non-empty line
    came for `read_timeout` seconds (bytes alone do not count). `on_line()`, if given, is
    called for each such line (heartbeat comments included): the stream is alive."""
    check_content_type(response)
    response.encoding = "utf-8-sig"  # SSE is always UTF-8; a leading BOM is dropped
    lines, decoder = LineSplitter(max_line), EventDecoder(max_data)
    chunks = response.aiter_text()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + read_timeout
    try:
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise StreamStalled(f"no complete line for {read_timeout:g} s") from None
            for line in lines.feed(chunk):
                if line:
                    deadline = loop.time() + read_timeout
                    if on_line is not None:
                        on_line()
                event = decoder.decode(line)
                if event is not None:
                    yield event
    finally:
        # httpx's aiter_text is an async generator: closing it ends the body's iteration.
        await cast(AsyncGenerator[str, None], chunks).aclose()
