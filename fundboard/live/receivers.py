"""Connects ingest's after-commit signals to the broadcaster."""

from fundboard.ingest import signals

from .broadcast import broadcaster
from .snapshot_cache import snapshot_cache


def _donations_added(sender, campaign, donations, version, **kwargs):
    snapshot_cache.forget(campaign.pk)  # committed here: this process's JSON shows it now
    broadcaster.donations_added(campaign, donations, version)


def _donations_removed(sender, campaign, donations, version, **kwargs):
    snapshot_cache.forget(campaign.pk)
    broadcaster.donations_removed(campaign, donations, version)


def _campaign_changed(sender, campaign, version, **kwargs):
    snapshot_cache.forget(campaign.pk)
    broadcaster.campaign_changed(campaign.pk)


def _source_health_changed(sender, source, fields, **kwargs):
    broadcaster.dashboard_event(source.campaign_id, "source_health", {"source_id": source.pk})


def _donations_approved(sender, campaign, donations, version, **kwargs):
    broadcaster.donations_approved(campaign, donations, version)


def connect() -> None:
    signals.donations_added.connect(_donations_added, dispatch_uid="live.donations_added")
    signals.donations_removed.connect(_donations_removed, dispatch_uid="live.donations_removed")
    signals.campaign_changed.connect(_campaign_changed, dispatch_uid="live.campaign_changed")
    signals.donations_approved.connect(_donations_approved, dispatch_uid="live.donations_approved")
    signals.source_health_changed.connect(
        _source_health_changed, dispatch_uid="live.source_health_changed"
    )
