"""Prometheus metrics. Each process exposes its own: web processes at /metrics, workers and
stream runners on FUNDBOARD_METRICS_PORT when set (see `start_metrics_server`)."""

from __future__ import annotations

import os

from django.conf import settings
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)

__all__ = [
    "DONATIONS_INGESTED",
    "DONATIONS_REJECTED",
    "DONATIONS_REMOVED",
    "POLLS",
    "POLL_SECONDS",
    "STREAM_RECONNECTS",
    "OPEN_WEBSOCKETS",
    "BROADCAST_DELAY",
    "start_metrics_server",
]

DONATIONS_INGESTED = Counter(
    "fundboard_donations_ingested_total", "Donations stored", ["campaign", "source"]
)
DONATIONS_REJECTED = Counter(
    "fundboard_donations_rejected_total", "Upstream records rejected", ["campaign", "source"]
)
DONATIONS_REMOVED = Counter(
    "fundboard_donations_removed_total", "Donations removed upstream", ["campaign", "source"]
)
POLLS = Counter("fundboard_polls_total", "Polls by result", ["source", "result"])
POLL_SECONDS = Histogram("fundboard_poll_seconds", "Time for one poll", ["kind"])
STREAM_RECONNECTS = Counter(
    "fundboard_stream_reconnects_total", "ImRaising stream reconnects", ["source"]
)
OPEN_WEBSOCKETS = Gauge("fundboard_open_websockets", "Open public and staff websockets")
BROADCAST_DELAY = Histogram(
    "fundboard_broadcast_delay_seconds",
    "From a broadcast leaving the ingesting process to this web process's hub",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
FRAMES_SENT = Counter(
    "fundboard_frames_sent_total",
    "Messages the hub handed to sockets: written at once (direct) or queued for the writer",
    ["path"],
)


def start_metrics_server() -> None:
    """Serve metrics on FUNDBOARD_METRICS_PORT, if set (stream runners, Celery workers).

    A prefork Celery worker runs tasks in child processes: with PROMETHEUS_MULTIPROC_DIR set
    (before the worker starts), every process writes its counters there and the parent, which
    calls this, serves them all together.
    """
    port = settings.FUNDBOARD["METRICS_PORT"]
    if not port:
        return
    registry = None
    # prometheus_client's own variable (it reads it itself), so not one of our settings.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    address = settings.FUNDBOARD["METRICS_ADDR"]
    if registry is None:
        start_http_server(port, addr=address)
    else:
        start_http_server(port, addr=address, registry=registry)
