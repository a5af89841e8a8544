"""The spine without any platform: a manual donation reaches the JSON and a live socket."""

from .support import wait_for

CAMPAIGN = """
[[campaign]]
slug = "spring"
name = "Spring Drive"
goal = "1000"
currency = "USD"
  [[campaign.source]]
  kind = "manual"
  name = "Cheques"
"""

ADD_DONATION = """
from decimal import Decimal
from django.utils import timezone
from fundboard.campaigns.models import Source
from fundboard.ingest.services import ingest_donations
from fundboard.providers.records import DonationRecord
source = Source.objects.get(name="Cheques")
record = DonationRecord("{uid}", "{name}", Decimal("{amount}"), "USD", timezone.now())
ingest_donations(source.pk, [record])
"""


def test_snapshot_first_then_live_update(fundboard_server):
    server = fundboard_server(CAMPAIGN)
    assert server.total("spring") == "0.00"
    with server.live_client("spring") as client:
        first = client.receive()
        assert first["type"] == "snapshot"
        assert first["data"]["total"] == "0.00"
        # Written by another process (as the dashboard or a worker would): the committed
        # change reaches this socket only through the database and a fresh snapshot read.
        server.shell(ADD_DONATION.format(uid="c1", name="Ann", amount="25.00"))
        wait_for(lambda: server.total("spring") == "25.00")
