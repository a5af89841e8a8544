"""The live staff dashboard against a real server: what staff do shows up on public pages.

Donations are entered through the dashboard's own views (they run inside the serve process,
so every change is broadcast), and checked on GET /api/v1/campaigns/<slug> and on a live
public websocket.
"""

from __future__ import annotations

import pytest

from fundboard.sandbox.app import Sandbox
from fundboard.sandbox.imraising import ADVANCED_KEY
from fundboard.sandbox.server import SandboxServer

from .dashboard_support import CAMPAIGN, StaffSession, create_user, donor_names
from .support import FundboardServer, wait_for

# One server for the module, one campaign per test (its slug below): what a test does to its
# campaign (settings, donations, the audit trail) is invisible to the others, in any order.

SLUGS = ("counts", "hiding", "held", "testalert", "escapes")

SOURCES = """
  [[campaign.source]]
  kind = "imraising"
  name = "Stream"
  base_url = "http://127.0.0.1:9"
  api_key = "key-not-used-here"
  [[campaign.source]]
  kind = "p2p"
  name = "Walk"
  base_url = "http://127.0.0.1:9"
  poll_interval = 3600
"""

PLATFORM = """
  [[campaign.source]]
  kind = "imraising"
  name = "Stream"
  base_url = "{url}"
  api_key = "{key}"
"""


def campaign(slug: str, sources: str = "") -> str:
    return CAMPAIGN.replace('slug = "spring"', f'slug = "{slug}"') + sources


@pytest.fixture(scope="module")
def sandbox():
    """The imitation platforms for the ImRaising test donation's campaign."""
    with SandboxServer(Sandbox(rate=0.0, seed=1)) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def server(tmp_path_factory, django_db_blocker, sandbox):
    toml = "".join(campaign(slug) for slug in SLUGS)
    toml += campaign("sources", SOURCES)
    toml += campaign("platform", PLATFORM.format(url=sandbox.url, key=ADVANCED_KEY))
    server = FundboardServer(tmp_path_factory.mktemp("live"), toml, db_blocker=django_db_blocker)
    try:
        create_user(server, "olive", "Organisers")
        yield server.start()
    finally:
        server.close()


@pytest.fixture(scope="module")
def organiser(server):
    """One signed-in organiser for the module (a login is a password hash: ~0.3 s of CPU)."""
    session = StaffSession(server, "olive")
    yield server, session
    session.close()


def test_manual_donation_counts_edits_and_removal_push_live(organiser):
    server, staff = organiser
    with server.live_client("counts") as public:
        assert public.receive()["data"]["total"] == "0.00"
        donation_id = staff.add_manual("counts", "Cheque Club", "25.00")
        public.wait_for_total("25.00")
        added = public.wait_for(lambda m: m["type"] == "donation")
        assert added["data"]["name"] == "Cheque Club"

        response = staff.post(
            f"/dashboard/counts/manual/{donation_id}/",
            {"display_name": "Cheque Club", "amount": "40.00", "currency": "USD",
             "donated_at": added["data"]["time"][:16], "method": "cheque", "message": ""},
        )  # fmt: skip
        assert response.json()["ok"] is True
        public.wait_for_total("40.00")

        staff.post(f"/dashboard/counts/manual/{donation_id}/remove", {"confirm": "yes"})
        public.wait_for_total("0.00")
    assert server.snapshot("counts")["donation_count"] == 0
    actions = [a["action"] for a in staff.feed("counts")["actions"]]
    assert actions == ["manual_remove", "manual_edit", "manual_add"]
    # The manual source counts as its own source in the public snapshot.
    assert [s["kind"] for s in server.snapshot("counts")["sources"]] == ["manual"]


def test_hiding_and_restoring_a_name_and_a_message_updates_public_pages(organiser):
    server, staff = organiser
    donation_id = staff.add_manual("hiding", "Ann Example", "30.00", "Go team!")
    wait_for(lambda: donor_names(server.snapshot("hiding")) == ["Ann Example"])
    with server.live_client("hiding") as public:
        public.receive()
        assert staff.moderate("hiding", donation_id, "hide_name")["ok"] is True
        hidden = public.wait_for(
            lambda m: m["type"] == "snapshot" and m["data"]["top_donors"][0]["name"] == "Anonymous"
        )
        assert hidden["data"]["recent"][0]["name"] == "Anonymous"
        assert hidden["data"]["recent"][0]["message"] == "Go team!"

        staff.moderate("hiding", donation_id, "hide_message")
        public.wait_for(
            lambda m: m["type"] == "snapshot" and "message" not in m["data"]["recent"][0]
        )

        staff.moderate("hiding", donation_id, "restore_name")
        staff.moderate("hiding", donation_id, "restore_message")
        public.wait_for(
            lambda m: (
                m["type"] == "snapshot"
                and m["data"]["recent"][0]["name"] == "Ann Example"
                and m["data"]["recent"][0].get("message") == "Go team!"
            )
        )
    feed = staff.feed("hiding")
    assert feed["feed"][0]["name"] == "Ann Example"  # staff always see the real name
    assert [(a["user"], a["action"]) for a in feed["actions"][:4]] == [
        ("olive", "restore_message"),
        ("olive", "restore_name"),
        ("olive", "hide_message"),
        ("olive", "hide_name"),
    ]
    # Hiding twice changes nothing and records nothing.
    staff.moderate("hiding", donation_id, "restore_name")
    assert len(staff.feed("hiding")["actions"]) == len(feed["actions"])


def test_hold_for_review_keeps_names_hidden_until_approved(organiser):
    server, staff = organiser
    response = staff.post(
        "/dashboard/held/review-settings", {"hold_for_review": "on", "blocked_words": "rude"}
    )
    assert response.json()["ok"] is True
    held_id = staff.add_manual("held", "Bea Held", "10.00", "Hello there")
    staff.add_manual("held", "Rude Dude", "5.00")
    snapshot = server.snapshot("held")
    assert snapshot["total"] == "15.00"  # held donations count; only names and messages wait
    assert donor_names(snapshot) == ["Anonymous", "Anonymous"]
    assert snapshot["recent"] == []  # held: no ticker entry and no alert until approved
    feed = staff.feed("held")
    assert feed["waiting"] == 2
    assert [item["held"] for item in feed["feed"]] == [True, True]

    staff.moderate("held", held_id, "approve")
    snapshot = server.snapshot("held")
    assert donor_names(snapshot) == ["Bea Held", "Anonymous"]
    assert [d["message"] for d in snapshot["recent"]] == ["Hello there"]

    staff.post("/dashboard/held/approve-all")
    # Approved, but the word filter still hides "Rude Dude".
    assert donor_names(server.snapshot("held")) == ["Bea Held", "Anonymous"]
    assert staff.feed("held")["feed"][0]["blocked_word"] is True


def test_test_alert_reaches_alert_sockets_but_is_never_counted(organiser):
    server, staff = organiser
    staff.add_manual("testalert", "Real Gift", "12.50")
    with server.live_client("testalert") as public:
        public.receive()
        response = staff.post(
            "/dashboard/testalert/test-alert",
            {"display_name": "Test donor", "amount": "99.00", "message": "Testing"},
        )
        assert response.json()["ok"] is True
        alert = public.wait_for(lambda m: m["type"] == "donation")
        assert alert["data"]["test"] is True
        assert alert["data"]["currency"] == "XTS"
        assert alert["data"]["name"] == "Test donor"
    snapshot = server.snapshot("testalert")
    assert (snapshot["total"], snapshot["donation_count"]) == ("12.50", 1)
    assert staff.feed("testalert")["feed"][0]["test"] is True


def test_staff_socket_streams_the_feed_and_source_requests_are_stored(organiser):
    server, staff = organiser
    with staff.staff_socket("sources") as socket:
        assert socket.receive()["type"] == "snapshot"
        staff.add_manual("sources", "Live Feed", "7.00")
        event = socket.wait_for(lambda m: m["type"] == "donation")
        assert event["data"]["amount"] == "7.00"
        socket.wait_for(lambda m: m["type"] == "snapshot" and m["data"]["total"] == "7.00")

    sources = {s["name"]: s for s in staff.get("/dashboard/sources/health.json").json()["sources"]}
    stream, walk = sources["Stream"], sources["Walk"]
    assert (stream["can_reconnect"], walk["can_reconnect"]) == (True, False)
    assert stream["has_key"] is True and "api_key" not in stream
    assert staff.post(f"/dashboard/sources/sources/{walk['id']}/poll").json()["ok"] is True
    assert staff.post(f"/dashboard/sources/sources/{stream['id']}/reconnect").json()["ok"] is True
    assert staff.post(f"/dashboard/sources/sources/{walk['id']}/reconnect").status_code == 400
    sources = {s["name"]: s for s in staff.get("/dashboard/sources/health.json").json()["sources"]}
    assert sources["Walk"]["poll_requested_at"] is not None
    assert sources["Stream"]["reconnect_requested_at"] is not None
    actions = [a["action"] for a in staff.feed("sources")["actions"]]
    assert actions[:2] == ["reconnect", "poll_now"]


def test_dashboard_page_escapes_what_donors_typed(organiser):
    server, staff = organiser
    staff.add_manual("escapes", "<img src=x onerror=alert(1)>", "3.00", "<script>alert(2)</script>")
    for url in ("/dashboard/escapes/", "/dashboard/escapes/manual/"):
        html = staff.get(url).text
        assert "<img src=x" not in html
        assert "<script>alert(2)" not in html


def test_imraising_test_donation_goes_through_the_platform_and_the_stream(organiser):
    server, staff = organiser
    page = staff.get("/dashboard/platform/").text
    assert "ImRaising test donation via Stream" in page
    health = staff.get("/dashboard/platform/health.json").json()["sources"]
    source_id = health[0]["id"]
    health_url = "/dashboard/platform/health.json"
    wait_for(lambda: staff.get(health_url).json()["sources"][0]["stream_connected"], timeout=15)
    with server.live_client("platform") as public:
        public.receive()
        response = staff.post(
            f"/dashboard/platform/sources/{source_id}/imraising-test",
            {"display_name": "Test donor", "amount": "5.00", "message": "Platform test"},
        )
        assert response.json()["ok"] is True, response.text
        alert = public.wait_for(lambda m: m["type"] == "donation", timeout=15)
        assert (alert["data"]["test"], alert["data"]["currency"]) == (True, "XTS")
    assert server.total("platform") == "0.00"
