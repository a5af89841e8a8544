"""Staff delete a source or a campaign while its runner writes: the deletion never fails.

Django collects the rows that point at a source, deletes them, then deletes the source. A row
a runner commits in between (here: the stream's activity, written from another thread with
its own connection just before the source row is deleted) made the deletion fail at commit on
PostgreSQL with a ForeignKeyViolation: an error page for staff. fundboard/campaigns/deletion.py
collects again instead. On SQLite the writer waits for the deletion (transactions take the
write lock when they begin) and then finds its source gone.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from fundboard.campaigns.models import Campaign, Source
from fundboard.ingest.models import Donation
from fundboard.providers.imraising.events import DonationAdded
from fundboard.providers.records import DonationRecord
from fundboard.runners.sources import apply_events
from fundboard.sync.models import StreamActivity
from fundboard.sync.pending import note_stream_activity

from .factories import make_campaign, make_source

pytestmark = pytest.mark.django_db(transaction=True)


class RunnerWritesDuringTheDeletion:
    """Just before the first DELETE of a source row (Django has collected and deleted what
    points at it), a "runner" thread saves the source's stream activity and commits, if it
    can within a second. Installed with connection.execute_wrapper."""

    def __init__(self, source_id: int) -> None:
        self.source_id = source_id
        self.outcomes: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        if not self.outcomes and sql.startswith('DELETE FROM "campaigns_source"'):
            thread = threading.Thread(target=self._write)
            thread.start()
            thread.join(timeout=1)
            if not self.outcomes:
                self.outcomes.append("waiting for the deletion")
        return execute(sql, params, many, context)

    def _write(self) -> None:
        try:
            note_stream_activity(self.source_id, timezone.now())
            self.outcomes.append("committed")
        except Exception as error:  # noqa: BLE001 - the deletion won: recorded, not raised
            self.outcomes.append(type(error).__name__)
        finally:
            connections.close_all()


DELETIONS = {
    "the source": lambda source: source.delete(),
    "the sources, in bulk (the admin's action)": lambda source: Source.objects.filter(
        pk=source.pk
    ).delete(),
    "its campaign": lambda source: source.campaign.delete(),
    "campaigns, in bulk": lambda source: Campaign.objects.filter(pk=source.campaign_id).delete(),
}


@pytest.mark.parametrize("deletion", DELETIONS.values(), ids=DELETIONS.keys())
def test_a_deletion_succeeds_while_the_runner_writes(deletion):
    source = make_source(make_campaign("race"), kind="imraising", name="Stream")
    runner = RunnerWritesDuringTheDeletion(source.pk)

    with connection.execute_wrapper(runner):
        deletion(source)

    assert runner.outcomes, "the runner's write was attempted"
    assert not Source.objects.filter(pk=source.pk).exists()
    assert not StreamActivity.objects.filter(source_id=source.pk).exists()
    if connection.vendor == "postgresql":
        # The runner committed first; the deletion then collected again and took its row.
        assert runner.outcomes[0] == "committed"


class RunnerIngestsAfterTheDelete:
    """Just after the source row's DELETE (not committed yet), a "runner" thread writes a
    streamed donation for it, as the stream runner does: on PostgreSQL it gets past reading
    the source and then waits, at its commit, for the deletion."""

    def __init__(self, source_id: int) -> None:
        self.source_id = source_id
        self.thread: threading.Thread | None = None
        self.outcome = ""

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if self.thread is None and sql.startswith('DELETE FROM "campaigns_source"'):
            self.thread = threading.Thread(target=self._ingest)
            self.thread.start()
            time.sleep(0.3)  # the thread reads the source before this deletion commits
        return result

    def _ingest(self) -> None:
        donation = DonationRecord("late-1", "Ada", Decimal("5.00"), "USD", datetime.now(UTC))
        try:
            apply_events(self.source_id, [DonationAdded(donation)])
            self.outcome = "stored"
        except Exception as error:  # noqa: BLE001 - recorded for the test
            self.outcome = type(error).__name__
        finally:
            connections.close_all()


SOURCE_DELETIONS = {name: DELETIONS[name] for name in list(DELETIONS)[:2]}


@pytest.mark.parametrize("deletion", SOURCE_DELETIONS.values(), ids=SOURCE_DELETIONS.keys())
def test_a_runner_writing_after_the_deletion_finds_its_source_gone(deletion):
    """SourceGone (Source.DoesNotExist), which the stream runner waits out quietly, not a
    database error logged with a traceback."""
    source = make_source(make_campaign("race"), kind="imraising", name="Stream")
    runner = RunnerIngestsAfterTheDelete(source.pk)

    with connection.execute_wrapper(runner):
        deletion(source)
    assert runner.thread is not None
    runner.thread.join(timeout=10)

    assert runner.outcome == "DoesNotExist"
    assert not Source.objects.filter(pk=source.pk).exists()
    assert not Donation.objects.filter(upstream_id="late-1").exists()
