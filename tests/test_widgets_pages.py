"""Widget pages as served: cacheable (no numbers), themed only by validated values, framable.

These read the HTML a browser would get (Django's test client); the live behaviour in a real
browser is in tests/browser/test_widgets_*.py.
"""

import base64
import hashlib
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client

from fundboard.ingest.services import ingest_donations
from fundboard.widgets.modules import ENTRY, MODULES
from fundboard.widgets.theme import WidgetOptions, parse_options

from .factories import make_campaign, make_source, record

pytestmark = pytest.mark.django_db

WIDGETS = ["thermometer", "leaderboard", "top-donors", "ticker", "alerts"]
XSS_NAME = "<img src=x onerror=alert(1)>"


@pytest.fixture
def client():
    return Client()


@pytest.fixture
def campaign():
    campaign = make_campaign("spring", name="Spring Drive", goal=Decimal("1000"))
    campaign.milestones = ["250", "500", "2000"]
    campaign.save()
    return campaign


def _embedded(html: str, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html)
    assert match, f"#{element_id} missing"
    return json.loads(match.group(1))


def _text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert match, f"#{element_id} missing"
    return match.group(1)


# --- first paint ------------------------------------------------------------------------


def test_a_widget_page_carries_settings_but_no_numbers_so_it_can_be_cached(
    client, campaign, django_capture_on_commit_callbacks
):
    """The page is the same before and after donations (a cache may keep it); live.js draws
    the numbers from the JSON snapshot, behind a skeleton until then."""
    pages = [*WIDGETS, "match"]
    before = {widget: client.get(f"/c/spring/{widget}").content for widget in pages}
    source = make_source(campaign)
    with django_capture_on_commit_callbacks(execute=True):  # as committed: caches told
        ingest_donations(source.pk, [record("300.00", "Ann", message="Go!"), record("25.50", "Bo")])
    for widget in pages:
        response = client.get(f"/c/spring/{widget}")
        assert response.content == before[widget], widget
        html = response.content.decode()
        assert "325.50" not in html and "Ann" not in html and "Go!" not in html, widget
        assert 'id="fb-snapshot"' not in html and " data-pending>" in html, widget
        assert response["Cache-Control"] == "public, max-age=60, stale-while-revalidate=600"
    # Not even the settings' amounts: every number is drawn by live.js, by one rule.
    html = before["thermometer"].decode()
    assert "1,000" not in html and "1000" not in html and 'class="fb-milestone' not in html
    snapshot = client.get("/api/v1/campaigns/spring").json()
    assert snapshot["total"] == "325.50"
    assert [d.get("message") for d in snapshot["recent"]] == [None, "Go!"]


def test_static_urls_on_a_cached_page_name_the_file_version(client, campaign):
    html = client.get("/c/spring/thermometer").content.decode()
    assert re.search(
        r'<script type="module" src="/static/fundboard/live\.js\?v=[0-9a-f]{12}"', html
    )
    assert re.search(r'href="/static/fundboard/widgets\.css\?v=[0-9a-f]{12}"', html)


def _imports_of(path: Path) -> set[Path]:
    """The modules a JS module imports, followed to the end (relative specifiers only)."""
    found: set[Path] = set()
    pending = [path]
    while pending:
        source = pending.pop()
        for specifier in re.findall(r'^import [^;]*?from "(\.[^"]+)";', source.read_text(), re.M):
            target = (source.parent / specifier).resolve()
            if target not in found:
                found.add(target)
                pending.append(target)
    return found


def test_every_module_live_js_imports_has_a_versioned_url_in_the_page_import_map(client, campaign):
    """A relative import resolves to a plain URL; the import map sends it to this release's."""
    static_root = Path(__file__).resolve().parent.parent / "static"
    imported = _imports_of(static_root / ENTRY)
    assert {str(p.relative_to(static_root)) for p in imported} == set(MODULES)
    response = client.get("/c/spring/alerts")
    html = response.content.decode()
    text = re.search(r'<script type="importmap">(.*?)</script>', html).group(1)
    imports = json.loads(text)["imports"]
    assert sorted(imports) == sorted(f"/static/{path}" for path in MODULES)
    for plain, versioned in imports.items():
        assert re.fullmatch(re.escape(plain) + r"\?v=[0-9a-f]{12}", versioned)
    # The CSP allows exactly this inline map, by its hash.
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}';" in response["Content-Security-Policy"]


def test_empty_widgets_say_so(client, campaign):
    assert "Be the first to donate!" in client.get("/c/spring/top-donors").content.decode()
    assert "No teams yet" in client.get("/c/spring/leaderboard?board=teams").content.decode()
    assert "Donations will appear here" in client.get("/c/spring/ticker").content.decode()


def test_unknown_campaign_is_404(client):
    for widget in WIDGETS:
        assert client.get(f"/c/nope/{widget}").status_code == 404
    assert client.get("/c/nope/").status_code == 404


# --- what a donor typed -----------------------------------------------------------------


def test_donor_text_never_reaches_the_page_html(client, campaign):
    """What donors type travels only in the JSON (live.js sets it as text, never as HTML;
    tests/browser/test_widgets_live.py shows a hostile nickname as text)."""
    source = make_source(campaign)
    ingest_donations(
        source.pk, [record("10", XSS_NAME, message="</script><script>alert(2)</script>")]
    )
    for widget in WIDGETS:
        html = client.get(f"/c/spring/{widget}").content.decode()
        assert "<img" not in html and "onerror" not in html, widget
        assert "<script>alert" not in html, widget
    snapshot = client.get("/api/v1/campaigns/spring").json()
    assert snapshot["recent"][0]["name"] == XSS_NAME


# --- theming ------------------------------------------------------------------------------


def test_valid_theme_values_reach_the_page(client, campaign):
    html = client.get(
        "/c/spring/thermometer?bar=%23FF6600&text=white&bg=123&font=rounded&size=30"
        "&locale=de-DE&currency_display=code&overlay=1"
    ).content.decode()
    style = re.search(r"<style>(.*?)</style>", html).group(1)
    assert "--fb-bar:#ff6600" in style
    assert "--fb-text:#ffffff" in style
    assert "--fb-bg:#123" in style
    assert "--fb-size:30px" in style
    assert "ui-rounded" in style
    assert 'class="fb-overlay"' in html
    config = _embedded(html, "fb-config")
    assert config["locale"] == "de-DE"
    assert config["currency_display"] == "code"


@pytest.mark.parametrize(
    "query",
    [
        "bar=red;}body{display:none",
        "bar=%23fff%3B%7Dbody%7Bbackground:url(x)",
        "text=expression(alert(1))",
        "bg=</style><script>alert(1)</script>",
        "font=</style><script>alert(1)</script>",
        "font=Comic Sans",
        "size=9999",
        "size=-3",
        "rows=0",
        'locale=en"><script>alert(1)</script>',
        "locale=x",
        "currency_display=<b>",
        "duration=1e9",
        "min=NaN",
        "volume=101",
        "sound=../../etc/passwd",
        "board=admins",
    ],
)
def test_invalid_theme_values_fall_back_to_defaults(client, campaign, query):
    html = client.get(f"/c/spring/thermometer?{query}").content.decode()
    assert "<style>" not in html  # no custom property at all: every value was refused
    config = _embedded(html, "fb-config")
    defaults = WidgetOptions()
    for name in ("locale", "currency_display", "duration", "min_amount", "volume", "sound"):
        assert config[name] == getattr(defaults, name)
    assert "alert(1)" not in html.split('id="fb-config"')[0]


def test_parse_options_ranges_and_words():
    options = parse_options(
        {"messages": "hide", "amounts": "0", "rows": "25", "duration": "2.5", "min": "5.00"}
    )
    assert (options.messages, options.amounts, options.rows) == (False, False, 25)
    assert options.duration == 2.5
    assert options.min_amount == "5"
    assert parse_options({"locale": "zh-Hant-TW"}).locale == "zh-Hant-TW"
    assert parse_options({"locale": "ar-EG"}).locale == "ar-EG"


# --- framing and headers --------------------------------------------------------------------


def test_widget_pages_may_be_framed_by_any_site_when_no_origins_are_set(client, campaign):
    for widget in WIDGETS:
        response = client.get(f"/c/spring/{widget}")
        assert response.status_code == 200
        assert "X-Frame-Options" not in response.headers
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors *" in csp
        assert "script-src 'self'" in csp


def test_widget_pages_may_be_framed_only_by_the_campaigns_origins(client, campaign):
    campaign.allowed_origins = "https://charity.example\nhttps://x.example;script-src *\n"
    campaign.save()
    csp = client.get("/c/spring/thermometer").headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://charity.example" in csp
    assert "x.example" not in csp  # an origin that would change the policy is dropped


def test_index_and_admin_pages_deny_framing(client, campaign):
    assert client.get("/c/spring/").headers["X-Frame-Options"] == "DENY"
    assert client.get("/admin/login/").headers["X-Frame-Options"] == "DENY"


# --- the index ------------------------------------------------------------------------------


def test_index_links_every_widget_with_overlay_urls_and_embed_snippets(client, campaign):
    html = client.get("/c/spring/?bar=%23ff6600&rows=5").content.decode()
    for widget in WIDGETS:
        assert f'href="{widget}?bar=%23ff6600&amp;rows=5"' in html
        assert f"http://testserver/c/spring/{widget}?overlay=1&amp;bar=%23ff6600&amp;rows=5" in html
        assert (
            f'data-campaign="spring" data-widget="{widget}" data-bar="#ff6600" data-rows="5"'
            in html.replace("&quot;", '"')
        )
    assert '&lt;iframe src="http://testserver/c/spring/thermometer?bar=%23ff6600' in html
    assert "http://testserver/static/fundboard/embed.js" in html


def test_index_escapes_the_campaign_name(client):
    make_campaign("odd", name="<b>Bold</b> drive")
    html = client.get("/c/odd/").content.decode()
    assert "<b>Bold" not in html and "&lt;b&gt;Bold&lt;/b&gt; drive" in html


def test_the_thermometer_can_stand_up(client, campaign):
    html = client.get("/c/spring/thermometer?layout=vertical").content.decode()
    assert "fb-layout-vertical" in html
    assert "fb-layout-horizontal" in client.get("/c/spring/thermometer?layout=x").content.decode()
