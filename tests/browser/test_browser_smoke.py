"""The thermometer page draws its first state in a real Chromium."""

from ..test_smoke_spine import CAMPAIGN


def test_thermometer_draws_the_first_snapshot(fundboard_server, page):
    """The page carries no numbers: live.js (an ES module and its imports, under the page's
    CSP) draws the JSON snapshot, and the skeleton goes."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    server = fundboard_server(CAMPAIGN)  # loads campaigns in-process
    page.goto(f"{server.url}/c/spring/thermometer")
    page.wait_for_selector("html:not([data-pending])")
    assert page.locator("#total").inner_text() == "0.00"
    assert errors == []
