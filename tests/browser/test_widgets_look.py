"""How widgets look and embed in a real Chromium: transparent overlays, themes, text, iframes."""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from ..support import wait_for
from .shared_server import Spec, shared_server

LONG_NAME = "Bartholomew Maximilian Fitzgerald-Worthington"  # ingest keeps 26 characters


def _pixel(browser, png: bytes, x: int, y: int) -> list[int]:
    """RGBA of one pixel of a PNG, decoded by the browser on a blank page of its own."""
    context = browser.new_context()
    blank = context.new_page()
    rgba = blank.evaluate(
        """async ([data, x, y]) => {
            const image = new Image();
            image.src = "data:image/png;base64," + data;
            await image.decode();
            const canvas = document.createElement("canvas");
            canvas.width = image.width; canvas.height = image.height;
            const context = canvas.getContext("2d");
            context.drawImage(image, 0, 0);
            return Array.from(context.getImageData(x, y, 1, 1).data);
        }""",
        [base64.b64encode(png).decode(), x, y],
    )
    context.close()
    return rgba


def _stage(page, origin: str, body: str, path: str = "/__stage") -> str:
    """Serve a page of our own at `origin + path` (Playwright answers it, not the server)."""
    html = f"<!doctype html><html><head><meta charset='utf-8'></head><body>{body}</body></html>"
    page.route(origin + path, lambda route: route.fulfill(body=html, content_type="text/html"))
    return origin + path


class HostSite:
    """Another website on loopback (a real HTTP server) that embeds our widgets.

    A real server rather than a routed page: Chromium's local-network checks stop pages
    without a loopback address from loading anything from the loopback Fundboard server.
    """

    def __init__(self):
        pages = self.pages = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                body = pages.get(self.path, "not found").encode()
                self.send_response(200 if self.path in pages else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def page(self, body: str, path: str = "/") -> str:
        self.pages[path] = f"<!doctype html><html><head><meta charset='utf-8'></head><body>{body}"
        return self.origin + path

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def allowed_site():
    """The one other website the "framed" campaign lists in its allowed origins (it must
    exist before the shared server starts: the origin is a campaign setting)."""
    site = HostSite()
    yield site
    site.close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory, django_db_blocker, allowed_site):
    """The worker's browser server; each test has its own campaign (slug) in it."""
    specs = [
        Spec("overlay"),
        Spec("plain", streamed=False),  # read-only tests: nobody donates to it
        Spec("locale", goal="5000"),
        Spec("names"),
        Spec("framed", extra=f'allowed_origins = "{allowed_site.origin}"', streamed=False),
    ]
    with shared_server(tmp_path_factory, django_db_blocker, *specs) as server:
        yield server


@pytest.fixture
def host_site():
    sites = []

    def start() -> HostSite:
        sites.append(HostSite())
        return sites[-1]

    yield start
    for site in sites:
        site.close()


def test_overlay_background_is_transparent(shared, page, browser):
    campaign = shared.campaign("overlay")
    campaign.donate({"nickname": "Ann", "amount": "120.00"})
    page.goto(campaign.url("thermometer", "overlay=1"))
    page.wait_for_function("() => document.getElementById('total').textContent === '120.00'")
    # With no page background at all, the overlay's own pixels are fully transparent...
    corner = _pixel(browser, page.screenshot(omit_background=True), 795, 595)
    assert corner[3] == 0
    # ...whereas the normal page paints its own (opaque white) background.
    page.goto(campaign.url("thermometer"))
    assert _pixel(browser, page.screenshot(omit_background=True), 795, 595) == [255, 255, 255, 255]
    # Framed over a magenta page (as OBS composites it over a scene), magenta shows through.
    stage = _stage(
        page,
        campaign.server.url,
        "<style>body{margin:0;background:#ff00ff}</style>"
        f"<iframe src='{campaign.url('thermometer', 'overlay=1')}'"
        " style='border:0;width:800px;height:600px'></iframe>",
    )
    page.goto(stage)
    page.frame_locator("iframe").locator("#total").wait_for()
    shot = page.screenshot()
    assert _pixel(browser, shot, 790, 590)[:3] == [255, 0, 255]
    # The bar itself is drawn: not magenta where the fill is.
    box = page.frame_locator("iframe").locator("#fill").bounding_box()
    inside = _pixel(browser, shot, int(box["x"] + 5), int(box["y"] + box["height"] / 2))
    assert inside[:3] != [255, 0, 255]


def test_theme_parameters_change_what_is_drawn(shared, page):
    campaign = shared.campaign("plain")
    page.goto(campaign.url("thermometer", "bar=%23ff6600&text=white&bg=black&size=30&font=serif"))
    fill = page.locator("#fill").evaluate("e => getComputedStyle(e).backgroundColor")
    assert fill == "rgb(255, 102, 0)"
    html = page.locator("html")
    assert html.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(0, 0, 0)"
    assert html.evaluate("e => getComputedStyle(e).color") == "rgb(255, 255, 255)"
    assert html.evaluate("e => getComputedStyle(e).fontSize") == "30px"
    assert "Georgia" in html.evaluate("e => getComputedStyle(e).fontFamily")
    # A value outside the allow-list is ignored: the default green bar.
    page.goto(campaign.url("thermometer", "bar=red;}html{display:none"))
    assert page.locator("#fill").evaluate("e => getComputedStyle(e).backgroundColor") == (
        "rgb(26, 127, 55)"
    )
    assert page.locator("#total").is_visible()


def test_locale_and_currency_display_format_amounts(shared, page):
    campaign = shared.campaign("locale")
    campaign.donate({"nickname": "Ann", "amount": "1234.50"})
    page.goto(campaign.url("thermometer"))
    page.wait_for_function("() => document.getElementById('total').textContent === '1,234.50'")
    page.goto(campaign.url("thermometer", "locale=de-DE&currency_display=code"))
    page.wait_for_function("() => document.getElementById('total').textContent === '1.234,50'")
    assert page.locator(".fb-raised").inner_text().replace("\u00a0", " ") == "1.234,50 USD"
    assert page.locator("#goal").inner_text().replace("\u00a0", " ") == "5.000,00 USD"
    page.goto(campaign.url("thermometer", "decimals=0"))
    page.wait_for_function("() => document.getElementById('total').textContent === '1,235'")


def test_long_rtl_and_emoji_names_render_as_given(shared, page):
    campaign = shared.campaign("names")
    campaign.donate(
        {"nickname": LONG_NAME, "amount": "30.00"},
        {"nickname": "مريم", "amount": "20.00"},
        {"nickname": "🦊 Foxy 🎉", "amount": "10.00"},
    )
    page.set_viewport_size({"width": 320, "height": 400})
    page.goto(campaign.url("top-donors"))
    page.wait_for_function("() => document.querySelectorAll('.fb-row').length === 3")
    page.wait_for_function("() => document.documentElement.dataset.connection === 'live'")
    names = page.locator(".fb-row .fb-name")
    assert names.all_inner_texts()[1:] == ["مريم", "🦊 Foxy 🎉"]
    long_name = names.first
    assert long_name.evaluate("e => getComputedStyle(e).textOverflow") == "ellipsis"
    assert long_name.evaluate("e => e.scrollWidth > e.clientWidth")  # cut, with an ellipsis
    assert long_name.get_attribute("title").startswith("Bartholomew")
    assert names.nth(1).evaluate("e => getComputedStyle(e).direction") == "rtl"
    # The amount column stays whole however long the name.
    amount = page.locator(".fb-row-amount").first
    assert amount.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    emoji_box = names.nth(2).bounding_box()
    assert emoji_box["width"] > 40


def test_embed_script_places_an_iframe_that_fits_its_content(shared, page, host_site):
    campaign = shared.campaign("plain")
    server = campaign.server.url
    stage = host_site().page(
        "<h1>Our drive</h1>"
        f"<script src='{server}/static/fundboard/embed.js' data-campaign='plain'"
        " data-widget='thermometer' data-bar='#ff6600' data-title='Drive progress'></script>"
        "<p id='after'>after</p>"
    )
    page.goto(stage)
    frame = page.locator("iframe")
    assert frame.get_attribute("src") == f"{server}/c/plain/thermometer?bar=%23ff6600"
    assert frame.get_attribute("title") == "Drive progress"
    # The iframe sits where the script was, before the paragraph after it.
    assert page.evaluate("() => document.querySelector('iframe').nextElementSibling.id") == "after"
    inner = page.frame_locator("iframe")
    # Polled: the element can exist before the frame's stylesheet has applied (seen under load).
    expect(inner.locator("#fill")).to_have_css("background-color", "rgb(255, 102, 0)")
    # The widget reports its height; the iframe takes it (not the 190 px default).
    page.wait_for_function("() => document.querySelector('iframe').style.height !== '190px'")
    height = float(frame.evaluate("e => parseFloat(e.style.height)"))
    content = inner.locator("body").evaluate("e => e.getBoundingClientRect().height")
    assert abs(height - content) <= 2


def test_only_the_campaigns_origins_may_frame_its_widgets(shared, allowed_site, page, host_site):
    allowed, other = allowed_site, host_site()
    campaign = shared.campaign("framed")
    widget = campaign.url("thermometer")
    refused = "chrome-error://chromewebdata/"  # what Chromium shows in a frame it refused
    for site, expected_url, expected_frames in ((allowed, widget, 1), (other, refused, 0)):
        # goto returns on the host page's load event, which waits for its frames: loaded,
        # or refused. Waiting for one of the two ends (no fixed sleep) then says which.
        page.goto(site.page(f"<iframe src='{widget}'></iframe>"))
        wait_for(lambda: page.frames[-1].url in (widget, refused), timeout=10)
        assert page.frames[-1].url == expected_url, site.origin  # frame-ancestors decides
        framed = page.frame_locator("iframe").locator("#total")
        assert framed.count() == expected_frames, site.origin
    assert framed.count() == 0
