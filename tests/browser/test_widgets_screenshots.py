"""Saves the widget screenshots in docs/screenshots (only with FUNDBOARD_SCREENSHOTS=1)."""

from __future__ import annotations

import os

import pytest

from ..support import http
from .screenshots import campaign_toml, capture, seed

pytestmark = pytest.mark.skipif(
    os.environ.get("FUNDBOARD_SCREENSHOTS") != "1", reason="set FUNDBOARD_SCREENSHOTS=1"
)


def test_save_widget_screenshots(sandbox_server, fundboard_server, browser):
    server = fundboard_server(campaign_toml(sandbox_server.url))

    def donate(spec: dict) -> None:
        body = {"currency": "USD", **spec}
        url = f"{sandbox_server.url}/_sandbox/imraising/donations"
        http.post(url, json=body).raise_for_status()

    seed(server, donate)
    saved = capture(browser, server, donate)
    assert all(path.stat().st_size > 1000 for path in saved)
