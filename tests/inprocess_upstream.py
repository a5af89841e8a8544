"""The sandbox's ImRaising imitation in this process, reached through httpx without a socket.

httpx's own `ASGITransport` waits for the whole response, so it cannot carry an endless
event stream. `StreamingASGITransport` hands each body chunk to the client as the app sends
it, and tells the app the client went away (`http.disconnect`) when the response is closed,
as a real server would. The sandbox's routes, faults and control endpoints are the same
as over loopback (fundboard/sandbox/imraising.py): only the socket is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from fundboard.sandbox.app import Sandbox, create_app

BASE_URL = "http://imraising.test"


class _Body(httpx.AsyncByteStream):
    def __init__(self, messages: asyncio.Queue, finish: Callable[[], None]):
        self._messages = messages
        self._finish = finish

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            message = await self._messages.get()
            if message is None:  # the app returned (or failed)
                return
            if message["type"] != "http.response.body":
                continue
            if message.get("body"):
                yield message["body"]
            if not message.get("more_body", False):
                return

    async def aclose(self) -> None:
        self._finish()


class StreamingASGITransport(httpx.AsyncBaseTransport):
    def __init__(self, app: Any):
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        disconnected = asyncio.Event()
        messages: asyncio.Queue = asyncio.Queue()
        request_sent = False

        async def receive() -> dict:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            await messages.put(message)

        task = asyncio.create_task(self.app(_scope(request), receive, send))
        task.add_done_callback(lambda _task: messages.put_nowait(None))

        def finish() -> None:
            disconnected.set()
            task.cancel()

        start = await messages.get()
        if start is None:
            task.result()  # the app's exception, if it raised
            raise httpx.RemoteProtocolError("the app sent no response", request=request)
        return httpx.Response(
            start["status"],
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]],
            stream=_Body(messages, finish),
            request=request,
        )


def _scope(request: httpx.Request) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": request.url.scheme,
        "path": request.url.path,
        "raw_path": request.url.raw_path.split(b"?")[0],
        "query_string": request.url.query,
        "root_path": "",
        "headers": [(k.lower(), v) for k, v in request.headers.raw],
        "server": (request.url.host, request.url.port or 80),
        "client": ("127.0.0.1", 50000),
    }


class Upstream:
    """The sandbox's ImRaising account, driven the way the end-to-end tests drive it."""

    def __init__(self) -> None:
        self.sandbox = Sandbox(rate=0.0, seed=1)
        self.transport = StreamingASGITransport(create_app(self.sandbox))
        self.state = self.sandbox.imraising

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, base_url=BASE_URL, timeout=5)

    async def control(self, path: str, body: object) -> dict:
        async with self._client() as client:
            response = await client.post(f"/_sandbox/imraising/{path}", json=body)
            response.raise_for_status()
            return response.json()

    async def post(self, path: str, body: object, headers: dict[str, str]) -> httpx.Response:
        async with self._client() as client:
            return await client.post(path, json=body, headers=headers)

    def requests(self, path: str) -> list[dict]:
        # `until` asks from a worker thread while the app appends on the loop: copy first
        # (list() of a deque runs without releasing the GIL), then filter.
        return [r for r in list(self.state.requests) if r["path"] == path]

    def listens(self) -> list[dict]:
        return self.requests("/api/v1/listen")

    def listings(self) -> list[dict]:
        return self.requests("/api/v1/donations")

    @property
    def open_streams(self) -> int:
        return len(self.state.streams)


async def until(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Wait, without blocking the loop, until `check()` (plain code, may use the ORM: it runs
    in a thread) returns something truthy; fail with its last value."""
    from fundboard.runners.orm import db

    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await db(check)
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
