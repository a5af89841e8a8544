"""The incentives overlay in a real Chromium: a goal bar and a bid war follow tagged donations
streamed from the ImRaising sandbox, and a moderator's reassignment moves money on screen.

One server serves the module: each test has a marathon campaign and a sandbox of its own."""

from __future__ import annotations

import pytest

from ..dashboard_support import StaffSession, create_user
from ..support import http, wait_for
from ..test_incentives_http import MARATHON
from .shared_server import Spec, shared_server

SLUGS = ("bars", "alert", "first")


@pytest.fixture(scope="module")
def marathon(tmp_path_factory, django_db_blocker):
    """`marathon(slug)`: that test's campaign; a moderator, mia, may sign in."""
    specs = (Spec(slug, extra=MARATHON) for slug in SLUGS)
    with shared_server(tmp_path_factory, django_db_blocker, *specs) as server:
        create_user(server.server, "mia", "Moderators")
        yield server.campaign


OPTION_TEXT = """([incentive, option]) => {
  const card = [...document.querySelectorAll('.fb-incentive')]
    .find(c => c.querySelector('.fb-incentive-title bdi').textContent === incentive);
  if (!card) return null;
  const row = [...card.querySelectorAll('.fb-option')]
    .find(r => r.querySelector('.fb-option-title').textContent === option);
  return row ? row.querySelector('.fb-option-total').textContent + '#' + row.dataset.rank : null;
}"""

BAR = """(title) => {
  const card = [...document.querySelectorAll('.fb-incentive')]
    .find(c => c.querySelector('.fb-incentive-title bdi').textContent === title);
  return card ? card.querySelector('.fb-fill').style.width : null;
}"""


def option_on_screen(page, incentive: str, option: str) -> str | None:
    return page.evaluate(OPTION_TEXT, [incentive, option])


def test_bars_and_bid_war_follow_tagged_donations_and_a_reassignment(marathon, page):
    campaign = marathon("bars")
    staff = StaffSession(campaign.server, "mia")
    page.goto(campaign.url("incentives", "overlay=1"))
    page.wait_for_function("() => document.documentElement.dataset.connection === 'live'")
    assert option_on_screen(page, "Name the hero", "Zelda") == "$0.00#1"
    campaign.donate(
        {"nickname": "Ann", "amount": "25.00", "message": "#zelda"},
        {"nickname": "Bob", "amount": "10.00", "message": "#link"},
        {"nickname": "Cat", "amount": "30.00", "message": "#stretch"},
    )
    # The stream brings the three one by one: the screen may show them in several snapshots.
    wait_for(
        lambda: (
            option_on_screen(page, "Name the hero", "Zelda") == "$25.00#1"
            and option_on_screen(page, "Name the hero", "Link") == "$10.00#2"
            and page.evaluate(BAR, "Extra runs") == "30%"  # 30 of the chain's 100
        ),
        timeout=15,
    )
    # A misspelt tag waits for a moderator, who gives it to Link: Link takes the lead.
    campaign.donate({"nickname": "Dan", "amount": "20.00", "message": "#lnik"})
    wait_for(lambda: campaign.server.total(campaign.slug) == "85.00", timeout=15)
    assert option_on_screen(page, "Name the hero", "Link") == "$10.00#2"
    snapshot = campaign.server.snapshot(campaign.slug)
    hero = next(i for i in snapshot["incentives"] if i["title"] == "Name the hero")
    link = next(o["id"] for o in hero["options"] if o["title"] == "Link")
    dan = next(d["id"] for d in snapshot["recent"] if d["name"] == "Dan")
    answer = staff.post(
        f"/dashboard/{campaign.slug}/incentives/donations/{dan}",
        {"target": f"{hero['id']}:{link}"},
        json_answer=False,
    )
    assert answer.status_code == 302
    wait_for(lambda: option_on_screen(page, "Name the hero", "Link") == "$30.00#1", timeout=15)
    assert option_on_screen(page, "Name the hero", "Zelda") == "$25.00#2"
    assert page.locator(".fb-option.is-up").count() == 1  # Link's row moved up, animated


ALERT_CARDS = """() => [...document.querySelectorAll('.fb-alert')].map(card => [
  card.querySelector('.fb-name').textContent,
  (card.querySelector('.fb-alert-incentive') || {textContent: null}).textContent,
])"""


def test_an_alert_names_the_incentive_its_donation_went_to(marathon, page):
    campaign = marathon("alert")
    page.goto(campaign.url("alerts", "overlay=1&sound=none&duration=30"))
    page.wait_for_function("() => document.documentElement.dataset.connection === 'live'")
    campaign.donate({"nickname": "Ann", "amount": "25.00", "message": "go #zelda"})
    wait_for(lambda: page.evaluate(ALERT_CARDS), timeout=15)
    assert page.evaluate(ALERT_CARDS) == [["Ann", "for Name the hero: Zelda"]]
    # A chain (no options) is named alone; an untagged donation's alert names nothing.
    campaign.donate(
        {"nickname": "Bob", "amount": "5.00", "message": "#stretch"},
        {"nickname": "Cat", "amount": "5.00", "message": "hello"},
    )
    shown: dict = {}

    def collect() -> bool:
        shown.update(dict(page.evaluate(ALERT_CARDS)))
        return "Cat" in shown

    wait_for(collect, timeout=20)
    assert shown["Bob"] == "for Extra runs" and shown["Cat"] is None


# Every text the Zelda row and the chain's total ever show, from the page's first moment.
RECORD_DRAWN = """
window.fbDrawn = [];
new MutationObserver(() => {
  for (const row of document.querySelectorAll('.fb-option, .fb-incentive-total')) {
    if (!row.classList.contains('fb-option') || row.textContent.includes('Zelda')) {
      window.fbDrawn.push(row.textContent.replace(/\\s+/g, ' ').trim());
    }
  }
}).observe(document, {childList: true, subtree: true});
"""


def test_the_widget_draws_the_live_standings_first_never_a_zero(marathon, page):
    campaign = marathon("first")
    campaign.donate(
        {"nickname": "Ann", "amount": "25.00", "message": "#zelda"},
        {"nickname": "Cat", "amount": "30.00", "message": "#stretch"},
    )
    wait_for(lambda: campaign.server.total(campaign.slug) == "55.00", timeout=15)
    html = http.get(campaign.url("incentives"), timeout=5).text
    assert "25.00" not in html and "data-pending" in html  # the page carries no numbers
    page.add_init_script(RECORD_DRAWN)
    page.goto(campaign.url("incentives"))
    page.wait_for_function("() => !document.documentElement.hasAttribute('data-pending')")
    drawn = page.evaluate("window.fbDrawn")
    assert drawn and all("$25.00" in text or "$30.00" in text for text in drawn), drawn
    assert page.locator(".fb-empty").count() == 0
