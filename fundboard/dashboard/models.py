"""The audit trail of what staff did from the dashboard or the admin, and the staff roles.

The roles are Django groups created by a migration: "Organisers" get everything,
"Moderators" get the feed and moderation only (no sources, keys, exports or manual money).
The permissions below are the dashboard's own; views and the staff socket check them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["ModerationAction", "ActionKind", "DASHBOARD_PERMISSIONS"]

# codename -> description; each view and the staff socket requires one of them.
DASHBOARD_PERMISSIONS = {
    "view_dashboard": "Can open the live staff dashboard and its feed",
    "moderate_donations": "Can hide, restore and approve donors' names and messages",
    "operate_sources": "Can see source health and ask for a poll or a reconnect",
    "manage_manual_donations": "Can enter, edit and remove manual donations",
    "send_test_alerts": "Can send test donations to the alert widgets",
    "export_donations": "Can export donations as CSV",
    "build_embeds": "Can use the embed builder",
}


class ActionKind(models.TextChoices):
    HIDE_NAME = "hide_name", "Hid name"
    RESTORE_NAME = "restore_name", "Restored name"
    HIDE_MESSAGE = "hide_message", "Hid message"
    RESTORE_MESSAGE = "restore_message", "Restored message"
    APPROVE = "approve", "Approved"
    REVIEW_SETTINGS = "review_settings", "Changed review settings"
    MANUAL_ADD = "manual_add", "Added manual donation"
    MANUAL_EDIT = "manual_edit", "Edited manual donation"
    MANUAL_REMOVE = "manual_remove", "Removed manual donation"
    TEST_ALERT = "test_alert", "Sent test alert"
    POLL_NOW = "poll_now", "Asked for a poll"
    RECONNECT = "reconnect", "Asked for a reconnect"
    MANUAL_RESTORE = "manual_restore", "Restored manual donation"
    CAMPAIGN_SETTINGS = "campaign_settings", "Changed campaign settings"
    REMOVAL_CONFIRMED = "removal_confirmed", "Confirmed a mass removal"
    REMOVAL_DISMISSED = "removal_dismissed", "Dismissed a mass removal"


class ModerationAction(models.Model):
    """Who did what, when, to which donation (or source) of which campaign."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="moderation_actions"
    )
    donation = models.ForeignKey(
        "ingest.Donation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="moderation_actions",
    )
    source = models.ForeignKey(
        "campaigns.Source",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="moderation_actions",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    # Kept even if the user account is deleted later.
    username = models.CharField(max_length=150)
    action = models.CharField(max_length=30, choices=ActionKind.choices)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = list(DASHBOARD_PERMISSIONS.items())

    def __str__(self) -> str:
        when = f"{self.created_at:%Y-%m-%d %H:%M}" if self.created_at else "new"
        return f"{self.username}: {self.get_action_display().lower()} ({when})"
