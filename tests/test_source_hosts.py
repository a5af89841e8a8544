"""A source's base_url accepts every http(s) address a deployment may use (issue 11, item 4).

Compose and Kubernetes users point sources at single-label service names such as
`http://sandbox:8100`; Django's URLValidator wants a public domain with a TLD and refused
them ("Enter a valid URL."). Checked through `manage.py loadcampaigns` and the admin form.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from fundboard.campaigns.models import Source
from fundboard.dashboard.admin.campaigns import SourceAdminForm

from .factories import make_campaign

ACCEPTED = [
    "http://sandbox:8100",
    "http://p2p-gateway",
    "http://fundboard_sandbox:8100/",
    "https://p2p.example.org",
    "https://p2p.example.org:8443/api/base",
    "http://10.0.0.7:8100",
    "http://[::1]:8100/",
    "http://localhost:8100",
    "https://xn--bcher-kva.example",
]

REFUSED = [
    ("file:///etc/passwd", "http"),
    ("gopher://sandbox:70/", "http"),
    ("javascript:alert(1)", "http"),
    ("ftp://files.example.org/", "http"),
    ("http://user:pass@sandbox:8100", "password"),
    ("https://token@p2p.example.org", "password"),
    ("http://sandbox:8100/#frag", "fragment"),
    ("http://sandbox:8100/?a=1", "query"),
    ("http://", "host"),
    ("http:///path-only", "host"),
    ("http://exa mple.org", "spaces"),
    ("http://-bad-.example", "host"),
    ("http://sandbox:99999", "valid"),
    ("not a url", "spaces"),
]

TOML = """
[[campaign]]
slug = "hosts"
name = "Hosts"

  [[campaign.source]]
  kind = "p2p"
  name = "Walk"
  base_url = "{url}"
  api_key = "k"
"""


def _load(tmp_path, url: str) -> None:
    path = tmp_path / "campaigns.toml"
    path.write_text(TOML.format(url=url), encoding="utf-8")
    call_command("loadcampaigns", str(path))


@pytest.mark.django_db
@pytest.mark.parametrize("url", ACCEPTED)
def test_loadcampaigns_accepts_any_http_url_a_deployment_may_use(tmp_path, url):
    _load(tmp_path, url)
    assert Source.objects.get(name="Walk").base_url == url


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_loadcampaigns_refuses_other_schemes_credentials_and_garbage(tmp_path, url, reason):
    with pytest.raises(CommandError) as refused:
        _load(tmp_path, url)
    assert "base_url" in str(refused.value)
    assert reason in str(refused.value).lower()
    assert not Source.objects.exists()


def _admin_form(url: str) -> SourceAdminForm:
    campaign = make_campaign("hosts")
    data = {
        "campaign": campaign.pk, "kind": "p2p", "name": "Walk", "enabled": "on",
        "base_url": url, "provider_ids": "{}", "options": "{}", "show_on_leaderboard": "on",
        "new_api_key": "k",
    }  # fmt: skip
    return SourceAdminForm(data=data)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://sandbox:8100", "http://p2p-gateway/api"])
def test_the_admin_form_accepts_single_label_hosts(url):
    form = _admin_form(url)
    assert form.is_valid(), form.errors
    assert form.save().base_url == url


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://u:p@sandbox:8100"])
def test_the_admin_form_refuses_other_schemes_and_credentials(url):
    form = _admin_form(url)
    assert not form.is_valid()
    assert "base_url" in form.errors


@pytest.mark.django_db
def test_the_admin_page_saves_a_compose_service_url(client):
    root = User.objects.create_superuser("root", password="pw")
    client.force_login(root)
    campaign = make_campaign("hosts")
    fields = {
        "campaign": campaign.pk, "kind": "p2p", "name": "Walk", "enabled": "on",
        "base_url": "http://sandbox:8100", "provider_ids": "{}", "options": "{}",
        "show_on_leaderboard": "on", "new_api_key": "k",
    }  # fmt: skip
    response = client.post("/admin/campaigns/source/add/", fields)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Source.objects.get(name="Walk").base_url == "http://sandbox:8100"
