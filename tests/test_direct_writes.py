"""The hub's shortcut past ASGI on uvicorn (fundboard/live/direct.py), on a real uvicorn server.

A real client socket that does not read, with small buffers on both ends, lets the test see
the three decisions the writer makes: write at once while the transport is idle, refuse once
bytes are waiting (the message then goes through ASGI, after them), refuse after a close.
What the client finally reads must be every message, whole and in order.
"""

import asyncio
import socket

import uvicorn
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from fundboard.live.direct import DirectWriter, text_frame

SMALL_BUFFER = 4096


class _OneSocketApp:
    """An ASGI app that accepts one websocket and hands its `send` to the test."""

    def __init__(self) -> None:
        self.accepted: asyncio.Future = asyncio.get_running_loop().create_future()

    async def __call__(self, scope, receive, send) -> None:
        assert scope["type"] == "websocket"
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        server_socket = send.__self__.transport.get_extra_info("socket")
        server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
        self.accepted.set_result(send)
        while (await receive())["type"] != "websocket.disconnect":
            pass


async def _start_uvicorn(app) -> tuple[uvicorn.Server, asyncio.Task, int]:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, ws="websockets-sansio", lifespan="off", log_level="error"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, port


async def _connect_quiet_client(port: int) -> tuple[ClientProtocol, asyncio.StreamReader, object]:
    """A websocket client with a small receive buffer that reads only when told to."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=2**22)
    client = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/"))
    client.send_request(client.connect())
    writer.write(b"".join(client.data_to_send()))
    while not client.events_received() and (data := await reader.read(65536)):
        client.receive_data(data)
    return client, reader, writer


async def _read_texts(client: ClientProtocol, reader, count: int) -> list[str]:
    texts: list[str] = []
    while len(texts) < count:
        data = await asyncio.wait_for(reader.read(2**20), 10)
        assert data, f"connection ended after {len(texts)} messages"
        client.receive_data(data)
        texts += [e.data.decode() for e in client.events_received() if isinstance(e, Frame)]
    return texts


def test_direct_writes_only_to_an_idle_open_socket_and_every_message_arrives_in_order():
    async def scenario():
        app = _OneSocketApp()
        server, serving, port = await _start_uvicorn(app)
        client, reader, client_writer = await _connect_quiet_client(port)
        send = await asyncio.wait_for(app.accepted, 10)
        direct = DirectWriter.for_send(send)
        assert direct is not None
        transport = send.__self__.transport

        # Idle transport: written at once, until the unread client leaves bytes waiting.
        texts = [f"message {n} " + "x" * 1000 for n in range(10_000)]
        written = 0
        while written < len(texts) and direct.write(text_frame(texts[written])):
            written += 1
        assert 0 < written < len(texts)
        # Only the frame that did not fit waits: a direct write never adds to a backlog.
        assert 0 < transport.get_write_buffer_size() <= len(text_frame(texts[written - 1]))
        # The refused message goes the ASGI way, queued behind the waiting bytes.
        await send({"type": "websocket.send", "text": texts[written]})

        received = await _read_texts(client, reader, written + 1)
        assert received == texts[: written + 1]

        # Drained: direct again.
        while transport.get_write_buffer_size():
            await asyncio.sleep(0.01)
        assert direct.write(text_frame("after the backlog"))
        assert await _read_texts(client, reader, 1) == ["after the backlog"]

        # Once the server has sent its close frame, nothing more goes straight out.
        await send({"type": "websocket.close", "code": 1000})
        assert not direct.write(text_frame("too late"))
        data = await asyncio.wait_for(reader.read(65536), 10)
        client.receive_data(data)
        frames = [e for e in client.events_received() if isinstance(e, Frame)]
        assert [f.opcode for f in frames] == [Opcode.CLOSE]

        client_writer.close()
        server.should_exit = True
        await serving

    asyncio.run(scenario())
