"""The operator's tools on a real server (issue 13): a settings change reaches an open widget
socket, and a mass "missed deletes" removal found by reconciliation against the sandbox waits
for an Organiser instead of emptying the totals."""

from __future__ import annotations

from datetime import datetime

import pytest

from .dashboard_support import CAMPAIGN, StaffSession, create_user
from .support import FundboardServer, wait_for
from .test_stream_end_to_end import add_streamed_campaign, control, donation, remove_campaign

# One server for the module: the settings test uses the campaign it starts with, the sandbox
# tests each load a streamed campaign of their own (fed by their own sandbox) and remove it
# after.


@pytest.fixture(scope="module")
def server(tmp_path_factory, django_db_blocker):
    server = FundboardServer(
        tmp_path_factory.mktemp("operator"), CAMPAIGN, db_blocker=django_db_blocker
    )
    try:
        create_user(server, "olive", "Organisers")
        yield server.start()
    finally:
        server.close()


@pytest.fixture(scope="module")
def staff(server):
    """One signed-in organiser for the module (a login is a password hash: ~0.3 s of CPU)."""
    session = StaffSession(server, "olive")
    yield session
    session.close()


@pytest.fixture
def streamed(server, sandbox_server):
    """A factory: load a campaign streamed from this test's sandbox; removed after the test."""
    slugs: list[str] = []

    def add(slug: str, **options) -> None:
        slugs.append(slug)
        add_streamed_campaign(server, sandbox_server, slug, **options)

    yield add
    for slug in slugs:
        remove_campaign(server, slug)


def test_saved_settings_reach_an_open_widget(server, staff):
    with server.live_client("spring", "?events=0") as widget:
        first = widget.receive()["data"]
        assert first["goal"] == "1000.00"
        staff.get("/dashboard/spring/settings/")
        response = staff.post(
            "/dashboard/spring/settings/",
            {"goal": "2500", "currency": "USD", "milestones": "500, 1500",
             "starts_at": "", "ends_at": "", "blocked_words": "", "allowed_origins": ""},
        )  # fmt: skip
        assert response.json()["ok"] is True, response.text[:300]
        update = widget.wait_for(
            lambda m: m["type"] == "snapshot" and m["data"]["goal"] == "2500.00"
        )
        assert "1500" in str(update["data"]["milestones"])  # the list staff typed
        assert update["data"]["version"] > first["version"]


def _pending(server, slug: str) -> list[str]:
    """A campaign's held removals in the server's database (read in this process)."""

    def read() -> list[str]:
        from fundboard.sync.models import PendingRemoval

        removals = PendingRemoval.objects.filter(source__campaign__slug=slug)
        return [f"{p.count} {p.total} {p.state}" for p in removals]

    return server.orm(read)


def test_sandbox_deletes_without_events_wait_for_staff(server, staff, streamed, sandbox_server):
    streamed("deletes", reconcile_interval=1)
    gifts = [donation(f"Donor {i}", "10.00") for i in range(7)]
    ids = control(sandbox_server, "donations", gifts)["ids"]
    wait_for(lambda: server.total("deletes") == "70.00")
    # Upstream loses them all without a word to the stream (as a sandbox restarted empty).
    for upstream_id in ids:
        control(sandbox_server, "delete", {"_id": upstream_id, "broadcast": False})
    wait_for(lambda: _pending(server, "deletes") == ["7 70.00 waiting"], timeout=20, interval=0.2)
    assert server.total("deletes") == "70.00"  # nothing removed without a human

    page = staff.get("/dashboard/deletes/").text
    assert "7 donations, $70.00" in page
    removal_id = page.split('data-removal-id="')[1].split('"')[0]
    decide = f"/dashboard/deletes/removals/{removal_id}/decide"
    assert staff.post(decide, {"decision": "confirm"}).json()["ok"] is True
    wait_for(lambda: server.total("deletes") == "0.00")
    assert _pending(server, "deletes") == ["7 70.00 confirmed"]


def _stream_spoke_at(server, slug: str) -> datetime | None:
    """When the runner last saved that a campaign's stream spoke (read in this process)."""

    def read() -> datetime | None:
        from fundboard.sync.models import StreamActivity

        activity = StreamActivity.objects.filter(source__campaign__slug=slug).first()
        return activity and activity.last_activity_at

    return server.orm(read)


def test_stream_lag_is_the_time_since_its_last_heartbeat(server, staff, streamed):
    # No donation at all: only the sandbox's heartbeat comments (every 0.5 s) keep it fresh.
    streamed("lag")
    first = wait_for(lambda: _stream_spoke_at(server, "lag"), timeout=15, interval=0.2)
    # The runner saves it every 5 s: a second, later heartbeat saved proves the heartbeats
    # keep it fresh (not the connection, nor one save), and no more than 7 s apart.
    second = wait_for(
        lambda: (spoke := _stream_spoke_at(server, "lag")) and spoke > first and spoke,
        timeout=15,
        interval=0.2,
    )
    assert (second - first).total_seconds() < 7
    stream = staff.get("/dashboard/lag/health.json").json()["sources"][0]
    assert stream["stream_connected"] is True and stream["lag_seconds"] < 7
    # The lag counts from the heartbeat, not from the connection's last success.
    assert stream["last_heard_at"] > stream["last_success_at"]
