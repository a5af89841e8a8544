"""The sponsor match's words in the viewer's language: the match page's own words and the
line match.js draws (config "words".match_line, on the match page and the thermometer)."""

import json
import re

import pytest
from django.test import Client

from .factories import make_campaign

pytestmark = pytest.mark.django_db


def page(path: str) -> tuple[str, dict]:
    html = Client().get(path).content.decode()
    found = re.search(r'<script id="fb-config" type="application/json">(.*?)</script>', html)
    assert found, "#fb-config missing"
    return html, json.loads(found.group(1))["words"]


def test_the_match_page_in_german():
    make_campaign()
    html, words = page("/c/drive/match?lang=de")
    assert '<html lang="de"' in html
    assert 'aria-label="Sponsoren-Aufstockung"' in html
    assert ">Gerade keine Sponsoren-Aufstockung.</p>" in html
    assert "No sponsor match" not in html and 'aria-label="Sponsor match"' not in html
    assert words["match_line"] == (
        "{sponsor}: {ratio} bis {time} · noch {remaining} von {cap} aufzustocken"
    )


@pytest.mark.parametrize("lang", ["es", "fr", "pt-br"])
def test_the_match_line_keeps_every_placeholder_in_each_language(lang):
    make_campaign()
    _, english = page("/c/drive/thermometer")
    _, words = page(f"/c/drive/thermometer?lang={lang}")
    assert words["match_line"] != english["match_line"]
    placeholders = set(re.findall(r"\{\w+\}", english["match_line"]))
    assert placeholders == {"{sponsor}", "{ratio}", "{time}", "{remaining}", "{cap}"}
    assert set(re.findall(r"\{\w+\}", words["match_line"])) == placeholders


def test_the_match_page_in_english_by_default():
    make_campaign()
    html, words = page("/c/drive/match")
    assert ">No sponsor match right now.</p>" in html
    assert words["match_line"] == (
        "{sponsor}: {ratio} until {time} · {remaining} of {cap} matched left"
    )
