"""`[[campaign.match]]` sections of campaigns.toml:

    [[campaign.match]]
    sponsor = "Acme"
    starts_at = "2026-12-05T18:00:00Z"
    ends_at = "2026-12-05T21:00:00Z"
    cap = "10000"          # the most Acme gives, in the campaign's currency
    ratio = "1"            # optional: 1 doubles each donation (×2), 0.5 adds half
    precedence = 0         # optional: overlapping windows match lowest first

A campaign's windows are made equal to the file's (matched by sponsor and start time).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

from fundboard.campaigns.models import Campaign

from .models import MatchWindow

__all__ = ["load_matches"]

MATCH_KEYS = {"sponsor", "starts_at", "ends_at", "cap", "ratio", "precedence"}


def _error(message: str):
    from fundboard.campaigns.loader import ConfigError

    return ConfigError(message)


def _moment(value, where: str):
    moment = value if not isinstance(value, str) else parse_datetime(value)
    if moment is None or moment.tzinfo is None:
        raise _error(f"{where}: {value!r} is not an ISO-8601 date and time with its offset")
    return moment


def _amount(value, where: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise _error(f"{where}: {value!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise _error(f"{where}: {value!r} must be a positive number")
    return amount


def _window(campaign: Campaign, data: dict, where: str, index: int) -> MatchWindow:
    unknown = set(data) - MATCH_KEYS
    if unknown:
        raise _error(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("sponsor", "starts_at", "ends_at", "cap"):
        if key not in data:
            raise _error(f"{where}: {key} is required")
    return MatchWindow(
        campaign=campaign,
        sponsor=str(data["sponsor"]),
        starts_at=_moment(data["starts_at"], f"{where}.starts_at"),
        ends_at=_moment(data["ends_at"], f"{where}.ends_at"),
        cap=_amount(data["cap"], f"{where}.cap"),
        ratio=_amount(data.get("ratio", "1"), f"{where}.ratio"),
        precedence=int(data.get("precedence", index)),
    )


def load_matches(campaign: Campaign, sections, where: str) -> list[tuple[str, bool]]:
    """Make the campaign's windows those of the file; [(label, created)] for the report."""
    if not isinstance(sections, list):
        raise _error(f"{where}.match: use [[campaign.match]] sections")
    report, kept = [], []
    for index, data in enumerate(sections):
        m_where = f"{where}.match[{index}]"
        wanted = _window(campaign, data, m_where, index)
        try:
            wanted.full_clean(exclude=["campaign"], validate_unique=False)
        except ValidationError as error:
            raise _error(f"{m_where}: {error.message_dict}") from None
        window, created = MatchWindow.objects.update_or_create(
            campaign=campaign,
            sponsor=wanted.sponsor,
            starts_at=wanted.starts_at,
            defaults={f: getattr(wanted, f) for f in ("ends_at", "cap", "ratio", "precedence")},
        )
        kept.append(window.pk)
        report.append((f"match {campaign.slug}/{window.sponsor}", created))
    MatchWindow.objects.filter(campaign=campaign).exclude(pk__in=kept).delete()
    return report
