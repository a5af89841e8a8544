"""Celery tasks of the distributed mode: the same delivery function as the embedded runner.

New deliveries queue `deliver_endpoint_task` for their endpoint at once (outbox.kick);
beat runs `dispatch_due_webhooks` every few seconds for retries that came due and for
endpoints whose worker died (their lease expired). A task queued twice for one endpoint
costs nothing: only the lease holder sends.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import close_old_connections

from .delivery import deliver_endpoint
from .endpoint_lease import due_endpoint_ids
from .retention import prune_if_due

__all__ = ["deliver_endpoint_task", "dispatch_due_webhooks", "KICK_EXPIRES_SECONDS"]

log = logging.getLogger("fundboard.webhooks")

# A queued task not started by then is dropped: the next sweep queues a fresh one.
KICK_EXPIRES_SECONDS = 60


@shared_task(name="fundboard.webhooks.tasks.deliver_endpoint_task", ignore_result=True)
def deliver_endpoint_task(endpoint_id: int) -> int:
    close_old_connections()
    try:
        return deliver_endpoint(endpoint_id)
    finally:
        close_old_connections()  # back to the pool between tasks


@shared_task(name="fundboard.webhooks.tasks.dispatch_due_webhooks", ignore_result=True)
def dispatch_due_webhooks() -> int:
    close_old_connections()
    try:
        endpoint_ids = due_endpoint_ids()
        prune_if_due()
    finally:
        close_old_connections()
    for endpoint_id in endpoint_ids:
        deliver_endpoint_task.apply_async((endpoint_id,), expires=KICK_EXPIRES_SECONDS)
    return len(endpoint_ids)
