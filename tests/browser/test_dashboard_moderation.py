"""The staff dashboard in headless Chromium: moderation reaches an open public page live;
moderators cannot open source settings; anonymous visitors get the login page and no socket."""

from __future__ import annotations

from playwright.sync_api import expect

from ..test_dashboard_helpers import (
    CAMPAIGN,
    PASSWORD,
    StaffSession,
    create_user,
    donor_names,
)

# Generous: other suites may share the machine; a real failure still fails, only later.
WAIT = 15_000

WITH_SOURCE = (
    CAMPAIGN
    + """
  [[campaign.source]]
  kind = "p2p"
  name = "Walk"
  base_url = "http://127.0.0.1:9"
  api_key = "browser-test-key"
  poll_interval = 3600
"""
)


def _log_in(page, server, path: str, username: str) -> None:
    page.goto(server.url + path)
    assert "/admin/login/" in page.url  # the dashboard sends visitors to the login page
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(server.url + path)


def test_staff_hides_a_name_and_the_open_top_donors_page_shows_anonymous(
    fundboard_server, browser, page
):
    server = fundboard_server(CAMPAIGN)
    create_user(server, "olive", "Organisers")
    staff = StaffSession(server, "olive")
    donation_id = staff.add_manual("spring", "Ann Example", "50.00", "Good luck!")
    staff.add_manual("spring", "Bob Other", "20.00")

    viewer = browser.new_context()
    public = viewer.new_page()
    public.goto(f"{server.url}/c/spring/top-donors")
    names = public.locator(".fb-name")
    expect(names.first).to_have_text("Ann Example", timeout=WAIT)

    with server.live_client("spring") as socket:
        socket.receive()
        _log_in(page, server, "/dashboard/spring/", "olive")
        expect(page.locator("#socket-state")).to_have_text("live", timeout=WAIT)
        row = page.locator(f"tr[data-donation-id='{donation_id}']")
        expect(row.locator(".real-name")).to_have_text("Ann Example", timeout=WAIT)
        row.locator("button[data-action=hide_name]").click()

        # The public page changes without a reload; so do the socket and the JSON.
        expect(names.first).to_have_text("Anonymous", timeout=WAIT)
        expect(public.locator(".fb-name", has_text="Ann Example")).to_have_count(0, timeout=WAIT)
        socket.wait_for(
            lambda m: m["type"] == "snapshot" and donor_names(m["data"])[0] == "Anonymous"
        )
    assert donor_names(server.snapshot("spring")) == ["Anonymous", "Bob Other"]
    # The dashboard still shows staff the real name, and who hid it.
    expect(row.locator(".public-name")).to_contain_text("Anonymous", timeout=WAIT)
    expect(page.locator("#actions li").first).to_contain_text("olive", timeout=WAIT)
    expect(page.locator("#actions li").first).to_contain_text("Hid name", timeout=WAIT)

    row.locator("button[data-action=restore_name]").click()
    expect(names.first).to_have_text("Ann Example", timeout=WAIT)
    viewer.close()


def test_a_moderator_cannot_open_source_settings(fundboard_server, page):
    server = fundboard_server(WITH_SOURCE)
    create_user(server, "moe", "Moderators")
    _log_in(page, server, "/dashboard/spring/", "moe")
    expect(page.locator("#socket-state")).to_have_text("live", timeout=WAIT)
    expect(page.locator("#health-section")).to_have_count(0, timeout=WAIT)
    expect(page.get_by_text("Manual donations")).to_have_count(0, timeout=WAIT)

    response = page.goto(f"{server.url}/admin/campaigns/source/1/change/")
    assert response.status == 403
    response = page.goto(f"{server.url}/admin/campaigns/source/")
    assert response.status == 403
    page.goto(f"{server.url}/admin/")
    expect(page.locator("a[href='/admin/campaigns/source/']")).to_have_count(0, timeout=WAIT)
    assert "browser-test-key" not in page.content()


def test_anonymous_visitors_get_the_login_page_and_no_staff_socket(fundboard_server, page):
    server = fundboard_server(CAMPAIGN)
    for path in (
        "/dashboard/",
        "/dashboard/spring/",
        "/dashboard/spring/feed.json",
        "/dashboard/spring/health.json",
        "/dashboard/spring/manual/",
        "/dashboard/spring/embed/",
        "/dashboard/spring/export/?download=1",
    ):
        page.goto(server.url + path)
        assert "/admin/login/" in page.url, path
        expect(page.locator("#id_username")).to_be_visible(timeout=WAIT)

    outcome = page.evaluate(
        """(url) => new Promise((resolve) => {
            const ws = new WebSocket(url);
            ws.onopen = () => resolve("open");
            ws.onmessage = () => resolve("message");
            ws.onclose = () => resolve("refused");
            setTimeout(() => resolve("timeout"), 5000);
        })""",
        f"ws://127.0.0.1:{server.port}/ws/dashboard/spring",
    )
    assert outcome == "refused"
