"""API keys are bound to the upstream they were entered for (issue 12, finding 5).

An Organiser could point a source's base_url at a host they control, without re-entering the
key, and the next poll carried the stored key there (Action Network `api-key` header, P2P
`?apiKey=`). Now the admin refuses such an edit, and the model never gives the key out for
another origin, even when the row is edited behind the form's back: a real poll goes to a
loopback "attacker" server on another port, which must receive no key.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

from fundboard.campaigns.models import Source, UpstreamRefused
from fundboard.dashboard.roles import ORGANISERS
from fundboard.runners.polling import poll_source
from fundboard.runners.sources import load_config
from fundboard.sandbox import actionnetwork, p2p

from .factories import make_campaign, make_source

P2P_KEY = p2p.API_KEY
AN_KEY = actionnetwork.API_KEY


class Attacker:
    """A loopback HTTP server that records every request line and header it receives."""

    def __init__(self):
        self.requests: list[str] = []
        attacker = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                attacker.requests.append(f"{self.requestline}\n{self.headers}")
                body = b'{"error": "no"}'
                self.send_response(404)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def received(self, secret: str) -> bool:
        return any(secret in request for request in self.requests)


@pytest.fixture
def attacker():
    with Attacker() as server:
        yield server


def _p2p(sandbox_server) -> Source:
    return make_source(
        make_campaign(),
        kind="p2p",
        base_url=sandbox_server.url,
        api_key=P2P_KEY,
        provider_ids={"event_id": p2p.DEMO_EVENT_ID},
    )


# --- the model: a key is never given out for another origin ---------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["p2p", "actionnetwork"])
def test_a_key_is_never_sent_to_a_host_set_behind_the_forms_back(sandbox_server, attacker, kind):
    key = P2P_KEY if kind == "p2p" else AN_KEY
    ids = {"event_id": p2p.DEMO_EVENT_ID} if kind == "p2p" else {"all_pages": True}
    source = make_source(
        make_campaign(), kind=kind, base_url=sandbox_server.url, api_key=key, provider_ids=ids
    )
    assert poll_source(source.pk).result == "changed"  # the key works where it was entered

    # The row edited directly (an UPDATE, a fixture, a script): not through any form.
    Source.objects.filter(pk=source.pk).update(base_url=attacker.url)
    assert poll_source(source.pk).result == "failed"

    # Whether the poll reached the other host (keyless) or was stopped before it
    # (Source.check_upstream), the key never arrived there.
    assert not attacker.received(key)
    moved = Source.objects.get(pk=source.pk)
    assert moved.stored_api_key == key  # kept for its own host
    with pytest.raises(UpstreamRefused, match="re-enter the API key for the new host"):
        moved.check_upstream()


@pytest.mark.django_db
def test_the_stream_config_carries_no_key_for_another_host(sandbox_server, attacker):
    source = make_source(
        make_campaign(), kind="imraising", base_url=sandbox_server.url, api_key="imr-key"
    )
    assert load_config(source.pk).api_key == "imr-key"
    Source.objects.filter(pk=source.pk).update(base_url=attacker.url)
    assert load_config(source.pk).api_key == ""
    # Another port of the same host, another scheme, the platform default: other origins too.
    for url in (sandbox_server.url.replace("http:", "https:"), ""):
        Source.objects.filter(pk=source.pk).update(base_url=url)
        assert load_config(source.pk).api_key == ""
    Source.objects.filter(pk=source.pk).update(base_url=sandbox_server.url + "/other/path")
    assert load_config(source.pk).api_key == "imr-key"  # same origin, another path: same server


@pytest.mark.django_db
def test_keys_stored_before_the_binding_are_bound_to_where_they_point_today():
    """The migration's backfill: a key is bound to its source's effective origin."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("fundboard.campaigns.migrations.0004_api_key_origin")
    source = make_source(make_campaign(), kind="imraising", api_key="old-key")
    Source.objects.filter(pk=source.pk).update(api_key_origin="")  # as before the migration
    assert Source.objects.get(pk=source.pk).api_key == ""
    migration.bind_existing_keys(apps, None)
    source = Source.objects.get(pk=source.pk)
    assert source.api_key_origin == "https://imraising.tv:443"
    assert source.api_key == "old-key"


# --- the admin: an Organiser must re-enter the key for a new host ---------------------------


@pytest.fixture
def organiser_client(client):
    olive = User.objects.create_user("olive", password="pw", is_staff=True)
    olive.groups.add(Group.objects.get(name=ORGANISERS))
    client.force_login(olive)
    return client


def _fields(source: Source, **changes) -> dict:
    fields = {
        "campaign": source.campaign_id, "kind": source.kind, "name": source.name,
        "enabled": "on", "base_url": source.base_url, "provider_ids": '{"event_id": "x"}',
        "options": "{}", "show_on_leaderboard": "on", "new_api_key": "",
    }  # fmt: skip
    return {**fields, **changes}


@pytest.mark.django_db
def test_an_organiser_cannot_move_a_key_to_another_host_without_re_entering_it(
    organiser_client, sandbox_server, attacker
):
    source = _p2p(sandbox_server)
    url = f"/admin/campaigns/source/{source.pk}/change/"

    refused = organiser_client.post(url, _fields(source, base_url=attacker.url))
    assert refused.status_code == 200
    assert "re-enter the API key for the new host" in refused.content.decode()
    assert Source.objects.get(pk=source.pk).base_url == sandbox_server.url

    # Same host and port, another path: the same server, no new key needed.
    moved = organiser_client.post(url, _fields(source, base_url=sandbox_server.url + "/v2"))
    assert moved.status_code == 302

    retyped = organiser_client.post(
        url, _fields(source, base_url=attacker.url, new_api_key="attacker-host-key")
    )
    assert retyped.status_code == 302
    source = Source.objects.get(pk=source.pk)
    assert source.base_url == attacker.url and source.api_key == "attacker-host-key"
    assert source.api_key_origin == attacker.url + ""


@pytest.mark.django_db
def test_clearing_base_url_to_the_platform_default_also_needs_the_key(organiser_client):
    source = make_source(
        make_campaign(), kind="actionnetwork", base_url="http://an-proxy:8100", api_key="k1"
    )
    url = f"/admin/campaigns/source/{source.pk}/change/"
    refused = organiser_client.post(url, _fields(source, base_url=""))
    assert "re-enter the API key for the new host" in refused.content.decode()
    removed = organiser_client.post(url, _fields(source, base_url="", remove_api_key="on"))
    assert removed.status_code == 302
    assert Source.objects.get(pk=source.pk).stored_api_key == ""


# --- the optional allow-list ----------------------------------------------------------------

TOML = """
[[campaign]]
slug = "hosts"
  [[campaign.source]]
  kind = "p2p"
  name = "Walk"
  base_url = "{url}"
  api_key = "k"
"""


@pytest.mark.django_db
def test_the_upstream_allow_list_is_checked_on_save_and_before_use(
    settings, tmp_path, sandbox_server, attacker
):
    settings.FUNDBOARD_UPSTREAM_HOSTS = "p2p.example.org, sandbox:8100, 127.0.0.1:{}".format(
        sandbox_server.url.rsplit(":", 1)[1]
    )
    path = tmp_path / "campaigns.toml"
    for url in ("https://p2p.example.org", "http://sandbox:8100", sandbox_server.url):
        path.write_text(TOML.format(url=url), encoding="utf-8")
        call_command("loadcampaigns", str(path))
    path.write_text(TOML.format(url=attacker.url), encoding="utf-8")
    with pytest.raises(CommandError, match="FUNDBOARD_UPSTREAM_HOSTS"):
        call_command("loadcampaigns", str(path))

    source = Source.objects.get(name="Walk")
    assert source.api_key == "k"
    Source.objects.filter(pk=source.pk).update(base_url=attacker.url, api_key_origin="")
    source.refresh_from_db()
    source.api_key = "k"  # even bound to the attacker's origin, its host is not allowed
    assert source.api_key == ""
    with pytest.raises(UpstreamRefused, match="FUNDBOARD_UPSTREAM_HOSTS"):
        source.check_upstream()


@pytest.mark.django_db
def test_pointing_a_default_platform_source_at_a_custom_host_needs_the_key(
    organiser_client, attacker
):
    source = make_source(make_campaign(), kind="imraising", api_key="imr-real-key")
    assert source.api_key_origin == "https://imraising.tv:443"
    url = f"/admin/campaigns/source/{source.pk}/change/"
    refused = organiser_client.post(url, _fields(source, base_url=attacker.url))
    assert "re-enter the API key for the new host" in refused.content.decode()
    assert Source.objects.get(pk=source.pk).base_url == ""


@pytest.mark.django_db
def test_the_dashboards_platform_test_donation_is_not_sent_to_another_host(
    organiser_client, sandbox_server, attacker
):
    """The ImRaising test-donation button posts with the key: not to a host set behind it."""
    source = make_source(
        make_campaign("spring"), kind="imraising", base_url=sandbox_server.url, api_key="imr-k"
    )
    Source.objects.filter(pk=source.pk).update(base_url=attacker.url)
    response = organiser_client.post(
        f"/dashboard/spring/sources/{source.pk}/imraising-test",
        {"display_name": "T", "amount": "1.00"},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 400
    assert "re-enter the API key for the new host" in response.json()["message"]
    assert not attacker.requests
