from django.urls import path

from . import views

app_name = "matching"

urlpatterns = [
    path("c/<slug:slug>/match", views.match_widget, name="widget-match"),
]
