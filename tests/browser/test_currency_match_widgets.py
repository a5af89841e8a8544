"""A EUR donation and an active sponsor match as a viewer sees them in Chromium (issue 15):
the alert says "€50.00 ≈ $54.20", the ticker shows "≈ $54.20" with the original on hover,
and the thermometer shows the match line, updated live as the match is used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from .shared_server import Spec, shared_server
from .test_widgets_live import RECORD_ALERTS


def _extra() -> str:
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = (now - timedelta(hours=1)).isoformat(), (now + timedelta(hours=2)).isoformat()
    return f"""rates = {{ EUR = "1.084" }}
count_matches = true
  [[campaign.match]]
  sponsor = "<b>Acme</b>"
  starts_at = "{start}"
  ends_at = "{end}"
  cap = "100"
"""


@pytest.fixture
def campaign(tmp_path_factory, django_db_blocker):
    # The module's only test: a server of its own, started as the other live modules' are.
    spec = Spec("matched", extra=_extra())
    with shared_server(tmp_path_factory, django_db_blocker, spec) as server:
        yield server.campaign("matched")


def test_converted_donation_and_match_line_on_the_widgets(campaign, browser):
    context = browser.new_context(viewport={"width": 800, "height": 600})
    thermometer, alerts, ticker = context.new_page(), context.new_page(), context.new_page()
    thermometer.goto(campaign.url("thermometer"))
    alerts.add_init_script(RECORD_ALERTS)
    alerts.goto(campaign.url("alerts"))
    ticker.goto(campaign.url("ticker"))
    for page in (thermometer, alerts, ticker):
        page.wait_for_function("() => document.documentElement.dataset.connection === 'live'")
    match = thermometer.locator("#match")
    match.wait_for(state="visible")
    assert match.inner_text().startswith("<b>Acme</b>: ×2 until ")  # text, not markup
    assert match.inner_text().endswith(" · $100.00 of $100.00 matched left")

    campaign.donate({"nickname": "Eva", "amount": "50.00", "currency": "EUR"})
    thermometer.wait_for_function(
        "() => document.getElementById('total').textContent === '108.40'", timeout=15_000
    )  # 54.20 donated + 54.20 matched (count_matches)
    assert match.inner_text().endswith(" · $45.80 of $100.00 matched left")
    alerts.wait_for_function("() => window.__alerts.length === 1", timeout=15_000)
    assert "€50.00 ≈ $54.20" in alerts.evaluate("window.__alerts[0].text")
    amount = ticker.locator(".fb-tick .fb-amount").first
    amount.wait_for()
    assert amount.inner_text() == "≈ $54.20"
    assert amount.get_attribute("title") == "€50.00"
    context.close()
