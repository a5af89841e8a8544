"""The two staff roles as Django groups, and which permissions each holds.

Organisers run the campaign: everything in the campaigns, ingest and dashboard apps.
Moderators watch the feed and moderate it: no sources, keys, exports or manual money.
The migration creates the groups; `post_migrate` keeps Organisers complete when another
app adds a model later.
"""

from __future__ import annotations

__all__ = [
    "ORGANISERS",
    "MODERATORS",
    "ORGANISER_APPS",
    "MODERATOR_PERMISSIONS",
    "sync_roles",
    "grant_app_to_organisers",
]

ORGANISERS = "Organisers"
MODERATORS = "Moderators"
ORGANISER_APPS = ("campaigns", "ingest", "dashboard")
MODERATOR_PERMISSIONS = (
    ("dashboard", "view_dashboard"),
    ("dashboard", "moderate_donations"),
    ("dashboard", "view_moderationaction"),
    ("ingest", "view_donation"),
    ("campaigns", "view_campaign"),
)


def sync_roles(apps) -> None:
    """Create both groups if missing and give them their permissions (idempotent).

    `apps` is the migration's app registry or `django.apps.apps`.
    """
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    organisers, _ = Group.objects.get_or_create(name=ORGANISERS)
    moderators, _ = Group.objects.get_or_create(name=MODERATORS)
    organisers.permissions.add(
        *Permission.objects.filter(content_type__app_label__in=ORGANISER_APPS)
    )
    for app_label, codename in MODERATOR_PERMISSIONS:
        permission = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if permission is not None:
            moderators.permissions.add(permission)


def grant_app_to_organisers(sender, **kwargs) -> None:
    """A `post_migrate` receiver: Organisers get every permission of the sending app (an app
    whose work is Organisers' only, such as exchange rates or sponsor matches)."""
    from django.apps import apps

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    organisers, _ = Group.objects.get_or_create(name=ORGANISERS)
    organisers.permissions.add(*Permission.objects.filter(content_type__app_label=sender.label))
