"""Hostile websocket clients against a real server, on daphne and on uvicorn (issue 12).

A client that floods the server with messages, one that sends huge or deeply nested JSON, and
one that never reads what it is sent: each is closed or cut within a bound, no traceback is
logged, and a normal viewer beside it keeps receiving every donation.

One server of each kind serves the whole module (what is tested is each ASGI server's own
handling); each test has a campaign of its own, fed by a sandbox of its own, and reads only
the part of the server's log written during the test.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from fundboard.live import limits

from .support import FundboardServer, wait_for
from .test_stream_end_to_end import add_streamed_campaign, control, donation, remove_campaign


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def server(request, tmp_path_factory, django_db_blocker):
    server = FundboardServer(
        tmp_path_factory.mktemp(f"hostile-{request.param}"),
        extra_env={"FUNDBOARD_ASGI_SERVER": request.param},
        db_blocker=django_db_blocker,
    )
    yield server.start()
    server.close()


@pytest.fixture
def slug(server, sandbox_server, request):
    """This test's campaign on the shared server, streaming from this test's sandbox."""
    slug = request.node.originalname.removeprefix("test_")[:40]
    add_streamed_campaign(server, sandbox_server, slug)
    yield slug
    remove_campaign(server, slug)


@pytest.fixture
def log(server):
    """The server's log from this test's start on."""
    start = len(server.log())
    return lambda: server.log()[start:]


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _close_code(connection) -> int | None:
    try:
        while True:
            connection.recv(timeout=10)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def _flood(url: str, origin: str, seconds: float, result: dict) -> None:
    """Send `{"type": "resync"}` as fast as possible until closed (or `seconds` pass)."""
    with connect(url, origin=origin, open_timeout=10, max_queue=None) as flooder:
        flooder.recv(timeout=10)  # the snapshot
        deadline, sent = time.monotonic() + seconds, 0
        try:
            while time.monotonic() < deadline:
                flooder.send('{"type":"resync"}')
                sent += 1
        except ConnectionClosed:
            pass
        result["sent"] = sent
        result["closed_after"] = seconds - (deadline - time.monotonic())
        result["code"] = _close_code(flooder)


def test_a_flooding_client_is_closed_and_a_viewer_beside_it_is_unaffected(
    server, sandbox_server, slug, log
):
    url = f"ws://127.0.0.1:{server.port}/ws/campaigns/{slug}"
    rss_before = _rss_mb(server.process.pid)
    results = [{}, {}]
    with server.live_client(slug) as viewer:
        viewer.receive()
        flooders = [threading.Thread(target=_flood, args=(url, server.url, 15, r)) for r in results]
        for flooder in flooders:
            flooder.start()
        # While they flood: a donation still reaches the viewer.
        control(sandbox_server, "donations", donation("Calm", "3.00"))
        viewer.wait_for(lambda m: m["type"] == "donation" and m["data"]["name"] == "Calm", 10)
        for flooder in flooders:
            flooder.join(30)
        control(sandbox_server, "donations", donation("After", "4.00"))
        viewer.wait_for_total("7.00", timeout=10)
    for result in results:
        # Closed for policy long before the 15 s were up (the old daphne queued every one).
        # The close frame may be lost to the reset that closing a socket with unread input
        # sends, so the flooder sees 1008 or an abrupt end; the server's log says which.
        assert result["code"] in (limits.CLOSE_POLICY_VIOLATION, None), result
        assert result["closed_after"] < 5, result
    closes = re.findall(r"socket closed: (too many messages|messages faster than served)", log())
    assert len(closes) >= 2, log()[-2000:]  # each flooder (daphne: maybe twice)
    assert _rss_mb(server.process.pid) - rss_before < 60
    assert "Traceback" not in log()


def test_deep_and_oversized_json_from_a_client_is_refused_quietly(server, slug, log):
    url = f"ws://127.0.0.1:{server.port}/ws/campaigns/{slug}"
    with connect(url, origin=server.url, open_timeout=10) as client:
        client.recv(timeout=10)
        client.send("[" * 4000)  # within the size bound, far past the depth bound
        client.send('{"type": "resync"}')
        assert '"snapshot"' in client.recv(timeout=10)  # the socket is still served
        client.send("[" * 100_000)  # past the size bound: the server closes, 1009
        assert _close_code(client) == 1009
    assert "Traceback" not in log() and "RecursionError" not in log()


# --- a viewer that never reads ---------------------------------------------------------------


def _raw_viewer(port: int, path: str) -> socket.socket:
    """A websocket handshake by hand, then the socket is never read again (small buffer)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        .encode()
    )  # fmt: skip
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)  # byte by byte: nothing past the headers is read
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def _server_send_queue(server_port: int, client_port: int) -> int | None:
    """Send-Q of the server's side of one connection, from `ss -tn`, in any state (a socket
    closed the orderly way lingers in FIN-WAIT with its queue); None: no such socket."""
    out = subprocess.run(
        ["ss", "-tanH", f"( sport = :{server_port} )"], capture_output=True, text=True, check=True
    ).stdout
    for line in out.splitlines():
        fields = line.split()
        if fields[0] != "LISTEN" and fields[-1].endswith(f":{client_port}"):
            return int(fields[2])
    return None


def test_a_viewer_that_never_reads_is_cut_before_its_send_queue_grows(
    server, sandbox_server, slug, log
):
    mute = _raw_viewer(server.port, f"/ws/campaigns/{slug}")
    mute_port = mute.getsockname()[1]
    # ~0.5 MB of events, several times what the bound lets wait for one viewer.
    burst = [donation(f"S{i}", "1.00", message="m" * 400) for i in range(600)]
    names = [f"S{i}" for i in range(600)]
    send_queues = []
    with server.live_client(slug) as reader:
        reader.receive()
        control(sandbox_server, "donations", burst)

        def cut() -> bool:
            queue = _server_send_queue(server.port, mute_port)
            if queue is not None:
                send_queues.append(queue)
            return queue is None

        try:
            wait_for(cut, timeout=30, interval=0.02)
        except AssertionError:
            print(send_queues[-20:], log()[-1500:])
            raise
        reader.wait_for(lambda m: m["type"] == "donation" and m["data"]["name"] == "S599", 60)
        assert [m["data"]["name"] for m in reader.of_type("donation")] == names
        reader.wait_for_total("600.00")
    with server.live_client(slug) as newcomer:  # and the process serves newcomers
        newcomer.wait_for_total("600.00")
    assert send_queues and max(send_queues) <= 150 * 1024, max(send_queues or [0])
    assert re.search(r"viewer cut: not reading unsent_bytes=\d+", log())
    mute.close()
