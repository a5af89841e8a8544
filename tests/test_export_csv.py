"""CSV export: every donation with its flags, per time range, streamed in batches."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync

from fundboard.campaigns.models import Campaign, Source
from fundboard.dashboard.export import BATCH_SIZE, COLUMNS, csv_chunks
from fundboard.ingest.models import Donation

from .dashboard_support import CAMPAIGN, StaffSession, create_user


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_has_every_donation_with_its_flags_and_honours_the_range(fundboard_server):
    server = fundboard_server(CAMPAIGN)
    create_user(server, "olive", "Organisers")
    staff = StaffSession(server, "olive")
    early = staff.add_manual("spring", "Early Bird", "10.00", donated_at="2026-01-10T09:00")
    hidden = staff.add_manual(
        "spring", '=HYPERLINK("x")', "20.00", "secret", donated_at="2026-02-10T09:00"
    )
    removed = staff.add_manual("spring", "Gone Later", "30.00", donated_at="2026-02-11T09:00")
    staff.moderate("spring", hidden, "hide_name")
    staff.moderate("spring", hidden, "hide_message")
    staff.post(f"/dashboard/spring/manual/{removed}/remove", {"confirm": "yes"})
    staff.post("/dashboard/spring/test-alert", {"display_name": "Tester", "amount": "1.00"})

    response = staff.get("/dashboard/spring/export/?download=1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "content-length" not in response.headers  # streamed, not built in memory
    assert 'filename="spring-donations.csv"' in response.headers["content-disposition"]
    rows = {row["id"]: row for row in _rows(response.text)}
    assert list(_rows(response.text)[0]) == COLUMNS
    assert len(rows) == 4
    assert rows[str(early)]["counted"] == "yes"
    assert rows[str(early)]["amount"] == "10.00"
    assert (rows[str(hidden)]["name_hidden"], rows[str(hidden)]["message_hidden"]) == ("yes", "yes")
    # A donor-typed formula is neutralised for spreadsheets.
    assert rows[str(hidden)]["name"] == '\'=HYPERLINK("x")'
    assert (rows[str(removed)]["removed"], rows[str(removed)]["counted"]) == ("yes", "no")
    test_row = next(row for row in rows.values() if row["test"] == "yes")
    assert (test_row["currency"], test_row["counted"]) == ("XTS", "no")

    ranged = staff.get(
        "/dashboard/spring/export/",
        params={"download": "1", "start": "2026-02-01T00:00", "end": "2026-03-01T00:00"},
    )
    assert sorted(int(row["id"]) for row in _rows(ranged.text)) == sorted([hidden, removed])


def _collect(campaign: Campaign) -> tuple[int, int]:
    """(rows, tracemalloc peak bytes) of consuming the export as the ASGI server does."""

    async def consume() -> int:
        lines = 0
        async for chunk in csv_chunks(campaign):
            lines += chunk.count("\n")
        return lines

    tracemalloc.start()
    try:
        lines = async_to_sync(consume)()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return lines - 1, peak


# Committed rows: database_sync_to_async closes the connection it finds inside a test's
# wrapping transaction (as on any request's thread), so the rows must outlive it.
@pytest.mark.django_db(transaction=True)
def test_export_memory_stays_flat_as_the_row_count_grows():
    campaign = Campaign.objects.create(slug="big", name="Big", goal=1)
    source = Source.objects.create(campaign=campaign, kind="manual", name="Manual")
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def add(count: int, offset: int) -> None:
        Donation.objects.bulk_create(
            [
                Donation(
                    campaign=campaign,
                    source=source,
                    upstream_id=f"d{offset + i}",
                    display_name=f"Donor {offset + i}",
                    amount=Decimal("5.00"),
                    currency="USD",
                    message="A message of a typical length for a donation." * 2,
                    donated_at=start + timedelta(seconds=offset + i),
                )  # fmt: skip
                for i in range(count)
            ],
            batch_size=1000,
        )

    add(BATCH_SIZE, 0)
    small_rows, small_peak = _collect(campaign)
    add(4 * BATCH_SIZE, BATCH_SIZE)
    large_rows, large_peak = _collect(campaign)
    assert (small_rows, large_rows) == (BATCH_SIZE, 5 * BATCH_SIZE)
    # Five times the rows, about the same peak: memory is one batch, not the whole export.
    assert large_peak < small_peak * 1.5, (small_peak, large_peak)
