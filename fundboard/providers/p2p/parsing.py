"""P2P replies into records: the status envelope, then one record at a time.

A record the platform sends under its own (configured) field names is read through
`_Fields`; a bad record raises BadRecord with the reason, and only bad totals fail the poll.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from ..cleaning import (
    clean_id,
    clean_message,
    clean_name,
    clean_optional_id,
    parse_amount,
    parse_currency,
    parse_time,
    upstream_text,
)
from ..errors import AuthError, BadData, BadRecord
from ..records import DonationRecord, EntryRecord, TotalsRecord

__all__ = [
    "is_blocked",
    "parse_fundraiser",
    "parse_gift",
    "parse_team",
    "parse_totals",
    "unwrap_envelope",
]

LABEL_MAX_LENGTH = 80


def unwrap_envelope(body: object, what: str) -> Any:
    """The `data` of a successful envelope; an error for `status:false`, whatever the HTTP
    code (the platform reports some failures with HTTP 200)."""
    if not isinstance(body, dict) or "status" not in body:
        raise BadData(f"{what}: the reply has no status envelope")
    if body["status"] is True:
        if "data" not in body:
            raise BadData(f"{what}: status true without data")
        return body["data"]
    error = upstream_text(body.get("error") or "") or "no error message"
    if "api key" in error.lower():
        raise AuthError(f"{what}: {error}")
    raise BadData(f"{what}: status false ({error})")


# --- field values ----------------------------------------------------------------------------


def _label(value: object) -> str:
    text = " ".join(clean_message(value).split())
    return text[:LABEL_MAX_LENGTH]


def _url(value: object) -> str:
    if isinstance(value, str) and urlsplit(value).scheme in ("http", "https") and len(value) < 500:
        return value
    return ""


def _optional_amount(value: object, name: str) -> Decimal | None:
    if value in (None, ""):
        return None
    return parse_amount(value, field=name, allow_zero=True)


def _count(value: object, name: str) -> int:
    if value in (None, ""):
        return 0
    # An integer, or a string of ASCII digits (int() alone would read "١٢" and "1_000").
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,15}", value.strip(), re.ASCII):
        count = int(value)
    elif isinstance(value, int) and not isinstance(value, bool) and value < 10**15:
        count = value
    else:
        raise BadRecord(f"{name} is not a count: {upstream_text(value, 20)!r}")
    if count < 0:
        raise BadRecord(f"{name} is negative: {count}")
    return count


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y"}
    return bool(value)


class _Fields:
    """Reads our field names from a record that uses the platform's (configured) names."""

    def __init__(self, record: object, names: dict[str, str], what: str):
        if not isinstance(record, dict):
            raise BadRecord(f"{what} is not an object")
        self.record, self.names = record, names

    def __getitem__(self, name: str) -> Any:
        return self.record.get(self.names.get(name, name))


# --- records ---------------------------------------------------------------------------------


def parse_totals(data: object, names: dict[str, str]) -> TotalsRecord:
    try:
        f = _Fields(data, names, "event totals")
        return TotalsRecord(
            total=parse_amount(f["raised"], field="raised", allow_zero=True),
            currency=parse_currency(f["currency"]),
            count=_count(f["donation_count"], "donation_count"),
            goal=_optional_amount(f["goal"], "goal"),
        )
    except BadRecord as error:
        # Without a usable total there is nothing to show: the poll fails, numbers stay.
        raise BadData(f"P2P event totals: {error}") from None


def is_blocked(record: object, names: dict[str, str], blocked_status: str) -> bool:
    """A fundraiser the organiser blocked: never on a public board."""
    if not isinstance(record, dict):
        return False  # parsing rejects it with a reason
    status = record.get(names.get("status", "status"))
    return str(status or "").lower() == blocked_status.lower()


def parse_fundraiser(record: object, names: dict[str, str], currency: str) -> EntryRecord:
    f = _Fields(record, names, "fundraiser")
    return EntryRecord(
        kind="fundraiser",
        upstream_id=clean_id(f["id"], field="id"),
        name=clean_name(f["name"]) or "Fundraiser",
        team_name=_label(f["team_name"]),
        raised=parse_amount(f["raised"], field="raised", allow_zero=True),
        goal=_optional_amount(f["goal"], "goal"),
        currency=currency,
        donation_count=_count(f["donation_count"], "donation_count"),
        url=_url(f["url"]),
    )


def parse_team(record: object, names: dict[str, str], currency: str) -> EntryRecord:
    f = _Fields(record, names, "team")
    return EntryRecord(
        kind="team",
        upstream_id=clean_id(f["id"], field="id"),
        name=_label(f["name"]) or "Team",
        raised=parse_amount(f["raised"], field="raised", allow_zero=True),
        goal=_optional_amount(f["goal"], "goal"),
        currency=currency,
        url=_url(f["url"]),
    )


def parse_gift(record: object, names: dict[str, str], currency: str) -> DonationRecord:
    f = _Fields(record, names, "gift")
    return DonationRecord(
        upstream_id=clean_id(f["id"], field="id"),
        display_name=clean_name(f["donor_name"]),
        amount=parse_amount(f["amount"]),
        currency=parse_currency(f["currency"] or currency),
        donated_at=parse_time(f["date"], field="date"),
        message=clean_message(f["message"]),
        anonymous=_truthy(f["anonymous"]),
        fundraiser_id=clean_optional_id(f["fundraiser_id"], field="fundraiser_id"),
    )
