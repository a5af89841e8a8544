"""Action Network fundraising pages into records (one page is one leaderboard entry)."""

from __future__ import annotations

from urllib.parse import urlsplit

from ..cleaning import clean_id, clean_message, parse_amount, parse_currency
from ..errors import BadRecord
from ..records import EntryRecord

__all__ = ["page_matches", "parse_fundraising_page"]

IDENTIFIER_PREFIX = "action_network:"
TITLE_MAX_LENGTH = 120


def _page_id(raw: dict[str, object]) -> str:
    """A page's identity: its `action_network:` identifier, never its place in a list."""
    identifiers = raw.get("identifiers")
    if isinstance(identifiers, list):
        for identifier in identifiers:
            if isinstance(identifier, str) and identifier.startswith(IDENTIFIER_PREFIX):
                # A string of at most ID_MAX_LENGTH visible characters, or rejected.
                return clean_id(identifier[len(IDENTIFIER_PREFIX) :], field="identifier")
    raise BadRecord("fundraising page has no action_network identifier")


def _title(raw: dict[str, object]) -> str:
    title = " ".join(clean_message(raw.get("summary")).split())
    return title[:TITLE_MAX_LENGTH] or "Fundraising page"


def _url(raw: dict[str, object]) -> str:
    url = raw.get("url")
    if isinstance(url, str) and urlsplit(url).scheme in ("http", "https") and len(url) <= 500:
        return url
    return ""


def _count(raw: dict[str, object]) -> int:
    value = raw.get("total_donations", 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadRecord(f"total_donations is not a count: {str(value)[:20]!r}")
    return int(value)


def parse_fundraising_page(raw: object) -> EntryRecord:
    """One fundraising page as a leaderboard entry, or BadRecord with the reason."""
    if not isinstance(raw, dict):
        raise BadRecord("fundraising page is not an object")
    return EntryRecord(
        kind="fundraiser",
        upstream_id=_page_id(raw),
        name=_title(raw),
        raised=parse_amount(raw.get("total_amount"), field="total_amount", allow_zero=True),
        currency=parse_currency(raw.get("currency") or "USD"),
        donation_count=_count(raw),
        url=_url(raw),
    )


def page_matches(raw: object, title_contains: str, identifier: str) -> bool:
    """Whether a page of the key's collection is one the source tracks."""
    if not isinstance(raw, dict):
        return True  # parsing rejects it with a reason
    if title_contains and title_contains.casefold() not in str(raw.get("summary", "")).casefold():
        return False
    if identifier:
        identifiers = raw.get("identifiers")
        return isinstance(identifiers, list) and identifier in identifiers
    return True
