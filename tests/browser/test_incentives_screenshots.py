"""Saves the marathon widgets' screenshots in docs/screenshots (only with
FUNDBOARD_SCREENSHOTS=1), like test_widgets_screenshots.py does for the others:

    FUNDBOARD_SCREENSHOTS=1 .venv/bin/python -m pytest tests/browser/test_incentives_screenshots.py

A marathon campaign fed by the sandbox's ImRaising stream: a run started, tagged donations
streamed (a goal, a bid war, a stretch chain), then incentives.png, schedule.png, their
-overlay.png over a dark scene, and an alert naming its incentive (alerts-incentive-overlay.png).
"""

from __future__ import annotations

import os

import pytest

from fundboard.sandbox.imraising import ADVANCED_KEY

from ..support import http, wait_for
from .screenshots import OUT, _live, _stage

pytestmark = pytest.mark.skipif(
    os.environ.get("FUNDBOARD_SCREENSHOTS") != "1", reason="set FUNDBOARD_SCREENSHOTS=1"
)

MARATHON = """
[[campaign]]
slug = "marathon"
name = "Speedrun Marathon 2026"
goal = "10000"
currency = "USD"
  [[campaign.source]]
  kind = "imraising"
  name = "Stream"
  base_url = "{url}"
  api_key = "{key}"
  [[campaign.run]]
  title = "Zelda: Ocarina of Time any%"
  minutes = 90
  [[campaign.run]]
  title = "Super Mario 64 120 star"
  minutes = 240
  [[campaign.incentive]]
  key = "blindfold"
  kind = "goal"
  title = "Final boss blindfolded"
  goal = "500"
  tags = ["blindfold"]
  run = "Zelda: Ocarina of Time any%"
  [[campaign.incentive]]
  key = "hero"
  kind = "bidwar"
  title = "Name the hero"
  winners = 1
    [[campaign.incentive.option]]
    title = "Link"
    tags = ["link"]
    [[campaign.incentive.option]]
    title = "Zelda"
    tags = ["zelda"]
    [[campaign.incentive.option]]
    title = "Navi"
    tags = ["navi"]
  [[campaign.incentive]]
  key = "bonus"
  kind = "stretch"
  title = "Bonus games"
  tags = ["bonus"]
    [[campaign.incentive.option]]
    title = "Tetris 99"
    goal = "300"
    [[campaign.incentive.option]]
    title = "Pogo speedrun"
    goal = "800"
"""

START_FIRST_RUN = """
from fundboard.incentives.models import Run
from fundboard.incentives.schedule import start_run
start_run(Run.objects.get(title="Zelda: Ocarina of Time any%").pk)
"""

DONATIONS = [
    ("Ann Lee", "120.00", "Blindfold it! #blindfold"),
    ("Priya K.", "85.00", "#zelda obviously"),
    ("Jonas", "40.00", "#link"),
    ("🦊 Foxy", "60.00", "#zelda 🎉"),
    ("Sam", "25.00", "#navi hey listen"),
    ("مريم", "150.00", "#bonus"),
    ("Bartholomew", "230.00", "More games #bonus"),
]

# (file name, widget, query, viewport width, height)
SHOTS = [
    ("incentives", "incentives", "", 520, 560),
    ("schedule", "schedule", "", 520, 120),
]


def _shoot(browser, server, name, widget, query, width, height, overlay) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    params = "&".join(p for p in (query, "overlay=1" if overlay else "") if p)
    url = f"{server.url}/c/marathon/{widget}" + (f"?{params}" if params else "")
    if overlay:
        _stage(page, server.url, url, width, height)
        target = page.locator("iframe").element_handle().content_frame()
    else:
        page.goto(url)
        target = page
    _live(target)
    page.wait_for_timeout(1200)
    page.screenshot(path=str(OUT / f"{name}{'-overlay' if overlay else ''}.png"))
    context.close()


def _alert_shot(browser, server, donate) -> None:
    context = browser.new_context(viewport={"width": 720, "height": 240})
    page = context.new_page()
    url = f"{server.url}/c/marathon/alerts?overlay=1&duration=60&sound=none"
    _stage(page, server.url, url, 720, 240)
    target = page.locator("iframe").element_handle().content_frame()
    _live(target)
    donate({"nickname": "Mia", "amount": "30.00", "message": "Go Zelda! #zelda"})
    target.wait_for_selector(".fb-alert-incentive")
    page.wait_for_timeout(1200)
    page.screenshot(path=str(OUT / "alerts-incentive-overlay.png"))
    context.close()


def test_save_marathon_screenshots(sandbox_server, fundboard_server, browser):
    toml = MARATHON.format(url=sandbox_server.url, key=ADVANCED_KEY)
    server = fundboard_server(toml)  # loads campaigns in-process
    server.shell(START_FIRST_RUN)

    def donate(spec: dict) -> None:
        body = {"currency": "USD", **spec}
        url = f"{sandbox_server.url}/_sandbox/imraising/donations"
        http.post(url, json=body, timeout=10).raise_for_status()

    for name, amount, message in DONATIONS:
        donate({"nickname": name, "amount": amount, "message": message})
    wait_for(lambda: server.snapshot("marathon")["total"] == "710.00", timeout=30)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, widget, query, width, height in SHOTS:
        for overlay in (False, True):
            _shoot(browser, server, name, widget, query, width, height, overlay)
    _alert_shot(browser, server, donate)
    names = ["incentives", "schedule", "incentives-overlay", "schedule-overlay"]
    assert all((OUT / f"{n}.png").stat().st_size > 1000 for n in names)
