"""Widget pages: first paint to the correct total, and page weight per widget.

    .venv/bin/python bench/bench_widgets.py                  # 30 loads, 200 donations
    .venv/bin/python bench/bench_widgets.py --loads 100 --donations 1000

A real `manage.py serve` (daphne, SQLite) with one campaign and N stored donations; Debian's
chromium (Playwright) loads the thermometer page in a fresh browser context each time (cold
cache, new connection) and records, from navigation start:

- `first paint`: the first contentful paint;
- `correct total`: the first moment the page's #total shows the stored total (a
  MutationObserver installed before the page's own HTML arrives sees the parser insert it);
- `first paint with correct total`: the later of the two, what a viewer actually waits for;
- `live`: the websocket's first snapshot applied (what a client-rendered widget would have
  to wait for before it could show any number).

Page weight: the HTML of each widget page plus the CSS and JS it loads, raw and gzipped.
"""

from __future__ import annotations

import argparse
import gzip
import re
import statistics
import tempfile
from pathlib import Path

import httpx
from common import BENCH_CAMPAIGN, percentile, seed_code

from tests.support import FundboardServer

WIDGETS = ["thermometer", "leaderboard", "top-donors", "ticker", "alerts"]

# Runs before any of the page's own HTML: notes when #total first shows the expected text.
WATCH_TOTAL = """
window.__bench = {correctAt: null, liveAt: null};
new MutationObserver(function () {
  var total = document.getElementById("total");
  if (window.__bench.correctAt === null && total && total.textContent === %s) {
    window.__bench.correctAt = performance.now();
  }
}).observe(document, {childList: true, subtree: true, characterData: true});
// live.js marks the root element when its socket is live (a 2 ms poll: fine at this scale).
var __liveWatch = setInterval(function () {
  var root = document.documentElement;
  if (root && root.dataset.connection === "live") {
    window.__bench.liveAt = performance.now();
    clearInterval(__liveWatch);
  }
}, 2);
"""
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def page_weight(base: str, widget: str) -> tuple[int, int, int]:
    """(HTML bytes, HTML+CSS+JS bytes, the same gzipped) of one widget page."""
    html = httpx.get(f"{base}/c/bench/{widget}").content
    assets = re.findall(rb'(?:href|src)="(/static/[^"]+\.(?:css|js))"', html)
    bodies = [html] + [httpx.get(base + asset.decode()).content for asset in assets]
    return len(html), sum(map(len, bodies)), sum(len(gzip.compress(b, 6)) for b in bodies)


def first_paint(browser, url: str, expected: str) -> dict:
    context = browser.new_context(viewport={"width": 800, "height": 300})
    page = context.new_page()
    page.add_init_script(WATCH_TOTAL % repr(expected))
    page.goto(url, wait_until="load")
    page.wait_for_function("() => window.__bench.liveAt !== null")
    page.wait_for_function(
        "() => performance.getEntriesByName('first-contentful-paint').length > 0"
    )
    timings = page.evaluate(
        """() => ({
            paint: performance.getEntriesByName('first-contentful-paint')[0].startTime,
            correct: window.__bench.correctAt,
            live: window.__bench.liveAt,
        })"""
    )
    context.close()
    timings["shown"] = max(timings["paint"], timings["correct"] or float("inf"))
    return timings


def summary(name: str, values: list[float]) -> str:
    return (
        f"| {name} | {statistics.median(values):.1f} | {percentile(values, 0.95):.1f} | "
        f"{max(values):.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loads", type=int, default=30)
    parser.add_argument("--donations", type=int, default=200)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    server = FundboardServer(Path(tempfile.mkdtemp()), BENCH_CAMPAIGN, ingest=False)
    server.shell(seed_code(args.donations))
    server.start()
    try:
        expected_total = server.total("bench")
        expected_text = f"{float(expected_total):,.2f}"
        print(f"campaign total {expected_total} from {args.donations} donations\n")
        print("| widget | HTML bytes | HTML+CSS+JS bytes | gzipped |")
        print("|---|---:|---:|---:|")
        for widget in WIDGETS:
            html, total, gzipped = page_weight(server.url, widget)
            print(f"| {widget} | {html:,} | {total:,} | {gzipped:,} |")

        url = f"{server.url}/c/bench/thermometer"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS
            )
            first_paint(browser, url, expected_text)  # warm the server, not the browser
            runs = [first_paint(browser, url, expected_text) for _ in range(args.loads)]
            browser.close()
        wrong = sum(1 for r in runs if r["correct"] is None or r["correct"] > r["paint"])
        print(f"\nthermometer, {args.loads} cold loads (ms from navigation start)\n")
        print("| measure | p50 | p95 | max |")
        print("|---|---:|---:|---:|")
        print(summary("first contentful paint", [r["paint"] for r in runs]))
        print(summary("correct total in the DOM", [r["correct"] for r in runs if r["correct"]]))
        print(summary("first paint with correct total", [r["shown"] for r in runs]))
        print(summary("live (first websocket snapshot)", [r["live"] for r in runs]))
        print(f"\nloads whose first paint showed a wrong or missing total: {wrong}")
    finally:
        server.close()


if __name__ == "__main__":
    main()
