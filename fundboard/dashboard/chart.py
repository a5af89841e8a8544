"""Donations over time for the dashboard's chart: counted donations summed per minute (the
last hour) or per hour (the whole campaign, at most the last MAX_HOURS), drawn as a small
SVG bar chart server-side; dashboard.js redraws it from the same JSON.

Only stored donations are charted (streamed and manual ones): polled platforms report
totals, not individual gifts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncHour, TruncMinute
from django.utils import timezone

from fundboard.campaigns.models import Campaign
from fundboard.ingest.models import Donation
from fundboard.live.snapshot import money

__all__ = ["SCALES", "MAX_HOURS", "WIDTH", "HEIGHT", "chart_data", "svg_bars"]

# scale -> (bucket length, truncation)
SCALES = {"minute": (timedelta(minutes=1), TruncMinute), "hour": (timedelta(hours=1), TruncHour)}
MAX_HOURS = 24 * 14
WIDTH, HEIGHT = 600, 120  # the SVG's viewBox; CSS scales it to the page


def _floor(moment: datetime, step: timedelta) -> datetime:
    seconds = int(moment.timestamp()) // int(step.total_seconds()) * int(step.total_seconds())
    return datetime.fromtimestamp(seconds, tz=moment.tzinfo)


def _range(campaign: Campaign, scale: str, now: datetime) -> tuple[datetime, datetime]:
    step = SCALES[scale][0]
    end = _floor(now, step) + step
    if scale == "minute":
        return end - 60 * step, end
    donations = Donation.objects.for_campaign_window(campaign).counted()
    first = (
        campaign.starts_at
        or donations.order_by("donated_at").values_list("donated_at", flat=True).first()
    )
    start = _floor(first, step) if first else end - step
    return max(start, end - MAX_HOURS * step), end


def chart_data(campaign: Campaign, scale: str = "minute", now: datetime | None = None) -> dict:
    """Buckets from oldest to newest, empty ones included: {start, amount, count}."""
    now = now or timezone.now()
    step, trunc = SCALES[scale]
    start, end = _range(campaign, scale, now)
    rows = (
        Donation.objects.for_campaign_window(campaign)
        .counted()
        .filter(donated_at__gte=start, donated_at__lt=end)
        .annotate(bucket=trunc("donated_at"))
        .values("bucket")
        .annotate(amount=Sum("amount"), count=Count("id"))
    )
    by_bucket = {row["bucket"].timestamp(): row for row in rows}
    buckets, moment = [], start
    while moment < end:
        row = by_bucket.get(moment.timestamp(), {})
        amount = row.get("amount") or Decimal("0")
        buckets.append(
            {
                "start": moment.isoformat().replace("+00:00", "Z"),
                "amount": money(amount),
                "count": row.get("count", 0),
            }
        )
        moment += step
    return {"scale": scale, "currency": campaign.currency, "buckets": buckets}


def svg_bars(data: dict) -> list[dict]:
    """One bar per bucket in viewBox units (WIDTH x HEIGHT), tallest bucket full height."""
    buckets = data["buckets"]
    if not buckets:
        return []
    highest = max(Decimal(b["amount"]) for b in buckets) or Decimal("1")
    width = WIDTH / len(buckets)
    bars = []
    for index, bucket in enumerate(buckets):
        height = float(Decimal(bucket["amount"]) / highest) * HEIGHT
        bars.append(
            {
                "x": round(index * width, 2),
                "y": round(HEIGHT - height, 2),
                "width": round(max(width - 1, 0.5), 2),
                "height": round(height, 2),
                **bucket,
            }
        )
    return bars
