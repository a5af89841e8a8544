"""Incentive changes on the websocket, end to end (`manage.py serve` fed by the sandbox's
ImRaising stream): they follow the version and coalescing rules of every other change.

- a tagged donation's `donation` event names the incentive it went to, and the `snapshot`
  that follows carries the same version or a later one, with the money allocated;
- a staff change (starting a run opens its incentive) is a new version and a `snapshot`;
- an incentive's close time passing is a new version and a `snapshot`, with no donation
  (the incentives clock, fundboard/incentives/clock.py, in the embedded runner).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from fundboard.incentives.models import Incentive

from .support import wait_for
from .test_incentives_http import by_title, marathon, marathon_server, options, run_action
from .test_stream_end_to_end import control, donation, remove_campaign


@pytest.fixture(scope="module")
def server(tmp_path_factory, django_db_blocker):
    """One server for the module; each test a campaign of its own (the slugs below)."""
    server = marathon_server(tmp_path_factory, django_db_blocker)
    yield server
    server.close()


def is_snapshot(message: dict) -> bool:
    return message["type"] == "snapshot"


def test_donation_events_name_their_incentive_and_snapshots_follow_the_version(
    server, sandbox_server
):
    staff = marathon(server, sandbox_server, "tagged")
    with server.live_client("tagged") as viewer:
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
    remove_campaign(server, "tagged")


CLOSING_SOON = """
[[campaign]]
slug = "clock"
name = "Clock Marathon"
goal = "1000"
currency = "USD"
  [[campaign.incentive]]
  key = "blind"
  kind = "goal"
  title = "Blindfold"
  goal = "100"
  tags = ["blindfold"]
  closes_at = "{closes_at}"
"""


def close_soon() -> None:
    """Moves the close time to two seconds from now, quietly (no version bump, as an edit in
    the database by hand would; this process announces nothing): only the server's
    incentives clock can tell viewers."""
    Incentive.objects.filter(campaign__slug="clock", key="blind").update(
        closes_at=timezone.now() + timedelta(seconds=2)
    )


def test_a_close_time_passing_reaches_the_snapshot_and_the_socket(server):
    later = datetime.now(UTC) + timedelta(days=1)
    path = server.tmp / f"clock-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(CLOSING_SOON.format(closes_at=later.isoformat()))
    server.orm(lambda: call_command("loadcampaigns", str(path)))
    snapshot = server.snapshot("clock")
    assert snapshot["incentives"][0]["state"] == "open"
    with server.live_client("clock") as viewer:
        viewer.wait_for(is_snapshot)  # the first one, on connecting
        server.orm(close_soon)
        closed = viewer.wait_for(
            lambda m: is_snapshot(m) and m["data"]["incentives"][0]["state"] == "closed",
            timeout=30,
        )
    assert closed["data"]["version"] > snapshot["version"]
    assert closed["data"]["donation_count"] == 0  # no donation moved it
    wait_for(lambda: server.snapshot("clock")["incentives"][0]["state"] == "closed")
    remove_campaign(server, "clock")
