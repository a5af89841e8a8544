"""Turning untrusted upstream values into clean ones, or a `BadRecord` with a reason.

Names and messages are stored as plain text (control characters removed, length capped);
escaping happens where they are shown. Amounts become `Decimal` with two places.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings

from .errors import BadRecord

__all__ = [
    "parse_amount",
    "parse_currency",
    "parse_time",
    "clean_name",
    "clean_message",
    "clean_id",
    "NAME_MAX_LENGTH",
    "MESSAGE_MAX_LENGTH",
]

# ImRaising documents 27 characters as the nickname maximum; longer ones are cut there.
NAME_MAX_LENGTH = 27
MESSAGE_MAX_LENGTH = 500
CENT = Decimal("0.01")
# Control characters (but not newlines in messages) and bidi overrides that could be used to
# garble a page; right-to-left text itself is kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def parse_amount(value: object, *, field: str = "amount", allow_zero: bool = False) -> Decimal:
    """A money amount from a string ("12.50") or a number; finite, not negative, not absurd."""
    if isinstance(value, bool) or value is None:
        raise BadRecord(f"{field} is missing or not a number: {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise BadRecord(f"{field} is not finite: {value!r}")
    try:
        # str() first so a float like 12.1 becomes Decimal("12.1"), not its binary expansion.
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise BadRecord(f"{field} is not a number: {str(value)[:40]!r}") from None
    if not amount.is_finite():
        raise BadRecord(f"{field} is not finite: {value!r}")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise BadRecord(f"{field} must be positive: {amount}")
    limit = Decimal(settings.FUNDBOARD["MAX_DONATION_AMOUNT"])
    if field == "amount" and amount > limit:
        raise BadRecord(f"{field} {amount} is above the plausible maximum {limit}")
    if amount >= Decimal("1e17"):
        raise BadRecord(f"{field} {amount} is too large to store")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_currency(value: object) -> str:
    code = str(value or "").strip().upper()
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


def _clean_text(value: object, max_length: int, *, keep_newlines: bool) -> str:
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = _CONTROL.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not keep_newlines:
        text = " ".join(text.split())
    text = text.strip()
    if len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return text


def clean_name(value: object) -> str:
    """A donor or fundraiser name: one line, at most NAME_MAX_LENGTH characters."""
    return _clean_text(value, NAME_MAX_LENGTH, keep_newlines=False)


def clean_message(value: object) -> str:
    return _clean_text(value, MESSAGE_MAX_LENGTH, keep_newlines=True)


def clean_id(value: object, *, field: str = "_id") -> str:
    if isinstance(value, bool) or value is None:
        raise BadRecord(f"{field} is missing")
    text = str(value).strip()
    if not text or len(text) > 100 or _CONTROL.search(text):
        raise BadRecord(f"{field} is missing or malformed: {text[:40]!r}")
    return text
