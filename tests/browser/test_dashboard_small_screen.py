"""The staff dashboard on a 375 px phone and with a keyboard (issue 13): no page-wide
horizontal scroll (wide tables scroll in their own box), the skip link is the first tab stop
and lands on the content, every aria reference points at an element that exists, the removal
of a manual donation asks first and can be undone, and the chart is drawn."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..dashboard_support import StaffSession, create_user
from ..support import wait_for
from .shared_server import shared_server
from .test_dashboard_moderation import _log_in, staff_campaign

WAIT = 15_000
PAGES = [
    "/dashboard/",
    "/dashboard/phone/",
    "/dashboard/phone/manual/",
    "/dashboard/phone/settings/",
    "/dashboard/phone/embed/",
    "/dashboard/phone/export/",
]
CHART_SUM = (
    "[...document.querySelectorAll('#chart rect.chart-bar')]"
    ".reduce((sum, bar) => sum + Number(bar.dataset.amount), 0)"
)

MISSING_ARIA_REFERENCES = """() => {
  const missing = [];
  for (const attribute of ["aria-describedby", "aria-labelledby", "aria-controls"]) {
    for (const node of document.querySelectorAll(`[${attribute}]`)) {
      for (const id of node.getAttribute(attribute).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) missing.push(`${attribute}=${id}`);
      }
    }
  }
  return missing;
}"""


@pytest.fixture(scope="module")
def shared(tmp_path_factory, django_db_blocker):
    """One server for the module, a campaign of its own per test, one organiser."""
    toml = staff_campaign("phone", source=True) + staff_campaign("undo")
    with shared_server(tmp_path_factory, django_db_blocker, toml=toml) as server:
        create_user(server.server, "olive", "Organisers")
        yield server.server


def test_dashboard_pages_fit_a_375px_phone_and_work_by_keyboard(shared, browser):
    server = shared
    staff = StaffSession(server, "olive")
    for index in range(3):
        staff.add_manual("phone", f"Donor Longname {index}", "500.00", "x" * 80)

    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    _log_in(page, server, "/dashboard/phone/", "olive")
    expect(page.locator("#socket-state")).to_have_text("live", timeout=WAIT)
    expect(page.locator("#feed tr")).to_have_count(3, timeout=WAIT)
    expect(page.locator("#total")).to_have_text("$1,500.00", timeout=WAIT)
    hide = page.locator("#feed button[data-action=hide_name]").first
    assert hide.get_attribute("aria-label") == "Hide name: $500.00 from Donor Longname 2"
    assert page.locator("#chart rect.chart-bar").count() == 60
    assert page.evaluate(CHART_SUM) == 1500
    # The tallest bar is drawn full height (no page CSS squashes the SVG's rects).
    tallest = page.evaluate(
        "Math.max(...[...document.querySelectorAll('#chart rect.chart-bar')]"
        ".map(bar => bar.getBoundingClientRect().height))"
    )
    assert tallest > 0.9 * page.locator("#chart").bounding_box()["height"] - 2
    # A new donation redraws the chart from chart.json (throttled to one redraw per 5 s).
    staff.add_manual("phone", "Chart Watcher", "7.00")
    wait_for(lambda: page.evaluate(CHART_SUM) == 1507, timeout=WAIT / 1000)
    assert page.locator("#chart rect.chart-bar").count() == 60

    for path in PAGES:
        page.goto(server.url + path)
        page.wait_for_load_state("load")
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 375, (path, width)
        assert page.evaluate(MISSING_ARIA_REFERENCES) == [], path
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link", path
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#main"
        assert page.evaluate("document.activeElement.id") == "main", path
    context.close()
    staff.close()


def test_removing_a_manual_donation_confirms_then_undo_restores(shared, page):
    server = shared
    staff = StaffSession(server, "olive")
    staff.add_manual("undo", "Big Cheque", "500.00")
    _log_in(page, server, "/dashboard/undo/manual/", "olive")

    page.get_by_role("link", name="Remove $500.00 from Big Cheque").click()
    expect(page.locator("h1")).to_have_text("Remove this manual donation?")
    assert server.total("undo") == "500.00"  # nothing happened yet
    page.get_by_role("button", name="Remove $500.00").click()
    expect(page.locator("#undo-form")).to_contain_text("Removed $500.00", timeout=WAIT)
    assert server.total("undo") == "0.00"
    page.locator("#undo-form button").click()
    expect(page.locator(".flash")).to_contain_text("Removal undone", timeout=WAIT)
    assert server.total("undo") == "500.00"
    staff.close()
