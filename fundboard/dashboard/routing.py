from channels.auth import AuthMiddlewareStack
from django.urls import path

from .consumers import DashboardConsumer

websocket_urlpatterns = [
    # Staff only: sessions and the user are loaded for this route alone. The public socket
    # skips the session wrapper, which otherwise runs on every message sent.
    path("ws/dashboard/<slug:slug>", AuthMiddlewareStack(DashboardConsumer.as_asgi())),
]
