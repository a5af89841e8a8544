"""Cached widget pages in a real Chromium: the first number drawn is the live one, and
polling with ETags takes over when websockets are refused (issue 17).

One server serves the module: each test has a campaign and a sandbox of its own."""

from __future__ import annotations

import pytest

from ..support import wait_for
from .shared_server import Spec, shared_server

# Records what #total shows from the moment the skeleton gives way, and every change after.
RECORD_DRAWN = """
window.__drawn = [];
new MutationObserver(function () {
  var root = document.documentElement, total = document.getElementById("total");
  if (!root || root.hasAttribute("data-pending") || !total) return;
  var text = total.textContent;
  if (window.__drawn[window.__drawn.length - 1] !== text) window.__drawn.push(text);
}).observe(document, {childList: true, subtree: true, characterData: true, attributes: true});
"""


@pytest.fixture(scope="module")
def campaigns(tmp_path_factory, django_db_blocker):
    """`campaigns(slug)`: that test's campaign on the worker's browser server."""
    specs = (Spec("cached"), Spec("polled"))
    with shared_server(tmp_path_factory, django_db_blocker, *specs) as server:
        yield server.campaign


def test_a_page_from_a_cache_draws_the_live_total_never_an_older_one(campaigns, page):
    campaign = campaigns("cached")
    campaign.donate({"nickname": "Ann", "amount": "5.00"})
    wait_for(lambda: campaign.server.total(campaign.slug) == "5.00")
    url = campaign.url("thermometer")
    cached = {}

    def from_cache(route):
        # What a CDN or nginx would hand out: the page exactly as first served.
        if "body" not in cached:
            response = route.fetch()
            cached["body"], cached["headers"] = response.body(), response.headers
        route.fulfill(status=200, body=cached["body"], headers=cached["headers"])

    page.route(url, from_cache)
    page.add_init_script(RECORD_DRAWN)
    page.goto(url)
    page.wait_for_function("() => window.__drawn.includes('5.00')")

    campaign.donate({"nickname": "Bo", "amount": "7.00"})
    wait_for(lambda: campaign.server.total(campaign.slug) == "12.00")
    page.goto(url)  # the same cached HTML, written when the total was 5.00
    # (A page fulfilled by a route counts as non-local to Chromium, which then refuses its
    # loopback websocket: this page lives on polling. The first number is what counts.)
    page.wait_for_function("() => window.__drawn.length > 0")
    page.wait_for_timeout(500)
    drawn = page.evaluate("window.__drawn")
    assert drawn and drawn[0] == "12.00", drawn  # no 0.00 or 5.00 first, no count-up
    assert all(float(text) >= 12 for text in drawn), drawn
    assert b"5.00" not in cached["body"]  # the cached page never carried a number


def test_polling_with_etags_takes_over_when_the_socket_is_refused(campaigns, page):
    campaign = campaigns("polled")
    page.route_web_socket("**/ws/campaigns/polled**", lambda ws: ws.close())  # a proxy says no
    polls = []
    page.on(
        "response",
        lambda r: (
            polls.append((r.request.headers.get("if-none-match"), r.status))
            if "/api/v1/campaigns/polled" in r.url
            else None
        ),
    )
    page.goto(campaign.url("thermometer"))
    page.wait_for_function("() => document.documentElement.dataset.connection === 'polling'")
    page.wait_for_function("() => !document.documentElement.hasAttribute('data-pending')")
    assert page.locator("#total").inner_text() == "0.00"

    campaign.donate({"nickname": "Ann", "amount": "3.50"})
    page.wait_for_function(
        "() => document.getElementById('total').textContent === '3.50'", timeout=20_000
    )
    # Polls between changes carry the version the page has and cost a bodyless 304.
    # One poll every 5 s (connection.js, POLL_EVERY); Playwright delivers events only inside
    # its own calls: wait in one.
    for _ in range(200):
        if any(tag and status == 304 for tag, status in polls):
            break
        page.wait_for_timeout(100)
    assert any(tag and status == 304 for tag, status in polls), polls
    assert page.evaluate("document.documentElement.dataset.connection") == "polling"
