"""Donations as CSV, streamed with flat memory however many there are.

Under ASGI (daphne), Django buffers a *synchronous* streaming iterator into one list before
sending it, so a sync `.iterator()` would hold the whole export in memory. The export is an
async generator instead: it reads keyset-paginated batches of plain tuples (each batch its
own short query in a worker thread, no cursor held open across awaits) and yields one CSV
chunk per batch. Memory stays at one batch whatever the row count (bench/bench_export.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

from channels.db import database_sync_to_async
from django.db.models import Q

from fundboard.campaigns.models import Campaign
from fundboard.ingest.models import Donation

__all__ = ["COLUMNS", "BATCH_SIZE", "csv_chunks", "csv_chunks_sync", "export_filename"]

BATCH_SIZE = 2000

COLUMNS = [
    "id", "donated_at", "source", "source_kind", "upstream_id", "name", "anonymous",
    "amount", "currency", "message", "fundraiser_id", "test", "removed", "removed_at",
    "name_hidden", "message_hidden", "approved", "converted_amount", "rate", "counted",
]  # fmt: skip

_FIELDS = [
    "pk", "donated_at", "source__name", "source__kind", "upstream_id", "display_name",
    "anonymous", "amount", "currency", "message", "fundraiser_id", "is_test", "removed",
    "removed_at", "name_hidden", "message_hidden", "approved", "converted_amount", "rate",
]  # fmt: skip

# A cell starting with one of these is a formula to a spreadsheet: donors type these fields.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DONOR_TYPED = {"name", "message", "upstream_id", "fundraiser_id"}


def export_filename(campaign: Campaign) -> str:
    return f"{campaign.slug}-donations.csv"


def _safe_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _flag(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "waiting"}[value]


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _decimal_text(value, *, places: bool = False) -> str:
    if value is None:
        return ""
    return f"{value:.2f}" if places else f"{value.normalize():f}"


def _row(values: tuple, campaign: Campaign) -> list[str]:
    row = dict(zip(COLUMNS[:-1], values, strict=True))
    in_window = (campaign.starts_at is None or row["donated_at"] >= campaign.starts_at) and (
        campaign.ends_at is None or row["donated_at"] < campaign.ends_at
    )
    # In the campaign's currency, or converted into it at ingest (a held currency: not yet).
    convertible = row["currency"] == campaign.currency or row["converted_amount"] is not None
    counted = (not row["removed"] and not row["test"] and convertible) and in_window
    cells = {
        **row,
        "donated_at": _iso(row["donated_at"]),
        "removed_at": _iso(row["removed_at"]),
        "amount": f"{row['amount']:.2f}",
        "approved": _flag(row["approved"]),
        # In the campaign's currency at `rate` (1 currency = rate); empty when not converted.
        "converted_amount": _decimal_text(row["converted_amount"], places=True),
        "rate": _decimal_text(row["rate"]),
        "counted": counted,
    }
    for name in ("anonymous", "test", "removed", "name_hidden", "message_hidden", "counted"):
        cells[name] = _flag(cells[name])
    for name in _DONOR_TYPED:
        cells[name] = _safe_text(str(cells[name] or ""))
    return [str(cells[name]) for name in COLUMNS]


def _batch(
    campaign_id: int, start: datetime | None, end: datetime | None, after: tuple | None
) -> list[tuple]:
    """The next BATCH_SIZE rows in (donated_at, id) order after `after` (keyset paging)."""
    donations = Donation.objects.filter(campaign_id=campaign_id)
    if start:
        donations = donations.filter(donated_at__gte=start)
    if end:
        donations = donations.filter(donated_at__lt=end)
    if after:
        moment, pk = after
        donations = donations.filter(Q(donated_at__gt=moment) | Q(donated_at=moment, pk__gt=pk))
    return list(donations.order_by("donated_at", "pk").values_list(*_FIELDS)[:BATCH_SIZE])


def _encode(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


async def csv_chunks(
    campaign: Campaign, start: datetime | None = None, end: datetime | None = None
) -> AsyncIterator[str]:
    """The CSV as chunks: the header, then one chunk per batch of donations."""
    yield _encode([COLUMNS])
    # Thread-sensitive (the default): a batch is one short query, run on the thread the
    # synchronous views share, as Django's own async-to-ORM bridge does.
    fetch = database_sync_to_async(_batch)
    after = None
    while True:
        rows = await fetch(campaign.pk, start, end, after)
        if not rows:
            return
        yield _encode([_row(values, campaign) for values in rows])
        if len(rows) < BATCH_SIZE:
            return
        after = (rows[-1][1], rows[-1][0])


def csv_chunks_sync(
    campaign: Campaign, start: datetime | None = None, end: datetime | None = None
) -> Iterator[str]:
    """The same chunks for synchronous callers (a management command, a WSGI server)."""
    yield _encode([COLUMNS])
    after = None
    while True:
        rows = _batch(campaign.pk, start, end, after)
        if not rows:
            return
        yield _encode([_row(values, campaign) for values in rows])
        if len(rows) < BATCH_SIZE:
            return
        after = (rows[-1][1], rows[-1][0])
