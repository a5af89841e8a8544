"""Who may open a websocket, by `Origin` (issue 11, item 6; fundboard/live/origins.py).

Public campaign sockets take clients that send no Origin (bots, Stream Deck plugins,
scripts) and browsers from our own origin, compared by scheme, host AND port, or from the
campaign's allowed origins; the staff socket takes only our own origin. Handshakes are made
by hand against a real server so every header is exactly what the test says.
"""

from __future__ import annotations

import base64
import os
import socket

import pytest
from django.test import override_settings

from fundboard.live.origins import origin_allowed, parse_origin

from .dashboard_support import CAMPAIGN, StaffSession, create_user
from .support import FundboardServer

PUBLIC = "/ws/campaigns/spring"
STAFF = "/ws/dashboard/spring"
ALLOWED = "https://charity.example.org"


def handshake_status(port: int, path: str, headers: dict[str, str]) -> int:
    """The HTTP status a websocket handshake with these headers gets (101: accepted)."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n" not in head and (chunk := sock.recv(1024)):
            head += chunk
    return int(head.split()[1])


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def server(request, tmp_path_factory, django_db_blocker):
    """One server of each kind for the module (the handshake is each ASGI server's own
    code); the tests only read from it, so they share it."""
    toml = CAMPAIGN + f'allowed_origins = ["{ALLOWED}"]\n'
    server = FundboardServer(
        tmp_path_factory.mktemp(f"origins-{request.param}"),
        toml,
        extra_env={"FUNDBOARD_ASGI_SERVER": request.param},
        db_blocker=django_db_blocker,
    )
    create_user(server, "olive", "Organisers")
    yield server.start()
    server.close()


def test_public_socket_origins_compared_by_scheme_host_and_port(server):
    own_host = f"127.0.0.1:{server.port}"

    def status(origin: str | None, host: str = own_host) -> int:
        headers = {"Host": host} | ({"Origin": origin} if origin is not None else {})
        return handshake_status(server.port, PUBLIC, headers)

    assert status(None) == 101  # a bot or a Stream Deck plugin: no Origin, public data
    assert status(f"http://127.0.0.1:{server.port}") == 101  # our own pages
    assert status(f"http://localhost:{server.port}", host=f"localhost:{server.port}") == 101
    assert status(ALLOWED) == 101  # listed in the campaign's allowed origins
    assert status("http://127.0.0.1:1") == 403  # same host, another port
    assert status(f"https://127.0.0.1:{server.port}") == 403  # same host and port, https
    assert status(f"http://localhost:{server.port}") == 403  # not the Host asked for
    assert status("http://charity.example.org") == 403  # the allowed site, but over http
    assert status("https://evil.example") == 403
    assert status("null") in (400, 403)  # autobahn may refuse it itself
    # A rebound DNS name: "same origin" as the Host, but not a host we serve.
    assert status(f"http://evil.example:{server.port}", host=f"evil.example:{server.port}") == 403


def test_staff_socket_requires_our_own_origin(server):
    staff = StaffSession(server, "olive")
    cookie = f"sessionid={staff.client.cookies.get('sessionid')}"
    own = f"http://127.0.0.1:{server.port}"

    def status(origin: str | None) -> int:
        headers = {"Host": f"127.0.0.1:{server.port}", "Cookie": cookie}
        headers |= {"Origin": origin} if origin is not None else {}
        return handshake_status(server.port, STAFF, headers)

    assert status(own) == 101
    assert status(None) == 403
    assert status("http://127.0.0.1:1") == 403
    assert status(f"https://127.0.0.1:{server.port}") == 403
    assert status(ALLOWED) == 403  # a campaign's framing sites never reach the staff feed
    staff.close()


def _scope(origin: str | None, host: str, *, scheme: str = "ws", proto: str | None = None):
    headers = [(b"host", host.encode())]
    headers += [(b"origin", origin.encode())] if origin is not None else []
    headers += [(b"x-forwarded-proto", proto.encode())] if proto else []
    return {"type": "websocket", "scheme": scheme, "headers": headers}


@override_settings(ALLOWED_HOSTS=["board.example.org"], FUNDBOARD_BEHIND_PROXY=True)
def test_behind_a_proxy_the_scheme_is_the_forwarded_one():
    page = "https://board.example.org"
    assert origin_allowed(_scope(page, "board.example.org", proto="https"), allow_missing=False)
    assert not origin_allowed(
        _scope("http://board.example.org", "board.example.org", proto="https"),
        allow_missing=False,
    )
    # Without the header, the request's own scheme (ws: http pages).
    assert not origin_allowed(_scope(page, "board.example.org"), allow_missing=False)


@override_settings(
    ALLOWED_HOSTS=["board.example.org"],
    CSRF_TRUSTED_ORIGINS=["https://staff.example.org", "https://*.example.net"],
    FUNDBOARD_BEHIND_PROXY=False,
)
def test_trusted_origins_and_wildcards_match_scheme_host_and_port():
    def allowed(origin, **kwargs):
        return origin_allowed(_scope(origin, "board.example.org"), allow_missing=False, **kwargs)

    assert allowed("https://staff.example.org")
    assert allowed("https://staff.example.org:443")
    assert not allowed("https://staff.example.org:8443")
    assert allowed("https://a.b.example.net")
    assert not allowed("https://example.net.evil.org")
    assert not allowed("https://x.org", extra=["https://*.x.org"])
    assert allowed("https://shop.x.org", extra=["https://*.x.org"])
    assert not allowed(None) and origin_allowed(_scope(None, "x"), allow_missing=True)


def test_parse_origin_refuses_what_is_not_an_origin():
    assert parse_origin("https://Board.Example.org") == ("https", "board.example.org", 443)
    assert parse_origin("http://[::1]:8000") == ("http", "::1", 8000)
    for text in ("null", "file://", "ws://x.org", "https://x.org/path", "https://x.org:99999",
                 "https://u:p@x.org", "", "https://"):  # fmt: skip
        assert parse_origin(text) is None, text
