"""Browser fixtures: Debian's chromium, driven by Playwright for Python (no browser download)."""

from __future__ import annotations

import shutil

import pytest

from ..support import http

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# Playwright's own --disable-features list (1.65). Chromium keeps only the last such switch, so
# ours repeats it; tests/browser/test_browser_flags.py fails when Playwright's list changes.
PLAYWRIGHT_DISABLED_FEATURES = [
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
]
# The address bar's popups, which chromium preloads for a window that headless mode never
# shows: they kept a renderer busy at ~9 % of a core for as long as a browser ran (1.3 -> 0.15
# CPU-s per idle 10 s per browser, measured with CDP's SystemInfo.getProcessInfo).
UNSEEN_UI_FEATURES = ["WebUIOmniboxPopup", "WebUIOmniboxAimPopup"]

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    # Two renderer processes per browser, shared by its pages (each test's own context keeps
    # its storage apart): a renderer per page and per site cost ~300 processes and 20 s of
    # CPU in a pass on this 2-core machine (docs/testing.md, "Where the time goes").
    "--renderer-process-limit=2",
    "--disable-site-isolation-trials",
    "--disable-features=" + ",".join(PLAYWRIGHT_DISABLED_FEATURES + UNSEEN_UI_FEATURES),
]


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 800, "height": 600})
    page = context.new_page()
    yield page
    context.close()


class StreamedCampaign:
    """A campaign fed by the ImRaising sandbox's stream, as a streamer's would be."""

    def __init__(self, server, sandbox_url: str, slug: str):
        self.server, self.sandbox_url, self.slug = server, sandbox_url, slug

    def url(self, widget: str, query: str = "") -> str:
        return f"{self.server.url}/c/{self.slug}/{widget}" + (f"?{query}" if query else "")

    def donate(self, *specs: dict) -> list[str]:
        """POST donations ({"nickname", "amount", "message"?, "currency"?}) in one request."""
        body = [{"currency": "USD", **spec} for spec in specs]
        response = http.post(f"{self.sandbox_url}/_sandbox/imraising/donations", json=body)
        response.raise_for_status()
        return response.json()["ids"]

    def delete(self, donation_id: str) -> None:
        response = http.post(
            f"{self.sandbox_url}/_sandbox/imraising/delete", json={"_id": donation_id}
        )
        response.raise_for_status()


@pytest.fixture
def streamed_campaign(sandbox_server, fundboard_server):
    """A factory: streamed_campaign(goal="1000", milestones=[...]) -> a started StreamedCampaign."""
    from fundboard.sandbox.imraising import ADVANCED_KEY

    def start(goal: str = "1000", milestones: str = "[]", extra: str = "") -> StreamedCampaign:
        server = fundboard_server(
            f"""
[[campaign]]
slug = "live"
name = "Live Drive"
goal = "{goal}"
currency = "USD"
milestones = {milestones}
{extra}
  [[campaign.source]]
  kind = "imraising"
  name = "Stream"
  base_url = "{sandbox_server.url}"
  api_key = "{ADVANCED_KEY}"
"""
        )
        return StreamedCampaign(server, sandbox_server.url, "live")

    return start
