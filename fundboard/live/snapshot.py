"""The campaign snapshot: the one JSON document every widget, socket and API reader gets.

Built from committed rows only (the database is the truth). Only plain JSON types go out:
amounts as decimal strings, times as ISO strings, so any channel layer (msgpack on Redis)
carries it unchanged. What a donor typed is plain text here; pages escape it when shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import contextmanager
from decimal import Decimal

from channels.db import database_sync_to_async
from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import Lower

from fundboard.campaigns.models import Campaign, Source, SourceKind, SourceStatus
from fundboard.fx.convert import convert_amount, find_rate
from fundboard.incentives.snapshot import marathon_parts
from fundboard.ingest.models import Donation, EntryKind, LeaderboardEntry, counted_value
from fundboard.matching.compute import match_payload, match_states, matched_total

from .page_version import page_version

__all__ = [
    "ANONYMOUS",
    "build_snapshot",
    "snapshot_message",
    "read_snapshot_text",
    "read_snapshot_in_thread",
    "donation_payload",
    "public_name",
    "public_message",
    "money",
]

ANONYMOUS = "Anonymous"
TOP_DONORS = 10
RECENT = 20
LEADERBOARD_ROWS = 25


def money(value: Decimal | None) -> str:
    return f"{(value or Decimal('0')):.2f}"


def _iso(moment) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _contains_blocked(text: str, blocked: list[str]) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in blocked)


def _held(donation: Donation, campaign: Campaign) -> bool:
    return campaign.hold_for_review and donation.approved is not True


def public_name(donation: Donation, campaign: Campaign) -> str:
    """The name viewers may see: hidden, anonymous, held or filtered names are "Anonymous"."""
    name = donation.display_name
    if (
        not name
        or donation.anonymous
        or donation.name_hidden
        or _held(donation, campaign)
        or _contains_blocked(name, campaign.blocked_word_list)
    ):
        return ANONYMOUS
    return name


def public_message(donation: Donation, campaign: Campaign) -> str | None:
    """The message viewers may see, or None (absent from the JSON) when hidden."""
    message = donation.message
    if (
        not message
        or donation.message_hidden
        or _held(donation, campaign)
        or _contains_blocked(message, campaign.blocked_word_list)
    ):
        return None
    return message


def donation_payload(donation: Donation, campaign: Campaign) -> dict:
    payload = {
        "id": donation.pk,
        "name": public_name(donation, campaign),
        "amount": money(donation.amount),
        "currency": donation.currency,
        "time": _iso(donation.donated_at),
        "test": donation.is_test,
    }
    if donation.currency != campaign.currency and donation.converted_amount is not None:
        # Converted at ingest: `amount`/`currency` stay the original, this is what it counts.
        payload["converted_amount"] = money(donation.converted_amount)
        payload["approximate"] = True
    message = public_message(donation, campaign)
    if message is not None:
        payload["message"] = message
    return payload


def _source_totals(campaign: Campaign, sources: list[Source]) -> dict[int, Decimal]:
    """Each source's part of the total, counted once: reported or summed, never both."""
    summed = dict(
        Donation.objects.counted()
        .for_campaign_window(campaign)
        .values("source_id")
        .annotate(total=Sum(counted_value()))
        .values_list("source_id", "total")
    )
    parts = {}
    for source in sources:
        if source.counts_reported_total:
            same_currency = source.reported_currency in ("", campaign.currency)
            reported = source.reported_total or Decimal("0")
            parts[source.pk] = reported if same_currency else _reported_converted(campaign, source)
        else:
            parts[source.pk] = summed.get(source.pk) or Decimal("0")
    return parts


def _reported_converted(campaign: Campaign, source: Source) -> Decimal:
    """A platform's own total in another currency: at the rate known now (it is a live
    figure, not stored donations), or nothing while no rate is known (fundboard.fx)."""
    rate = find_rate(campaign, source.reported_currency)
    return convert_amount(source.reported_total or Decimal("0"), rate) if rate else Decimal("0")


def _donation_count(campaign: Campaign, sources: list[Source]) -> int:
    summed_ids = [s.pk for s in sources if not s.counts_reported_total]
    count = (
        Donation.objects.counted()
        .for_campaign_window(campaign)
        .filter(source_id__in=summed_ids)
        .count()
    )
    return count + sum(s.reported_count or 0 for s in sources if s.counts_reported_total)


def _visible_name_filter(campaign: Campaign) -> Q:
    visible = Q(anonymous=False, name_hidden=False) & ~Q(display_name="")
    if campaign.hold_for_review:
        visible &= Q(approved=True)
    return visible


def _top_donors(campaign: Campaign) -> list[dict]:
    counted = Donation.objects.counted().for_campaign_window(campaign)
    visible = _visible_name_filter(campaign)
    blocked = campaign.blocked_word_list
    named = (
        counted.filter(visible)
        .annotate(key=Lower("display_name"))
        .values("key")
        .annotate(total=Sum(counted_value()), count=Count("id"), name=Max("display_name"))
        .order_by("-total", "key")[: TOP_DONORS + len(blocked)]
    )
    rows = [
        {
            "name": ANONYMOUS if _contains_blocked(r["name"], blocked) else r["name"],
            "total": r["total"],
            "donation_count": r["count"],
        }
        for r in named
    ]
    # Each hidden or anonymous gift stands alone as "Anonymous": grouping them by their real
    # name would reveal that two gifts came from one person.
    hidden = (
        counted.exclude(visible)
        .annotate(value=counted_value())
        .order_by("-value", "id")
        .values("value")[:TOP_DONORS]
    )
    rows += [{"name": ANONYMOUS, "total": r["value"], "donation_count": 1} for r in hidden]
    rows.sort(key=lambda r: -r["total"])
    return [{**r, "total": money(r["total"])} for r in rows[:TOP_DONORS]]


def _entries(sources: Iterable[Source], kind: str) -> list[dict]:
    ids = [s.pk for s in sources if s.show_on_leaderboard]
    entries = LeaderboardEntry.objects.filter(source_id__in=ids, kind=kind, blocked=False).order_by(
        "-raised", "name"
    )[:LEADERBOARD_ROWS]
    return [
        {
            "name": e.name,
            "raised": money(e.raised),
            "goal": money(e.goal) if e.goal is not None else None,
            "url": e.url,
            **({"team": e.team_name} if kind == EntryKind.FUNDRAISER and e.team_name else {}),
        }
        for e in entries
    ]


def _source_status(source: Source) -> str:
    if source.kind == SourceKind.MANUAL:
        return SourceStatus.OK  # typed in by staff: nothing upstream to fail
    if source.status == SourceStatus.OK or source.status == SourceStatus.UNKNOWN:
        return source.status
    return "stale" if source.last_success_at else source.status


@contextmanager
def _one_moment():
    """Every query inside sees the same committed state, so a snapshot's `version` matches
    its numbers (read piecemeal, a donation committed between the campaign row and the sums
    gave a total ahead of its version). SQLite's transactions already read one state;
    PostgreSQL's default READ COMMITTED re-reads per statement, so ask for REPEATABLE READ."""
    if connection.in_atomic_block:  # inside a caller's transaction: it decides
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def build_snapshot(campaign: Campaign | int | str) -> dict:
    """The public snapshot of a campaign (by object, pk or slug), as plain JSON types."""
    if isinstance(campaign, Campaign):
        campaign = campaign.pk  # read again below, in the same moment as the rest
    lookup = {"pk": campaign} if isinstance(campaign, int) else {"slug": campaign}
    with _one_moment():
        return _snapshot_of(Campaign.objects.get(**lookup))


def _snapshot_of(campaign: Campaign) -> dict:
    sources = list(campaign.sources.filter(enabled=True))
    parts = _source_totals(campaign, sources)
    total = sum(parts.values(), Decimal("0"))
    matches = match_states(campaign)
    if campaign.count_matches:  # sponsor money counts toward the total (a campaign setting)
        total += matched_total(matches)
    recent = Donation.objects.counted().for_campaign_window(campaign)
    if campaign.hold_for_review:
        # A held donation counts in the total, but its alert and its ticker entry wait for
        # approval: the alerts widget alerts for recent donations it has not seen.
        recent = recent.filter(approved=True)
    recent = recent.order_by("-donated_at", "-id")[:RECENT]
    return {
        "slug": campaign.slug,
        "name": campaign.name,
        "currency": campaign.currency,
        "goal": money(campaign.goal),
        "total": money(total),
        "donation_count": _donation_count(campaign, sources),
        "progress": float(round(total / campaign.goal, 4)) if campaign.goal else 0.0,
        "milestones": [money(Decimal(str(m))) for m in campaign.milestones or []],
        "top_donors": _top_donors(campaign),
        "fundraisers": _entries(sources, EntryKind.FUNDRAISER),
        "teams": _entries(sources, EntryKind.TEAM),
        "recent": [donation_payload(d, campaign) for d in recent],
        "matches": [match_payload(m) for m in matches],
        "sources": [
            {
                "kind": s.kind,
                "name": s.name,
                "total": money(parts[s.pk]),
                "status": _source_status(s),
                "last_success_at": _iso(s.last_success_at),
            }
            for s in sources
        ],
        **marathon_parts(campaign),  # incentives[] and schedule (fundboard.incentives)
        # What widget pages' HTML depends on (page_version.py): after every list, so that
        # page_version_in() finds it from the end.
        "page_version": page_version(campaign),
        "version": campaign.version,
        "updated_at": _iso(campaign.updated_at),
    }


def snapshot_message(snapshot: dict) -> str:
    """The websocket text of a snapshot message, encoded once for every socket."""
    return json.dumps({"type": "snapshot", "data": snapshot}, separators=(",", ":"))


def read_snapshot_text(campaign_id: int) -> tuple[str | None, int]:
    """(encoded snapshot message, version); (None, 0) if the campaign is gone."""
    try:
        snapshot = build_snapshot(campaign_id)
    except Campaign.DoesNotExist:
        return None, 0
    return snapshot_message(snapshot), snapshot["version"]


# For the hub and the broadcaster. Not thread-sensitive: snapshots of different campaigns
# are read in parallel worker threads, never queued behind each other or behind the
# synchronous views' one thread (database_sync_to_async closes stale connections around it).
read_snapshot_in_thread = database_sync_to_async(read_snapshot_text, thread_sensitive=False)
