"""The Celery app of the distributed mode: beat dispatches due polls, workers run them.

    celery -A fundboard worker --pool=solo      # or prefork; any number of hosts
    celery -A fundboard beat --schedule /var/lib/fundboard/beat-schedule

Configuration comes from Django settings with the CELERY_ prefix (broker = REDIS_URL, the
queue, visibility_timeout, the beat entry "dispatch-due-polls").
"""

from __future__ import annotations

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fundboard.settings")

app = Celery("fundboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(
    ["fundboard.sync", "fundboard.webhooks", "fundboard.fx", "fundboard.incentives"]
)


@signals.worker_init.connect
def _serve_metrics(**kwargs) -> None:
    """The worker's Prometheus metrics on FUNDBOARD_METRICS_PORT (see ops/metrics.py)."""
    from fundboard.ops.metrics import start_metrics_server

    start_metrics_server()
