"""The Celery app of the distributed mode: beat dispatches due polls, workers run them.

    celery -A fundboard worker --pool=solo      # or prefork; any number of hosts
    celery -A fundboard beat --schedule /var/lib/fundboard/beat-schedule

Configuration comes from Django settings with the CELERY_ prefix (broker = REDIS_URL, the
queue, visibility_timeout, the beat entry "dispatch-due-polls").
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fundboard.settings")

app = Celery("fundboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["fundboard.sync"])
