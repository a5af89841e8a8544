"""Hostile upstream data (issue 12): one bad record, event or reply costs nothing else.

End-to-end tests run a real `manage.py serve` against the sandbox over real HTTP; the rest
exercise the parsing and storing functions directly. The end-to-end tests share one server:
each loads a campaign of its own, fed by a sandbox of its own (its faults, requests and
streams are that test's alone), into it while it runs, and removes it afterwards.
"""

import json
import time

import pytest

from fundboard.sandbox.imraising import ADVANCED_KEY

from .support import FundboardServer, http, wait_for
from .test_stream_end_to_end import (
    add_streamed_campaign,
    control,
    donation,
    health,
    listens,
    remove_campaign,
    requests,
    sandbox_state,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory, django_db_blocker):
    server = FundboardServer(tmp_path_factory.mktemp("hostile"), db_blocker=django_db_blocker)
    yield server.start()
    server.close()


@pytest.fixture
def streamed(server, sandbox_server, request):
    """`streamed(**options)`: this test's campaign, streaming from this test's sandbox; its
    slug is returned. Removed before the sandbox closes (teardown runs in reverse)."""
    slug = request.node.name.removeprefix("test_")[:40]

    def add(**options) -> str:
        add_streamed_campaign(server, sandbox_server, slug, **options)
        return slug

    yield add
    remove_campaign(server, slug)


def post_json_text(sandbox, path: str, body) -> dict:
    """POST `body` as ASCII JSON: a lone surrogate travels as its `\\udXXX` escape (httpx's
    own `json=` writes UTF-8, which cannot carry one)."""
    response = http.post(
        f"{sandbox.url}/_sandbox/imraising/{path}",
        content=json.dumps(body),  # ensure_ascii: "\ud83d" becomes the six characters \ud83d
        headers={"content-type": "application/json"},
        timeout=5,
    )
    response.raise_for_status()
    return response.json()


def raw_donation(upstream_id: str, nickname: str, amount: str) -> dict:
    """A donation.add sent on the stream only (upstream stores nothing): only the live
    stream can deliver it, no backfill or reconciliation can."""
    document = {
        "_id": upstream_id,
        "nickname": nickname,
        "amount": {"display": {"total": amount, "currency": "USD"}},
    }
    return {"raw": json.dumps(document)}


# --- finding 1: one malformed nickname must not lose its batch ----------------------------


def test_a_lone_surrogate_nickname_costs_no_donation_of_its_batch(server, sandbox_server, streamed):
    """The issue's reproduction: 20 donations in one burst, one nickname half an emoji. Before,
    its batch rolled back, the backfill task died silently and reconciliation crashed every
    interval in stored_donor_totals; upstream held 35 donations, Fundboard 15, health `ok`."""
    slug = streamed(reconcile_interval=1)
    batch = [donation(f"Batch {i}", "1.00") for i in range(20)]
    batch[10] = donation("Batch 10 \ud83d", "50.00")  # the top donor: reconciliation reads it
    post_json_text(sandbox_server, "donations", batch)

    wait_for(lambda: server.snapshot(slug)["donation_count"] == 20, timeout=20)
    snapshot = server.snapshot(slug)
    assert snapshot["total"] == "69.00"
    assert "Batch 10 \ufffd" in [row["name"] for row in snapshot["recent"]]

    # Reconciliation runs every second and agrees with upstream, top donor included.
    donor_checks = len([r for r in requests(sandbox_server) if r["path"] == "/api/v1/topDonors"])
    wait_for(
        lambda: (
            len([r for r in requests(sandbox_server) if r["path"] == "/api/v1/topDonors"])
            >= donor_checks + 2
        ),
        timeout=10,
    )
    state = health(server, slug)
    assert state["drift"] == ""
    # Nothing was rejected (the name was cleaned), and health says so truthfully.
    assert (state["status"], state["rejected_records"]) == ("ok", 0)
    # The stream never broke, and goes on.
    assert len(listens(sandbox_server)) == 1
    control(sandbox_server, "donations", donation("After", "2.00"))
    wait_for(lambda: server.total(slug) == "71.00", timeout=10)
    assert "Traceback" not in server.log()


# --- finding 7: deeply nested JSON ----------------------------------------------------------


def test_a_deeply_nested_event_is_rejected_alone_and_the_stream_stays_open(
    server, sandbox_server, streamed
):
    slug = streamed()
    with server.live_client(slug) as client:
        client.receive()
        deep = "event: donation.add\ndata: " + "[" * 100_000 + "\n\n"
        control(sandbox_server, "events", {"text": deep})
        control(sandbox_server, "donations", raw_donation("after-deep", "After", "4.00"))
        event = client.wait_for(lambda m: m["type"] == "donation", timeout=10)
    assert event["data"]["name"] == "After"
    assert len(listens(sandbox_server)) == 1  # the same connection carried both
    state = wait_for(lambda: (h := health(server, slug))["rejected_records"] and h)
    assert state["rejected_records"] == 1
    assert "nested deeper than 32" in state["last_rejection"]
    assert state["status"] == "ok" and state["stream_connected"] is True


def test_deeply_nested_json_in_a_listing_fails_that_backfill_which_is_retried(
    server, sandbox_server, streamed
):
    """Before, `[` x 100,000 in a listing raised RecursionError, which the reconnect's
    backfill task did not catch: it died without a log line, the gap stayed open."""
    slug = streamed()
    control(sandbox_server, "faults", {"deep_json_next": 1})
    control(sandbox_server, "faults", {"drop_streams": True})
    # Made while no stream is open: only a backfill after the reconnect can find it.
    control(sandbox_server, "donations", donation("Gap", "6.00"))
    wait_for(lambda: server.total(slug) == "6.00", timeout=15)
    state = health(server, slug)
    assert "nested deeper than 32" in state["last_error"]
    assert "Traceback" not in server.log()


# --- finding 9: a trickling stream --------------------------------------------------------


def test_a_trickling_stream_is_recycled_and_the_gap_backfilled(server, sandbox_server, streamed):
    """One byte of a never-finished line every 0.5 s keeps httpx's 2 s read timeout from
    ever firing; the liveness deadline (a complete line within read_timeout) recycles it."""
    slug = streamed()  # read_timeout = 2 s
    control(sandbox_server, "faults", {"trickle_seconds": 0.5})  # from now on
    control(sandbox_server, "donations", donation("Held", "3.00"))  # stuck behind the trickle
    wait_for(lambda: server.total(slug) == "3.00", timeout=15)  # reconciliation: 3600 s
    assert len(listens(sandbox_server)) >= 2
    assert "stalled" in health(server, slug)["last_error"]

    control(sandbox_server, "faults", {"trickle_seconds": 0})
    wait_for(lambda: sandbox_state(sandbox_server)["open_streams"] == 1, timeout=10)
    with server.live_client(slug) as client:
        client.receive()
        time.sleep(0.5)
        control(sandbox_server, "donations", raw_donation("live-again", "Live", "5.00"))
        client.wait_for_total("8.00", timeout=10)


# --- finding 5 (part): upstream error text on health ---------------------------------------


def test_upstream_error_text_on_health_is_short_one_line_and_keyless(
    server, sandbox_server, streamed
):
    slug = streamed()
    hostile = "Evil\n<b>\x1b[2J\u202e" + ADVANCED_KEY + "N" * 5000
    control(sandbox_server, "faults", {"fail_next": 1000, "status": 503, "name": hostile})
    control(sandbox_server, "faults", {"drop_streams": True})
    # First the dropped stream's own error shows, then the failing reconnects' one.
    state = wait_for(
        lambda: (
            (h := health(server, slug))["status"] == "degraded" and "Evil" in h["last_error"] and h
        ),
        timeout=10,
    )
    error = state["last_error"]
    assert "Evil" in error and len(error) <= 300
    assert not any(char in error for char in "\n\x1b\u202e")
    assert ADVANCED_KEY not in error and ADVANCED_KEY not in server.log()
    control(sandbox_server, "faults", {"fail_next": 0})
