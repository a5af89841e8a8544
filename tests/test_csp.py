"""The dashboard and admin pages send a strict Content-Security-Policy (issue 12, finding 10).

Widget pages are framed by other sites and keep their own rules: this policy is not on them.
A browser check (tests/browser/test_dashboard_moderation.py) loads the pages under it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from fundboard.dashboard.csp import STAFF_PATH_PREFIXES

from .factories import make_campaign

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# Every template rendered under /dashboard/ (the webhooks page lives there too).
STAFF_TEMPLATES = sorted([*TEMPLATES.glob("dashboard/*.html"), *TEMPLATES.glob("webhooks/*.html")])
DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self' ws://testserver wss://testserver",
    "frame-src": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "object-src": "'none'",
}


def _policy(response) -> dict[str, str]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {name: value for name, value in directives}


@pytest.fixture
def root_client(client):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    return client


@pytest.mark.django_db
def test_staff_pages_carry_the_strict_policy(root_client):
    campaign = make_campaign("spring")
    pages = [
        "/admin/", "/admin/campaigns/campaign/", f"/admin/campaigns/campaign/{campaign.pk}/change/",
        "/admin/campaigns/source/add/", "/dashboard/", "/dashboard/spring/",
        "/dashboard/spring/manual/", "/dashboard/spring/embed/", "/dashboard/spring/export/",
        "/dashboard/spring/health.json",
    ]  # fmt: skip
    for url in pages:
        response = root_client.get(url)
        assert response.status_code == 200, url
        assert _policy(response) == DIRECTIVES, url


@pytest.mark.django_db
def test_the_login_page_and_its_redirects_carry_it_too(client):
    for url in ("/admin/login/", "/dashboard/"):
        assert _policy(client.get(url)) == DIRECTIVES, url


@pytest.mark.django_db
def test_widget_and_public_pages_keep_their_own_rules(client):
    make_campaign("spring")
    for url in ("/c/spring/", "/api/v1/campaigns/spring", "/healthz"):
        response = client.get(url)
        assert "frame-ancestors 'none'" not in response.headers.get(
            "Content-Security-Policy", ""
        ), url
    assert not any("/c/".startswith(prefix) for prefix in STAFF_PATH_PREFIXES)


INLINE = [
    (r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", "inline <script>"),
    (r"\sstyle=", "style= attribute"),
    (r"\son[a-z]+=", "on…= handler"),
    (r"<style", "<style> block"),
    (r"javascript:", "javascript: URL"),
]


@pytest.mark.parametrize("template", STAFF_TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_staff_templates_have_nothing_inline_the_policy_would_block(template):
    text = template.read_text(encoding="utf-8")
    for pattern, what in INLINE:
        assert not re.search(pattern, text), f"{template.parent.name}/{template.name}: {what}"
