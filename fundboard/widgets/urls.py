from django.urls import path

from . import views

urlpatterns = [
    path("c/<slug:slug>/", views.campaign_index, name="campaign-index"),
    path("c/<slug:slug>/thermometer", views.thermometer, name="widget-thermometer"),
]
