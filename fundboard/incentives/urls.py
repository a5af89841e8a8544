from django.urls import path

from . import views

app_name = "incentives"

# Widgets under /c/<slug>/, staff pages under /dashboard/<slug>/ (fundboard/urls.py).
widget_urls = [
    path(f"c/<slug:slug>/{widget}", views.widget_page, {"widget": widget}, name=f"widget-{widget}")
    for widget in views.WIDGET_TITLES
]

urlpatterns = [
    *widget_urls,
    path("dashboard/<slug:slug>/incentives/", views.overview, name="overview"),
    path("dashboard/<slug:slug>/incentives/queue", views.queue, name="queue"),
    path(
        "dashboard/<slug:slug>/incentives/donations/<int:donation_id>",
        views.allocate,
        name="allocate",
    ),
    path("dashboard/<slug:slug>/incentives/runs/<int:run_id>", views.run_action, name="run"),
    path(
        "dashboard/<slug:slug>/incentives/<int:incentive_id>/write-in",
        views.add_write_in,
        name="write-in",
    ),
    path(
        "dashboard/<slug:slug>/incentives/<int:incentive_id>/close",
        views.close_incentive,
        name="close",
    ),
]
