from django.urls import path

from . import views

app_name = "fx"

# Under /dashboard/, beside the dashboard's own pages (fundboard/urls.py).
urlpatterns = [
    path("<slug:slug>/rates/", views.campaign_rates, name="campaign"),
    path("<slug:slug>/rates/set", views.set_rate_view, name="set"),
    path("<slug:slug>/rates/<str:currency>/delete", views.delete_rate_view, name="delete"),
    path("<slug:slug>/rates/<str:currency>/rerate", views.rerate_view, name="rerate"),
]
