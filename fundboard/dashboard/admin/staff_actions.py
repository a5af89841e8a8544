"""Admin for the audit trail of staff actions (read-only: written only by the actions)."""

from django.contrib import admin

from ..models import ModerationAction
from .donations import ReadOnlyAdmin


@admin.register(ModerationAction)
class ModerationActionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "username", "action", "campaign", "donation", "source", "detail")
    list_filter = ("action", "campaign", "username")
    list_select_related = ("campaign", "donation", "source")
    search_fields = ("username", "detail")
    date_hierarchy = "created_at"
