"""Admin for marathon incentives (with their options) and the run schedule.

Editing here is the incentive editor; operations (the allocation queue, starting runs) are
on the dashboard's Incentives pages. A save bumps the campaign version, so overlays redraw.
Allocations and the audit are read-only here: only fundboard.incentives.services writes them.
"""

from __future__ import annotations

from django.contrib import admin

from fundboard.incentives.models import AllocationAudit, Incentive, Option, Run
from fundboard.ingest.services import commit_change


class OptionInline(admin.TabularInline):
    model = Option
    extra = 1
    fields = ["title", "tags", "goal", "order", "write_in"]


class AnnouncesChanges(admin.ModelAdmin):
    """After a save (inside the admin's transaction): a new campaign version for viewers."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        commit_change(form.instance.campaign)

    def delete_model(self, request, obj):
        campaign = obj.campaign
        super().delete_model(request, obj)
        commit_change(campaign)


@admin.register(Incentive)
class IncentiveAdmin(AnnouncesChanges, admin.ModelAdmin):
    list_display = ["title", "campaign", "kind", "goal", "run", "opens_at", "closes_at"]
    list_filter = ["campaign", "kind"]
    search_fields = ["title", "key", "tags"]
    inlines = [OptionInline]


@admin.register(Run)
class RunAdmin(AnnouncesChanges, admin.ModelAdmin):
    list_display = ["title", "campaign", "order", "starts_at", "estimate", "started_at", "ended_at"]
    list_filter = ["campaign"]
    ordering = ["campaign", "order"]


@admin.register(AllocationAudit)
class AllocationAuditAdmin(admin.ModelAdmin):
    list_display = ["at", "campaign", "donation", "user", "action"]
    list_filter = ["campaign", "action"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
