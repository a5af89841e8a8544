"""The listen call: one open `/api/v1/listen` stream as typed events.

`listen(...)` hides the protocol the way httpx-sse's `aconnect_sse` hides SSE framing:

    async with listen(base_url, api_key, position, read_timeout=45) as stream:
        async for event in stream.events():   # DonationAdded | DonationDeleted | EventRejected
            ...

It sends the documented `authorization` header (and `Last-Event-ID` once the stream gave
ids), checks the status (a non-200 raises the typed provider error named by upstream's
`{name, message}`) and the content type, reads the body with the bounded reader of `sse.py`
(a liveness deadline per complete line, bounded lines and events, a leading BOM dropped,
empty events skipped), and keeps `position` (the last id and the stream's `retry:`) up to
date for the next connection. Every way a stream can end raises a provider error:
`StreamEnded` for a clean end of the body, `UpstreamUnavailable` for timeouts, stalls and
broken connections, `BadData` for something that is not an event stream.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
from httpx_sse import aconnect_sse

from ..errors import BadData, UpstreamUnavailable
from ..http import make_async_client
from .documents import DEFAULT_BASE_URL, auth_headers
from .events import StreamEvent, parse_event
from .rest import ERROR_BODY_MAX_BYTES, error_for_response
from .sse import MAX_DATA, MAX_LINE, NotAnEventStream, StreamStalled, StreamTooLarge, read_events

__all__ = ["StreamPosition", "StreamEnded", "Listener", "listen"]


class StreamEnded(UpstreamUnavailable):
    """The server closed the body cleanly; reconnect all the same."""


@dataclass
class StreamPosition:
    """What a stream said about itself, kept across connections: its cursor and `retry:`."""

    last_event_id: str = ""
    retry_ms: int | None = None


class Listener:
    """An open stream. `events()` yields its typed events until the stream ends."""

    def __init__(
        self,
        response: httpx.Response,
        position: StreamPosition,
        read_timeout: float,
        on_line: Callable[[], None] | None,
    ):
        self.response = response
        self.position = position
        self.read_timeout = read_timeout
        self.on_line = on_line

    async def events(self) -> AsyncIterator[StreamEvent]:
        try:
            async for event in read_events(
                self.response, self.read_timeout, max_line=MAX_LINE, max_data=MAX_DATA,
                on_line=self.on_line,
            ):  # fmt: skip
                if event.retry is not None and event.retry >= 0:
                    self.position.retry_ms = event.retry
                event_id = ""
                if event.id and event.id != self.position.last_event_id:
                    self.position.last_event_id = event_id = event.id
                parsed = parse_event(event, event_id)
                if parsed is not None:
                    yield parsed
        except StreamStalled as error:
            raise UpstreamUnavailable(f"stream stalled: {error}") from None
        except (StreamTooLarge, NotAnEventStream) as error:
            raise BadData(str(error)) from None
        except httpx.TimeoutException as error:
            raise UpstreamUnavailable(f"stream timed out ({type(error).__name__})") from None
        except httpx.TransportError as error:
            raise UpstreamUnavailable(f"stream broke ({type(error).__name__})") from None
        raise StreamEnded("the server ended the stream")


async def _read_bounded(response: httpx.Response, limit: int = ERROR_BODY_MAX_BYTES) -> bytes:
    """At most `limit` bytes of an error reply: a hostile host cannot make us hold more."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            break
    return bytes(body[:limit])


def _headers(api_key: str, position: StreamPosition) -> dict[str, str]:
    # aconnect_sse adds the SSE request headers (Accept: text/event-stream, Cache-Control).
    headers = auth_headers(api_key)
    if position.last_event_id:
        headers["Last-Event-ID"] = position.last_event_id
    return headers


@contextlib.asynccontextmanager
async def listen(
    base_url: str,
    api_key: str,
    position: StreamPosition,
    *,
    read_timeout: float = 45.0,
    connect_timeout: float = 10.0,
    on_line: Callable[[], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[Listener]:
    """Open the stream (see the module's docstring); `on_line()` is called for every complete
    line, heartbeats included: the stream is alive. The read timeout is explicit and longer
    than upstream's heartbeat, never httpx's 5 s default nor none."""
    timeout = httpx.Timeout(
        connect=connect_timeout, read=read_timeout, write=connect_timeout, pool=connect_timeout
    )
    url = f"{(base_url or DEFAULT_BASE_URL).rstrip('/')}/api/v1/listen"
    try:
        async with (
            make_async_client(timeout, transport=transport) as http,
            aconnect_sse(http, "GET", url, headers=_headers(api_key, position)) as source,
        ):
            # httpx-sse opens the stream; its events are read by sse.py's bounded reader
            # (httpx-sse's own iterator has no line/event bounds nor a liveness deadline).
            response = source.response
            if response.status_code != 200:
                raise error_for_response(response, await _read_bounded(response))
            yield Listener(response, position, read_timeout, on_line)
    except httpx.TimeoutException as error:
        raise UpstreamUnavailable(f"stream timed out ({type(error).__name__})") from None
    except httpx.TransportError as error:
        raise UpstreamUnavailable(f"stream broke ({type(error).__name__})") from None
