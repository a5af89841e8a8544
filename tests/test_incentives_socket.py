"""Incentive changes on the websocket, end to end (`manage.py serve` fed by the sandbox's
ImRaising stream): they follow the version and coalescing rules of every other change.

- a tagged donation's `donation` event names the incentive it went to, and the `snapshot`
  that follows carries the same version or a later one, with the money allocated;
- a staff change (starting a run opens its incentive) is a new version and a `snapshot`;
"""

from __future__ import annotations

from .test_incentives_http import by_title, options, run_action, serve
from .test_stream_runner import control, donation


def is_snapshot(message: dict) -> bool:
    return message["type"] == "snapshot"


def test_donation_events_name_their_incentive_and_snapshots_follow_the_version(
    fundboard_server, sandbox_server
):
    server, staff = serve(fundboard_server, sandbox_server)
    with server.live_client("live") as viewer:
        first = viewer.receive()
        assert by_title(first["data"], "Blindfold")["state"] == "upcoming"
        run_action(staff, first["data"], "start")  # the run starts: its incentive opens
        opened = viewer.wait_for(
            lambda m: is_snapshot(m) and by_title(m["data"], "Blindfold")["state"] == "open"
        )
        assert opened["data"]["version"] > first["data"]["version"]
        control(
            sandbox_server,
            "donations",
            [donation("Ann", "25.00", message="#zelda"), donation("Bob", "7.00", message="hi")],
        )
        ann = viewer.wait_for(lambda m: m["type"] == "donation" and m["data"]["name"] == "Ann")
        bob = viewer.wait_for(lambda m: m["type"] == "donation" and m["data"]["name"] == "Bob")
        hero = by_title(first["data"], "Name the hero")
        assert ann["data"]["incentive"] == {
            "id": hero["id"],
            "title": hero["title"],
            "option": "Zelda",
        }
        assert "incentive" not in bob["data"]
        after = viewer.wait_for(
            lambda m: is_snapshot(m) and options(m["data"], "Name the hero")["Zelda"] == "25.00"
        )
        assert after["data"]["version"] >= ann["data"]["version"] > opened["data"]["version"]
