"""Widget options from the query string, validated against allow-lists.

Streamers theme a widget by editing its URL (`?bar=%23ff6600&font=rounded&overlay=1`).
Every value is checked here against a regex, a range or a fixed list; anything else falls
back to the default. Each option is declared once, as a field of WidgetOptions: its type,
default, parser (with its bounds), query-string names and CSS custom property; parsing,
the page's CSS and the links' query strings are derived from those declarations. Only
values that passed go into the page (as CSS custom properties and as a JSON config for the
script), so nothing from the query string can add markup or CSS.

Every option is bounded in range and in the text it renders, not only typed: a value longer
than MAX_VALUE_CHARS is ignored unread, numbers have ranges, and the minimum amount is a
whole number of cents up to MAX_MIN_AMOUNT (`?min=1e-999990` once rendered 31 MB). Only the
names below are read, and Django refuses a query string of more than
DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) fields; the servers cap a request line at ~16 KB.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import Any
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


# --- parsers: the raw query value (never empty) -> the option's value, or None: the default


def _colour(value: str) -> str | None:
    value = value.strip()
    if value.lower() in NAMED_COLOURS:
        return NAMED_COLOURS[value.lower()]
    if HEX_COLOUR.match(value):
        return "#" + value.lstrip("#").lower()
    return None


def _int_between(low: int, high: int) -> Callable[[str], int | None]:
    def parse(value: str) -> int | None:
        try:
            number = int(value.strip())
        except ValueError:
            return None
        return number if low <= number <= high else None

    return parse


def _float_between(low: float, high: float) -> Callable[[str], float | None]:
    def parse(value: str) -> float | None:
        try:
            number = float(value.strip())
        except ValueError:
            return None
        # Tenths are plenty for seconds on screen, and keep the rendered text short.
        return round(number, 1) if low <= number <= high else None

    return parse


def _bool(value: str) -> bool | None:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def _one_of(allowed) -> Callable[[str], str | None]:
    return lambda value: value if value in allowed else None


def _amount(value: str) -> str | None:
    """A minimum amount: 0 to MAX_MIN_AMOUNT in whole cents, as at most 13 characters."""
    try:
        amount = Decimal(value.strip())
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_MIN_AMOUNT:
        return None
    # Rounded to cents before formatting: a normalised 1e-999990 printed with "f" was a
    # million digits.
    cents = amount.quantize(CENTS)
    return format(cents.normalize(), "f") if cents else "0"


def _locale(value: str) -> str | None:
    value = value.strip()
    return value if len(value) <= 35 and LOCALE.match(value) else None


def _language(value: str) -> str | None:
    value = value.strip()
    return value.lower().replace("_", "-") if LANGUAGE.match(value) else None


def _label(value: str) -> str | None:
    """A replacement word: plain text up to MAX_LABEL_CHARS, without control characters.

    Templates escape it and the script sets it as textContent, so markup stays text."""
    text = CONTROL_CHARS.sub("", value).strip()
    return " ".join(text.split()) if len(text) <= MAX_LABEL_CHARS else None


_tier_seconds = _float_between(1.0, 120.0)


def _tiers(value: str) -> str | None:
    """Alert tiers, normalised (`100:#eab308:coin:10`); any invalid part voids the option."""
    tiers = []
    for spec in value.split(",")[: MAX_TIERS + 1]:
        amount, colour, sound, seconds = (spec.strip().split(":") + ["", "", ""])[:4]
        if spec.count(":") > 3 or not TIER_AMOUNT.match(amount):
            return None
        if (colour and not _colour(colour)) or (sound and sound not in SOUNDS):
            return None
        duration = _tier_seconds(seconds) if seconds else None
        if seconds and not duration:
            return None
        colour = (_colour(colour) or "") if colour else ""
        tiers.append(":".join([amount, colour, sound, f"{duration:g}" if duration else ""]))
    return ",".join(tiers) if len(tiers) <= MAX_TIERS else None


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


# --- the declaration of an option ------------------------------------------------------


@dataclass(frozen=True)
class OptionSpec:
    """How one option is read and used (WidgetOptions' field metadata)."""

    parse: Callable[[str], Any]
    query: str = ""  # its query-string name, when it is not the field's name
    aliases: tuple[str, ...] = ()  # older or longer names also read (first non-empty wins)
    css: str = ""  # the CSS custom property it sets, when not the default
    css_value: Callable[[Any], str] = str
    max_chars: int = MAX_VALUE_CHARS  # a longer value is ignored unread


def option(default: Any, parse: Callable[[str], Any], **spec: Any) -> Any:
    return field(default=default, metadata={"option": OptionSpec(parse, **spec)})


def _spec(name: str) -> OptionSpec:
    return _SPECS[name]


@dataclass(frozen=True)
class WidgetOptions:
    """Validated options of one widget page; the defaults are the default theme."""

    overlay: bool = option(False, _bool)
    # Colours: "" means "the theme's default for this mode".
    text: str = option("", _colour, css="--fb-text")
    bar: str = option("", _colour, css="--fb-bar")
    background: str = option("", _colour, query="bg", aliases=("background",), css="--fb-bg")
    font: str = option("system", _one_of(FONTS), css="--fb-font", css_value=FONTS.__getitem__)
    size: int = option(18, _int_between(10, 96), css="--fb-size", css_value="{}px".format)  # px
    rows: int = option(10, _int_between(1, 25), aliases=("limit",))
    locale: str = option("en-US", _locale)
    currency_display: str = option("symbol", _one_of(CURRENCY_DISPLAYS))
    decimals: bool = option(True, _bool)
    messages: bool = option(True, _bool)
    amounts: bool = option(True, _bool)
    title: bool = option(True, _bool)
    board: str = option("fundraisers", _one_of(BOARDS))
    layout: str = option("horizontal", _one_of(LAYOUTS))
    duration: float = option(6.0, _float_between(1.0, 120.0))  # alert seconds on screen
    sound: str = option("chime", _one_of(SOUNDS))
    volume: int = option(50, _int_between(0, 100))
    min_amount: str = option("0", _amount, query="min")
    speed: int = option(60, _int_between(10, 600))  # ticker pixels per second
    max_lag: float = option(15.0, _float_between(5.0, 300.0))  # alerts: most seconds behind
    tiers: str = option("", _tiers, max_chars=MAX_TIERS_CHARS)  # alerts, see _tiers
    width: str = option("normal", _one_of(WIDTHS))
    lang: str = option("", _language)  # "" means "from the locale"; see words.language_for
    # Label overrides (words.LABEL_WORDS): "" keeps the translated word.
    label_raised: str = option("", _label)
    label_goal: str = option("", _label)
    label_donations: str = option("", _label)
    label_latest: str = option("", _label)
    label_donated: str = option("", _label)
    label_title: str = option("", _label)
    label_stretch: str = option("", _label)

    # --- what the page uses ----------------------------------------------------------------

    def css_variables(self) -> str:
        """Custom properties for the page's <style>: only validated, non-default values."""
        pairs = []
        for item in fields(self):
            spec, value = _spec(item.name), getattr(self, item.name)
            if spec.css and value != item.default:
                pairs.append(f"{spec.css}:{spec.css_value(value)}")
        return ";".join(pairs)

    def client_config(self) -> dict:
        """What the script needs (json_script escapes it for the page)."""
        config = asdict(self)
        config["sound_url"] = SOUNDS[self.sound]
        config["tiers"] = tier_list(self.tiers)
        return config

    def query_pairs(self, **changes) -> list[tuple[str, str]]:
        """The non-default options as (query name, value) pairs, for links and embeds."""
        options = {**asdict(self), **changes}
        pairs = []
        for item in fields(self):
            value = options[item.name]
            if value == item.default:
                continue
            text = ("1" if value else "0") if isinstance(value, bool) else str(value)
            pairs.append((_spec(item.name).query or item.name, text))
        return pairs

    def query_string(self, **changes) -> str:
        return urlencode(self.query_pairs(**changes))


_SPECS: dict[str, OptionSpec] = {f.name: f.metadata["option"] for f in fields(WidgetOptions)}


def _raw_value(query: Mapping[str, str], name: str, spec: OptionSpec) -> str | None:
    """The option's value as given: the first non-empty one of its names, if short enough."""
    for key in (spec.query or name, *spec.aliases):
        value = query.get(key)
        if value and len(value) <= spec.max_chars:
            return value
    return None


def parse_options(query) -> WidgetOptions:
    """Validated options from a QueryDict (or any mapping of strings)."""
    values = {}
    for name, spec in _SPECS.items():
        raw = _raw_value(query, name, spec)
        parsed = spec.parse(raw) if raw is not None else None
        if parsed is not None:
            values[name] = parsed
    return WidgetOptions(**values)
