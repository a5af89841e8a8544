"""Saves the staff dashboard's screenshots in docs/screenshots (only with
FUNDBOARD_SCREENSHOTS=1): the live page with its chart, wide and on a 375 px phone.

    FUNDBOARD_SCREENSHOTS=1 .venv/bin/python -m pytest tests/browser/test_dashboard_screenshots.py
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from ..dashboard_support import StaffSession, create_user
from .screenshots import OUT
from .test_dashboard_moderation import WITH_SOURCE, _log_in

pytestmark = pytest.mark.skipif(
    os.environ.get("FUNDBOARD_SCREENSHOTS") != "1", reason="set FUNDBOARD_SCREENSHOTS=1"
)

GIFTS = [
    ("Ann Lee", "50.00", 52), ("Priya K.", "250.00", 47), ("Jonas", "20.00", 41),
    ("Foxy", "180.00", 33), ("Mariam", "125.00", 30), ("Sam", "35.00", 22),
    ("Office collection", "410.00", 15), ("Ravi", "60.00", 9), ("Lee", "25.00", 4),
    ("Matching gift", "500.00", 1),
]  # fmt: skip


def test_save_dashboard_screenshots(fundboard_server, browser):
    server = fundboard_server(WITH_SOURCE)  # loads campaigns in-process
    create_user(server, "olive", "Organisers")
    staff = StaffSession(server, "olive")
    now = datetime.now(UTC)
    for name, amount, minutes_ago in GIFTS:
        when = (now - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M")
        staff.add_manual("spring", name, amount, donated_at=when)
    for width, height, name in [(1280, 900, "dashboard"), (375, 900, "dashboard-375")]:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        _log_in(page, server, "/dashboard/spring/", "olive")
        expect(page.locator("#socket-state")).to_have_text("live", timeout=15_000)
        expect(page.locator("#feed tr")).to_have_count(len(GIFTS), timeout=15_000)
        page.screenshot(path=str(OUT / f"{name}.png"))
        context.close()
    staff.close()
