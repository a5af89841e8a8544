from django.urls import path

from . import views
from .theme import WIDGETS

urlpatterns = [
    path("c/<slug:slug>/", views.campaign_index, name="campaign-index"),
    *[
        path(
            f"c/<slug:slug>/{widget}",
            views.widget_page,
            {"widget": widget},
            name=f"widget-{widget}",
        )
        for widget in WIDGETS
    ],
]
