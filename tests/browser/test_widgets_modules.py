"""The widget scripts' ES modules, unit by unit, in Chromium (no server process).

Playwright answers every request of a made-up origin: /static/... from the static folder as
it is (the modules exactly as a browser gets them), widget pages as Django renders them
(with their real CSP and import map) and the JSON snapshot as each test writes it. The
socket cannot connect there, so the page stays on the snapshot it was given.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fundboard.widgets.modules import MODULES

from ..support import http

ORIGIN = "http://widgets.test"
STATIC = Path(__file__).resolve().parents[2] / "static"
BLANK = "<!doctype html><html><head><title>modules</title></head><body></body></html>"


@pytest.fixture
def served(page):
    """page with ORIGIN answered in-process: served.pages[path] = (html, headers),
    served.snapshot = the JSON snapshot's dict."""

    class Served:
        pages: dict[str, tuple[str, dict[str, str]]] = {"/": (BLANK, {})}
        snapshot: dict = {}

    def answer(route):
        path = urlsplit(route.request.url).path
        if path.startswith("/static/"):
            file = STATIC / path.removeprefix("/static/")
            kind = "text/javascript" if file.suffix == ".js" else mimetypes.guess_type(file)[0]
            route.fulfill(path=file, content_type=kind or "application/octet-stream")
        elif path.startswith("/api/v1/campaigns/"):
            route.fulfill(json=Served.snapshot, headers={"ETag": '"1"'})
        elif path in Served.pages:
            html, headers = Served.pages[path]
            route.fulfill(body=html, content_type="text/html", headers=headers)
        else:
            route.fulfill(status=404, body="")

    page.route(f"{ORIGIN}/**", answer)
    page.route("ws://widgets.test/**", lambda route: route.abort())
    Served.page = page  # type: ignore[attr-defined]
    return Served


def _run(page, module: str, body: str):
    """Evaluates `body` (an async function body) with `m` the imported module."""
    return page.evaluate(
        f"async () => {{ const m = await import('/static/fundboard/{module}'); {body} }}"
    )


# --- format.js --------------------------------------------------------------------------


def test_money_in_several_currencies_and_locales(served):
    served.page.goto(ORIGIN + "/")
    shown = _run(
        served.page,
        "live/format.js",
        """
        const us = m.moneyFormat("en-US", "symbol", true);
        const de = m.moneyFormat("de-DE", "symbol", true);
        const ja = m.moneyFormat("ja-JP", "symbol", true);
        const whole = m.moneyFormat("en-US", "symbol", false);
        const code = m.moneyFormat("en-GB", "code", true);
        return {
          usd: us.text("1234.5", "USD"), eur: de.text("1234.5", "EUR"),
          jpy: ja.text("1234", "JPY"), cents_hidden: whole.text("1234.56", "USD"),
          code: code.text("99.9", "GBP"), parts: de.parts("1234.5", "EUR"),
          short: us.short("1000", "USD"), short_cents: us.short("1000.5", "USD"),
          big: us.text("12345678901234.56", "USD"),
          bad_locale: m.safeLocale("xx-notalocale-!!"), not_a_number: m.toNumber("abc"),
          percent: m.percentFormat("fr-FR").format(0.75),
        };
        """,
    )
    nbsp = "\u00a0"
    assert shown["usd"] == "$1,234.50"
    assert shown["eur"] == f"1.234,50{nbsp}€"
    assert shown["jpy"] == "￥1,234"
    assert shown["cents_hidden"] == "$1,235"
    assert shown["code"] == f"GBP{nbsp}99.90"
    assert shown["parts"] == {"prefix": "", "number": "1.234,50", "suffix": f"{nbsp}€"}
    assert (shown["short"], shown["short_cents"]) == ("$1,000", "$1,000.50")
    assert shown["big"] == "$12,345,678,901,234.56"  # a decimal string is formatted exactly
    assert shown["bad_locale"] == "en-US" and shown["not_a_number"] == 0
    assert shown["percent"] == f"75{nbsp}%"


def test_fill_leaves_unknown_names_and_never_expands_a_value_again(served):
    served.page.goto(ORIGIN + "/")
    text = _run(
        served.page,
        "live/format.js",
        'return m.fill("{count} donations, {amount} {other}", {count: 2, amount: "{count}"});',
    )
    assert text == "2 donations, {count} {other}"


# --- milestones.js ----------------------------------------------------------------------


def test_the_bar_moves_on_to_the_next_stretch_goal_past_the_goal(served):
    served.page.goto(ORIGIN + "/")
    result = _run(
        served.page,
        "live/milestones.js",
        """
        const snap = {goal: "100.00", progress: 1.5, milestones: ["50", "200", "400"]};
        const at = (total) => {
          const target = m.barTarget(snap, total);
          return {target, percent: m.wholePercent({...snap, progress: total / 100}, total, target),
                  marks: m.milestoneMarks(snap, target).map((k) => [k.amount, k.at])};
        };
        return {below: at(90), past: at(150), beyond: at(500),
                none: m.barTarget({goal: "0", milestones: ["50"]}, 20)};
        """,
    )
    assert result["below"]["target"] == {"amount": 100, "stretching": False}
    assert result["below"]["percent"] == 90
    assert result["below"]["marks"] == [["50", "50.00%"]]
    assert result["past"]["target"] == {"amount": 200, "stretching": True}
    assert result["past"]["percent"] == 75
    assert result["past"]["marks"] == [["50", "25.00%"], ["100.00", "50.00%"], ["200", "100.00%"]]
    # All reached: the bar stays on the largest, past 100%.
    assert result["beyond"]["target"] == {"amount": 400, "stretching": True}
    assert result["beyond"]["percent"] == 125
    assert result["none"] == {"amount": 0, "stretching": False}


def test_a_crossing_celebrates_the_goal_first_then_the_largest_milestone(served):
    served.page.goto(ORIGIN + "/")
    result = _run(
        served.page,
        "live/milestones.js",
        """
        const snap = {goal: "100", milestones: ["50", "75", "200"]};
        return [m.crossing(snap, null, 80), m.crossing(snap, 10, 80), m.crossing(snap, 60, 120),
                m.crossing(snap, 120, 250), m.crossing(snap, 80, 70)];
        """,
    )
    assert result == [None, {"milestone": 75}, {"goal": True}, {"milestone": 200}, None]


# --- hostile text ------------------------------------------------------------------------


def test_what_a_donor_or_sponsor_typed_stays_text(served):
    served.page.goto(ORIGIN + "/")
    hostile = '<img src=x onerror="window.__ran=1">{cap}'
    result = served.page.evaluate(
        """async (hostile) => {
          const dom = await import('/static/fundboard/live/dom.js');
          const match = await import('/static/fundboard/match.js');
          const node = dom.el("span", "fb-name", hostile);
          document.body.appendChild(node);
          const money = (v, c) => v + " " + c;
          const line = match.matchLine({sponsor: hostile, ratio: "0.5", remaining: "5",
            cap: "10", ends_at: "2999-01-01T21:00:00Z"}, "USD", money, "en-US");
          return {html: node.innerHTML, line, images: document.images.length, ran: !!window.__ran};
        }""",
        hostile,
    )
    assert result["html"] == '&lt;img src=x onerror="window.__ran=1"&gt;{cap}'
    assert result["line"].startswith(hostile + ": ×1.5 until ")
    assert result["line"].endswith("· 5 USD of 10 USD matched left")
    assert result["images"] == 0 and result["ran"] is False


# --- whole widgets, from pages as the server sends them ----------------------------------

CAMPAIGNS = """
[[campaign]]
slug = "s"
name = "S"
goal = "100"
milestones = ["50", "200"]

[[campaign]]
slug = "open"
name = "Open"
goal = "0"
"""


def _show(served, server, path: str, snapshot: dict) -> list[str]:
    """Opens the page the server sends for `path` (real template, CSP and import map) at
    ORIGIN, fed `snapshot`; returns the console errors seen (a CSP refusal is one), but
    the socket's: it cannot connect there, by design."""
    response = http.get(server.url + path)
    assert response.status_code == 200
    headers = {"Content-Security-Policy": response.headers["Content-Security-Policy"]}
    served.pages[urlsplit(path).path] = (response.text, headers)
    served.snapshot = snapshot
    errors: list[str] = []

    def note(message) -> None:
        if message.type == "error" and not message.text.startswith("WebSocket connection"):
            errors.append(message.text)

    served.page.on("console", note)
    served.page.goto(ORIGIN + path)
    served.page.wait_for_selector("html:not([data-pending])")
    return errors


def _snapshot(**fields) -> dict:
    base = {
        "slug": "s", "name": "S", "currency": "USD", "goal": "100.00", "total": "0.00",
        "donation_count": 0, "progress": 0.0, "milestones": [], "top_donors": [],
        "fundraisers": [], "teams": [], "recent": [], "matches": [], "version": 7,
    }  # fmt: skip
    return {**base, **fields}


def test_widgets_draw_stretch_goals_no_goal_and_hostile_names_under_the_page_csp(
    served, fundboard_server
):
    server = fundboard_server(CAMPAIGNS)  # off the loop: loads campaigns in-process
    page = served.page

    # Past the goal: the bar fills toward the next stretch goal, the goal a mark on the way.
    snapshot = _snapshot(total="150.00", donation_count=3, progress=1.5, milestones=["50", "200"])
    errors = _show(served, server, "/c/s/thermometer", snapshot)
    assert page.locator("#total").inner_text() == "150.00"
    assert page.locator("#goal").inner_text() == "$100.00"
    assert page.locator("#percent").inner_text() == "75%"
    assert page.locator("#stretch-goal").inner_text() == "$200"
    assert page.locator(".fb-milestone-label").all_inner_texts() == ["$50", "$100", "$200"]
    assert page.locator("#goal-badge").is_visible()
    assert errors == []  # the import map and every module were allowed and loaded

    # No goal: the total and count alone.
    snapshot = _snapshot(slug="open", goal="0.00", total="12.00", donation_count=1)
    _show(served, server, "/c/open/thermometer", snapshot)
    assert page.locator("#total").inner_text() == "12.00"
    assert page.locator("#count-label").inner_text() == "donation"
    for hidden in ("#of", "#percent", "#percent-sep"):
        assert page.locator(hidden).is_hidden(), hidden

    # Another locale and language; names are text.
    name = "<b>Bold</b> & co"
    top = [{"name": name, "total": "1234.5"}, {"name": "Anonymous", "total": "5"}]
    _show(
        served,
        server,
        "/c/s/top-donors?locale=de-DE&lang=de",
        _snapshot(currency="EUR", top_donors=top),
    )
    assert page.locator(".fb-name").all_inner_texts() == [name, "Anonym"]
    assert page.locator(".fb-row-amount").all_inner_texts() == ["1.234,50\u00a0€", "5,00\u00a0€"]
    assert page.locator("b").count() == 0


def test_after_collectstatic_every_module_loads_by_its_hashed_name(
    fundboard_server, page, tmp_path
):
    """Production: the entry and, through the import map, each module it imports come by
    hashed names (cached for long by WhiteNoise), so no release mixes old and new modules."""
    env = {"FUNDBOARD_COLLECTED_STATIC": "1", "STATIC_ROOT": str(tmp_path / "collected")}
    server = fundboard_server(CAMPAIGNS, start=False, extra_env=env)
    server.manage("collectstatic", "--noinput", "-v0")
    server.start()
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    page.goto(f"{server.url}/c/s/alerts")
    page.wait_for_selector("html:not([data-pending])")
    paths = [urlsplit(url).path for url in scripts]
    assert len(paths) == 1 + len(MODULES), paths  # each loaded once, by one name
    assert all(re.fullmatch(r"/static/fundboard/[a-z/_]+\.[0-9a-f]{12}\.js", p) for p in paths)
