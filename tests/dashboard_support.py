"""Shared machinery for the dashboard tests: staff users, a signed-in HTTP
session against a real server, and the staff websocket."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
from websockets.sync.client import connect

from .support import LOOPBACK_TLS, FundboardServer, LiveClient

PASSWORD = "Staff-pw-4711"

CAMPAIGN = """
[[campaign]]
slug = "spring"
name = "Spring Drive"
goal = "1000"
currency = "USD"
"""


def create_user(
    server: FundboardServer,
    username: str,
    *groups: str,
    staff: bool = True,
    superuser: bool = False,
) -> str:
    def create() -> None:
        from django.contrib.auth.models import Group, User

        user = User.objects.filter(username=username).first()  # a worker's shared server
        if user is None:
            user = User.objects.create_user(
                username, password=PASSWORD, is_staff=staff, is_superuser=superuser
            )
        user.groups.add(*(Group.objects.get(name=name) for name in groups))

    server.orm(create)
    return username


def _utc_now_minute() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")


class StaffSession:
    """An httpx client signed in through the admin login form, as a browser would be."""

    def __init__(self, server: FundboardServer, username: str, password: str = PASSWORD):
        self.server = server
        self.client = httpx.Client(
            verify=LOOPBACK_TLS, base_url=server.url, timeout=10, follow_redirects=False
        )
        self.responses: list[httpx.Response] = []
        page = self.client.get("/admin/login/")
        response = self.client.post(
            "/admin/login/?next=/admin/",
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": self.client.cookies["csrftoken"],
                "next": "/admin/",
            },
        )
        assert page.status_code == 200
        assert response.status_code == 302, response.text[:500]
        self.username = username

    def get(self, url: str, **kwargs) -> httpx.Response:
        response = self.client.get(url, **kwargs)
        self.responses.append(response)
        return response

    def post(self, url: str, data: dict | None = None, *, json_answer: bool = True):
        headers = {"X-CSRFToken": self.client.cookies.get("csrftoken", "")}
        if json_answer:
            headers["Accept"] = "application/json"
        response = self.client.post(url, data=data or {}, headers=headers)
        self.responses.append(response)
        return response

    def add_manual(self, slug: str, name: str, amount: str, message: str = "", **extra) -> int:
        data = {
            "display_name": name,
            "amount": amount,
            "currency": "USD",
            # Now by default: donations older than a few minutes raise no public alert.
            "donated_at": extra.pop("donated_at", _utc_now_minute()),
            "method": "cheque",
            "message": message,
            **extra,
        }
        response = self.post(f"/dashboard/{slug}/manual/", data)
        assert response.status_code == 200, response.text[:1000]
        return response.json()["id"]

    def moderate(self, slug: str, donation_id: int, action: str) -> dict:
        response = self.post(
            f"/dashboard/{slug}/donations/{donation_id}/moderate", {"action": action}
        )
        assert response.status_code == 200, response.text[:500]
        return response.json()

    def feed(self, slug: str) -> dict:
        response = self.get(f"/dashboard/{slug}/feed.json")
        assert response.status_code == 200
        return response.json()

    def staff_socket(self, slug: str) -> LiveClient:
        return staff_socket(self.server, slug, self.client.cookies.get("sessionid"))

    def close(self) -> None:
        self.client.close()


class _CookieLiveClient(LiveClient):
    def __init__(self, url: str, origin: str, cookie: str | None):
        headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
        self.connection = connect(
            url, origin=origin, open_timeout=10, additional_headers=headers
        ).__enter__()
        self.messages = []


def staff_socket(server: FundboardServer, slug: str, session_cookie: str | None) -> LiveClient:
    url = f"ws://127.0.0.1:{server.port}/ws/dashboard/{slug}"
    return _CookieLiveClient(url, server.url, session_cookie)


def donor_names(snapshot: dict) -> list[str]:
    return [row["name"] for row in snapshot["top_donors"]]


def decode(message) -> dict:
    return json.loads(message) if isinstance(message, str) else message
