from django.urls import path

from . import views

urlpatterns = [
    path("api/v1/campaigns/<slug:slug>", views.campaign_snapshot, name="campaign-snapshot"),
]
