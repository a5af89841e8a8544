"""The thermometer page renders its first state in a real Chromium."""

from ..test_smoke_spine import CAMPAIGN


def test_thermometer_renders_server_side_total(fundboard_server, page):
    server = fundboard_server(CAMPAIGN)
    page.goto(f"{server.url}/c/spring/thermometer")
    assert page.locator("#total").inner_text() == "0.00"
