"""Widgets in a real Chromium: the viewer's language after live updates, digits in a real
font for `font=rounded`, stretch goals, milestone labels at 375 px, full width, the embed
builder's script snippet."""

from __future__ import annotations

import pytest

from ..dashboard_support import PASSWORD, create_user
from .shared_server import Spec, shared_server
from .test_widgets_look import HostSite


@pytest.fixture(scope="module")
def shared(tmp_path_factory, django_db_blocker):
    """The worker's browser server; each test has its own campaign (slug) in it."""
    specs = [
        Spec("german", goal="100", milestones='["50"]'),
        Spec("plain-words", streamed=False),  # read-only tests: nobody donates to it
        Spec("label", goal="100"),
        Spec("stretch", goal="100", milestones='["50", "200", "400"]'),
        Spec(
            "close",
            goal="25000",
            milestones='["5000", "6000", "10000", "11000", "12500", "20000"]',
            streamed=False,
        ),
        Spec("spring", streamed=False),  # the embed builder's campaign
    ]
    with shared_server(tmp_path_factory, django_db_blocker, *specs) as server:
        yield server


def _live(page) -> None:
    page.wait_for_function("() => document.documentElement.dataset.connection === 'live'")


def test_german_thermometer_keeps_german_words_after_a_live_update(shared, page):
    campaign = shared.campaign("german")
    page.goto(campaign.url("thermometer", "lang=de"))
    assert page.evaluate("document.documentElement.lang") == "de"
    _live(page)
    campaign.donate({"nickname": "Anna", "amount": "120.00"})
    page.wait_for_function("() => document.getElementById('count').textContent === '1'")
    assert page.locator("#count-label").inner_text() == "Spende"
    assert page.locator("#raised-of").inner_text() == "gesammelt von"
    page.wait_for_function("() => !document.getElementById('goal-badge').hidden")
    assert page.locator("#goal-badge").inner_text() == "Ziel erreicht!"
    page.wait_for_function("() => !document.getElementById('celebration').hidden")
    assert "Ziel erreicht! Danke!" in page.locator("#celebration").inner_text()
    campaign.donate({"nickname": "Ben", "amount": "1.00"})
    page.wait_for_function("() => document.getElementById('count').textContent === '2'")
    assert page.locator("#count-label").inner_text() == "Spenden"


def test_german_ticker_draws_german_words(shared, page):
    campaign = shared.campaign("plain-words")
    page.goto(campaign.url("ticker", "locale=de-DE"))
    assert page.evaluate("document.documentElement.lang") == "de"
    assert page.locator(".fb-ticker-label").inner_text().lower() == "neueste"
    _live(page)
    assert "Spenden erscheinen hier" in page.locator("#track").inner_text()


def test_label_override_is_drawn_as_text(shared, page):
    campaign = shared.campaign("label")
    page.goto(campaign.url("thermometer", "label_goal=%3Cimg%20src%3Dx%3EDone"))
    _live(page)
    campaign.donate({"nickname": "Anna", "amount": "150.00"})
    page.wait_for_function("() => !document.getElementById('goal-badge').hidden")
    assert page.locator("#goal-badge").inner_text() == "<img src=x>Done"
    assert page.locator("#goal-badge img").count() == 0


# Widths of a run of digits in the total's own font, in the bundled rounded font alone, and
# in the colour-emoji font alone: the digits must come from a text font, never the emoji one.
MEASURE_DIGITS = """async () => {
  await document.fonts.ready;
  const style = getComputedStyle(document.getElementById("total"));
  function width(family) {
    const probe = document.createElement("span");
    probe.style.cssText = "position:absolute;white-space:nowrap;font-size:40px;font-weight:" +
      style.fontWeight + ";font-family:" + family;
    probe.textContent = "1111100000";
    document.body.appendChild(probe);
    const w = probe.getBoundingClientRect().width;
    probe.remove();
    return w;
  }
  return {
    page: width(style.fontFamily),
    rounded: width('"Fundboard Rounded"'),
    emoji: width('"Noto Color Emoji"'),
    loaded: (await document.fonts.load(style.fontWeight + ' 40px "Fundboard Rounded"', "01"))
      .length,
    family: style.fontFamily,
  };
}"""


def test_font_rounded_draws_digits_from_a_text_font(shared, page):
    campaign = shared.campaign("plain-words")
    page.goto(campaign.url("thermometer", "font=rounded"))
    _live(page)
    page.wait_for_function("() => document.fonts.status === 'loaded'")
    widths = page.evaluate(MEASURE_DIGITS)
    assert widths["loaded"], widths  # the bundled font loaded (served by us, no CDN)
    assert widths["page"] == pytest.approx(widths["rounded"], abs=0.5), widths
    assert abs(widths["page"] - widths["emoji"]) > 2, widths


def test_no_font_takes_digits_from_the_emoji_font(shared, page):
    campaign = shared.campaign("plain-words")
    for font in ["system", "sans", "serif", "mono", "condensed", "impact"]:
        page.goto(campaign.url("thermometer", f"font={font}"))
        _live(page)
        widths = page.evaluate(MEASURE_DIGITS)
        assert abs(widths["page"] - widths["emoji"]) > 2, (font, widths)
        # A text font's "1" is narrower than its "0"; an emoji font's keycap digits are equal.
        narrow = page.evaluate(
            """() => {
              const f = getComputedStyle(document.getElementById('total')).fontFamily;
              const w = t => { const s = document.createElement('span');
                s.style.cssText = 'position:absolute;font-size:40px;font-family:' + f;
                s.textContent = t; document.body.appendChild(s);
                const r = s.getBoundingClientRect().width; s.remove(); return r; };
              return [w('1111111111'), w('8888888888')];
            }"""
        )
        assert narrow[0] <= narrow[1], (font, narrow)  # (equal in monospace fonts)


def test_stretch_goal_after_the_goal_is_passed(shared, page):
    campaign = shared.campaign("stretch")
    page.goto(campaign.url("thermometer"))
    _live(page)
    assert page.locator("#stretch").is_hidden()
    campaign.donate({"nickname": "Big", "amount": "150.00"})
    page.wait_for_function("() => !document.getElementById('stretch').hidden")
    assert page.locator("#stretch").inner_text() == "Stretch goal: $200"
    page.wait_for_function("() => document.getElementById('fill').style.width === '75%'")
    assert page.locator("#percent").inner_text() == "75%"
    # The goal itself is now a mark on the bar, at 100/200.
    assert page.locator('.fb-milestone[data-amount="100.00"]').count() == 1
    campaign.donate({"nickname": "Bigger", "amount": "100.00"})
    page.wait_for_function(
        "() => document.getElementById('stretch-goal').textContent === '$400'", timeout=15_000
    )
    page.wait_for_function("() => document.getElementById('fill').style.width === '62%'")


def test_close_milestone_labels_never_overlap_at_375px(shared, browser):
    campaign = shared.campaign("close")
    context = browser.new_context(viewport={"width": 375, "height": 640})
    page = context.new_page()
    page.goto(campaign.url("thermometer"))
    _live(page)
    boxes = page.evaluate(
        """() => Array.from(document.querySelectorAll('.fb-milestone-label'))
          .filter(l => getComputedStyle(l).visibility !== 'hidden')
          .map(l => { const r = l.getBoundingClientRect();
                      return {left: r.left, right: r.right, text: l.textContent}; })"""
    )
    context.close()
    assert len(boxes) >= 2, boxes  # some labels stay
    boxes.sort(key=lambda box: box["left"])
    for before, after in zip(boxes, boxes[1:], strict=False):
        assert before["right"] <= after["left"], boxes
    assert boxes[-1]["text"] == "$20,000"  # the largest is always kept
    assert all(box["right"] <= 375 for box in boxes), boxes


def test_width_full_spans_a_1920px_browser_source(shared, browser):
    campaign = shared.campaign("plain-words")
    context = browser.new_context(viewport={"width": 1920, "height": 200})
    page = context.new_page()
    page.goto(campaign.url("ticker", "overlay=1"))
    capped = page.locator(".fb-card").bounding_box()["width"]
    page.goto(campaign.url("ticker", "overlay=1&width=full"))
    full = page.locator(".fb-card").bounding_box()["width"]
    context.close()
    assert capped < 1100
    assert full > 1850


def test_favicon_loads(shared, page):
    campaign = shared.campaign("plain-words")
    response = page.goto(f"{campaign.server.url}/favicon.ico")
    assert response.status == 200
    assert response.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")


def test_embed_builder_script_snippet_uses_embed_js(shared, browser, page):
    server = shared.server
    create_user(server, "olive", "Organisers")
    page.goto(server.url + "/dashboard/spring/embed/")
    page.fill("#id_username", "olive")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(server.url + "/dashboard/spring/embed/")
    page.select_option("#embed-widget", "ticker")
    page.select_option("select[name=font]", "rounded")
    page.fill("input[name=label_latest]", 'New "now"')
    # The builder redraws 250 ms after the last change: wait for the last one (the label).
    page.wait_for_function(
        "() => document.getElementById('embed-script').value.includes('data-label-latest')"
    )
    snippet = page.locator("#embed-script").input_value()
    assert snippet.startswith(f'<script src="{server.url}/static/fundboard/embed.js"')
    assert 'data-campaign="spring" data-widget="ticker"' in snippet
    assert 'data-font="rounded"' in snippet
    assert 'data-label-latest="New &quot;now&quot;"' in snippet
    assert "<iframe" not in snippet

    site = HostSite()  # the snippet pasted into another website places the widget
    context = browser.new_context()
    try:
        host = context.new_page()
        host.goto(site.page(snippet))
        frame = host.locator("iframe")
        frame.wait_for()
        src = frame.get_attribute("src")
        assert src.startswith(f"{server.url}/c/spring/ticker?")
        assert "font=rounded" in src and "label_latest=New+%22now%22" in src
        label = host.frame_locator("iframe").locator(".fb-ticker-label")
        assert label.inner_text(timeout=15_000).lower() == 'new "now"'
    finally:
        context.close()
        site.close()
