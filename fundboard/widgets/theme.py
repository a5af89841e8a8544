"""Widget options from the query string, validated against allow-lists.

Streamers theme a widget by editing its URL (`?bar=%23ff6600&font=rounded&overlay=1`).
Every value is checked here against a regex, a range or a fixed list; anything else falls
back to the default. Only values that passed go into the page (as CSS custom properties and
as a JSON config for the script), so nothing from the query string can add markup or CSS.

Every option is bounded in range and in the text it renders, not only typed: a value longer
than MAX_VALUE_CHARS is ignored unread, numbers have ranges, and the minimum amount is a
whole number of cents up to MAX_MIN_AMOUNT (`?min=1e-999990` once rendered 31 MB). Only the
names below are read, and Django refuses a query string of more than
DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) fields; the servers cap a request line at ~16 KB.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

__all__ = [
    "FONTS",
    "NAMED_COLOURS",
    "SOUNDS",
    "WIDGETS",
    "WidgetOptions",
    "parse_options",
]

# The widgets a campaign has, in the order the index page lists them.
WIDGETS = {
    "thermometer": "Thermometer",
    "leaderboard": "Leaderboard",
    "top-donors": "Top donors",
    "ticker": "Ticker",
    "alerts": "Alerts",
}

HEX_COLOUR = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
# A short list is enough for people who type colours by hand; anything else is hex.
NAMED_COLOURS = {
    "white": "#ffffff",
    "black": "#000000",
    "red": "#d1242f",
    "orange": "#f97316",
    "yellow": "#facc15",
    "gold": "#eab308",
    "green": "#1a7f37",
    "teal": "#0d9488",
    "blue": "#0969da",
    "purple": "#8250df",
    "pink": "#db2777",
    "gray": "#6e7781",
    "transparent": "transparent",
}

# Font stacks (family names the page may ask for). Each ends with a generic family, so the
# browser's own text font draws whatever the named fonts lack; the emoji fonts come after it
# and only for emoji: "Fundboard Emoji" (widgets.css) is the colour-emoji font limited by
# `unicode-range` to emoji code points. A colour-emoji font has digit glyphs too (keycaps),
# and listed before the generic family it drew "$ 1 3 , 0 2 6" where no listed font was
# installed. "Fundboard Rounded" is a bundled font (static/fundboard/fonts/, OFL), so
# `font=rounded` is rounded everywhere.
_EMOJI = '"Fundboard Emoji", "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji"'


def _stack(fonts: str, generic: str = "sans-serif") -> str:
    return f"{fonts}, {generic}, {_EMOJI}"


FONTS = {
    "system": _stack('system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", Arial'),
    "sans": _stack('"Helvetica Neue", Arial, "Noto Sans", "DejaVu Sans"'),
    "serif": _stack('Georgia, "Times New Roman", "Noto Serif", "DejaVu Serif"', "serif"),
    "mono": _stack(
        'ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono"', "monospace"
    ),
    "rounded": _stack('"Fundboard Rounded", ui-rounded, "SF Pro Rounded"'),
    "condensed": _stack('"Roboto Condensed", "Arial Narrow", "DejaVu Sans Condensed"'),
    "impact": _stack('Impact, Haettenschweiler, "Arial Black", "DejaVu Sans"'),
}

SOUNDS = {"none": "", "chime": "fundboard/sounds/chime.wav", "coin": "fundboard/sounds/coin.wav"}

# BCP 47 language tags as browsers accept them (language, script, region, variants).
LOCALE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-([a-zA-Z]{2}|[0-9]{3}))?(-[a-zA-Z0-9]{5,8})*$")
CURRENCY_DISPLAYS = ("symbol", "narrowSymbol", "code", "name")
BOARDS = ("fundraisers", "teams")
LAYOUTS = ("horizontal", "vertical")  # the thermometer's bar: across, or a tube standing up
WIDTHS = ("normal", "full")  # full: no 60 rem cap, the widget spans the whole browser source
# Languages with widget translations (fundboard/widgets/locale/); `lang=` picks one.
LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}([-_][a-zA-Z]{2,4})?$")
# A label override replaces one word or phrase; longer text is ignored, not cut.
MAX_LABEL_CHARS = 40
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# The longest valid value is a locale tag (35); anything longer is not an option we know.
MAX_VALUE_CHARS = 64
MAX_MIN_AMOUNT = Decimal("1000000000")
# Alert tiers (`tiers=100:gold:coin,500:red:chime:10`): amount:colour:sound:seconds, the
# parts after the amount optional; at most MAX_TIERS, the whole value MAX_TIERS_CHARS long.
MAX_TIERS = 5
MAX_TIERS_CHARS = 160
TIER_AMOUNT = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,2})?$")
CENTS = Decimal("0.01")
TRUE_WORDS = {"1", "true", "yes", "on", "show"}
FALSE_WORDS = {"0", "false", "no", "off", "hide"}


@dataclass(frozen=True)
class WidgetOptions:
    """Validated options of one widget page; the defaults are the default theme."""

    overlay: bool = False
    text: str = ""  # colours: "" means "the theme's default for this mode"
    bar: str = ""
    background: str = ""
    font: str = "system"
    size: int = 18  # base font size, px
    rows: int = 10
    locale: str = "en-US"
    currency_display: str = "symbol"
    decimals: bool = True
    messages: bool = True
    amounts: bool = True
    title: bool = True
    board: str = "fundraisers"
    layout: str = "horizontal"
    duration: float = 6.0  # alert seconds on screen
    sound: str = "chime"
    volume: int = 50
    min_amount: str = "0"
    speed: int = 60  # ticker pixels per second
    max_lag: float = 15.0  # alerts: the most seconds the overlay may fall behind
    tiers: str = ""  # alerts: validated and normalised, see _tiers
    width: str = "normal"
    lang: str = ""  # "" means "from the locale"; see words.language_for
    # Label overrides (words.LABEL_WORDS): "" keeps the translated word.
    label_raised: str = ""
    label_goal: str = ""
    label_donations: str = ""
    label_latest: str = ""
    label_donated: str = ""
    label_title: str = ""
    label_stretch: str = ""

    # --- what the page uses ----------------------------------------------------------------

    def css_variables(self) -> str:
        """Custom properties for the page's <style>: only validated, non-default values."""
        defaults = WidgetOptions()
        pairs = {
            "--fb-text": self.text,
            "--fb-bar": self.bar,
            "--fb-bg": self.background,
            "--fb-font": FONTS[self.font] if self.font != defaults.font else "",
            "--fb-size": f"{self.size}px" if self.size != defaults.size else "",
        }
        return ";".join(f"{name}:{value}" for name, value in pairs.items() if value)

    def client_config(self) -> dict:
        """What the script needs (json_script escapes it for the page)."""
        config = asdict(self)
        config["sound_url"] = SOUNDS[self.sound]
        config["tiers"] = tier_list(self.tiers)
        return config

    def query_pairs(self, **changes) -> list[tuple[str, str]]:
        """The non-default options as (query name, value) pairs, for links and embeds."""
        options = {**asdict(self), **changes}
        defaults = asdict(WidgetOptions())
        pairs = []
        for name, value in options.items():
            if value == defaults[name]:
                continue
            text = ("1" if value else "0") if isinstance(value, bool) else str(value)
            pairs.append((QUERY_NAMES.get(name, name), text))
        return pairs

    def query_string(self, **changes) -> str:
        return urlencode(self.query_pairs(**changes))


# Query-string names that differ from the field names.
QUERY_NAMES = {
    "background": "bg",
    "currency_display": "currency_display",
    "min_amount": "min",
}


def _colour(value: str | None) -> str:
    if not value:
        return ""
    value = value.strip()
    if value.lower() in NAMED_COLOURS:
        return NAMED_COLOURS[value.lower()]
    if HEX_COLOUR.match(value):
        return "#" + value.lstrip("#").lower()
    return ""


def _int(value: str | None, low: int, high: int, default: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return number if low <= number <= high else default


def _float(value: str | None, low: float, high: float, default: float) -> float:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return default
    # Tenths are plenty for seconds on screen, and keep the rendered text short.
    return round(number, 1) if low <= number <= high else default


def _bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return default


def _choice(value: str | None, allowed, default: str) -> str:
    return value if value is not None and value in allowed else default


def _amount(value: str | None) -> str:
    """A minimum amount: 0 to MAX_MIN_AMOUNT in whole cents, as at most 13 characters."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return "0"
    if not amount.is_finite() or amount < 0 or amount > MAX_MIN_AMOUNT:
        return "0"
    # Rounded to cents before formatting: a normalised 1e-999990 printed with "f" was a
    # million digits.
    cents = amount.quantize(CENTS)
    return format(cents.normalize(), "f") if cents else "0"


def _locale(value: str | None) -> str:
    value = (value or "").strip()
    return value if len(value) <= 35 and LOCALE.match(value) else WidgetOptions.locale


def _language(value: str | None) -> str:
    value = (value or "").strip()
    return value.lower().replace("_", "-") if LANGUAGE.match(value) else ""


def _label(value: str | None) -> str:
    """A replacement word: plain text up to MAX_LABEL_CHARS, without control characters.

    Templates escape it and the script sets it as textContent, so markup stays text."""
    text = CONTROL_CHARS.sub("", value or "").strip()
    return " ".join(text.split()) if len(text) <= MAX_LABEL_CHARS else ""


def _tiers(value: str | None) -> str:
    """Alert tiers, normalised (`100:#eab308:coin:10`); any invalid part voids the option."""
    if not value or len(value) > MAX_TIERS_CHARS:
        return ""
    tiers = []
    for spec in value.split(",")[: MAX_TIERS + 1]:
        amount, colour, sound, seconds = (spec.strip().split(":") + ["", "", ""])[:4]
        if spec.count(":") > 3 or not TIER_AMOUNT.match(amount):
            return ""
        if (colour and not _colour(colour)) or (sound and sound not in SOUNDS):
            return ""
        duration = _float(seconds, 1.0, 120.0, 0.0) if seconds else 0.0
        if seconds and not duration:
            return ""
        seconds = f"{duration:g}" if duration else ""
        tiers.append(":".join([amount, _colour(colour), sound, seconds]))
    return ",".join(tiers) if len(tiers) <= MAX_TIERS else ""


def tier_list(tiers: str) -> list[dict]:
    """The normalised `tiers` option as the alerts script reads it."""
    result = []
    for spec in filter(None, tiers.split(",")):
        amount, colour, sound, seconds = spec.split(":")
        result.append(
            {"amount": amount, "colour": colour, "sound": sound or None,
             "duration": float(seconds) if seconds else None}
        )  # fmt: skip
    return result


def parse_options(query) -> WidgetOptions:
    """Validated options from a QueryDict (or any mapping of strings)."""

    def get(name: str) -> str | None:
        value = query.get(name)
        return value if value is None or len(value) <= MAX_VALUE_CHARS else None

    defaults = WidgetOptions()
    return WidgetOptions(
        overlay=_bool(get("overlay"), False),
        text=_colour(get("text")),
        bar=_colour(get("bar")),
        background=_colour(get("bg") or get("background")),
        font=_choice(get("font"), FONTS, defaults.font),
        size=_int(get("size"), 10, 96, defaults.size),
        rows=_int(get("rows") or get("limit"), 1, 25, defaults.rows),
        locale=_locale(get("locale")),
        currency_display=_choice(
            get("currency_display"), CURRENCY_DISPLAYS, defaults.currency_display
        ),
        decimals=_bool(get("decimals"), True),
        messages=_bool(get("messages"), True),
        amounts=_bool(get("amounts"), True),
        title=_bool(get("title"), True),
        board=_choice(get("board"), BOARDS, defaults.board),
        layout=_choice(get("layout"), LAYOUTS, defaults.layout),
        duration=_float(get("duration"), 1.0, 120.0, defaults.duration),
        sound=_choice(get("sound"), SOUNDS, defaults.sound),
        volume=_int(get("volume"), 0, 100, defaults.volume),
        min_amount=_amount(get("min")) if get("min") else "0",
        speed=_int(get("speed"), 10, 600, defaults.speed),
        max_lag=_float(get("max_lag"), 5.0, 300.0, defaults.max_lag),
        tiers=_tiers(query.get("tiers")),
        width=_choice(get("width"), WIDTHS, defaults.width),
        lang=_language(get("lang")),
        label_raised=_label(get("label_raised")),
        label_goal=_label(get("label_goal")),
        label_donations=_label(get("label_donations")),
        label_latest=_label(get("label_latest")),
        label_donated=_label(get("label_donated")),
        label_title=_label(get("label_title")),
        label_stretch=_label(get("label_stretch")),
    )


OPTION_NAMES = [f.name for f in fields(WidgetOptions)]
