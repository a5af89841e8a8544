"""Screenshots of every widget, normal and as an OBS overlay over a dark scene, into docs/.

Run with the browser tests' own tooling:

    FUNDBOARD_SCREENSHOTS=1 .venv/bin/python -m pytest tests/browser/test_widgets_screenshots.py

It starts the sandbox and a real server with a campaign fed by the ImRaising stream and the
peer-to-peer demo walk, streams a few donations (long, right-to-left and emoji names among
them) and saves docs/screenshots/<widget>.png and <widget>-overlay.png.
"""

from __future__ import annotations

from pathlib import Path

from fundboard.sandbox.imraising import ADVANCED_KEY
from fundboard.sandbox.p2p import API_KEY as P2P_KEY
from fundboard.sandbox.p2p import DEMO_EVENT_ID

from ..support import REPO, wait_for

OUT = REPO / "docs" / "screenshots"

# (file name, widget, query, viewport width, height)
SHOTS = [
    ("thermometer", "thermometer", "", 720, 190),
    ("thermometer-vertical", "thermometer", "layout=vertical&size=20", 420, 420),
    ("thermometer-de", "thermometer", "lang=de&locale=de-DE&font=rounded", 720, 190),
    ("leaderboard", "leaderboard", "rows=6", 480, 420),
    ("leaderboard-teams", "leaderboard", "board=teams&rows=5", 480, 360),
    ("top-donors", "top-donors", "rows=8", 480, 470),
    ("ticker", "ticker", "", 960, 56),
    ("alerts", "alerts", "duration=60&sound=none", 720, 220),
]

# A stream scene behind the overlays: dark, with some texture, as a game or camera would be.
SCENE = "background:linear-gradient(135deg,#1d2b3a 0%,#101820 55%,#2a1f33 100%)"

DONATIONS = [
    {"nickname": "Ann Lee", "amount": "50.00", "message": "Keep it up!"},
    {"nickname": "مريم", "amount": "125.00", "message": "بالتوفيق للجميع"},
    {"nickname": "🦊 Foxy 🎉", "amount": "180.00", "message": "For the foxes!"},
    {"nickname": "Bartholomew Maximilian Fitzgerald-Worthington", "amount": "140.00"},
    {"nickname": "Jonas", "amount": "20.00"},
    {"nickname": "Priya K.", "amount": "250.00", "message": "Matching my team's gift 💚"},
]


def campaign_toml(sandbox_url: str) -> str:
    return f"""
[[campaign]]
slug = "river"
name = "River Walk & Stream 2026"
goal = "5000"
currency = "USD"
milestones = ["1000", "2500", "4000"]
  [[campaign.source]]
  kind = "imraising"
  name = "Stream"
  base_url = "{sandbox_url}"
  api_key = "{ADVANCED_KEY}"
  [[campaign.source]]
  kind = "p2p"
  name = "River Walk"
  base_url = "{sandbox_url}"
  api_key = "{P2P_KEY}"
  ids = {{ event_id = "{DEMO_EVENT_ID}" }}
"""


def _stage(page, server_url: str, widget_url: str, width: int, height: int) -> None:
    """The overlay framed over a dark scene, served on the server's origin by Playwright."""
    html = (
        "<!doctype html><html><body style='margin:0;" + SCENE + "'>"
        f"<iframe src='{widget_url}' style='border:0;display:block;width:{width}px;"
        f"height:{height}px'></iframe></body></html>"
    )
    stage_url = f"{server_url}/__screenshot_stage"
    page.route(stage_url, lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(stage_url)


def _live(frame) -> None:
    frame.wait_for_function("() => document.documentElement.dataset.connection === 'live'")


def capture(browser, server, donate, out: Path = OUT) -> list[Path]:
    """Save every screenshot; `donate(spec)` streams one donation through the sandbox."""
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    for name, widget, query, width, height in SHOTS:
        for overlay in (False, True):
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            params = "&".join(p for p in (query, "overlay=1" if overlay else "") if p)
            url = f"{server.url}/c/river/{widget}" + (f"?{params}" if params else "")
            if overlay:
                _stage(page, server.url, url, width, height)
                target = page.locator("iframe").element_handle().content_frame()
            else:
                page.goto(url)
                target = page
            _live(target)
            if widget == "alerts":
                donate({"nickname": "Sam 🎮", "amount": "15.00", "message": "GG! Love this cause"})
                target.wait_for_selector(".fb-alert")
            page.wait_for_timeout(1500)  # count-ups, pop-ins and the ticker settle
            path = out / f"{name}{'-overlay' if overlay else ''}.png"
            page.screenshot(path=str(path))
            saved.append(path)
            context.close()
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.goto(f"{server.url}/c/river/")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(out / "index.png"))
    saved.append(out / "index.png")
    context.close()
    return saved


def seed(server, donate) -> None:
    for spec in DONATIONS:
        donate(spec)
    wait_for(lambda: len(server.snapshot("river")["recent"]) >= len(DONATIONS), timeout=30)
    wait_for(lambda: server.snapshot("river")["fundraisers"], timeout=30)
