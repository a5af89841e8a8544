"""API keys are write-only: never in any HTML, JSON or CSV response, nor in the server log.

A real server with sources holding keys (one pointed at a sandbox that refuses the key, so
the failure paths log too); an organiser and a superuser walk every admin and dashboard
page, replace a key through the admin form, and every response and the log are scanned.
"""

from __future__ import annotations

import re

from .dashboard_support import CAMPAIGN, StaffSession, create_user
from .support import wait_for

IMRAISING_KEY = "imr-SECRET-4f1c2a9be0d7"
P2P_KEY = "p2p-SECRET-77aa55cc"
NEW_KEY = "replaced-SECRET-0b0b0b0b"
SECRETS = (IMRAISING_KEY, P2P_KEY, NEW_KEY)

SOURCES = """
  [[campaign.source]]
  kind = "imraising"
  name = "Stream"
  base_url = "{sandbox}"
  api_key = "{imraising_key}"
  [[campaign.source]]
  kind = "p2p"
  name = "Walk"
  base_url = "{sandbox}"
  api_key = "{p2p_key}"
  poll_interval = 5
"""


def _stored_key(server, name: str) -> str:
    """The key the server's database holds for a source (read in this process)."""

    def read() -> str:
        from fundboard.campaigns.models import Source

        return Source.objects.get(name=name).api_key

    return server.orm(read)


def _admin_urls(session: StaffSession) -> list[str]:
    """Every admin page reachable from the index: changelists, add forms, change forms."""
    index = session.get("/admin/").text
    lists = sorted(set(re.findall(r'href="(/admin/\w+/\w+/)"', index)))
    urls = ["/admin/", *lists]
    for changelist in lists:
        page = session.get(changelist).text
        urls.append(changelist + "add/")
        urls += sorted(set(re.findall(rf'href="({changelist}\d+/change/)', page)))[:5]
    return urls


def _history_urls(urls: list[str]) -> list[str]:
    return [u.replace("/change/", "/history/") for u in urls if u.endswith("/change/")]


def test_api_keys_never_reach_a_response_or_a_log_line(fundboard_server, sandbox_server):
    toml = CAMPAIGN + SOURCES.format(
        sandbox=sandbox_server.url, imraising_key=IMRAISING_KEY, p2p_key=P2P_KEY
    )
    server = fundboard_server(toml)
    create_user(server, "olive", "Organisers")
    create_user(server, "root", superuser=True)
    olive, root = StaffSession(server, "olive"), StaffSession(server, "root")
    olive.add_manual("spring", "Keyless Donor", "5.00")
    olive.post("/dashboard/spring/test-alert", {"display_name": "T", "amount": "1.00"})

    # Replace the P2P key through the admin form; a blank key field keeps the stored key.
    sources = olive.get("/dashboard/spring/health.json").json()["sources"]
    source_id = next(s["id"] for s in sources if s["name"] == "Walk")
    form_url = f"/admin/campaigns/source/{source_id}/change/"
    form = root.get(form_url).text
    assert 'name="new_api_key"' in form and 'type="password"' in form
    assert "set (hidden)" in form
    fields = {
        "campaign": "1", "kind": "p2p", "name": "Walk", "enabled": "on",
        "base_url": sandbox_server.url, "provider_ids": "{}", "options": "{}",
        "poll_interval": "5", "show_on_leaderboard": "on", "new_api_key": "",
    }  # fmt: skip
    saved = root.post(form_url, fields, json_answer=False)
    assert saved.status_code == 302, re.findall(r'class="errorlist[^"]*".*?</ul>', saved.text)
    assert _stored_key(server, "Walk") == P2P_KEY
    assert (
        root.post(form_url, {**fields, "new_api_key": NEW_KEY}, json_answer=False).status_code
        == 302
    )
    assert _stored_key(server, "Walk") == NEW_KEY
    # Give the pollers time to use (and fail with) the keys, so the failure paths log.
    wait_for(lambda: "p2p" in server.log() or "source" in server.log(), timeout=8)

    for session in (olive, root):
        urls = _admin_urls(session)
        urls += _history_urls(urls)
        urls += [
            "/dashboard/", "/dashboard/spring/", "/dashboard/spring/feed.json",
            "/dashboard/spring/health.json", "/dashboard/spring/manual/",
            "/dashboard/spring/embed/", "/dashboard/spring/export/",
            "/dashboard/spring/export/?download=1", "/api/v1/campaigns/spring",
            "/c/spring/", "/c/spring/top-donors",
        ]  # fmt: skip
        for url in urls:
            response = session.get(url)
            assert response.status_code in (200, 302, 403), (url, response.status_code)
    checked = olive.responses + root.responses
    assert len(checked) > 40
    for response in checked:
        for secret in SECRETS:
            assert secret not in response.text, (str(response.url), secret)
    server.stop()
    log = server.log()
    assert log  # the server did log (requests, ingest, failures)
    for secret in SECRETS:
        assert secret not in log, secret
