"""Benchmark comparison app: the usual Channels pattern, one group member per socket.

    per_socket_group_app.py --port P --redis URL --layer core|pubsub --prefix PREFIX

Every websocket consumer `group_add`s itself to the group "bench" and forwards each
`campaign.message` it receives to its socket, so `group_send` fans out per socket through
Redis. Served by uvicorn with the same websocket settings as Fundboard's `serve --server
uvicorn`, on `RedisChannelLayer` ("core") or `RedisPubSubChannelLayer` ("pubsub").
bench_layers.py compares it with Fundboard's per-process hub.
"""

from __future__ import annotations

import argparse

import django
from django.conf import settings

GROUP = "bench"
LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}


def build_application():
    from channels.generic.websocket import AsyncWebsocketConsumer
    from channels.routing import URLRouter
    from django.urls import path

    class PerSocketConsumer(AsyncWebsocketConsumer):
        groups = [GROUP]  # Channels adds this socket's own channel to the group on connect

        async def campaign_message(self, event: dict) -> None:
            await self.send(text_data=event["text"])

    return URLRouter([path("ws/campaigns/<slug>", PerSocketConsumer.as_asgi())])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--layer", choices=sorted(LAYERS), required=True)
    parser.add_argument("--prefix", default="asgi")
    parser.add_argument(
        "--socket-timeout",
        type=float,
        default=None,
        help="redis-py's socket timeout (redis-py 8 defaults to 5 s, the same as "
        "RedisChannelLayer's BZPOPMIN timeout, so idle consumers die of read timeouts)",
    )
    args = parser.parse_args()
    host: str | dict = args.redis
    if args.socket_timeout:
        # Each idle consumer holds a pooled connection in BZPOPMIN: lift the pool's cap too.
        host = {"address": args.redis, "socket_timeout": args.socket_timeout,
                "max_connections": 10_000}  # fmt: skip
    settings.configure(
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": LAYERS[args.layer],
                "CONFIG": {"hosts": [host], "prefix": args.prefix},
            }
        },
        ROOT_URLCONF=__name__,
    )
    django.setup()
    import uvicorn

    uvicorn.run(
        build_application(),
        host="127.0.0.1",
        port=args.port,
        lifespan="off",
        log_level="warning",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
    )


urlpatterns: list = []

if __name__ == "__main__":
    main()
