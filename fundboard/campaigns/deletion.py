"""Deleting campaigns and sources while their runners are still writing.

Django deletes in two steps: it collects the rows that point at what goes (a source's
donations, health, stream activity), then deletes them and the source. A stream runner or
poller that commits a new such row between the two steps made the deletion fail at commit on
PostgreSQL (`ForeignKeyViolation`: Django's foreign keys are checked at commit), so staff got
an error page for a source whose runner had simply spoken meanwhile.

On PostgreSQL the deletion checks its foreign keys at once (`SET CONSTRAINTS ALL
IMMEDIATE`), so that race fails the statement, inside a savepoint, and the deletion is
collected and run again. A writer that has not committed yet when the source row is deleted
waits for the deletion and then fails itself (the runners treat a vanished source as
`SourceGone`). On SQLite no writer can commit in between: the database's transactions take
the write lock when they begin (`transaction_mode: IMMEDIATE` in settings).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, OperationalError, connections, models, router, transaction

__all__ = ["DeletedDespiteWriters", "delete_despite_writers", "ATTEMPTS"]

log = logging.getLogger("fundboard.campaigns")

ATTEMPTS = 5  # a runner writes at most every few seconds: a second attempt is the most seen

Deleted = TypeVar("Deleted")


def delete_despite_writers(delete: Callable[[], Deleted], using: str) -> Deleted:
    """Run `delete` (a model's or queryset's own delete) so that rows committed by runners
    during it never fail it: on a foreign-key conflict it is collected and run again."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=using):
            return delete()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with transaction.atomic(using=using), connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                deleted = delete()
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's default again
                return deleted
        except (IntegrityError, OperationalError) as error:
            if attempt == ATTEMPTS or not _lost_to_a_writer(error):
                raise
            log.info("a runner wrote during a deletion: deleting again (attempt %s)", attempt + 1)
    raise AssertionError("unreachable")


class _DeletingQuerySet(models.QuerySet):
    def delete(self):
        return delete_despite_writers(super().delete, self.db)


class DeletedDespiteWriters(models.Model):
    """Base of the models runners write beside (Campaign, Source): their delete() and their
    querysets' (the admin deletes one object, or many in bulk) go through this module."""

    objects = _DeletingQuerySet.as_manager()

    class Meta:
        abstract = True

    def delete(self, using=None, keep_parents=False):
        using = using or router.db_for_write(type(self), instance=self)
        parent_delete = super().delete
        return delete_despite_writers(lambda: parent_delete(using, keep_parents), using)


def _lost_to_a_writer(error: Exception) -> bool:
    """A foreign-key conflict, or the deadlock PostgreSQL breaks when an ingest holds the
    campaign row while it waits for the source row this deletion holds (either side may be
    the one cancelled; the runner's side then finds its source gone)."""
    return isinstance(error, IntegrityError) or getattr(error.__cause__, "sqlstate", "") == "40P01"
