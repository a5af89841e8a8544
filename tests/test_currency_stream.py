"""A EUR donation on the ImRaising stream of a USD campaign, through the sandbox over real
HTTP and a real `serve`: counted at the campaign's TOML rate, shown with its original; a
currency without a rate is held until staff add one and re-rate (issue 15)."""

from fundboard.ingest.models import Donation
from fundboard.sandbox import imraising

from .support import http, wait_for


def _campaign(url: str) -> str:
    return f"""
[[campaign]]
slug = "stream"
name = "Stream"
goal = "1000"
currency = "USD"
rates = {{ EUR = "1.084" }}
  [[campaign.source]]
  kind = "imraising"
  name = "Stream"
  base_url = "{url}"
  api_key = "{imraising.ADVANCED_KEY}"
"""


RATE_AND_RERATE = """
from decimal import Decimal
from fundboard.campaigns.models import Campaign
from fundboard.fx.services import rerate, set_rate
campaign = Campaign.objects.get(slug="stream")
set_rate(campaign, "CHF", Decimal("1.13"))
print(rerate(campaign, "CHF"))
"""


def test_a_eur_donation_on_the_stream_counts_at_the_rate_and_keeps_its_original(
    sandbox_server, fundboard_server
):
    url = sandbox_server.url
    server = fundboard_server(_campaign(url))
    with server.live_client("stream") as client:
        client.wait_for(lambda m: m["type"] == "snapshot")
        wait_for(
            lambda: http.get(f"{url}/_sandbox/imraising/state").json()["open_streams"], timeout=15
        )
        http.post(
            f"{url}/_sandbox/imraising/donations",
            json=[
                {"nickname": "Eva", "amount": "50.00", "currency": "EUR"},
                {"nickname": "Urs", "amount": "20.00", "currency": "CHF"},
                {"nickname": "Sam", "amount": "5.00", "currency": "USD"},
            ],
        )
        message = client.wait_for_total("59.20", timeout=20)
    recent = {d["name"]: d for d in message["data"]["recent"]}
    assert recent["Eva"]["amount"] == "50.00" and recent["Eva"]["currency"] == "EUR"
    assert recent["Eva"]["converted_amount"] == "54.20" and recent["Eva"]["approximate"] is True
    assert "Urs" not in recent  # CHF has no rate: held, not counted...
    held = server.orm(lambda: Donation.objects.unconverted().filter(currency="CHF").count())
    assert held == 1  # ...but stored, never dropped
    # Staff's rate and re-rate from another process, as the dashboard's would be.
    assert server.shell(RATE_AND_RERATE).strip().endswith("1")
    wait_for(lambda: server.total("stream") == "81.80", timeout=10)  # + 22.60
