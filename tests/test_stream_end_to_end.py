"""The ImRaising stream, end to end: sandbox -> runner -> database -> JSON and websockets.

Each test runs a real `manage.py serve` (embedded ingestion) against the sandbox over real
HTTP on loopback, and watches what a viewer sees: the public JSON and websocket clients.
Only what needs the real processes is here: the whole path once, and what only real ASGI
servers show (direct socket writes, a viewer that stops reading). The runner's behaviour
(drops, gaps, stalls, bad records, keys, reconciliation) is tested in one process in
tests/test_stream_runner.py. The tests share one server of each kind (daphne, uvicorn),
each test a campaign of its own fed by a sandbox of its own.
"""

import re
import time

import pytest
from django.core.management import call_command
from websockets.exceptions import ConnectionClosed

from fundboard.campaigns.models import Campaign, Source
from fundboard.sandbox.imraising import ADVANCED_KEY

from .support import FundboardServer, http, wait_for

FAST_OPTIONS = {
    "read_timeout": 2,
    "connect_timeout": 2,
    "backoff_initial": 0.2,
    "backoff_max": 1,
    "healthy_after": 1,
    "backfill_delay": 0.5,
    "backfill_overlap": 60,
    "reconcile_interval": 3600,
}


def campaign_toml(url: str, key: str = ADVANCED_KEY, slug: str = "live", **options) -> str:
    merged = {**FAST_OPTIONS, **options}
    option_lines = "\n".join(f"  {name} = {value}" for name, value in merged.items())
    return f"""
[[campaign]]
slug = "{slug}"
name = "Live Marathon"
goal = "1000"
currency = "USD"
  [[campaign.source]]
  kind = "imraising"
  name = "Stream"
  base_url = "{url}"
  api_key = "{key}"
  [campaign.source.options]
{option_lines}
"""


def control(sandbox, path: str, body) -> dict:
    response = http.post(f"{sandbox.url}/_sandbox/imraising/{path}", json=body, timeout=5)
    response.raise_for_status()
    return response.json()


def sandbox_state(sandbox) -> dict:
    return http.get(f"{sandbox.url}/_sandbox/imraising/state", timeout=5).json()


def requests(sandbox) -> list[dict]:
    return sandbox_state(sandbox)["requests"]


def listens(sandbox) -> list[dict]:
    return [r for r in requests(sandbox) if r["path"] == "/api/v1/listen"]


def fast_sandbox(sandbox) -> None:
    control(sandbox, "faults", {"heartbeat_seconds": 0.5, "retry_ms": 200})


def health(server, slug: str = "live") -> dict:
    """The stream source's health columns, read in this process on the server's database
    (what the dashboard's health page shows)."""

    def read() -> dict:
        s = Source.objects.get(campaign__slug=slug, name="Stream")
        return {
            "status": s.status, "rejected_records": s.rejected_records,
            "last_rejection": s.last_rejection, "last_error": s.last_error, "drift": s.drift,
            "stream_connected": s.stream_connected,
            "consecutive_failures": s.consecutive_failures, "last_event_id": s.last_event_id,
        }  # fmt: skip

    return server.orm(read)


def streaming(sandbox_server) -> None:
    """Wait until a source streams from this sandbox and its first backfill has asked for
    the listing, so that backfill cannot be what finds the donations a test posts next."""
    wait_for(lambda: sandbox_state(sandbox_server)["open_streams"] == 1, timeout=15)
    wait_for(lambda: any(r["path"] == "/api/v1/donations" for r in requests(sandbox_server)))


def add_streamed_campaign(
    server, sandbox_server, slug: str, extra_toml: str = "", **options
) -> None:
    """Load a campaign fed by this sandbox (plus `extra_toml`: its runs, incentives) into a
    running (shared) server, in this process: the stream supervisor finds the new source on
    its next database scan."""
    fast_sandbox(sandbox_server)
    path = server.tmp / f"campaign-{slug}.toml"
    path.write_text(campaign_toml(sandbox_server.url, slug=slug, **options) + extra_toml)
    server.orm(lambda: call_command("loadcampaigns", str(path)))
    streaming(sandbox_server)


def remove_campaign(server, slug: str) -> None:
    server.orm(lambda: Campaign.objects.filter(slug=slug).delete())


def start(fundboard_server, sandbox_server, extra_env=None, **kwargs):
    fast_sandbox(sandbox_server)
    server = fundboard_server(campaign_toml(sandbox_server.url, **kwargs), extra_env=extra_env)
    streaming(sandbox_server)
    return server


def donation(nickname: str, amount: str, **extra) -> dict:
    return {"nickname": nickname, "amount": amount, **extra}


@pytest.fixture(scope="module")
def servers(tmp_path_factory, django_db_blocker):
    """`servers(kind)`: the module's server of that ASGI kind, started on first use."""
    started: dict[str, FundboardServer] = {}

    def get(kind: str) -> FundboardServer:
        if kind not in started:
            server = FundboardServer(
                tmp_path_factory.mktemp(f"e2e-{kind}"),
                extra_env={"FUNDBOARD_ASGI_SERVER": kind},
                db_blocker=django_db_blocker,
            )
            started[kind] = server.start()
        return started[kind]

    yield get
    for server in started.values():
        server.close()


@pytest.fixture
def streamed(sandbox_server, request):
    """`streamed(server)`: this test's campaign on that server, fed by this test's sandbox;
    returns its slug. Removed after the test."""
    added = []

    def add(server: FundboardServer) -> str:
        slug = request.node.originalname.removeprefix("test_")[:40]
        add_streamed_campaign(server, sandbox_server, slug)
        added.append((server, slug))
        return slug

    yield add
    for server, slug in added:
        remove_campaign(server, slug)


def _direct_frames(server: FundboardServer) -> float:
    metrics = http.get(f"{server.url}/metrics", timeout=5).text
    direct = re.search(r'fundboard_frames_sent_total\{path="direct"\} (\S+)', metrics)
    return float(direct.group(1)) if direct else 0.0


def test_streamed_donations_duplicates_deletes_and_test_donations(
    servers, sandbox_server, streamed
):
    server = servers("daphne")  # the default
    slug = streamed(server)
    with server.live_client(slug) as client, server.live_client(slug, "events=0") as totals:
        assert client.receive()["data"]["total"] == "0.00"
        assert totals.receive()["data"]["total"] == "0.00"

        ids = control(sandbox_server, "donations", donation("Ann", "12.50", message="Go"))["ids"]
        event = client.wait_for(lambda m: m["type"] == "donation")
        assert event["data"]["name"] == "Ann" and event["data"]["amount"] == "12.50"
        assert event["data"]["test"] is False
        client.wait_for_total("12.50")
        donation_index = client.messages.index(event)
        snapshot_index = next(
            i for i, m in enumerate(client.messages) if m["type"] == "snapshot" and
            m["data"]["total"] == "12.50"
        )  # fmt: skip
        assert donation_index < snapshot_index  # the alert first, then the new total

        # The same upstream donation again (a retry upstream): counted once.
        control(sandbox_server, "donations", donation("Ann", "12.50", _id=ids[0]))
        control(sandbox_server, "donations", donation("Bob", 7))  # a JSON number
        client.wait_for_total("19.50")
        assert len(client.of_type("donation")) == 2

        control(sandbox_server, "delete", {"_id": ids[0]})
        removed = client.wait_for(lambda m: m["type"] == "donation_removed")
        assert removed["data"]["id"] == event["data"]["id"]
        client.wait_for_total("7.00")

        # The documented test donation: an alert with test=true, and the total stays.
        http.post(
            f"{sandbox_server.url}/api/v1/donations",
            headers={"authorization": f'APIKey apikey="{ADVANCED_KEY}"'},
            json={"amount": 50, "message": "testing"},
            timeout=5,
        ).raise_for_status()
        test_event = client.wait_for(lambda m: m["type"] == "donation" and m["data"]["test"])
        assert test_event["data"]["currency"] == "XTS"
        time.sleep(0.5)
        snapshot = server.snapshot(slug)
        assert (snapshot["total"], snapshot["donation_count"]) == ("7.00", 1)
        assert snapshot["sources"][0]["status"] == "ok"

        # A burst: one alert per donation in upstream order (bad records mid-burst cost
        # nothing else), snapshots coalesced.
        burst = []
        for i in range(60):
            burst.append(donation(f"n{i:02d}", "1.00"))
            if i % 10 == 9:
                burst.append({"raw": "not json"})
        before = len(client.messages)
        ids = control(sandbox_server, "donations", burst)["ids"]
        control(sandbox_server, "delete", {"_id": ids[0]})
        client.wait_for_total("66.00", timeout=15)
        # The last snapshot may overtake the last events by a few ms (clients go by version).
        client.wait_for(lambda m: m["type"] == "donation" and m["data"]["name"] == "n59", 15)
        names = [m["data"]["name"] for m in client.messages[before:] if m["type"] == "donation"]
        assert names == [f"n{i:02d}" for i in range(60)]
        assert len([m for m in client.messages[before:] if m["type"] == "snapshot"]) < 30

        # A snapshot-only socket follows the totals without events, every snapshot whole.
        totals.wait_for_total("66.00", timeout=15)
        assert {m["type"] for m in totals.messages} == {"snapshot"}
        assert totals.messages[-1]["data"]["donation_count"] == 60
        assert [r["name"] for r in totals.messages[-1]["data"]["recent"]][:3] == [
            "n59", "n58", "n57"
        ]  # fmt: skip
    assert health(server, slug)["stream_connected"] is True


@pytest.mark.parametrize("asgi_server", ["uvicorn", "daphne"])
def test_a_burst_reaches_every_socket_whole_and_in_order(
    servers, sandbox_server, streamed, asgi_server
):
    """On both servers the hub writes ready-made frames straight to idle sockets
    (live/direct.py): the sockets must see exactly what the ASGI path would have sent, in
    order, alongside snapshots and a newcomer mid-burst."""
    server = servers(asgi_server)
    slug = streamed(server)
    direct_before = _direct_frames(server)
    burst = [donation(f"B{i}", f"{i + 1}.00", message="<b>é ✓</b>") for i in range(30)]
    with server.live_client(slug) as full, server.live_client(slug, "events=0") as totals:
        full.receive(), totals.receive()
        control(sandbox_server, "donations", burst[:15])
        with server.live_client(slug) as late:
            control(sandbox_server, "donations", burst[15:])
            for client in (full, totals, late):
                client.wait_for_total("465.00", timeout=15)
            for client in (full, late):  # a snapshot may overtake the last events by a few ms
                client.wait_for(lambda m: m["type"] == "donation" and m["data"]["name"] == "B29")
    names = [m["data"]["name"] for m in full.of_type("donation")]
    assert names == [f"B{i}" for i in range(30)]
    assert {m["data"]["message"] for m in full.of_type("donation")} == {"<b>é ✓</b>"}
    # Events in commit order, snapshots never older than the one before. (A snapshot read
    # just after a commit may overtake that commit's events: clients handle it by version.)
    for kind in ("donation", "snapshot"):
        versions = [m["data"]["version"] for m in full.of_type(kind)]
        assert versions == sorted(versions), kind
    assert {m["type"] for m in totals.messages} == {"snapshot"}
    late_names = [m["data"]["name"] for m in late.of_type("donation")]
    assert late_names == [f"B{i}" for i in range(30)][-len(late_names) :]
    assert late_names[-1] == "B29"
    assert _direct_frames(server) > direct_before, "the direct path was not used"


@pytest.mark.parametrize("asgi_server", ["uvicorn", "daphne"])
def test_a_stalled_viewer_delays_no_one_and_catches_up_on_the_total(
    servers, sandbox_server, streamed, asgi_server
):
    """A viewer that stops reading (a frozen tab, a phone in a tunnel) must not hold up the
    others, and when it reads again it ends on the exact total, its events in order (or,
    if it fell too far behind and was cut, after it reconnects)."""
    server = servers(asgi_server)
    slug = streamed(server)
    log_start = len(server.log())
    burst = [donation(f"S{i}", "1.00", message="m" * 200) for i in range(300)]
    names = [f"S{i}" for i in range(300)]
    with server.live_client(slug) as reader, server.live_client(slug, stalling=True) as stalled:
        reader.receive(), stalled.receive()
        control(sandbox_server, "donations", burst)
        # Everything reaches the reader while the other viewer reads nothing. (In a burst
        # the last snapshot may overtake the last events by a few ms: clients go by version.)
        reader.wait_for(lambda m: m["type"] == "donation" and m["data"]["name"] == "S299", 60)
        reader.wait_for_total("300.00")
        assert [m["data"]["name"] for m in reader.of_type("donation")] == names
        try:
            stalled.wait_for_total("300.00", timeout=30)
        except ConnectionClosed:
            # It fell past the bound of unsent bytes and was cut (fundboard/live/stalls.py);
            # reconnecting, as the widgets' script does, gives the exact total.
            assert "viewer cut: not reading" in server.log()[log_start:]
            with server.live_client(slug) as again:
                again.wait_for_total("300.00")
    versions = [m["data"]["version"] for m in stalled.of_type("donation")]
    assert versions and versions == sorted(versions)
