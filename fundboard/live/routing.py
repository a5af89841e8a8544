from channels.auth import AuthMiddlewareStack
from django.urls import path

from fundboard.dashboard.consumers import DashboardConsumer

from .consumers import CampaignConsumer

websocket_urlpatterns = [
    path("ws/campaigns/<slug:slug>", CampaignConsumer.as_asgi()),
    # Staff only: sessions and the user are loaded for this route alone. The public socket
    # skips the session wrapper, which otherwise runs on every message sent.
    path("ws/dashboard/<slug:slug>", AuthMiddlewareStack(DashboardConsumer.as_asgi())),
]
