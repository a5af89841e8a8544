"""Webhooks belong to the Organisers role (the dashboard's roles list only its own apps)."""

from __future__ import annotations

from fundboard.dashboard.roles import ORGANISERS

__all__ = ["grant_organisers"]


def grant_organisers(apps) -> None:
    """Give Organisers every permission of this app (idempotent; run after each migrate)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    organisers, _ = Group.objects.get_or_create(name=ORGANISERS)
    organisers.permissions.add(*Permission.objects.filter(content_type__app_label="webhooks"))
