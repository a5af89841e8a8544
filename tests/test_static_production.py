"""Production static files: collected, hashed names, compressed, cached for long, on the pages."""

import re

from .support import http

CAMPAIGN = """
[[campaign]]
slug = "prod"
name = "Prod"
goal = "100"
"""


def test_widget_pages_use_hashed_compressed_static_files(fundboard_server, tmp_path):
    static_root = tmp_path / "collected"
    env = {"FUNDBOARD_COLLECTED_STATIC": "1", "STATIC_ROOT": str(static_root)}
    server = fundboard_server(CAMPAIGN, start=False, extra_env=env)
    server.manage("collectstatic", "--noinput", "-v0")
    server.start()
    page = http.get(f"{server.url}/c/prod/thermometer")
    assert page.status_code == 200
    scripts = re.findall(r"/static/fundboard/live\.[0-9a-f]{12}\.js", page.text)
    assert scripts, "the page links live.js by its hashed name"
    script = http.get(server.url + scripts[0], headers={"Accept-Encoding": "gzip"})
    assert script.status_code == 200
    assert script.headers["content-encoding"] == "gzip"
    assert "max-age=315360000" in script.headers["cache-control"]
