"""Admin for what the platforms told us: donations and leaderboard entries.

Read-only: ingest is the only writer. Moderation (hide/restore names and messages, approve)
is offered as admin actions that go through `fundboard.dashboard.actions`, so each one is
recorded and pushed live exactly as from the dashboard.
"""

from __future__ import annotations

from django.contrib import admin

from fundboard.ingest.models import Donation, LeaderboardEntry

from ..actions import moderate_donation


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _moderation_action(action: str, description: str):
    @admin.action(description=description, permissions=["moderate"])
    def run(model_admin, request, queryset):

        changed = sum(
            moderate_donation(request.user, donation, action)
            for donation in queryset.select_related("campaign")
        )
        model_admin.message_user(request, f"{description}: {changed} donation(s) changed.")

    run.__name__ = action
    return run


@admin.register(Donation)
class DonationAdmin(ReadOnlyAdmin):
    list_display = (
        "donated_at", "display_name", "amount", "currency", "campaign", "source", "is_test",
        "removed", "name_hidden", "message_hidden", "approved",
    )  # fmt: skip
    list_filter = (
        "campaign", "source", "removed", "is_test", "name_hidden", "message_hidden",
        "approved", "anonymous", "currency",
    )  # fmt: skip
    list_select_related = ("campaign", "source")
    search_fields = ("display_name", "message", "upstream_id", "fundraiser_id")
    date_hierarchy = "donated_at"
    actions = [
        _moderation_action("hide_name", "Hide names"),
        _moderation_action("restore_name", "Restore names"),
        _moderation_action("hide_message", "Hide messages"),
        _moderation_action("restore_message", "Restore messages"),
        _moderation_action("approve", "Approve (hold for review)"),
    ]

    def has_moderate_permission(self, request) -> bool:
        return request.user.has_perm("dashboard.moderate_donations")


@admin.register(LeaderboardEntry)
class LeaderboardEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "name", "kind", "team_name", "raised", "goal", "currency", "donation_count", "source",
        "blocked", "updated_at",
    )  # fmt: skip
    list_filter = ("kind", "blocked", "source", "source__campaign")
    list_select_related = ("source",)
    search_fields = ("name", "team_name", "upstream_id")
    date_hierarchy = "updated_at"
