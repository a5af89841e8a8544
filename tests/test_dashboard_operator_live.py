"""The operator's tools on a real server (issue 13): a settings change reaches an open widget
socket, and a mass "missed deletes" removal found by reconciliation against the sandbox waits
for an Organiser instead of emptying the totals."""

from __future__ import annotations

from datetime import datetime

from .dashboard_support import CAMPAIGN, StaffSession, create_user
from .support import wait_for
from .test_stream_end_to_end import control, donation, start


def test_saved_settings_reach_an_open_widget(fundboard_server):
    server = fundboard_server(CAMPAIGN)
    create_user(server, "olive", "Organisers")
    staff = StaffSession(server, "olive")
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
    staff.close()


def _pending(server) -> list[str]:
    """The held removals in the server's database (read in this process: no Django start)."""

    def read() -> list[str]:
        from fundboard.sync.models import PendingRemoval

        return [f"{p.count} {p.total} {p.state}" for p in PendingRemoval.objects.all()]

    return server.orm(read)


def test_sandbox_deletes_without_events_wait_for_staff(fundboard_server, sandbox_server):
    server = start(fundboard_server, sandbox_server, reconcile_interval=1)
    gifts = [donation(f"Donor {i}", "10.00") for i in range(7)]
    ids = control(sandbox_server, "donations", gifts)["ids"]
    wait_for(lambda: server.total("live") == "70.00")
    # Upstream loses them all without a word to the stream (as a sandbox restarted empty).
    for upstream_id in ids:
        control(sandbox_server, "delete", {"_id": upstream_id, "broadcast": False})
    wait_for(lambda: _pending(server) == ["7 70.00 waiting"], timeout=20, interval=0.2)
    assert server.total("live") == "70.00"  # nothing removed without a human

    create_user(server, "olive", "Organisers")
    staff = StaffSession(server, "olive")
    page = staff.get("/dashboard/live/").text
    assert "7 donations, $70.00" in page
    removal_id = page.split('data-removal-id="')[1].split('"')[0]
    response = staff.post(f"/dashboard/live/removals/{removal_id}/decide", {"decision": "confirm"})
    assert response.json()["ok"] is True
    wait_for(lambda: server.total("live") == "0.00")
    assert _pending(server) == ["7 70.00 confirmed"]
    staff.close()


def _stream_spoke_at(server) -> datetime | None:
    """When the runner last saved that the stream spoke (read in this process)."""

    def read() -> datetime | None:
        from fundboard.sync.models import StreamActivity

        activity = StreamActivity.objects.filter(source__name="Stream").first()
        return activity and activity.last_activity_at

    return server.orm(read)


def test_stream_lag_is_the_time_since_its_last_heartbeat(fundboard_server, sandbox_server):
    # No donation at all: only the sandbox's heartbeat comments (every 0.5 s) keep it fresh.
    server = start(fundboard_server, sandbox_server)
    first = wait_for(lambda: _stream_spoke_at(server), timeout=15, interval=0.2)
    # The runner saves it every 5 s: a second, later heartbeat saved proves the heartbeats
    # keep it fresh (not the connection, nor one save), and no more than 7 s apart.
    second = wait_for(
        lambda: (spoke := _stream_spoke_at(server)) and spoke > first and spoke,
        timeout=15,
        interval=0.2,
    )
    assert (second - first).total_seconds() < 7
    create_user(server, "olive", "Organisers")
    staff = StaffSession(server, "olive")
    stream = staff.get("/dashboard/live/health.json").json()["sources"][0]
    assert stream["stream_connected"] is True and stream["lag_seconds"] < 7
    # The lag counts from the heartbeat, not from the connection's last success.
    assert stream["last_heard_at"] > stream["last_success_at"]
    staff.close()
