from django.urls import path

from . import views

app_name = "webhooks"

# Under /dashboard/, beside the dashboard's own pages (fundboard/urls.py).
urlpatterns = [
    path("<slug:slug>/webhooks/", views.campaign_webhooks, name="campaign"),
    path("<slug:slug>/webhooks/<int:endpoint_id>/test", views.send_test, name="test"),
    path(
        "<slug:slug>/webhooks/deliveries/<int:delivery_id>/redeliver",
        views.redeliver,
        name="redeliver",
    ),
]
