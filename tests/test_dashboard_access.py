"""Who may use the dashboard: anonymous visitors go to the login page from every dashboard
URL and cannot join the staff socket; moderators get the feed and moderation only."""

from __future__ import annotations

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from .dashboard_support import CAMPAIGN, StaffSession, create_user, staff_socket
from .support import LOOPBACK_TLS, FundboardServer, http

# One server for the module: its tests only read, except the moderators' test, whose one
# donation no other test looks at.

WITH_SOURCE = (
    CAMPAIGN
    + """
  [[campaign.source]]
  kind = "p2p"
  name = "Walk"
  base_url = "http://127.0.0.1:9"
  api_key = "p2p-key-for-access-tests"
  poll_interval = 3600
"""
)

# (method, path) of every dashboard URL; 1 stands for a donation or source id.
DASHBOARD_URLS = [
    ("GET", "/dashboard/"),
    ("GET", "/dashboard/spring/"),
    ("GET", "/dashboard/spring/feed.json"),
    ("GET", "/dashboard/spring/health.json"),
    ("POST", "/dashboard/spring/donations/1/moderate"),
    ("POST", "/dashboard/spring/approve-all"),
    ("POST", "/dashboard/spring/review-settings"),
    ("POST", "/dashboard/spring/sources/1/poll"),
    ("POST", "/dashboard/spring/sources/1/reconnect"),
    ("POST", "/dashboard/spring/sources/1/imraising-test"),
    ("GET", "/dashboard/spring/manual/"),
    ("POST", "/dashboard/spring/manual/"),
    ("GET", "/dashboard/spring/manual/1/"),
    ("POST", "/dashboard/spring/manual/1/remove"),
    ("POST", "/dashboard/spring/test-alert"),
    ("GET", "/dashboard/spring/embed/"),
    ("GET", "/dashboard/spring/export/"),
    ("GET", "/dashboard/spring/export/?download=1"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory, django_db_blocker):
    server = FundboardServer(
        tmp_path_factory.mktemp("access"), WITH_SOURCE, db_blocker=django_db_blocker
    )
    try:
        create_user(server, "olive", "Organisers")
        create_user(server, "moe", "Moderators")
        create_user(server, "stan")  # staff, but in no group
        create_user(server, "nora", "Organisers", staff=False)  # not staff
        yield server.start()
    finally:
        server.close()


def test_anonymous_visitors_are_sent_to_login_from_every_dashboard_url(server):
    with httpx.Client(verify=LOOPBACK_TLS, base_url=server.url, timeout=10) as client:
        client.get("/admin/login/")
        token = client.cookies["csrftoken"]
        for method, path in DASHBOARD_URLS:
            if method == "GET":
                response = client.get(path)
            else:
                response = client.post(path, headers={"X-CSRFToken": token})
            assert response.status_code == 302, (method, path, response.status_code)
            assert response.headers["location"].startswith("/admin/login/?next="), path


def test_the_bare_address_leads_to_the_dashboard_login(server):
    response = http.get(f"{server.url}/", follow_redirects=True, timeout=10)
    assert response.status_code == 200
    assert response.url.path == "/admin/login/"
    assert response.url.params["next"] == "/dashboard/"


def test_anonymous_and_unprivileged_users_cannot_join_the_staff_socket(server):
    with pytest.raises(InvalidStatus) as refused:
        staff_socket(server, "spring", None)
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        staff_socket(server, "spring", "not-a-real-session")
    stan = StaffSession(server, "stan")
    with pytest.raises(InvalidStatus):
        stan.staff_socket("spring")
    # A moderator may: the feed is theirs.
    moe = StaffSession(server, "moe")
    with moe.staff_socket("spring") as socket:
        assert socket.receive()["type"] == "snapshot"


def test_non_staff_users_cannot_sign_in_and_staff_without_a_role_are_refused(server):
    with pytest.raises(AssertionError):
        StaffSession(server, "nora")  # the admin login refuses non-staff accounts
    stan = StaffSession(server, "stan")
    assert stan.get("/dashboard/spring/").status_code == 403


def test_moderators_get_the_feed_and_moderation_only(server):
    olive = StaffSession(server, "olive")
    donation_id = olive.add_manual("spring", "Mod Target", "9.00", "hello")
    moe = StaffSession(server, "moe")

    page = moe.get("/dashboard/spring/")
    assert page.status_code == 200
    assert "Mod Target" in page.text or "Mod Target" in moe.feed("spring")["feed"][0]["name"]
    assert 'id="health"' not in page.text and "sourceAdmin" not in page.text
    assert moe.moderate("spring", donation_id, "hide_name")["ok"] is True

    source_id = olive.get("/dashboard/spring/health.json").json()["sources"][0]["id"]
    forbidden = [
        ("GET", "/dashboard/spring/health.json"),
        ("POST", f"/dashboard/spring/sources/{source_id}/poll"),
        ("GET", "/dashboard/spring/manual/"),
        ("POST", f"/dashboard/spring/manual/{donation_id}/remove"),
        ("POST", "/dashboard/spring/test-alert"),
        ("GET", "/dashboard/spring/embed/"),
        ("GET", "/dashboard/spring/export/?download=1"),
        ("GET", f"/admin/campaigns/source/{source_id}/change/"),
        ("GET", "/admin/campaigns/source/"),
        ("GET", "/admin/campaigns/source/add/"),
    ]
    for method, path in forbidden:
        response = moe.get(path) if method == "GET" else moe.post(path)
        assert response.status_code == 403, (method, path, response.status_code)
    # The admin shows them donations and the audit trail, read-only.
    assert moe.get("/admin/ingest/donation/").status_code == 200
    actions = moe.get("/admin/dashboard/moderationaction/")
    assert actions.status_code == 200 and "moe" in actions.text
    campaign = moe.get("/admin/campaigns/campaign/1/change/")
    assert campaign.status_code == 200 and "Walk" not in campaign.text  # no sources inline
    assert server.snapshot("spring")["top_donors"][0]["name"] == "Anonymous"
