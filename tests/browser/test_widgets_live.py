"""Widgets stay live in a real Chromium, fed by the ImRaising sandbox's stream through daphne.

Each test drives what a viewer sees: the numbers on the page change without a reload, every
alert of a burst shows, removals and restarts end with the right total on screen.

The worker's browser server serves the module (`live`): each test has a campaign (slug) and
a sandbox of its own. The two tests that kill and restart a server have one of their own
(`own_campaign`).
"""

from __future__ import annotations

import json

import pytest

from ..support import wait_for
from .shared_server import Spec, shared_server

XSS_NAME = "<img src=x onerror=alert(1)>"

# Collects, in order, every alert card that appears on the page (what a viewer would see).
RECORD_ALERTS = """
window.__alerts = [];
new MutationObserver(function (changes) {
  changes.forEach(function (change) {
    change.addedNodes.forEach(function (node) {
      if (node.classList && node.classList.contains("fb-alert")) {
        window.__alerts.push({
          name: node.querySelector(".fb-name").textContent,
          text: node.textContent,
          test: !!node.querySelector(".fb-alert-badge"),
        });
      }
    });
  });
}).observe(document, {childList: true, subtree: true});
"""

RECORD_SOUNDS = """
window.__plays = [];
HTMLMediaElement.prototype.play = function () {
  window.__plays.push({src: this.src, volume: this.volume});
  return Promise.resolve();
};
"""


# Every snapshot the page's socket handed to the widget, by total, recorded once the page's
# own handler has drawn it (a listener added at construction runs before `onmessage`; the
# timeout puts the record after it): "the page has drawn total T" without a fixed sleep.
RECORD_SNAPSHOTS = """
window.__snapshotTotals = [];
(function () {
  var Native = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    var socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    socket.addEventListener("message", function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message && message.type === "snapshot") {
        setTimeout(function () { window.__snapshotTotals.push(message.data.total); }, 0);
      }
    });
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
})();
"""

BURST = 10  # alerts of the burst test, each 1 s on screen (plus its 0.35 s leaving)

SPECS = (
    Spec("thermo"),
    Spec("burst"),
    Spec("minimum"),
    Spec("deleted"),
    Spec("hostile"),
    Spec("gap"),
    Spec("polling"),
    Spec("top"),
    Spec("rows"),
    Spec("milestones", goal="100", milestones='["50"]'),
    Spec("other-leaderboard"),
    Spec("other-ticker"),
    Spec("countup", goal="5000"),
)


@pytest.fixture(scope="module")
def live(tmp_path_factory, django_db_blocker):
    """The worker's browser server: `live(slug)` is that test's StreamedCampaign."""
    with shared_server(tmp_path_factory, django_db_blocker, *SPECS) as server:
        yield server.campaign


@pytest.fixture
def own_campaign(tmp_path_factory, django_db_blocker):
    """A server of this test's own (it is killed and restarted), campaign `live`."""
    with shared_server(
        tmp_path_factory, django_db_blocker, Spec("live"), own_server=True
    ) as server:
        yield server.campaign("live")


def _live(page) -> None:
    page.wait_for_function("() => document.documentElement.dataset.connection === 'live'")


def _total(page) -> str:
    return page.locator("#total").inner_text()


def _wait_total(page, text: str, timeout: float = 15_000) -> None:
    page.wait_for_function(
        "t => document.getElementById('total').textContent === t", arg=text, timeout=timeout
    )


def test_thermometer_number_and_bar_change_when_a_donation_streams(live, page):
    campaign = live("thermo")
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(campaign.url("thermometer"))
    # The page carries no numbers: the first figure drawn (after the skeleton) is the snapshot's.
    page.wait_for_selector("html:not([data-pending])")
    assert _total(page) == "0.00"
    _live(page)
    assert sockets and sockets[0].endswith("/ws/campaigns/thermo?events=0")  # totals only
    assert page.locator("#fill").evaluate("e => e.style.width") == "0%"
    page.evaluate("window.__sameDocument = true")

    campaign.donate({"nickname": "Ann", "amount": "250.00"})
    _wait_total(page, "250.00")
    page.wait_for_function("() => document.getElementById('fill').style.width === '25%'")
    assert page.locator("#percent").inner_text() == "25%"
    assert page.locator("#count").inner_text() == "1"
    assert page.locator("#count-label").inner_text() == "donation"
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    # The total is announced politely for screen readers.
    page.wait_for_function(
        "() => document.getElementById('fb-announce').textContent.includes('$250')"
    )


def test_every_alert_of_a_burst_shows_in_order(live, page):
    campaign = live("burst")
    page.add_init_script(RECORD_ALERTS)
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    # A lag bound long enough for the burst's one-second alerts: none of them is grouped.
    page.goto(campaign.url("alerts", "duration=1&sound=none&max_lag=60"))
    _live(page)
    assert sockets and sockets[0].endswith("/ws/campaigns/burst")  # every event
    names = [f"Donor {i:02d}" for i in range(BURST)]
    campaign.donate(*({"nickname": name, "amount": f"{i + 1}.00"} for i, name in enumerate(names)))
    page.wait_for_function(
        "n => window.__alerts.length >= n && window.fundboardAlerts.queued() === 0",
        arg=BURST,
        timeout=60_000,
    )
    shown = page.evaluate("window.__alerts")
    assert [alert["name"] for alert in shown] == names  # in order, and none twice
    assert f"${BURST}.00" in shown[-1]["text"]
    # The overlay's own count: each donation received once, shown alone, none grouped.
    stats = page.evaluate(
        "() => ({received: window.fundboardAlerts.received, shown: window.fundboardAlerts.shown,"
        " grouped: window.fundboardAlerts.grouped})"
    )
    assert stats["received"] == BURST and stats["grouped"] == []
    assert len(stats["shown"]) == len(set(stats["shown"])) == BURST


def test_a_donation_made_while_the_server_was_down_still_gets_its_alert(own_campaign, page):
    campaign = own_campaign
    page.add_init_script(RECORD_ALERTS)
    page.goto(campaign.url("alerts", "duration=1&sound=none"))
    _live(page)
    campaign.server.kill()
    campaign.donate({"nickname": "While Away", "amount": "9.00"})
    campaign.server.start()  # the stream's backfill stores it; the page catches up
    page.wait_for_function("() => window.__alerts.length >= 1", timeout=30_000)
    campaign.donate({"nickname": "After", "amount": "4.00"})
    page.wait_for_function("() => window.__alerts.length >= 2", timeout=15_000)
    assert [a["name"] for a in page.evaluate("window.__alerts")] == ["While Away", "After"]


def test_alerts_honour_minimum_and_mark_test_donations(live, page):
    campaign = live("minimum")
    page.add_init_script(RECORD_ALERTS)
    page.add_init_script(RECORD_SOUNDS)
    page.goto(campaign.url("alerts", "duration=1&sound=coin&volume=30&min=5"))
    _live(page)
    campaign.donate(
        {"nickname": "Small", "amount": "1.00"},
        {"nickname": "Tester", "amount": "9.00", "currency": "XTS"},
        {"nickname": "Big", "amount": "50.00", "message": "Keep going!"},
    )
    page.wait_for_function("() => window.__alerts.length >= 2", timeout=20_000)
    shown = page.evaluate("window.__alerts")
    assert [(a["name"], a["test"]) for a in shown] == [("Tester", True), ("Big", False)]
    assert "TEST" in shown[0]["text"]
    assert "Keep going!" in shown[1]["text"]
    # One sound per alert shown, at the asked volume; the file is served.
    plays = page.evaluate("window.__plays")
    assert len(plays) == 2
    assert all(p["src"].endswith("/static/fundboard/sounds/coin.wav") for p in plays)
    assert all(abs(p["volume"] - 0.3) < 0.01 for p in plays)
    assert page.request.get(plays[0]["src"]).headers["content-type"] == "audio/wav"
    duration = page.evaluate(
        """src => new Promise(done => {
            const audio = new Audio(src);
            audio.onloadedmetadata = () => done(audio.duration);
            audio.onerror = () => done(-1);
        })""",
        plays[0]["src"],
    )
    assert 0.3 < duration < 1.0  # Chromium decodes it


def test_a_deleted_donation_leaves_the_total_on_screen(live, page):
    campaign = live("deleted")
    page.goto(campaign.url("thermometer"))
    first, _second = campaign.donate(
        {"nickname": "Ann", "amount": "10.00"}, {"nickname": "Bo", "amount": "20.00"}
    )
    _wait_total(page, "30.00")
    campaign.delete(first)
    _wait_total(page, "20.00")
    page.wait_for_function("() => document.getElementById('count').textContent === '1'")


def test_a_hostile_nickname_shows_as_text_and_runs_nothing(live, browser):
    campaign = live("hostile")
    context = browser.new_context()
    dialogs = []
    context.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    alerts, donors = context.new_page(), context.new_page()
    alerts.add_init_script(RECORD_ALERTS)
    alerts.goto(campaign.url("alerts", "duration=2&sound=none"))
    donors.goto(campaign.url("top-donors"))
    for live_page in (alerts, donors):
        live_page.wait_for_function("() => document.documentElement.dataset.connection === 'live'")
    campaign.donate({"nickname": XSS_NAME, "amount": "5.00", "message": "<b>bold</b>"})
    alerts.wait_for_function("() => window.__alerts.length >= 1")
    # Ingest shortens nicknames past 26 characters (ImRaising's limit): compare with what
    # was stored, which still holds the markup.
    stored = campaign.server.snapshot(campaign.slug)["recent"][0]["name"]
    assert stored.startswith("<img src=x onerror=alert(1")
    assert alerts.evaluate("window.__alerts[0].name") == stored
    donors.wait_for_function("() => document.querySelectorAll('.fb-row').length === 1")
    assert donors.locator(".fb-row .fb-name").inner_text() == stored
    # A fresh load renders it server-side: still text.
    ticker = context.new_page()
    ticker.goto(campaign.url("ticker"))
    assert ticker.locator(".fb-tick .fb-name").first.inner_text() == stored
    assert ticker.locator(".fb-message").first.inner_text() == "<b>bold</b>"
    for live_page in (alerts, donors, ticker):
        assert live_page.locator("img").count() == 0
        assert live_page.locator(".fb-message b, .fb-alert b").count() == 0
    alerts.wait_for_timeout(500)
    assert dialogs == []
    context.close()


def test_the_page_recovers_by_itself_after_a_server_restart(own_campaign, page):
    campaign = own_campaign
    page.goto(campaign.url("thermometer"))
    campaign.donate({"nickname": "Ann", "amount": "5.00"})
    _wait_total(page, "5.00")
    page.evaluate("window.__sameDocument = true")

    campaign.server.kill()
    page.wait_for_function("() => document.documentElement.dataset.connection !== 'live'")
    campaign.server.start()  # same port, same database
    campaign.donate({"nickname": "Bo", "amount": "7.00"})
    _wait_total(page, "12.00", timeout=30_000)
    _live(page)
    assert page.evaluate("window.__sameDocument") is True


def test_a_version_gap_is_resynced_from_a_fresh_snapshot(live, page):
    """Snapshots after the first are lost on the way; the alerts page, which follows the
    events, sees a version no snapshot has reached and asks for one."""
    campaign = live("gap")
    resync_requests, snapshots_after_resync = [], []

    def relay(ws):
        upstream = ws.connect_to_server()
        first = {"seen": False}

        def to_page(message):
            data = json.loads(message)
            if data["type"] == "snapshot" and first["seen"]:
                if not resync_requests:
                    return  # dropped: the page only hears the donation event
                snapshots_after_resync.append(data["data"])
            first["seen"] = True
            ws.send(message)

        def to_server(message):
            if json.loads(message).get("type") == "resync":
                resync_requests.append(message)
            upstream.send(message)

        upstream.on_message(to_page)
        ws.on_message(to_server)

    page.route_web_socket("**/ws/campaigns/gap", relay)
    page.add_init_script(RECORD_ALERTS)
    page.goto(campaign.url("alerts", "duration=1&sound=none"))
    _live(page)
    campaign.donate({"nickname": "Ann", "amount": "42.00"})
    page.wait_for_function("() => window.__alerts.length === 1", timeout=10_000)
    # The page waits 2 s (connection.js, GAP_WAIT) for the snapshot, then asks for one.
    # Playwright runs the relay's handlers only inside its own calls: wait in one.
    for _ in range(100):
        if snapshots_after_resync:
            break
        page.wait_for_timeout(100)
    assert resync_requests, "the page should have asked for a snapshot"
    assert snapshots_after_resync and snapshots_after_resync[-1]["total"] == "42.00"


def test_polling_takes_over_when_websockets_are_blocked(live, page):
    campaign = live("polling")
    page.add_init_script("window.WebSocket = function () { throw new Error('blocked'); };")
    page.goto(campaign.url("thermometer"))
    page.wait_for_function("() => document.documentElement.dataset.connection === 'polling'")
    campaign.donate({"nickname": "Ann", "amount": "3.50"})
    _wait_total(page, "3.50", timeout=15_000)


def test_top_donors_reorder_with_an_animated_rank_change(live, page):
    campaign = live("top")
    campaign.donate({"nickname": "Ann", "amount": "10.00"}, {"nickname": "Bo", "amount": "20.00"})
    wait_for(lambda: campaign.server.total(campaign.slug) == "30.00")
    page.goto(campaign.url("top-donors"))
    # The rows are drawn from the first snapshot (the JSON), before any socket message.
    page.wait_for_selector("html:not([data-pending])")
    assert page.locator(".fb-row .fb-name").all_inner_texts() == ["Bo", "Ann"]
    page.evaluate(
        """window.__moved = [];
        new MutationObserver(cs => cs.forEach(c => {
          if (c.target.classList.contains('is-up')) window.__moved.push(c.target.textContent);
        })).observe(document.getElementById('list'), {attributes: true, subtree: true,
                                                      attributeFilter: ['class']});"""
    )
    campaign.donate({"nickname": "Ann", "amount": "15.00"})
    page.wait_for_function(
        "() => document.querySelector('.fb-row .fb-name').textContent === 'Ann'", timeout=15_000
    )
    assert page.locator(".fb-row-amount").all_inner_texts() == ["$25.00", "$20.00"]
    assert page.locator(".fb-row").count() == 2  # the first rows were reused, not doubled
    page.wait_for_function("() => window.__moved.some(t => t.includes('Ann'))")


def test_a_snapshot_that_leaves_the_rows_as_they_were_leaves_their_nodes_alone(live, page):
    """Snapshots come several times a second in a burst: rows that did not change are not
    rebuilt (no flicker, nothing a screen reader re-reads, no element detached under a
    script holding it)."""
    campaign = live("rows")
    campaign.donate({"nickname": "Ann", "amount": "30.00"}, {"nickname": "Bo", "amount": "20.00"})
    wait_for(lambda: campaign.server.total(campaign.slug) == "50.00")
    page.add_init_script(RECORD_SNAPSHOTS)
    page.goto(campaign.url("top-donors", "limit=2"))
    _live(page)
    page.evaluate("window.__names = Array.from(document.querySelectorAll('.fb-name'))")
    campaign.donate({"nickname": "Cy", "amount": "1.00"})  # below the two rows shown
    # The page has drawn the snapshot that carries Cy's dollar (not merely waited a while).
    page.wait_for_function("() => window.__snapshotTotals.includes('51.00')", timeout=15_000)
    assert page.evaluate("window.__names.map(n => n.isConnected)") == [True, True]
    campaign.donate({"nickname": "Bo", "amount": "15.00"})  # Bo now leads: both rows change
    page.wait_for_function(
        "() => document.querySelector('.fb-row .fb-name').textContent === 'Bo'", timeout=15_000
    )
    assert page.evaluate("window.__names.map(n => n.isConnected)") == [False, False]


def test_milestones_and_the_goal_are_celebrated_when_crossed(live, page):
    campaign = live("milestones")
    page.goto(campaign.url("thermometer"))
    page.wait_for_selector("html:not([data-pending])")  # markers come with the first snapshot
    assert page.locator(".fb-milestone").count() == 1
    campaign.donate({"nickname": "Ann", "amount": "60.00"})
    page.wait_for_function(
        "() => document.getElementById('celebration').textContent"
        " .includes('Milestone reached: $50')"
    )
    assert page.locator(".fb-milestone.is-reached").count() == 1
    assert page.locator("#goal-badge").is_hidden()
    campaign.donate({"nickname": "Bo", "amount": "60.00"})
    page.wait_for_function(
        "() => document.getElementById('celebration').textContent.includes('Goal')"
    )
    _wait_total(page, "120.00")
    assert page.locator("#goal-badge").is_visible()
    assert page.locator("#percent").inner_text() == "120%"
    assert page.locator("#fill").evaluate("e => e.style.width") == "100%"


@pytest.mark.parametrize("widget", ["leaderboard", "ticker"])
def test_other_widgets_follow_the_stream(live, page, widget):
    campaign = live(f"other-{widget}")
    page.add_init_script(RECORD_SNAPSHOTS)
    page.goto(campaign.url(widget))
    if widget == "ticker":
        campaign.donate({"nickname": "مريم 🦊", "amount": "8.00", "message": "شكرا"})
        page.wait_for_function(
            "() => (document.querySelector('.fb-tick .fb-name') || {}).textContent === 'مريم 🦊'"
        )
        direction = page.locator(".fb-tick .fb-name").first.evaluate(
            "e => getComputedStyle(e).direction"
        )
        assert direction == "rtl"
    else:
        # Streams carry no fundraisers: the board says so and stays calm.
        _live(page)
        campaign.donate({"nickname": "Ann", "amount": "8.00"})
        page.wait_for_function("() => window.__snapshotTotals.includes('8.00')", timeout=15_000)
        assert page.locator("#empty").is_visible()


RECORD_TOTALS = """
window.__totals = [];
new MutationObserver(function () {
  var total = document.getElementById("total");
  if (total && window.__totals[window.__totals.length - 1] !== total.textContent) {
    window.__totals.push(total.textContent);
  }
}).observe(document, {childList: true, subtree: true, characterData: true});
"""


def test_the_total_counts_up_smoothly_unless_motion_is_reduced(live, browser):
    campaign = live("countup")
    pages = {}
    for motion in ("no-preference", "reduce"):
        context = browser.new_context(reduced_motion=motion)
        pages[motion] = context.new_page()
        pages[motion].add_init_script(RECORD_TOTALS)
        pages[motion].goto(campaign.url("thermometer"))
        pages[motion].wait_for_function(
            "() => document.documentElement.dataset.connection === 'live'"
        )
    campaign.donate({"nickname": "Ann", "amount": "1500.00"})
    for page in pages.values():
        _wait_total(page, "1,500.00")
    # The page's placeholder (blank figure spaces behind the skeleton) is not a number.
    counted = [t for t in pages["no-preference"].evaluate("window.__totals") if t.strip()]
    steps = [float(text.replace(",", "")) for text in counted]
    assert len(steps) > 5, counted  # intermediate values were shown on the way
    assert steps == sorted(steps) and steps[-1] == 1500.0
    reduced = [t for t in pages["reduce"].evaluate("window.__totals") if t.strip()]
    assert reduced == ["0.00", "1,500.00"]
    for page in pages.values():
        page.context.close()
