from django.urls import path

from . import alert_controls
from .views import alerts, exports, manual, moderation, pages, sources

app_name = "dashboard"

urlpatterns = [
    path("", pages.index, name="index"),
    path("<slug:slug>/", pages.campaign_dashboard, name="campaign"),
    path("<slug:slug>/feed.json", pages.feed_json, name="feed"),
    path("<slug:slug>/health.json", pages.health_json, name="health"),
    path("<slug:slug>/donations/<int:donation_id>/moderate", moderation.moderate, name="moderate"),
    path("<slug:slug>/approve-all", moderation.approve_all, name="approve-all"),
    path("<slug:slug>/review-settings", moderation.review_settings, name="review-settings"),
    path("<slug:slug>/sources/<int:source_id>/poll", sources.poll_now, name="poll-now"),
    path("<slug:slug>/sources/<int:source_id>/reconnect", sources.reconnect, name="reconnect"),
    path(
        "<slug:slug>/sources/<int:source_id>/imraising-test",
        alerts.imraising_test,
        name="imraising-test",
    ),
    path("<slug:slug>/manual/", manual.manual_donations, name="manual"),
    path("<slug:slug>/manual/<int:donation_id>/", manual.edit_manual, name="manual-edit"),
    path("<slug:slug>/manual/<int:donation_id>/remove", manual.remove_manual, name="manual-remove"),
    path(
        "<slug:slug>/manual/<int:donation_id>/restore", manual.restore_manual, name="manual-restore"
    ),
    path("<slug:slug>/settings/", pages.campaign_settings, name="settings"),
    path("<slug:slug>/chart.json", pages.chart_json, name="chart"),
    path(
        "<slug:slug>/removals/<int:removal_id>/decide",
        sources.decide_removal,
        name="removal-decide",
    ),
    path("<slug:slug>/test-alert", alerts.test_alert, name="test-alert"),
    path(
        "<slug:slug>/alert-control",
        alert_controls.alert_control_view,
        name="alert-control",
    ),
    path("<slug:slug>/embed/", exports.embed_builder, name="embed"),
    path("<slug:slug>/export/", exports.export, name="export"),
]
