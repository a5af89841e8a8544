"""The browser the tests drive is configured as conftest.py says: Playwright's own switches kept,
chromium's unseen address-bar popups not loaded."""

from __future__ import annotations

import stat
import sys

import pytest

from .conftest import CHROMIUM_FLAGS, PLAYWRIGHT_DISABLED_FEATURES


def _disabled_features(argv: list[str]) -> list[list[str]]:
    prefix = "--disable-features="
    return [arg[len(prefix) :].split(",") for arg in argv if arg.startswith(prefix)]


def test_our_disabled_features_keep_playwrights(browser, tmp_path):
    """Chromium keeps only the last --disable-features: ours must include Playwright's."""
    from playwright.sync_api import Error

    argv_file = tmp_path / "argv"
    fake = tmp_path / "chromium"
    record_argv = f"open({str(argv_file)!r}, 'w').write('\\n'.join(sys.argv))"
    fake.write_text(f"#!{sys.executable}\nimport sys\n{record_argv}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    # The worker's Playwright (one per thread): a launch that records its arguments and fails.
    with pytest.raises(Error):
        browser.browser_type.launch(executable_path=str(fake), args=CHROMIUM_FLAGS, timeout=5000)
    switches = _disabled_features(argv_file.read_text().splitlines())
    assert len(switches) == 2, "Playwright's switch, then ours"
    playwrights, ours = switches
    assert set(playwrights) <= set(ours), set(playwrights) - set(ours)
    assert playwrights == PLAYWRIGHT_DISABLED_FEATURES, "update conftest's copy of the list"


def test_no_address_bar_popup_is_loaded(browser):
    context = browser.new_context()
    page = context.new_page()
    page.goto("about:blank")
    session = browser.new_browser_cdp_session()
    targets = session.send("Target.getTargets", {"filter": [{}]})["targetInfos"]
    context.close()
    urls = [target["url"] for target in targets]
    assert "about:blank" in urls  # the listing sees more than nothing
    assert not [url for url in urls if url.startswith("chrome://")], urls
