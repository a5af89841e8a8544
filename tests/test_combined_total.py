"""A campaign fed by an ImRaising stream, Action Network pages, a P2P event and manual entries.

Each source counts once: the polled platforms with the total they report, the stream and the
manual entries with their stored donations. The snapshot's total is exactly the sum.
"""

from decimal import Decimal

from django.utils import timezone

from fundboard.campaigns.models import Source
from fundboard.ingest.services import ingest_donations
from fundboard.providers.records import DonationRecord
from fundboard.sandbox import actionnetwork, imraising, p2p

from .support import http, wait_for

FAST = {"FUNDBOARD_POLL_FLOOR_SECONDS": "0.2"}


def _campaign(url: str) -> str:
    return f"""
[[campaign]]
slug = "all"
name = "All platforms"
goal = "50000"
currency = "USD"
  [[campaign.source]]
  kind = "imraising"
  name = "Stream"
  base_url = "{url}"
  api_key = "{imraising.ADVANCED_KEY}"
  [[campaign.source]]
  kind = "actionnetwork"
  name = "Pages"
  base_url = "{url}"
  api_key = "{actionnetwork.API_KEY}"
  ids = {{ all_pages = true }}
  poll_interval = 0.5
  [[campaign.source]]
  kind = "p2p"
  name = "Walk"
  base_url = "{url}"
  api_key = "{p2p.API_KEY}"
  ids = {{ event_id = "{p2p.DEMO_EVENT_ID}" }}
  poll_interval = 0.5
  [[campaign.source]]
  kind = "manual"
  name = "Cheques"
"""


def add_cheque() -> None:
    """A manual entry, stored before the server starts (it reads it like any stored donation)."""
    source = Source.objects.get(name="Cheques")
    record = DonationRecord("cheque-1", "Bank", Decimal("99.99"), "USD", timezone.now())
    ingest_donations(source.pk, [record])


def _upstream_parts(url: str, stream_donations: list[str]) -> dict[str, Decimal]:
    an_pages = http.get(f"{url}/_sandbox/actionnetwork/state").json()["pages"]
    event = http.get(f"{url}/_sandbox/p2p/state").json()["events"][p2p.DEMO_EVENT_ID]
    return {
        "Stream": sum((Decimal(a) for a in stream_donations), Decimal("0")),
        "Pages": sum((Decimal(str(p["total_amount"])) for p in an_pages), Decimal("0")),
        "Walk": Decimal(event["raised"]),
        "Cheques": Decimal("99.99"),
    }


def _parts(snapshot: dict) -> dict[str, Decimal]:
    return {s["name"]: Decimal(s["total"]) for s in snapshot["sources"]}


def test_three_platforms_and_manual_total_exactly_the_sum(sandbox_server, fundboard_server):
    url = sandbox_server.url
    server = fundboard_server(_campaign(url), extra_env=FAST, start=False)
    server.orm(add_cheque)
    server.start()
    stream = ["12.50", "200.00", "7.25"]
    names = ["Kofi", "Rosa Lind", "Ingrid"]
    with server.live_client("all") as client:
        client.wait_for(lambda m: m["type"] == "snapshot")
        wait_for(lambda: _parts(server.snapshot("all"))["Walk"] > 0, timeout=15)
        http.post(
            f"{url}/_sandbox/imraising/donations",
            json=[{"nickname": n, "amount": a} for n, a in zip(names, stream, strict=True)],
        )
        http.post(
            f"{url}/_sandbox/p2p/gifts",
            json={"fundraiser_id": "f-010", "amount": "300", "donor_name": "Rosa Lind"},
        )
        http.post(
            f"{url}/_sandbox/actionnetwork/pages",
            json={"summary": "New page", "total_amount": "55.55", "total_donations": 2},
        )
        expected = _upstream_parts(url, stream)
        total = sum(expected.values(), Decimal("0"))
        message = client.wait_for_total(f"{total:.2f}", timeout=20)
    snapshot = message["data"]
    assert _parts(snapshot) == expected
    assert Decimal(snapshot["total"]) == sum(_parts(snapshot).values(), Decimal("0"))
    # Top donors join a P2P gift and a stream donation under one display name.
    assert snapshot["top_donors"][0] == {
        "name": "Rosa Lind",
        "total": "500.00",
        "donation_count": 2,
    }
    # Leaderboards: P2P fundraisers and Action Network pages side by side, teams from P2P.
    names_on_board = {row["name"] for row in snapshot["fundraisers"]}
    assert "Year-end matching gift drive" in names_on_board
    assert len(snapshot["teams"]) == 5
