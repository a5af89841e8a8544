"""ImRaising's documents: a donation (stream event or listing row), a removal, the header.

Pure parsing, no HTTP: each function turns what upstream sends into a plain record of
`fundboard.providers.records`, or raises `BadRecord` with the reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from .. import bounded_json
from ..cleaning import clean_id, clean_message, clean_name, parse_amount, parse_currency, parse_time
from ..errors import BadRecord
from ..records import DonationRecord, RemovalRecord

__all__ = [
    "DEFAULT_BASE_URL",
    "EVENT_MAX_BYTES",
    "auth_headers",
    "decode_event_data",
    "iso_param",
    "parse_donation",
    "parse_removal",
]

DEFAULT_BASE_URL = "https://imraising.tv"
# One donation event is well under 2 KB; a stream event's data may be at most this long.
EVENT_MAX_BYTES = 256 * 1024


def auth_headers(api_key: str) -> dict[str, str]:
    """The documented header; lowercase name, as upstream asks for cross-origin use.
    The key never travels in a URL (upstream allows `?apikey=` but discourages it)."""
    return {"authorization": f'APIKey apikey="{api_key}"'}


def iso_param(moment: datetime) -> str:
    """An ISO-8601 time the way upstream writes them: UTC, milliseconds, `Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def decode_event_data(text: str) -> dict[str, Any]:
    """The JSON document of an event's (possibly multi-line) data; tolerates a leading BOM."""
    text = text.lstrip("\ufeff").strip()
    if not text:
        raise BadRecord("event data is empty")
    try:
        data = bounded_json.loads(text, max_bytes=EVENT_MAX_BYTES)
    except bounded_json.JSONRejected as error:
        raise BadRecord(f"event data rejected: {error}") from None
    if not isinstance(data, dict):
        raise BadRecord(f"event data is not an object: {type(data).__name__}")
    return data


def _display(data: dict[str, Any]) -> dict[str, Any]:
    amount = data.get("amount")
    display = amount.get("display") if isinstance(amount, dict) else None
    if not isinstance(display, dict):
        raise BadRecord("amount.display is missing")
    return display


def parse_donation(data: object) -> DonationRecord:
    """A donation document (stream or listing) as a record, or BadRecord with the reason.

    Amounts come as "Float" strings or as numbers; a missing time means "now" (the stream
    announces donations as they happen), a malformed one is rejected.
    """
    if not isinstance(data, dict):
        raise BadRecord(f"donation is not an object: {type(data).__name__}")
    upstream_id = clean_id(data.get("_id"))
    display = _display(data)
    try:
        amount = parse_amount(display.get("total"))
        currency = parse_currency(display.get("currency"))
        donated_at = parse_time(data["time"]) if data.get("time") else timezone.now()
    except BadRecord as error:
        raise BadRecord(f"donation {upstream_id}: {error}") from None
    return DonationRecord(
        upstream_id=upstream_id,
        display_name=clean_name(data.get("nickname")),
        amount=amount,
        currency=currency,
        donated_at=donated_at,
        message=clean_message(data.get("message")),
    )


def parse_removal(data: object) -> RemovalRecord:
    if not isinstance(data, dict):
        raise BadRecord(f"removal is not an object: {type(data).__name__}")
    return RemovalRecord(upstream_id=clean_id(data.get("_id")))
