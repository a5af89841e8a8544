"""Alerts from the server's side, against a real server and real websockets: held donations
alert only once approved, and staff alert controls reach the overlays' sockets.

Donations are entered through the dashboard's own views (inside the serve process, so
every change is broadcast); a public socket stands for an open alerts overlay.
"""

from __future__ import annotations

import pytest

from .dashboard_support import CAMPAIGN, StaffSession, create_user
from .support import FundboardServer, http

# One server for the module, one campaign per test (the slugs below): settings, donations and
# alert commands of one campaign never reach another's sockets, so the tests stay independent
# in any order.

SLUGS = ("held", "controls", "invalid", "roles", "socket")


@pytest.fixture(scope="module")
def server(tmp_path_factory, django_db_blocker):
    toml = "".join(CAMPAIGN.replace('slug = "spring"', f'slug = "{slug}"') for slug in SLUGS)
    server = FundboardServer(tmp_path_factory.mktemp("alerts"), toml, db_blocker=django_db_blocker)
    try:
        create_user(server, "olive", "Organisers")
        create_user(server, "mona", "Moderators")
        create_user(server, "viewer")  # staff, but in no role: no dashboard permission
        yield server.start()
    finally:
        server.close()


@pytest.fixture(scope="module")
def organiser(server):
    """One signed-in organiser for the module (a login is a password hash: ~0.3 s of CPU)."""
    session = StaffSession(server, "olive")
    yield server, session
    session.close()


def _public_donations(client) -> list[dict]:
    return [m["data"] for m in client.messages if m["type"] == "donation"]


def test_a_held_donation_alerts_only_once_approved_with_the_approved_text(organiser):
    server, staff = organiser
    staff.post("/dashboard/held/review-settings", {"hold_for_review": "on", "blocked_words": ""})
    with server.live_client("held") as public, staff.staff_socket("held") as staff_socket:
        public.receive()
        held_id = staff.add_manual("held", "Bea Held", "20.00", "Hello there")
        rejected_id = staff.add_manual("held", "Never Approved", "5.00", "Spam")
        # Staff see both arrive; viewers see the total move, but no alert and no ticker entry.
        staff_socket.wait_for(lambda m: m["type"] == "donation" and m["data"]["id"] == rejected_id)
        public.wait_for(lambda m: m["type"] == "snapshot" and m["data"]["total"] == "25.00")
        assert _public_donations(public) == []
        assert public.messages[-1]["data"]["recent"] == []

        staff.moderate("held", held_id, "approve")
        alert = public.wait_for(lambda m: m["type"] == "donation")["data"]
        assert (alert["id"], alert["name"], alert["message"]) == (
            held_id,
            "Bea Held",
            "Hello there",
        )
        public.wait_for(lambda m: m["type"] == "snapshot" and len(m["data"]["recent"]) == 1)
        # The approval is not a second arrival on the staff feed.
        later_id = staff.add_manual("held", "Later", "1.00")
        staff_socket.wait_for(lambda m: m["type"] == "donation" and m["data"]["id"] == later_id)
        held_events = [
            m
            for m in staff_socket.messages
            if m["type"] == "donation" and m["data"]["id"] == held_id
        ]
        assert len(held_events) == 1
        staff.moderate("held", later_id, "approve")
        public.wait_for(lambda m: m["type"] == "donation" and m["data"]["id"] == later_id)
    assert rejected_id not in [d["id"] for d in _public_donations(public)]
    assert [d["id"] for d in _public_donations(public)] == [held_id, later_id]


def test_staff_controls_reach_event_sockets_only(organiser):
    server, staff = organiser
    donation_id = staff.add_manual("controls", "Replay Me", "42.00", "Again!")
    with (
        server.live_client("controls") as overlay,
        server.live_client("controls", "events=0") as thermometer,
    ):
        overlay.receive()
        thermometer.receive()
        for action in ("skip", "pause", "resume", "clear"):
            answer = staff.post("/dashboard/controls/alert-control", {"action": action})
            assert answer.json()["ok"] is True, answer.text
            control = overlay.wait_for(lambda m, a=action: m.get("data", {}).get("action") == a)
            assert control == {"type": "alert_control", "data": {"action": action}}

        replay_command = {"action": "replay", "donation": donation_id}
        staff.post("/dashboard/controls/alert-control", replay_command)
        replay = overlay.wait_for(lambda m: m.get("data", {}).get("action") == "replay")["data"]
        assert replay["donation"]["id"] == donation_id
        assert (replay["donation"]["name"], replay["donation"]["message"]) == (
            "Replay Me",
            "Again!",
        )

        # Snapshot-only sockets (thermometers, tickers) never get commands.
        staff.add_manual("controls", "Marker", "1.00")
        thermometer.wait_for(lambda m: m["type"] == "snapshot" and m["data"]["total"] == "43.00")
        assert [m["type"] for m in thermometer.messages] == ["snapshot"] * len(thermometer.messages)


def test_invalid_commands_are_refused(organiser):
    server, staff = organiser
    staff.post("/dashboard/invalid/review-settings", {"hold_for_review": "on", "blocked_words": ""})
    held_id = staff.add_manual("invalid", "Still Held", "9.00")
    for data in (
        {"action": "explode"},
        {"action": "replay", "donation": "999999"},
        {"action": "replay", "donation": "x"},
        {"action": "replay", "donation": str(held_id)},  # would show a held donation
    ):
        answer = staff.post("/dashboard/invalid/alert-control", data)
        assert (answer.status_code, answer.json()["ok"]) == (400, False), data
    # GET is not a command.
    assert staff.get("/dashboard/invalid/alert-control").status_code == 405


def test_only_staff_who_may_moderate_send_commands(server):
    moderator, viewer = StaffSession(server, "mona"), StaffSession(server, "viewer")
    try:
        assert viewer.post("/dashboard/roles/alert-control", {"action": "skip"}).status_code == 403
        anonymous = server.url + "/dashboard/roles/alert-control"
        assert http.post(anonymous, data={"action": "skip"}).status_code in (302, 403)
        with server.live_client("roles") as overlay:
            overlay.receive()
            assert moderator.post("/dashboard/roles/alert-control", {"action": "skip"}).json()["ok"]
            overlay.wait_for(lambda m: m["type"] == "alert_control")
    finally:
        moderator.close()
        viewer.close()


def test_the_staff_socket_takes_alert_commands(organiser):
    server, staff = organiser
    with server.live_client("socket") as overlay, staff.staff_socket("socket") as socket:
        overlay.receive()
        socket.receive()
        socket.connection.send('{"type": "alert_control", "action": "pause"}')
        result = socket.wait_for(lambda m: m["type"] == "alert_control_result")
        assert result["data"] == {"action": "pause", "ok": True}
        overlay.wait_for(lambda m: m == {"type": "alert_control", "data": {"action": "pause"}})
        socket.connection.send('{"type": "alert_control", "action": "boom"}')
        refused = socket.wait_for(
            lambda m: m["type"] == "alert_control_result" and m["data"]["action"] == "boom"
        )
        assert refused["data"]["ok"] is False
