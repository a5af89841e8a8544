"""Liveness, readiness and metrics endpoints for the proxy, the orchestrator and Prometheus."""

from __future__ import annotations

import hmac

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


@never_cache
def healthz(request) -> HttpResponse:
    """Alive: the process answers. Nothing else is checked (a restart would not help)."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    if not settings.REDIS_URL:
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


async def _layer_round_trip() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel("readyz.")
    await layer.send(channel, {"type": "readyz.ping"})
    await layer.receive(channel)


def _check_channel_layer() -> None:
    if settings.REDIS_URL:
        # The pub/sub layer delivers direct sends through Redis: a real round trip.
        async_to_sync(_layer_round_trip)()


CHECKS = {"database": _check_database, "redis": _check_redis, "channel_layer": _check_channel_layer}


@never_cache
def readyz(request) -> JsonResponse:
    """Ready: the database, Redis and the channel layer answer."""
    results, ready = {}, True
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # any failure means "not ready", with the reason
            results[name] = f"error: {type(error).__name__}"
            ready = False
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": results},
        status=200 if ready else 503,
    )


def metrics(request) -> HttpResponse:
    """Prometheus text format; behind a bearer token when FUNDBOARD_METRICS_TOKEN is set."""
    token = settings.FUNDBOARD["METRICS_TOKEN"]
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token and not hmac.compare_digest(token, given):
        return HttpResponse(status=401)
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
