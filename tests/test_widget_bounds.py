"""Every theme option is bounded in range and in the size of the page it makes (issue 12, 3).

`/c/<slug>/?min=1e-999990` answered 31 MB: the minimum amount was range-checked, then
formatted in full. Here every option the pages read gets hostile values (huge, tiny, long,
not numbers at all) and each page stays small, each parsed option inside its bounds.
"""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from django.test import Client

from fundboard.widgets.theme import (
    FONTS,
    MAX_LABEL_CHARS,
    MAX_TIERS_CHARS,
    MAX_VALUE_CHARS,
    WidgetOptions,
    parse_options,
)

from .factories import make_campaign

pytestmark = pytest.mark.django_db

SMALL_PAGE = 64 * 1024
LABELS = [f.name for f in fields(WidgetOptions) if f.name.startswith("label_")]
# Every query name parse_options reads.
QUERY_NAMES = [
    "overlay", "text", "bar", "bg", "background", "font", "size", "rows", "limit", "locale",
    "currency_display", "decimals", "messages", "amounts", "title", "board", "layout",
    "duration", "sound", "volume", "min", "speed", "max_lag", "tiers", "width", "lang",
    "label_raised", "label_goal", "label_donations", "label_latest", "label_donated",
    "label_title", "label_stretch",
]  # fmt: skip
HOSTILE = [
    "1e-999990",
    "1e999999",
    "-1e308",
    "nan",
    "Infinity",
    "9" * MAX_VALUE_CHARS,
    "9" * 5000,
    "0." + "0" * 60 + "1",
    "１２",  # fullwidth digits: int() reads them, the range still applies
    "#" + "f" * 63,
    "<script>alert(1)</script>",
    "en-" + "a" * 60,
    ",".join(["100:gold:coin:10"] * 9),
    "1:" * 80,
]


@pytest.fixture
def client():
    make_campaign("spring", name="Spring Drive", goal=Decimal("1000"))
    return Client()


def test_a_tiny_minimum_amount_makes_a_small_page(client):
    for url in ("/c/spring/", "/c/spring/alerts", "/c/spring/thermometer"):
        response = client.get(url, {"min": "1e-999990"})
        assert response.status_code == 200
        assert len(response.content) < SMALL_PAGE, (url, len(response.content))


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_each_option_stays_in_bounds_and_keeps_pages_small(client, name):
    for value in HOSTILE:
        options = parse_options({name: value})
        _assert_bounded(options)
        for url in ("/c/spring/", "/c/spring/alerts"):
            response = client.get(f"{url}?{urlencode({name: value})}")
            assert response.status_code == 200, (name, value)
            assert len(response.content) < SMALL_PAGE, (name, value[:20], len(response.content))


def test_every_option_is_bounded_at_once_and_more_fields_are_refused(client):
    every = {name: "1e-999990" for name in QUERY_NAMES}
    response = client.get("/c/spring/alerts", every)
    assert len(response.content) < SMALL_PAGE
    # Django refuses a query string of more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields.
    many = "&".join(f"f{n}=1" for n in range(1500))
    assert client.get(f"/c/spring/alerts?{many}").status_code == 400


def test_the_minimum_amount_is_whole_cents_up_to_a_billion():
    assert parse_options({"min": "12.345"}).min_amount == "12.34"
    assert parse_options({"min": "0.001"}).min_amount == "0"
    assert parse_options({"min": "1e9"}).min_amount == "1000000000"
    assert parse_options({"min": "1e10"}).min_amount == "0"
    assert parse_options({"min": "25"}).min_amount == "25"


def _assert_bounded(options: WidgetOptions) -> None:
    ranges = {"size": (10, 96), "rows": (1, 25), "volume": (0, 100), "speed": (10, 600),
              "duration": (1.0, 120.0), "max_lag": (5.0, 300.0)}  # fmt: skip
    for name, (low, high) in ranges.items():
        assert low <= getattr(options, name) <= high, name
    amount = Decimal(options.min_amount)
    assert 0 <= amount <= 10**9 and len(options.min_amount) <= 13
    # Text options: a locale tag (35), a label (40), alert tiers (160); the rest shorter.
    longest = {"tiers": MAX_TIERS_CHARS, **dict.fromkeys(LABELS, MAX_LABEL_CHARS)}
    for field in fields(WidgetOptions):
        value = getattr(options, field.name)
        assert len(str(value)) <= longest.get(field.name, 35), (field.name, value)


def test_the_names_read_are_the_declared_ones_and_links_round_trip():
    """Each option is declared once (theme.py): its query names, parser and default; a link
    built from options (query_string) reads back as the same options."""
    declared = {f.metadata["option"].query or f.name for f in fields(WidgetOptions)}
    declared |= {a for f in fields(WidgetOptions) for a in f.metadata["option"].aliases}
    assert declared == set(QUERY_NAMES)
    changed = WidgetOptions(
        overlay=True, text="#ff0000", background="#000000", font="mono", size=20, rows=5,
        locale="de-DE", decimals=False, board="teams", duration=2.5, min_amount="2.5",
        tiers="100:#eab308:coin:10", lang="fr", label_raised="Got it",
    )  # fmt: skip
    assert parse_options(QueryDict(changed.query_string())) == changed
    assert changed.css_variables() == (
        "--fb-text:#ff0000;--fb-bg:#000000;--fb-font:" + FONTS["mono"] + ";--fb-size:20px"
    )
