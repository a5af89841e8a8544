"""What the embed builder offers: the widgets and theme options of `fundboard.widgets.theme`.

The builder only composes URLs; the widget page validates every option itself. Options
are described here once (query name, label, input type, choices, default) and the page's
script turns them into inputs, a live preview and the snippets.
"""

from __future__ import annotations

from dataclasses import asdict

from django.conf import settings

from fundboard.widgets import theme

__all__ = ["embed_options"]

_ALL = list(theme.WIDGETS)
_LISTS = ["leaderboard", "top-donors", "ticker"]


def _field(name, label, kind, default, *, choices=None, widgets=None, low=None, high=None):
    return {
        "name": name,
        "label": label,
        "type": kind,
        "default": default,
        "choices": choices or [],
        "widgets": widgets or _ALL,
        "min": low,
        "max": high,
    }


# Words a streamer may replace (widgets/words.py), and the widgets that show them.
LABELS = [
    ("label_raised", 'Words for "raised of"', ["thermometer"]),
    ("label_donations", 'Word for "donations"', ["thermometer"]),
    ("label_goal", 'Words for "Goal reached!"', ["thermometer"]),
    ("label_stretch", 'Words for "Stretch goal"', ["thermometer"]),
    ("label_title", "Heading", ["leaderboard", "top-donors"]),
    ("label_latest", 'Word for "Latest"', ["ticker"]),
    ("label_donated", 'Word for "donated"', ["alerts"]),
]


def embed_options() -> dict:
    defaults = asdict(theme.WidgetOptions())
    colours = [""] + sorted(theme.NAMED_COLOURS)
    fields = [
        _field("text", "Text colour", "colour", "", choices=colours),
        _field("bar", "Bar / accent colour", "colour", "", choices=colours),
        _field("bg", "Background", "colour", "", choices=colours),
        _field("font", "Font", "select", defaults["font"], choices=list(theme.FONTS)),
        _field("size", "Text size (px)", "number", defaults["size"], low=10, high=96),
        _field("layout", "Thermometer layout", "select", defaults["layout"],
               choices=list(theme.LAYOUTS), widgets=["thermometer"]),
        _field("rows", "Rows", "number", defaults["rows"], widgets=_LISTS, low=1, high=25),
        _field("board", "Board", "select", defaults["board"],
               choices=list(theme.BOARDS), widgets=["leaderboard"]),
        _field("locale", "Number locale", "text", defaults["locale"]),
        _field("currency_display", "Currency shown as", "select",
               defaults["currency_display"], choices=list(theme.CURRENCY_DISPLAYS)),
        _field("decimals", "Show cents", "bool", defaults["decimals"]),
        _field("amounts", "Show amounts", "bool", defaults["amounts"], widgets=_LISTS),
        _field("messages", "Show messages", "bool", defaults["messages"],
               widgets=["alerts", "ticker"]),
        _field("title", "Show title", "bool", defaults["title"]),
        _field("duration", "Alert seconds", "number", defaults["duration"],
               widgets=["alerts"], low=1, high=120),
        _field("sound", "Alert sound", "select", defaults["sound"],
               choices=list(theme.SOUNDS), widgets=["alerts"]),
        _field("volume", "Volume", "number", defaults["volume"], widgets=["alerts"],
               low=0, high=100),
        _field("min", "Minimum alert amount", "text", defaults["min_amount"],
               widgets=["alerts"]),
        _field("speed", "Ticker speed (px/s)", "number", defaults["speed"],
               widgets=["ticker"], low=10, high=600),
        _field("width", "Width", "select", defaults["width"], choices=list(theme.WIDTHS)),
        _field("lang", "Language of the words", "select", "",
               choices=["", *(code for code, _ in settings.LANGUAGES)]),
        *(_field(name, label, "text", "", widgets=widgets) for name, label, widgets in LABELS),
    ]  # fmt: skip
    # The script embed's loader, by its stable (unhashed) name: pasted snippets outlive deploys.
    embed_script = f"{settings.STATIC_URL}fundboard/embed.js"
    return {"widgets": list(theme.WIDGETS.items()), "fields": fields, "embed_script": embed_script}
