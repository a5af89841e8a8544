"""ASGI entry point: HTTP through Django, websockets through Channels (origin-checked)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fundboard.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (Django set up first)
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from fundboard.dashboard.routing import websocket_urlpatterns as staff_sockets  # noqa: E402
from fundboard.live.routing import websocket_urlpatterns as public_sockets  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Browsers send Origin on websockets; only pages served from our own hosts may connect.
        "websocket": AllowedHostsOriginValidator(URLRouter(public_sockets + staff_sockets)),
    }
)
