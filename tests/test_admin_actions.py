"""The admin's source actions and review settings go through the same recorded paths as the
dashboard; a view-only user sees whether a key is set, never the key or its inputs."""

from __future__ import annotations

import pytest

from .dashboard_support import CAMPAIGN, StaffSession, create_user
from .support import FundboardServer

# One server for both tests: the view-only test only reads, so the poll test's audit trail
# stays its own.

SOURCES = """
  [[campaign.source]]
  kind = "p2p"
  name = "Walk"
  base_url = "http://127.0.0.1:9"
  api_key = "admin-actions-SECRET-key"
  poll_interval = 3600
"""


def _view_only(username: str) -> None:
    from django.contrib.auth.models import Permission, User

    user = User.objects.get(username=username)
    codenames = ["view_source", "view_campaign", "view_dashboard"]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


@pytest.fixture(scope="module")
def server(tmp_path_factory, django_db_blocker):
    server = FundboardServer(
        tmp_path_factory.mktemp("admin"), CAMPAIGN + SOURCES, db_blocker=django_db_blocker
    )
    try:
        create_user(server, "root", superuser=True)
        create_user(server, "vera")
        server.orm(lambda: _view_only("vera"))
        yield server.start()
    finally:
        server.close()


def test_admin_poll_action_and_review_settings_are_recorded(server):
    root = StaffSession(server, "root")
    response = root.post(
        "/admin/campaigns/source/",
        {"action": "poll_now", "_selected_action": ["1"], "index": "0"},
        json_answer=False,
    )
    assert response.status_code == 302
    health = root.get("/dashboard/spring/health.json").json()["sources"][0]
    assert health["poll_requested_at"] is not None
    actions = root.feed("spring")["actions"]
    assert [(a["user"], a["action"]) for a in actions] == [("root", "poll_now")]


def test_view_only_users_see_that_a_key_is_set_but_no_key_inputs(server):
    vera = StaffSession(server, "vera")
    page = vera.get("/admin/campaigns/source/1/change/")
    assert page.status_code == 200
    assert "set (hidden)" in page.text
    assert 'name="new_api_key"' not in page.text
    assert "admin-actions-SECRET-key" not in page.text
