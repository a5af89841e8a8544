"""Admin for sponsor match windows (the editor) and, read-only, exchange rates and their
audit: rates are set and donations re-rated on the dashboard's Rates page (audited there).
A match window's save or delete bumps the campaign version, so widgets redraw."""

from __future__ import annotations

from django.contrib import admin

from fundboard.fx.models import ExchangeRate, RateChange
from fundboard.ingest.services import commit_change
from fundboard.matching.models import MatchWindow


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MatchWindow)
class MatchWindowAdmin(admin.ModelAdmin):
    list_display = ("sponsor", "campaign", "starts_at", "ends_at", "cap", "ratio", "precedence")
    list_filter = ("campaign",)
    search_fields = ("sponsor", "campaign__slug")
    fields = ("campaign", "sponsor", "starts_at", "ends_at", "cap", "ratio", "precedence")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        commit_change(obj.campaign)

    def delete_model(self, request, obj):
        campaign = obj.campaign
        super().delete_model(request, obj)
        commit_change(campaign)


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("currency", "rate", "quote", "campaign", "origin", "updated_at")
    list_filter = ("origin", "campaign")


@admin.register(RateChange)
class RateChangeAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("created_at", "campaign", "username", "action", "currency", "rate", "donations")
    list_filter = ("campaign", "action")
