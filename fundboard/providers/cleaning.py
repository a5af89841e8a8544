"""Turning untrusted upstream values into clean ones, or a `BadRecord` with a reason.

Names and messages are stored as plain, valid text: lone surrogates (half an emoji, as a
27-character cut on another system can leave) become U+FFFD, control characters, bidi
overrides and invisible characters are removed, and the length is capped. Escaping happens
where they are shown. Amounts become `Decimal` with two places, from strict forms only.
Upstream error text shown on a source's health goes through `upstream_text` (bounded, one
line, no control characters).
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from .errors import BadRecord

__all__ = [
    "parse_amount",
    "parse_currency",
    "parse_time",
    "clean_name",
    "clean_message",
    "clean_id",
    "clean_optional_id",
    "upstream_text",
    "NAME_MAX_LENGTH",
    "MESSAGE_MAX_LENGTH",
    "ID_MAX_LENGTH",
    "UPSTREAM_TEXT_MAX_LENGTH",
]

# ImRaising documents 27 characters as the nickname maximum; longer ones are cut there.
NAME_MAX_LENGTH = 27
MESSAGE_MAX_LENGTH = 500
# Donation.upstream_id and fundraiser_id are 100-character columns.
ID_MAX_LENGTH = 100
# Upstream error text (an error body's message, a reason phrase) quoted on a source's health.
UPSTREAM_TEXT_MAX_LENGTH = 200
CENT = Decimal("0.01")
# Amount strings: ASCII digits with at most one decimal point, an optional minus (so a
# negative amount is rejected as such). No exponent, no `_`, no other digits (`١٢`), no
# thousands separator. Surrounding spaces and tabs are tolerated (stripped).
_AMOUNT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)
AMOUNT_MAX_CHARACTERS = 32
_NOT_FINITE = {"nan", "snan", "inf", "infinity"}
# Control characters (but not newlines in messages), C1 controls and bidi overrides that
# could be used to garble a page; right-to-left text itself is kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Invisible characters that are not format characters (category Cf, removed separately):
# combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian variation
# selectors and vowel separator, braille blank. Each can make a name look like another.
_INVISIBLE = re.compile(r"[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\uffa0]")
# Zero-width joiners (U+200C, U+200D) are kept only between two characters that are
# neither ASCII nor spaces: inside an emoji sequence (👨‍👩‍👧) or Persian/Indic script,
# where they change how the text looks. Next to ASCII or at an edge they only hide.
_JOINERS = "\u200c\u200d"
_FLAG = "\U0001f3f4"  # subdivision flags (🏴 + tag characters + cancel tag)
_TAGS = range(0xE0020, 0xE0080)


def _is_noncharacter(code: int) -> bool:
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def _fix_surrogates(text: str) -> str:
    """Valid UTF-16 pairs joined, lone surrogates replaced with U+FFFD."""
    if not any("\ud800" <= char <= "\udfff" for char in text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _visible(text: str) -> str:
    """`text` without format characters (zero-width spaces, BOM, soft hyphen, word joiner,
    bidi marks...) and other invisible ones, except joiners and flag tags where they work."""
    kept: list[str] = []
    for index, char in enumerate(text):
        code = ord(char)
        if char in _JOINERS:
            if _joins(text, index):
                kept.append(char)
        elif code in _TAGS or code == 0xE007F:
            if kept and (kept[-1] == _FLAG or ord(kept[-1]) in _TAGS):
                kept.append(char)
        elif unicodedata.category(char) == "Cf" or _is_noncharacter(code):
            continue
        else:
            kept.append(char)
    return _INVISIBLE.sub("", "".join(kept))


def _joins(text: str, index: int) -> bool:
    if index == 0 or index == len(text) - 1:
        return False
    return _joinable(text[index - 1]) and _joinable(text[index + 1])


def _joinable(char: str) -> bool:
    """A visible, non-ASCII character (not a space, a format character or an invisible)."""
    return (
        not char.isascii()
        and unicodedata.category(char)[0] not in "CZ"
        and not _INVISIBLE.match(char)
    )


def _clean_text(value: object, max_length: int, *, keep_newlines: bool) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""  # an object or a list is not a name: never its repr
    # Cut first (with room for what cleaning removes): a megabyte of name costs no more.
    text = _fix_surrogates(str(value)[: max_length * 4])
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text)
    if not text.isascii():  # ASCII has no invisible characters left after _CONTROL
        text = _visible(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not keep_newlines:
        text = " ".join(text.split())
    text = text.strip()
    if len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return text


def clean_name(value: object) -> str:
    """A donor or fundraiser name: one line, at most NAME_MAX_LENGTH visible characters.

    A name that is empty once cleaned is "" (shown as Anonymous)."""
    return _clean_text(value, NAME_MAX_LENGTH, keep_newlines=False)


def clean_message(value: object) -> str:
    return _clean_text(value, MESSAGE_MAX_LENGTH, keep_newlines=True)


def upstream_text(value: object, max_length: int = UPSTREAM_TEXT_MAX_LENGTH) -> str:
    """Text an upstream chose (an error message) made safe to quote: valid, one line, short."""
    return _clean_text(value, max_length, keep_newlines=False)


# --- amounts ---------------------------------------------------------------------------------


def _decimal(value: object, field: str) -> Decimal:
    """The exact value of a JSON number or a strict amount string."""
    if isinstance(value, bool) or value is None:
        raise BadRecord(f"{field} is missing or not a number: {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadRecord(f"{field} is not finite: {value!r}")
        # repr() first so 12.1 becomes Decimal("12.1"), not its binary expansion.
        return Decimal(repr(value))
    if not isinstance(value, str):
        raise BadRecord(f"{field} is not a number: {type(value).__name__}")
    text = value.strip(" \t")
    if text.lower().lstrip("+-") in _NOT_FINITE:
        raise BadRecord(f"{field} is not finite: {text[:20]!r}")
    if len(text) > AMOUNT_MAX_CHARACTERS or not _AMOUNT.fullmatch(text):
        raise BadRecord(f"{field} is not a number: {text[:40]!r}")
    return Decimal(text)


def parse_amount(value: object, *, field: str = "amount", allow_zero: bool = False) -> Decimal:
    """A money amount, rounded to cents: a JSON number (finite) or a string of ASCII digits
    with at most one decimal point ("12.50"); positive after rounding (0.004 is not a
    donation), unless `allow_zero` (totals); never above the plausible maximum."""
    exact = _decimal(value, field)
    if exact >= Decimal("1e17"):
        raise BadRecord(f"{field} {exact:.2f} is too large to store")
    amount = exact.quantize(CENT, rounding=ROUND_HALF_UP)
    if exact < 0 or (amount == 0 and not allow_zero):
        raise BadRecord(f"{field} must be positive: {exact}")
    limit = Decimal(str(settings.FUNDBOARD["MAX_DONATION_AMOUNT"]))
    if field == "amount" and amount > limit:
        raise BadRecord(f"{field} {amount} is above the plausible maximum {limit}")
    return amount


def parse_currency(value: object) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise BadRecord(f"currency is not an ISO 4217 code: {str(value)[:10]!r}")
    return code


def parse_time(value: object, *, field: str = "time") -> datetime:
    """An ISO-8601 time ("1970-01-01T00:00:00.000Z"), as an aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        raise BadRecord(f"{field} is missing")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRecord(f"{field} is not an ISO-8601 time: {value[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- ids -------------------------------------------------------------------------------------

_ID_INT_LIMIT = 10**ID_MAX_LENGTH


def clean_id(value: object, *, field: str = "_id") -> str:
    """An upstream id: a string or an integer, at most ID_MAX_LENGTH characters of visible,
    valid text. Anything else (an object, a list, a float) is rejected, never stringified."""
    if isinstance(value, bool) or value is None:
        raise BadRecord(f"{field} is missing")
    if isinstance(value, int):
        if abs(value) >= _ID_INT_LIMIT:
            raise BadRecord(f"{field} is longer than {ID_MAX_LENGTH} characters")
        return str(value)
    if not isinstance(value, str):
        raise BadRecord(f"{field} is not a string or an integer: {type(value).__name__}")
    text = value.strip()
    if (
        not text
        or len(text) > ID_MAX_LENGTH
        or _CONTROL.search(text)
        or _fix_surrogates(text) != text
    ):
        raise BadRecord(f"{field} is missing or malformed: {upstream_text(text, 40)!r}")
    return text


def clean_optional_id(value: object, *, field: str) -> str:
    """Like `clean_id`, but a missing one (None or "") is ""."""
    if value is None or value == "":
        return ""
    return clean_id(value, field=field)
