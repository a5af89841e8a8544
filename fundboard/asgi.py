"""ASGI entry point: HTTP through Django, websockets through Channels.

Each websocket consumer checks the handshake's `Origin` itself (fundboard/live/origins.py):
the public campaign socket takes clients without one and compares browsers' origins by
scheme, host and port; the staff socket requires our own origin.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fundboard.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (Django set up first)

from fundboard.dashboard.routing import websocket_urlpatterns as staff_sockets  # noqa: E402
from fundboard.live.routing import websocket_urlpatterns as public_sockets  # noqa: E402
from fundboard.widgets.fast_lane import FastLaneApp  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Cached JSON snapshots and widget pages are answered in front of Django (issue 17).
        "http": FastLaneApp(django_asgi_app),
        "websocket": URLRouter(public_sockets + staff_sockets),
    }
)
