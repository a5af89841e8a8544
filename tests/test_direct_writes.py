"""The hub's shortcut past ASGI (fundboard/live/direct.py): on a real uvicorn server, on
Twisted's and autobahn's own objects (what daphne runs), and switched off by the setting.

On uvicorn, a real client socket that does not read, with small buffers on both ends, shows
the three decisions the writer makes: write at once while the transport is idle, refuse once
bytes are waiting (the message then goes through ASGI, after them), refuse after a close.
What the client finally reads must be every message, whole and in order.
"""

import asyncio
import importlib.util
import json
import socket
import tomllib
from pathlib import Path

import daphne.ws_protocol
import pytest
import uvicorn
from asgiref.sync import sync_to_async
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from prometheus_client import REGISTRY
from twisted.internet import address, tcp
from twisted.internet.selectreactor import SelectReactor
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from fundboard.asgi import application
from fundboard.ingest.services import ingest_donations
from fundboard.live.broadcast import broadcaster
from fundboard.live.direct import (
    VERIFIED_RELEASES,
    DaphneWriter,
    DirectWriter,
    installed_releases,
    internals_verified,
    text_frame,
)

from .factories import make_campaign, make_source, record
from .fixtures_live import live_singletons  # noqa: F401 -- the fixture, used below

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


# --- what direct.py relies on in the installed servers ------------------------------------------


@pytest.mark.parametrize("server", sorted(VERIFIED_RELEASES))
def test_the_installed_servers_are_the_releases_direct_writes_were_verified_with(server):
    """Fails on any upgrade of daphne, Twisted, autobahn, uvicorn or websockets: in production
    the direct path then turns itself off (a warning says so). Check what it relies on (this
    file's tests, bench/bench_fanout.py), then update direct.VERIFIED_RELEASES."""
    assert installed_releases(server) == VERIFIED_RELEASES[server]
    assert internals_verified(server)


def test_pyproject_pins_the_releases_direct_writes_were_verified_with():
    """A clean install gets exactly the verified releases: an unpinned Twisted or autobahn
    (daphne's dependencies) let a new release in and turned the direct path off."""
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    pins = dict(pin.split("==") for pin in project["project"]["dependencies"])
    pins = {name.split("[")[0].lower(): version for name, version in pins.items()}
    for server, releases in VERIFIED_RELEASES.items():
        for name, version in releases.items():
            assert pins.get(name.lower()) == version, (server, name)


class _LoopbackConnection(tcp.Connection):
    """Twisted's TCP connection as daphne's server makes it, on one end of a socket pair."""

    def getPeer(self):
        return address.IPv4Address("TCP", "127.0.0.1", 50001)

    def getHost(self):
        return address.IPv4Address("TCP", "127.0.0.1", 8000)


def _autobahn_on_twisted() -> tuple[WebSocketServerProtocol, _LoopbackConnection, socket.socket]:
    """An open autobahn websocket protocol on a real Twisted TCP transport, whose reactor
    (never run, never installed) lets the test see what waits in Twisted's buffers."""
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    peer.settimeout(5)
    factory = WebSocketServerFactory(reactor=SelectReactor())
    factory.protocol = WebSocketServerProtocol
    protocol = factory.buildProtocol(None)
    transport = _LoopbackConnection(ours, protocol, reactor=factory.reactor)
    transport.connected = 1
    protocol.makeConnection(transport)
    protocol.state = protocol.STATE_OPEN  # as after the handshake
    return protocol, transport, peer


def test_daphne_hands_the_application_a_send_the_writer_recognises():
    """for_send finds daphne's protocol as the first argument of a partial over its server's
    handle_reply, an autobahn protocol on a plain Twisted TCP transport. (daphne.server is
    read, not imported: importing it installs a Twisted reactor in this process.)"""
    server_source = Path(importlib.util.find_spec("daphne.server").origin).read_text()
    assert "send=partial(self.handle_reply, protocol)" in server_source
    assert issubclass(daphne.ws_protocol.WebSocketProtocol, WebSocketServerProtocol)
    assert daphne.ws_protocol.WebSocketProtocol.__module__ == "daphne.ws_protocol"
    assert tcp.Server.__module__ == "twisted.internet.tcp"
    assert issubclass(tcp.Server, tcp.Connection)


def test_twisted_and_autobahn_internals_behave_as_the_daphne_writer_assumes():
    protocol, transport, peer = _autobahn_on_twisted()
    writer = DaphneWriter(protocol)
    assert writer.fileno() == transport.fileno() >= 0
    assert writer.buffered_bytes() == 0 and not protocol.send_queue

    # Idle: written straight to the socket (writeSomeData), the very frame.
    frame = text_frame("hello")
    assert writer.write(frame)
    assert peer.recv(100) == frame

    # Bytes written the ordinary way wait in Twisted's _tempDataBuffer until the reactor
    # runs: counted as buffered, and the writer refuses to overtake them.
    transport.write(b"queued")
    assert transport._tempDataBuffer == [b"queued"] and transport._tempDataLen == 6
    assert writer.buffered_bytes() == 6
    assert not writer.write(text_frame("must wait"))
    transport.doWrite()  # what the reactor would do: Twisted's buffers go out
    assert peer.recv(100) == b"queued"
    assert writer.buffered_bytes() == 0 and transport.dataBuffer == b""
    assert writer.write(text_frame("after"))
    assert peer.recv(100) == text_frame("after")

    # Once a close starts, autobahn leaves STATE_OPEN: nothing goes straight out.
    protocol.sendClose(1000)
    assert protocol.state != protocol.STATE_OPEN
    assert not writer.write(text_frame("too late"))
    writer.abort()
    transport.reactor.runUntilCurrent()  # the reactor's next turn: the connection is lost
    assert not transport.connected
    peer.close()


# --- the setting: with direct frames off, updates take the ASGI path and still arrive ------------


async def _first_message_of_type(socket_client, message_type: str) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(socket_client.recv(), 10))
        if message["type"] == message_type:
            return message["data"]


def _direct_frames_sent() -> float:
    return REGISTRY.get_sample_value("fundboard_frames_sent_total", {"path": "direct"}) or 0.0


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("live_singletons")
@pytest.mark.parametrize("direct_frames", [True, False], ids=["direct-on", "direct-off"])
def test_live_updates_arrive_with_direct_frames_on_and_off(settings, direct_frames):
    settings.FUNDBOARD = {**settings.FUNDBOARD, "DIRECT_FRAMES": direct_frames}
    campaign = make_campaign()
    source = make_source(campaign)

    async def scenario() -> tuple[dict, float]:
        broadcaster.bind(asyncio.get_running_loop())
        server, serving, port = await _start_uvicorn(application)
        try:
            async with connect(f"ws://127.0.0.1:{port}/ws/campaigns/{campaign.slug}") as viewer:
                await _first_message_of_type(viewer, "snapshot")
                before = _direct_frames_sent()
                await sync_to_async(ingest_donations)(source.pk, [record("5.00", uid="a")])
                event = await _first_message_of_type(viewer, "donation")
                snapshot = await _first_message_of_type(viewer, "snapshot")
                assert snapshot["total"] == "5.00"
                return event, _direct_frames_sent() - before
        finally:
            server.should_exit = True
            await serving

    event, direct = asyncio.run(scenario())
    assert event["amount"] == "5.00"
    # On: the hub wrote the frames itself; off: none, every frame went through ASGI.
    assert (direct > 0) == direct_frames, direct
