from django.urls import path

from . import alert_controls, views

app_name = "dashboard"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.campaign_dashboard, name="campaign"),
    path("<slug:slug>/feed.json", views.feed_json, name="feed"),
    path("<slug:slug>/health.json", views.health_json, name="health"),
    path("<slug:slug>/donations/<int:donation_id>/moderate", views.moderate, name="moderate"),
    path("<slug:slug>/approve-all", views.approve_all, name="approve-all"),
    path("<slug:slug>/review-settings", views.review_settings, name="review-settings"),
    path("<slug:slug>/sources/<int:source_id>/poll", views.poll_now, name="poll-now"),
    path("<slug:slug>/sources/<int:source_id>/reconnect", views.reconnect, name="reconnect"),
    path(
        "<slug:slug>/sources/<int:source_id>/imraising-test",
        views.imraising_test,
        name="imraising-test",
    ),
    path("<slug:slug>/manual/", views.manual_donations, name="manual"),
    path("<slug:slug>/manual/<int:donation_id>/", views.edit_manual, name="manual-edit"),
    path("<slug:slug>/manual/<int:donation_id>/remove", views.remove_manual, name="manual-remove"),
    path(
        "<slug:slug>/manual/<int:donation_id>/restore", views.restore_manual, name="manual-restore"
    ),
    path("<slug:slug>/settings/", views.campaign_settings, name="settings"),
    path("<slug:slug>/chart.json", views.chart_json, name="chart"),
    path(
        "<slug:slug>/removals/<int:removal_id>/decide",
        views.decide_removal,
        name="removal-decide",
    ),
    path("<slug:slug>/test-alert", views.test_alert, name="test-alert"),
    path(
        "<slug:slug>/alert-control",
        alert_controls.alert_control_view,
        name="alert-control",
    ),
    path("<slug:slug>/embed/", views.embed_builder, name="embed"),
    path("<slug:slug>/export/", views.export, name="export"),
]
