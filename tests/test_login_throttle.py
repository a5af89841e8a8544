"""Logins are throttled (issue 12, finding 6): 60 wrong passwords, then the right one, used to
log in. Now a username is locked out from an address after 5 failures, the right password is
refused with 429 while locked, and staff can lift the lock. On a real server (ASGI, daphne
and uvicorn), through the admin login form the dashboard sends staff to.
"""

from __future__ import annotations

import httpx
import pytest
from django.core.management import call_command

from .dashboard_support import PASSWORD, create_user
from .support import LOOPBACK_TLS, FundboardServer

WRONG_TRIES = 60


class Browser:
    """One visitor of the login page: a cookie jar and optional proxy headers."""

    def __init__(self, server, forwarded_for: str = ""):
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        self.client = httpx.Client(
            verify=LOOPBACK_TLS, base_url=server.url, timeout=10, headers=headers
        )
        self.client.get("/admin/login/")

    def login(self, username: str, password: str) -> httpx.Response:
        return self.client.post(
            "/admin/login/?next=/dashboard/",
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": self.client.cookies["csrftoken"],
                "next": "/dashboard/",
            },
        )

    def signed_in(self) -> bool:
        return self.client.get("/dashboard/").status_code == 200


@pytest.fixture(scope="module")
def servers(tmp_path_factory, django_db_blocker):
    """A factory: one server per ASGI server and setting, shared by the module's tests. The
    lock is per username and address, so each test signs in as a user of its own."""
    started: dict[tuple, FundboardServer] = {}

    def server(asgi_server: str = "daphne", **env: str) -> FundboardServer:
        key = (asgi_server, *sorted(env.items()))
        if key not in started:
            started[key] = FundboardServer(
                tmp_path_factory.mktemp(asgi_server),
                extra_env={"FUNDBOARD_ASGI_SERVER": asgi_server, **env},
                ingest=False,
                db_blocker=django_db_blocker,
            )
            started[key].start()
        return started[key]

    yield server
    for each in started.values():
        each.close()


@pytest.mark.parametrize("asgi_server", ["daphne", "uvicorn"])
def test_the_right_password_after_sixty_wrong_ones_does_not_log_in(servers, asgi_server):
    server = servers(asgi_server)
    create_user(server, "olive", "Organisers")
    browser = Browser(server)
    statuses = [browser.login("olive", f"guess-{n}").status_code for n in range(WRONG_TRIES)]
    assert statuses[:4] == [200] * 4  # the login form again, with its error
    assert set(statuses[5:]) == {429}, statuses  # locked: every later try is refused

    locked = browser.login("olive", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.text
    assert not browser.signed_in()
    # Nor from a fresh session on the same address: the lock is on username and address.
    assert Browser(server).login("olive", PASSWORD).status_code == 429

    # Staff lift the lock; the right password works again.
    # (the command runs in this process on the server's database, as a shell would)
    server.orm(lambda: call_command("axes_reset_username", "olive"))
    again = Browser(server)
    assert again.login("olive", PASSWORD).status_code == 302
    assert again.signed_in()


def test_behind_the_proxy_the_lock_is_on_the_address_nginx_saw(servers):
    server = servers(FUNDBOARD_BEHIND_PROXY="1")
    create_user(server, "olive", "Organisers")
    attacker = Browser(server, forwarded_for="203.0.113.5")
    for n in range(6):
        attacker.login("olive", f"guess-{n}")
    assert attacker.login("olive", PASSWORD).status_code == 429
    # Entries the client wrote left of nginx's own do not make another address.
    spoofed = Browser(server, forwarded_for="10.9.8.7, 203.0.113.5")
    assert spoofed.login("olive", PASSWORD).status_code == 429
    # Staff at another address are not locked out by the attacker.
    colleague = Browser(server, forwarded_for="198.51.100.7")
    assert colleague.login("olive", PASSWORD).status_code == 302


def test_without_the_proxy_setting_x_forwarded_for_cannot_dodge_the_lock(servers):
    server = servers()
    create_user(server, "otto", "Organisers")
    for n in range(6):
        Browser(server, forwarded_for=f"198.51.100.{n}").login("otto", f"guess-{n}")
    assert Browser(server, forwarded_for="192.0.2.1").login("otto", PASSWORD).status_code == 429
