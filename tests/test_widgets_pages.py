"""Widget pages as served: right at first paint, themed only by validated values, framable.

These read the HTML a browser would get (Django's test client); the live behaviour in a real
browser is in tests/browser/test_widgets_*.py.
"""

import json
import re
from decimal import Decimal

import pytest
from django.test import Client

from fundboard.ingest.services import apply_poll_result, ingest_donations
from fundboard.providers.records import EntryRecord, PollResult, TotalsRecord
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


def test_thermometer_is_right_before_any_script_runs(client, campaign):
    source = make_source(campaign)
    ingest_donations(source.pk, [record("300.00", "Ann"), record("25.50", "Bo")])
    html = client.get("/c/spring/thermometer").content.decode()
    assert _text_of(html, "total") == "325.50"
    assert '<span class="fb-cur" data-part="prefix">$</span>' in html
    assert _text_of(html, "goal") == "$1,000.00"
    assert _text_of(html, "percent") == "32%"
    assert _text_of(html, "count") == "2"
    assert 'id="fill" style="width: 32%;' in html
    # Milestones inside the goal are marked, the reached one as reached; 2000 is off the bar.
    assert re.findall(r'class="fb-milestone( is-reached)?" style="left: ([\d.]+)%;', html) == [
        (" is-reached", "25.00"),
        ("", "50.00"),
    ]
    assert _embedded(html, "fb-snapshot")["total"] == "325.50"


def test_thermometer_beyond_the_goal_shows_goal_reached(client, campaign):
    ingest_donations(make_source(campaign).pk, [record("1234.00")])
    html = client.get("/c/spring/thermometer").content.decode()
    assert "is-goal-reached" in html
    assert _text_of(html, "percent") == "123%"
    assert 'id="fill" style="width: 100%;' in html
    assert re.search(r'id="goal-badge"\s*>Goal reached!', html)


def test_leaderboard_shows_fundraisers_or_teams_in_rank_order(client, campaign):
    walk = make_source(campaign, kind="p2p")
    entries = [
        EntryRecord("fundraiser", "f1", "Cara", Decimal("80"), goal=Decimal("100")),
        EntryRecord("fundraiser", "f2", "Dev", Decimal("120")),
        EntryRecord("team", "t1", "Blue Team", Decimal("200")),
    ]
    apply_poll_result(
        walk.pk, PollResult(totals=TotalsRecord(Decimal("200"), "USD"), entries=entries)
    )
    fundraisers = client.get("/c/spring/leaderboard").content.decode()
    assert re.findall(r'<bdi class="fb-name" title="[^"]*">([^<]*)</bdi>', fundraisers) == [
        "Dev",
        "Cara",
    ]
    assert '<span style="width: 80%">' in fundraisers  # Cara's progress to her own goal
    teams = client.get("/c/spring/leaderboard?board=teams").content.decode()
    visible = teams.split('id="fb-snapshot"')[0]
    assert "Blue Team" in visible and "Dev" not in visible
    one_row = client.get("/c/spring/leaderboard?rows=1").content.decode()
    assert one_row.count('class="fb-row"') == 1


def test_top_donors_and_ticker_render_the_snapshot(client, campaign):
    source = make_source(campaign)
    ingest_donations(
        source.pk,
        [record("50", "Ann", message="Go team!"), record("70", "Bo"), record("5", "Ann")],
    )
    donors = client.get("/c/spring/top-donors").content.decode()
    assert re.findall(r'class="fb-amount fb-row-amount">([^<]*)<', donors) == ["$70.00", "$55.00"]
    ticker = client.get("/c/spring/ticker").content.decode()
    assert "Go team!" in ticker and "$70.00" in ticker
    hidden = client.get("/c/spring/ticker?messages=0").content.decode()
    assert "Go team!" not in hidden.split('id="fb-snapshot"')[0]


def test_empty_widgets_say_so(client, campaign):
    assert "Be the first to donate!" in client.get("/c/spring/top-donors").content.decode()
    assert "No teams yet" in client.get("/c/spring/leaderboard?board=teams").content.decode()
    assert "Donations will appear here" in client.get("/c/spring/ticker").content.decode()


def test_unknown_campaign_is_404(client):
    for widget in WIDGETS:
        assert client.get(f"/c/nope/{widget}").status_code == 404
    assert client.get("/c/nope/").status_code == 404


# --- what a donor typed -----------------------------------------------------------------


def test_donor_text_is_escaped_on_every_page(client, campaign):
    source = make_source(campaign)
    ingest_donations(
        source.pk, [record("10", XSS_NAME, message="</script><script>alert(2)</script>")]
    )
    for widget in WIDGETS:
        html = client.get(f"/c/spring/{widget}").content.decode()
        assert "<img" not in html, widget
        assert "<script>alert" not in html, widget
        # The embedded snapshot still carries the exact text for the script to show as text.
        assert _embedded(html, "fb-snapshot")["recent"][0]["name"] == XSS_NAME
    ticker = client.get("/c/spring/ticker").content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in ticker


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


def test_a_campaign_without_goal_shows_no_percentage_or_goal(client):
    make_campaign("open", goal=Decimal("0"))
    html = client.get("/c/open/thermometer").content.decode()
    assert re.search(r'id="of" hidden', html)
    assert re.search(r'id="percent" hidden', html)


def test_the_thermometer_can_stand_up(client, campaign):
    html = client.get("/c/spring/thermometer?layout=vertical").content.decode()
    assert "fb-layout-vertical" in html
    assert "fb-layout-horizontal" in client.get("/c/spring/thermometer?layout=x").content.decode()
