"""Widgets in the viewer's language, label overrides, favicon, and the quiet ingest log.

The words the script draws after a live update come from the same dictionary the page
carries (#fb-config "words"); the browser side is in tests/browser/test_widgets_language.py.
"""

import gettext
import json
import logging
import re
from decimal import Decimal

import pytest
from django.test import Client

from fundboard.ingest.log_summary import IngestSummary
from fundboard.ingest.services import ingest_donations
from fundboard.widgets.theme import MAX_LABEL_CHARS, parse_options

from .factories import make_campaign, make_source, record
from .support import REPO

WIDGETS = ["thermometer", "leaderboard", "top-donors", "ticker", "alerts"]


@pytest.fixture
def campaign(db):
    return make_campaign("sommer", name="Sommerlauf", goal=Decimal("1000"))


def _config(html: str) -> dict:
    match = re.search(r'<script id="fb-config" type="application/json">(.*?)</script>', html)
    assert match, "#fb-config missing"
    return json.loads(match.group(1))


@pytest.mark.parametrize("widget", WIDGETS)
def test_lang_de_gives_german_words_and_html_lang(campaign, widget):
    html = Client().get(f"/c/sommer/{widget}?lang=de").content.decode()
    assert '<html lang="de"' in html
    words = _config(html)["words"]
    assert words["donations_other"] == "Spenden"
    assert words["raised_of"] == "gesammelt von"
    assert words["latest"] == "Neueste"
    assert words["goal_reached"] == "Ziel erreicht!"


def test_thermometer_in_german_server_html(campaign):
    html = Client().get("/c/sommer/thermometer?lang=de").content.decode()
    assert '<span id="raised-of">gesammelt von</span>' in html
    assert 'aria-label="Fortschritt zum Ziel"' in html
    assert ">Ziel erreicht!</span>" in html  # the (hidden) badge
    assert "raised of" not in html


@pytest.mark.parametrize(
    ("query", "lang", "word"),
    [
        ("locale=de-DE", "de", "Neueste"),
        ("locale=fr-CA", "fr", "Derniers"),
        ("locale=es-MX", "es", "Lo último"),
        ("lang=pt-BR", "pt-br", "Últimas"),
        ("lang=pt", "pt-br", "Últimas"),
        ("lang=fr&locale=de-DE", "fr", "Derniers"),  # lang= wins over locale=
        ("lang=xx", "en", "Latest"),  # unknown: English
        ("", "en", "Latest"),
    ],
)
def test_language_from_lang_or_locale(campaign, query, lang, word):
    response = Client().get(f"/c/sommer/ticker?{query}")
    html = response.content.decode()
    assert f'<html lang="{lang}"' in html
    assert response["Content-Language"] == lang
    assert f'<span class="fb-ticker-label">{word}</span>' in html


def test_language_is_per_request_only(campaign, admin_client):
    Client().get("/c/sommer/ticker?lang=de")
    # The next page (another request, the staff side) is English again.
    html = Client().get("/c/sommer/ticker").content.decode()
    assert "Latest" in html and "Neueste" not in html


def test_label_override_replaces_the_word_as_text(campaign):
    html = (
        Client()
        .get("/c/sommer/thermometer?lang=de&label_raised=%3Cb%3Ecollected%3C/b%3E+of")
        .content.decode()
    )
    assert '<span id="raised-of">&lt;b&gt;collected&lt;/b&gt; of</span>' in html
    assert "<b>collected" not in html
    assert _config(html)["words"]["raised_of"] == "<b>collected</b> of"  # json_script escapes


def test_label_overrides_are_bounded_and_cleaned():
    fits = "x" * MAX_LABEL_CHARS
    assert parse_options({"label_latest": fits}).label_latest == fits
    assert parse_options({"label_latest": fits + "x"}).label_latest == ""
    assert parse_options({"label_latest": "New\u202e\x00  now "}).label_latest == "New now"
    assert parse_options({"label_title": "a" * 10_000}).label_title == ""


def test_ticker_and_title_overrides(campaign):
    html = Client().get("/c/sommer/top-donors?label_title=Heroes").content.decode()
    assert '<h1 class="fb-title">Heroes</h1>' in html
    html = Client().get("/c/sommer/ticker?label_latest=Now").content.decode()
    assert '<span class="fb-ticker-label">Now</span>' in html


def test_every_widget_word_is_translated_in_every_language():
    from django.utils import translation

    from fundboard.widgets.words import widget_words

    options = parse_options({})
    with translation.override("en"):
        english = widget_words("leaderboard", options)
    for lang in ("es", "fr", "de", "pt-br"):
        with translation.override(lang):
            words = widget_words("leaderboard", options)
        same = {key for key in english if words[key] == english[key]}
        assert same <= {"test"}, (lang, same)  # "TEST" is the same word in French and German


def test_compiled_translations_match_the_po_files():
    """The committed .mo files hold every word of the .po files (recompile after editing)."""
    locale = REPO / "fundboard/widgets/locale"
    for lang in ("es", "fr", "de", "pt_BR"):
        folder = locale / lang / "LC_MESSAGES"
        msgids = set(re.findall(r'^msgid "(.+)"$', (folder / "django.po").read_text(), re.M))
        with (folder / "django.mo").open("rb") as handle:
            catalog = gettext.GNUTranslations(handle)._catalog
        compiled = {
            (key[0] if isinstance(key, tuple) else key).split("\x04")[-1] for key in catalog
        }
        assert msgids <= compiled, (lang, msgids - compiled)


def test_favicon_is_served(client):
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_widget_and_dashboard_pages_link_the_icon(campaign, admin_client):
    assert 'rel="icon"' in Client().get("/c/sommer/thermometer").content.decode()
    assert 'rel="icon"' in admin_client.get("/dashboard/").content.decode()


# --- quiet ingest log -------------------------------------------------------------------------


def test_donations_log_one_summary_line_not_one_each(campaign, caplog):
    source = make_source(campaign)
    with caplog.at_level(logging.INFO, logger="fundboard.ingest"):
        ingest_donations(source.pk, [record(str(n + 1)) for n in range(20)])
    per_donation = [r for r in caplog.records if "ingested donation " in r.getMessage()]
    assert per_donation == [] or all(r.levelno == logging.DEBUG for r in per_donation)


def test_a_mass_removal_logs_one_info_line(campaign, caplog):
    from fundboard.ingest.services import remove_donations

    source = make_source(campaign)
    records = [record(str(n + 1)) for n in range(6)]
    ingest_donations(source.pk, records)
    with caplog.at_level(logging.INFO, logger="fundboard.ingest"):
        remove_donations(source.pk, [r.upstream_id for r in records])
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    # The process's periodic ingest summary may fall due meanwhile (the 6 ingested above).
    info = [line for line in info if not line.startswith("ingested ")]
    assert info == [f"removed 6 donations campaign=sommer source={source.pk}"]


def test_summary_counts_donations_and_sources_per_period():
    now = [0.0]
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    logger = logging.getLogger("test.ingest.summary")
    logger.addHandler(Collect())
    logger.setLevel(logging.INFO)
    summary = IngestSummary(logger, every=10, clock=lambda: now[0])
    for second in range(12):
        now[0] = float(second)
        summary.add(source_id=1 + second % 3, count=2)
    assert lines == ["ingested 22 donations (3 sources) in the last 10 s"]
    now[0] = 25.0
    summary.add(source_id=7, count=1)
    assert lines[-1] == "ingested 3 donations (2 sources) in the last 15 s"


def test_toml_stretch_goals_are_stored_with_the_milestones(db, tmp_path):
    from fundboard.campaigns.loader import load_campaigns_file
    from fundboard.campaigns.models import Campaign

    config = tmp_path / "campaigns.toml"
    config.write_text(
        '[[campaign]]\nslug = "run"\ngoal = "25000"\nmilestones = ["5000", "10000"]\n'
        'stretch_goals = ["40000", "30000"]\n'
    )
    load_campaigns_file(config)
    assert Campaign.objects.get(slug="run").milestones == ["5000", "10000", "30000", "40000"]


def test_index_page_offers_language_and_width_and_links_carry_them(campaign):
    html = Client().get("/c/sommer/?lang=de&width=full&label_latest=Jetzt").content.decode()
    assert '<option value="de" selected>Deutsch</option>' in html
    assert "<option selected>full</option>" in html
    assert 'href="ticker?width=full&amp;lang=de&amp;label_latest=Jetzt"' in html
