"""The ImRaising stream, end to end: sandbox -> runner -> database -> JSON and websockets.

Each test runs a real `manage.py serve` (embedded ingestion) against the sandbox over real
HTTP on loopback, and watches what a viewer sees: the public JSON and a websocket client.
"""

import json
import re
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from fundboard.sandbox.imraising import ADVANCED_KEY, LIMITED_KEY

from .support import wait_for

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


def campaign_toml(url: str, key: str = ADVANCED_KEY, **options) -> str:
    merged = {**FAST_OPTIONS, **options}
    option_lines = "\n".join(f"  {name} = {value}" for name, value in merged.items())
    return f"""
[[campaign]]
slug = "live"
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
    response = httpx.post(f"{sandbox.url}/_sandbox/imraising/{path}", json=body, timeout=5)
    response.raise_for_status()
    return response.json()


def sandbox_state(sandbox) -> dict:
    return httpx.get(f"{sandbox.url}/_sandbox/imraising/state", timeout=5).json()


def requests(sandbox) -> list[dict]:
    return sandbox_state(sandbox)["requests"]


def listens(sandbox) -> list[dict]:
    return [r for r in requests(sandbox) if r["path"] == "/api/v1/listen"]


def fast_sandbox(sandbox) -> None:
    control(sandbox, "faults", {"heartbeat_seconds": 0.5, "retry_ms": 200})


HEALTH = """
import json
from fundboard.campaigns.models import Source
s = Source.objects.get(name="Stream")
print(json.dumps({"status": s.status, "rejected_records": s.rejected_records,
    "last_rejection": s.last_rejection, "last_error": s.last_error, "drift": s.drift,
    "stream_connected": s.stream_connected, "consecutive_failures": s.consecutive_failures,
    "last_event_id": s.last_event_id}))
"""


def health(server) -> dict:
    return json.loads(server.shell(HEALTH).strip().splitlines()[-1])


def start(fundboard_server, sandbox_server, extra_env=None, **kwargs):
    fast_sandbox(sandbox_server)
    server = fundboard_server(campaign_toml(sandbox_server.url, **kwargs), extra_env=extra_env)
    wait_for(lambda: sandbox_state(sandbox_server)["open_streams"] == 1, timeout=15)
    # ...and its first backfill has asked for the listing, so it cannot be what finds
    # the donations a test posts next.
    wait_for(lambda: any(r["path"] == "/api/v1/donations" for r in requests(sandbox_server)))
    return server


def donation(nickname: str, amount: str, **extra) -> dict:
    return {"nickname": nickname, "amount": amount, **extra}


def test_streamed_donations_duplicates_deletes_and_test_donations(fundboard_server, sandbox_server):
    server = start(fundboard_server, sandbox_server)
    with server.live_client("live") as client:
        assert client.receive()["data"]["total"] == "0.00"

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
        httpx.post(
            f"{sandbox_server.url}/api/v1/donations",
            headers={"authorization": f'APIKey apikey="{ADVANCED_KEY}"'},
            json={"amount": 50, "message": "testing"},
            timeout=5,
        ).raise_for_status()
        test_event = client.wait_for(lambda m: m["type"] == "donation" and m["data"]["test"])
        assert test_event["data"]["currency"] == "XTS"
        time.sleep(0.5)
        snapshot = server.snapshot("live")
        assert (snapshot["total"], snapshot["donation_count"]) == ("7.00", 1)
        assert snapshot["sources"][0]["status"] == "ok"
    assert health(server)["stream_connected"] is True


def test_a_snapshot_only_socket_follows_the_totals_without_events(fundboard_server, sandbox_server):
    server = start(fundboard_server, sandbox_server)
    with server.live_client("live") as full, server.live_client("live", "events=0") as totals:
        assert full.receive()["data"]["total"] == "0.00"
        assert totals.receive()["data"]["total"] == "0.00"
        ids = control(
            sandbox_server, "donations", [donation(f"S{i}", f"{i + 1}.00") for i in range(5)]
        )["ids"]
        control(sandbox_server, "delete", {"_id": ids[0]})
        full.wait_for_total("14.00")
        totals.wait_for_total("14.00")
        assert len(full.of_type("donation")) == 5 and len(full.of_type("donation_removed")) == 1
        # Snapshots only, and every one of them whole: what the thermometer needs.
        assert {m["type"] for m in totals.messages} == {"snapshot"}
        assert totals.messages[-1]["data"]["donation_count"] == 4
        assert [r["name"] for r in totals.messages[-1]["data"]["recent"]][:4] == [
            "S4", "S3", "S2", "S1"
        ]  # fmt: skip


@pytest.mark.parametrize("asgi_server", ["uvicorn", "daphne"])
def test_a_burst_reaches_every_socket_whole_and_in_order(
    fundboard_server, sandbox_server, asgi_server
):
    """On both servers the hub writes ready-made frames straight to idle sockets
    (live/direct.py): the sockets must see exactly what the ASGI path would have sent, in
    order, alongside snapshots and a newcomer mid-burst."""
    server = start(
        fundboard_server, sandbox_server, extra_env={"FUNDBOARD_ASGI_SERVER": asgi_server}
    )
    burst = [donation(f"B{i}", f"{i + 1}.00", message="<b>é ✓</b>") for i in range(30)]
    with server.live_client("live") as full, server.live_client("live", "events=0") as totals:
        full.receive(), totals.receive()
        control(sandbox_server, "donations", burst[:15])
        with server.live_client("live") as late:
            control(sandbox_server, "donations", burst[15:])
            for client in (full, totals, late):
                client.wait_for_total("465.00", timeout=15)
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
    metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
    direct = re.search(r'fundboard_frames_sent_total\{path="direct"\} (\S+)', metrics)
    assert direct and float(direct.group(1)) > 0, "the direct path was not used"


@pytest.mark.parametrize("asgi_server", ["uvicorn", "daphne"])
def test_a_stalled_viewer_delays_no_one_and_catches_up_on_the_total(
    fundboard_server, sandbox_server, asgi_server
):
    """A viewer that stops reading (a frozen tab, a phone in a tunnel) must not hold up the
    others, and when it reads again it ends on the exact total, its events in order (or,
    if it fell too far behind and was cut, after it reconnects)."""
    server = start(
        fundboard_server, sandbox_server, extra_env={"FUNDBOARD_ASGI_SERVER": asgi_server}
    )
    burst = [donation(f"S{i}", "1.00", message="m" * 200) for i in range(300)]
    names = [f"S{i}" for i in range(300)]
    with server.live_client("live") as reader, server.live_client("live", stalling=True) as stalled:
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
            assert "viewer cut: not reading" in server.log()
            with server.live_client("live") as again:
                again.wait_for_total("300.00")
    versions = [m["data"]["version"] for m in stalled.of_type("donation")]
    assert versions and versions == sorted(versions)


def test_a_stream_dropped_mid_burst_loses_and_duplicates_nothing(fundboard_server, sandbox_server):
    server = start(fundboard_server, sandbox_server)
    amounts = [f"{i}.25" for i in range(1, 31)]  # sum 472.50
    with server.live_client("live") as client:
        client.receive()
        control(
            sandbox_server, "donations", [donation(f"d{i}", a) for i, a in enumerate(amounts[:10])]
        )
        control(sandbox_server, "faults", {"drop_streams": True})
        # Donated while no stream is open: only the backfill can find these.
        control(
            sandbox_server,
            "donations",
            [donation(f"d{i}", a) for i, a in enumerate(amounts[10:20], 10)],
        )
        wait_for(lambda: len(listens(sandbox_server)) >= 2, timeout=10)
        control(
            sandbox_server,
            "donations",
            [donation(f"d{i}", a) for i, a in enumerate(amounts[20:], 20)],
        )
        client.wait_for_total("472.50", timeout=15)
    time.sleep(1.0)  # anything duplicated would have landed by now
    snapshot = server.snapshot("live")
    assert (snapshot["total"], snapshot["donation_count"]) == ("472.50", 30)


def test_donations_made_while_fundboard_was_down_are_backfilled(fundboard_server, sandbox_server):
    server = start(fundboard_server, sandbox_server)
    control(sandbox_server, "donations", donation("Early", "10.00"))
    wait_for(lambda: server.total("live") == "10.00")
    server.stop()
    control(sandbox_server, "donations", [donation("While", "5.00"), donation("Down", "2.50")])
    server.start()
    wait_for(lambda: server.total("live") == "17.50", timeout=15)
    assert server.snapshot("live")["donation_count"] == 3


def test_a_silent_stream_is_detected_by_the_read_timeout_and_recovers(
    fundboard_server, sandbox_server
):
    server = start(fundboard_server, sandbox_server)
    control(sandbox_server, "faults", {"hang_streams": True})
    control(sandbox_server, "donations", donation("Quiet", "3.00"))  # never sent on the hung stream
    # read_timeout is 2 s: the runner notices, reconnects, and the backfill finds it.
    wait_for(lambda: server.total("live") == "3.00", timeout=15)
    assert len(listens(sandbox_server)) >= 2
    control(sandbox_server, "faults", {"hang_streams": False})
    wait_for(lambda: sandbox_state(sandbox_server)["open_streams"] >= 1, timeout=10)
    with server.live_client("live") as client:
        client.receive()
        time.sleep(0.5)
        control(sandbox_server, "donations", donation("Loud", "4.00"))
        client.wait_for_total("7.00", timeout=10)


def test_unknown_events_and_malformed_records_are_skipped(fundboard_server, sandbox_server):
    server = start(fundboard_server, sandbox_server)
    with server.live_client("live") as client:
        client.receive()
        control(sandbox_server, "events", {"text": 'event: donation.update\ndata: {"_id": 1}\n\n'})
        control(sandbox_server, "events", {"text": "event: mystery\ndata: not json\n\n"})
        control(sandbox_server, "donations", {"raw": '{"_id": "bad1", "amount": '})
        control(
            sandbox_server,
            "donations",
            [
                donation("Nan", "NaN"),
                donation("Huge", "1e12"),
                donation("Negative", -5),
                {"raw": '{"_id": "bad2", "nickname": "x", "amount": {"display": {}}}'},
                donation("Fine", "8.00"),
            ],
        )
        client.wait_for_total("8.00")
    state = wait_for(lambda: (h := health(server))["rejected_records"] >= 5 and h)
    assert state["rejected_records"] == 5
    assert "amount" in state["last_rejection"]
    assert state["status"] == "ok" and state["stream_connected"] is True
    # The listing holds the same bad records: the backfill rejects them again, still going.
    assert server.total("live") == "8.00"


def test_script_in_a_nickname_or_message_arrives_as_the_same_text(fundboard_server, sandbox_server):
    server = start(fundboard_server, sandbox_server)
    name, message = "<script>alert(1)</script>", '<img src=x onerror=alert(2)> & "hi"'
    with server.live_client("live") as client:
        client.receive()
        control(sandbox_server, "donations", donation(name, "1.00", message=message))
        event = client.wait_for(lambda m: m["type"] == "donation")
    assert event["data"]["name"] == name  # 25 characters: under the 27 cap
    assert event["data"]["message"] == message
    recent = server.snapshot("live")["recent"][0]
    assert (recent["name"], recent["message"]) == (name, message)


def test_an_invalid_key_shows_on_health_and_does_not_hammer(fundboard_server, sandbox_server):
    fast_sandbox(sandbox_server)
    server = fundboard_server(campaign_toml(sandbox_server.url, key="InvalidKey-0123456789x"))
    wait_for(lambda: health(server)["status"] == "auth_error", timeout=15)
    time.sleep(5)
    assert len(listens(sandbox_server)) <= 3
    state = health(server)
    assert "Authentication.InvalidAPIKey" in state["last_error"]
    assert "InvalidKey-0123456789x" not in server.log()
    assert server.snapshot("live")["sources"][0]["status"] == "auth_error"


def test_a_limited_key_streams_and_says_it_cannot_backfill(fundboard_server, sandbox_server):
    server = start(fundboard_server, sandbox_server, key=LIMITED_KEY)
    control(sandbox_server, "donations", donation("Lim", "6.00"))
    wait_for(lambda: server.total("live") == "6.00")
    state = wait_for(lambda: (h := health(server))["drift"] and h, timeout=10)
    assert "Limited" in state["drift"]
    assert state["status"] == "ok"


def test_reconnect_request_and_last_event_id(fundboard_server, sandbox_server):
    control(sandbox_server, "faults", {"send_ids": True})
    server = start(fundboard_server, sandbox_server)
    control(sandbox_server, "donations", [donation("A", "1.00"), donation("B", "2.00")])
    wait_for(lambda: server.total("live") == "3.00")
    assert health(server)["last_event_id"] == "2"
    server.shell(
        "from django.utils import timezone\n"
        "from fundboard.campaigns.models import Source\n"
        "Source.objects.filter(name='Stream').update(reconnect_requested_at=timezone.now())"
    )
    wait_for(lambda: len(listens(sandbox_server)) >= 2, timeout=10)
    assert listens(sandbox_server)[-1]["last_event_id"] == "2"
    wait_for(lambda: sandbox_state(sandbox_server)["open_streams"] == 1, timeout=10)
    control(sandbox_server, "donations", donation("C", "4.00"))
    wait_for(lambda: server.total("live") == "7.00")
    assert server.snapshot("live")["donation_count"] == 3


def test_reconciliation_backfills_a_gap_and_reports_drift(fundboard_server, sandbox_server):
    server = start(fundboard_server, sandbox_server, reconcile_interval=1)
    ids = control(sandbox_server, "donations", [donation("A", "10.00"), donation("B", "5.00")])[
        "ids"
    ]
    wait_for(lambda: server.total("live") == "15.00")
    # Upstream stored one without telling the stream: reconciliation finds and backfills it.
    control(sandbox_server, "donations", donation("Silent", "2.00", broadcast=False))
    wait_for(lambda: server.total("live") == "17.00", timeout=10)
    assert health(server)["drift"] == ""
    # Upstream deleted one without telling the stream (a delete missed during a gap): its
    # totals and listing no longer have it, and exactly that much is removed here too.
    with server.live_client("live") as client:
        client.receive()
        control(sandbox_server, "delete", {"_id": ids[1], "broadcast": False})
        client.wait_for_total("12.00", timeout=15)
        assert client.of_type("donation_removed")
    wait_for(lambda: health(server)["drift"] == "", timeout=10)
    # Upstream counts a donation we refuse (absurd amount): the disagreement stays visible.
    control(sandbox_server, "donations", donation("Whale", "5000000.00"))
    state = wait_for(lambda: (h := health(server))["drift"] and h, timeout=10)
    assert "upstream total 5000012.00 USD, stored 12.00" in state["drift"]
    assert "top donor 'Whale'" in state["drift"]
    assert server.total("live") == "12.00"
    assert health(server)["rejected_records"] >= 1


def test_bom_ids_and_heartbeats_and_upstream_errors_on_reconnect(fundboard_server, sandbox_server):
    # httpx-sse 0.4.3 keeps a leading BOM and yields empty events after heartbeats once an id
    # was seen; neither may cost a donation.
    control(sandbox_server, "faults", {"bom": True, "send_ids": True})
    server = start(fundboard_server, sandbox_server)
    control(sandbox_server, "donations", donation("Bom", "2.00"))
    wait_for(lambda: server.total("live") == "2.00")
    time.sleep(1.5)  # several heartbeats after an id
    control(sandbox_server, "donations", donation("Beat", "3.00"))
    wait_for(lambda: server.total("live") == "5.00")

    # The stream drops and the next attempts meet 503s: degraded, then back to ok.
    control(sandbox_server, "faults", {"fail_next": 1000, "status": 503})
    control(sandbox_server, "faults", {"drop_streams": True})
    control(sandbox_server, "donations", donation("Gap", "4.00"))
    wait_for(lambda: health(server)["status"] == "degraded", timeout=10)
    assert server.snapshot("live")["sources"][0]["status"] == "stale"
    assert server.total("live") == "5.00"  # the last good numbers stay on screen
    control(sandbox_server, "faults", {"fail_next": 0})
    wait_for(lambda: server.total("live") == "9.00", timeout=20)
    state = wait_for(lambda: (h := health(server))["status"] == "ok" and h, timeout=10)
    assert state["stream_connected"] is True and state["rejected_records"] == 0


def test_a_burst_gives_one_alert_per_donation_in_upstream_order(fundboard_server, sandbox_server):
    server = start(fundboard_server, sandbox_server)
    burst = []
    for i in range(60):
        burst.append(donation(f"n{i:02d}", "1.00"))
        if i % 10 == 9:
            burst.append({"raw": "not json"})  # bad records mid-burst cost nothing else
    with server.live_client("live") as client:
        client.receive()
        ids = control(sandbox_server, "donations", burst)["ids"]
        control(sandbox_server, "delete", {"_id": ids[0]})
        client.wait_for_total("59.00", timeout=15)
        client.wait_for(lambda m: m["type"] == "donation_removed")
        names = [m["data"]["name"] for m in client.of_type("donation")]
    assert names == [f"n{i:02d}" for i in range(60)]
    assert len(client.of_type("snapshot")) < 30  # snapshots are coalesced, alerts are not
