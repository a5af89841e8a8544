"""Every word a widget shows, in the viewer's language: the one source of widget text.

The server renders these words into the page, and hands the same dictionary to live.js
(inside the page's JSON config), so the words the script draws after a live update come
from the same translations (fundboard/widgets/locale/<lang>/LC_MESSAGES/django.po, compiled
to the committed .mo files) as the server's HTML.

A streamer may replace some words by URL (`?label_raised=collected+of`); those overrides are
validated in `theme.py` and only ever inserted as text.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext, ngettext, pgettext

__all__ = ["DEFAULT_LANGUAGE", "LABEL_WORDS", "language_for", "widget_words"]

DEFAULT_LANGUAGE = "en"

# URL option -> the word it replaces.
LABEL_WORDS = {
    "label_raised": "raised_of",
    "label_goal": "goal_reached",
    "label_donations": "donations_other",
    "label_latest": "latest",
    "label_donated": "donated",
    "label_title": "title",
    "label_stretch": "stretch_goal",
}


def language_for(lang: str, locale: str) -> str:
    """The widget language: `lang=` if given and supported, else from `locale=` (de-DE -> de)."""
    for wanted in (lang, locale):
        if not wanted:
            continue
        try:
            return translation.get_supported_language_variant(wanted.lower())
        except LookupError:
            continue
    return DEFAULT_LANGUAGE


def _title(widget: str, board: str) -> str:
    if widget == "leaderboard":
        return gettext("Top teams") if board == "teams" else gettext("Top fundraisers")
    if widget == "top-donors":
        return gettext("Top donors")
    return ""


def widget_words(widget: str, options) -> dict[str, str]:
    """The words of one widget page in the active language, with the URL's label overrides."""
    words = {
        "raised_of": gettext("raised of"),
        "donations_one": ngettext("donation", "donations", 1),
        "donations_other": ngettext("donation", "donations", 2),
        "goal_reached": gettext("Goal reached!"),
        "goal_reached_thanks": gettext("Goal reached! Thank you!"),
        # "%(amount)s" is replaced by the script with the formatted amount.
        "milestone_reached": gettext("Milestone reached: %(amount)s"),
        "stretch_goal": gettext("Stretch goal"),
        "progress": gettext("Progress towards the goal"),
        "fundraising_progress": gettext("Fundraising progress"),
        "latest": pgettext("ticker heading", "Latest"),
        "recent_donations": gettext("Recent donations"),
        "donations_appear": gettext("Donations will appear here"),
        "donated": pgettext("alert: <name> donated <amount>", "donated"),
        "donated_no_amount": gettext("donated!"),
        # "{incentive}" is filled in by alerts.js (marathon mode, fundboard/incentives/alerts.py).
        "alert_incentive": pgettext("alert: the incentive a donation went to", "for {incentive}"),
        "anonymous": gettext("Anonymous"),
        "test": gettext("TEST"),
        "donation_alerts": gettext("Donation alerts"),
        "alerts_hint": gettext("Alerts for new donations appear here."),
        "leaderboard": gettext("Leaderboard"),
        "no_teams": gettext("No teams yet"),
        "no_fundraisers": gettext("No fundraisers yet"),
        "be_first": gettext("Be the first to donate!"),
        # The sponsor match (fundboard/matching): the match page and the thermometer's line.
        "sponsor_match": gettext("Sponsor match"),
        "no_match": gettext("No sponsor match right now."),
        # match.js fills in the braces: "Acme: ×2 until 9 PM · $3,210 of $10,000 matched left".
        "match_line": gettext(
            "{sponsor}: {ratio} until {time} · {remaining} of {cap} matched left"
        ),
        "title": _title(widget, options.board),
    }
    for option, word in LABEL_WORDS.items():
        override = getattr(options, option, "")
        if override:
            words[word] = override
            if word == "donations_other":
                words["donations_one"] = override
    return words
