from django.urls import path

from . import editor, views, widget_pages

app_name = "incentives"

# Widgets under /c/<slug>/, staff pages under /dashboard/<slug>/ (fundboard/urls.py).
widget_urls = [
    path(
        f"c/<slug:slug>/{widget}",
        widget_pages.widget_page,
        {"widget": widget},
        name=f"widget-{widget}",
    )
    for widget in widget_pages.WIDGETS
]

# The editor (editor.py): runs and incentives added, edited, removed; a CSV schedule imported.
editor_urls = [
    path("dashboard/<slug:slug>/incentives/runs/new", editor.edit_run, name="run-new"),
    path(
        "dashboard/<slug:slug>/incentives/runs/<int:run_id>/edit", editor.edit_run, name="run-edit"
    ),
    path(
        "dashboard/<slug:slug>/incentives/runs/<int:run_id>/remove",
        editor.remove_run,
        name="run-remove",
    ),
    path("dashboard/<slug:slug>/incentives/runs/import", editor.import_runs, name="runs-import"),
    path("dashboard/<slug:slug>/incentives/new", editor.edit_incentive, name="incentive-new"),
    path(
        "dashboard/<slug:slug>/incentives/<int:incentive_id>/edit",
        editor.edit_incentive,
        name="incentive-edit",
    ),
    path(
        "dashboard/<slug:slug>/incentives/<int:incentive_id>/remove",
        editor.remove_incentive,
        name="incentive-remove",
    ),
]

urlpatterns = [
    *widget_urls,
    *editor_urls,
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
