"""Admin for campaigns and their sources.

API keys are write-only here: the form has a password-style "new key" field that is never
filled in, and a "remove key" box; the stored key is never rendered in any page (not even
to users who may only view). Saving a campaign or a source announces the change, so open
pages get a fresh snapshot (goal, name, review settings...).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import BaseModelAdmin
from django.db import models
from django.urls import reverse
from django.utils.html import format_html

from fundboard.campaigns.models import Campaign, Source, SourceKind
from fundboard.campaigns.upstream import origin_of
from fundboard.ingest.moderation import announce_campaign_edit

from ..actions import record_action, request_poll, request_reconnect
from ..models import ActionKind

KEY_FIELDS = ("api_key_status", "new_api_key", "remove_api_key")
REENTER_KEY = (
    "The address now points at another host: re-enter the API key for the new host "
    "(the stored key is never sent to a host it was not entered for), or tick "
    "“Remove the stored key”."
)


def _https_urls(db_field, **kwargs):
    # Django 6 assumes https for scheme-less URLs; say so now (and silence its warning).
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class SourceAdminForm(forms.ModelForm):
    """The stored key never goes into the form; only a new one comes out of it."""

    new_api_key = forms.CharField(
        label="New API key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave blank to keep the current key. Type a key to set or replace it.",
    )
    remove_api_key = forms.BooleanField(
        label="Remove the stored key", required=False, help_text="Ignored when a new key is typed."
    )

    class Meta:
        model = Source
        formfield_callback = _https_urls
        # Never "api_key": the stored key must not reach a form (or its read-only view).
        fields = [
            "campaign", "kind", "name", "enabled", "base_url", "provider_ids", "options",
            "poll_interval", "show_on_leaderboard",
        ]  # fmt: skip

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if self._moves_key_elsewhere(cleaned):
            self.add_error("new_api_key", REENTER_KEY)
        return cleaned

    def _moves_key_elsewhere(self, cleaned: dict) -> bool:
        """Would this edit point a stored key at another origin without a new key typed?

        The key was entered for one scheme, host and port; an edit of base_url or kind that
        changes them must come with the key for the new host (or remove the stored key).
        """
        source = self.instance
        if not source.stored_api_key or cleaned.get("new_api_key"):
            return False
        if cleaned.get("remove_api_key") or "base_url" not in cleaned:
            return False
        kind = cleaned.get("kind") or source.kind
        new_url = Source.effective_url_for(kind, cleaned["base_url"])
        return origin_of(new_url) != source.api_key_origin

    def save(self, commit=True):
        source = super().save(commit=False)
        new_key = self.cleaned_data.get("new_api_key", "")
        if new_key:
            source.api_key = new_key
        elif self.cleaned_data.get("remove_api_key"):
            source.api_key = ""
        if commit:
            source.save()
            self.save_m2m()
        return source


HEALTH_FIELDS = (
    "status", "last_success_at", "last_error", "last_error_at", "consecutive_failures",
    "next_poll_at", "stream_connected", "rejected_records", "last_rejection", "drift",
    "reported_total", "reported_count", "reported_currency", "reported_goal",
    "poll_requested_at", "reconnect_requested_at", "last_event_id",
)  # fmt: skip


@admin.display(description="API key")
def api_key_status(source: Source) -> str:
    if not source or not source.stored_api_key:
        return "not set"
    if source.key_bound_elsewhere:
        return f"set for {source.api_key_origin} only (hidden): re-enter it for this address"
    return "set (hidden)"


class HttpsUrlsMixin(BaseModelAdmin):
    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class SourceInline(HttpsUrlsMixin, admin.StackedInline):
    model = Source
    form = SourceAdminForm
    extra = 0
    show_change_link = True
    fields = (
        ("kind", "name", "enabled"),
        "base_url",
        ("api_key_status", "new_api_key", "remove_api_key"),
        ("provider_ids", "options"),
        ("poll_interval", "show_on_leaderboard"),
        ("status", "last_success_at", "consecutive_failures"),
    )
    readonly_fields = ("api_key_status", "status", "last_success_at", "consecutive_failures")

    @admin.display(description="API key")
    def api_key_status(self, source):
        return api_key_status(source)

    def get_fields(self, request, obj=None):
        return _without_key_inputs(self, request, obj, super().get_fields(request, obj))


def _without_key_inputs(model_admin, request, obj, fields):
    """View-only users see whether a key is set, not the inputs (their page is read-only)."""
    if model_admin.has_change_permission(request, obj):
        return fields
    drop = {"new_api_key", "remove_api_key"}
    cleaned = []
    for item in fields:
        if isinstance(item, tuple | list):
            kept = tuple(name for name in item if name not in drop)
            if kept:
                cleaned.append(kept)
        elif item not in drop:
            cleaned.append(item)
    return cleaned


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = (
        "name", "slug", "goal", "currency", "hold_for_review", "source_count", "version",
        "dashboard_link",
    )  # fmt: skip
    list_filter = ("currency", "hold_for_review")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    date_hierarchy = "created_at"
    readonly_fields = ("version", "updated_at", "created_at", "dashboard_link")
    inlines = [SourceInline]
    fieldsets = (
        (None, {"fields": ("name", "slug", "dashboard_link")}),
        ("Goal and window", {"fields": ("goal", "currency", "milestones", "starts_at", "ends_at")}),
        ("Moderation", {"fields": ("hold_for_review", "blocked_words")}),
        ("Embedding", {"fields": ("allowed_origins",)}),
        ("Sponsor matches", {"fields": ("count_matches",)}),  # windows: their own admin
        ("State", {"fields": ("version", "updated_at", "created_at"), "classes": ["collapse"]}),
    )

    @admin.display(description="Sources")
    def source_count(self, campaign):
        return campaign.sources.count()

    @admin.display(description="Live dashboard")
    def dashboard_link(self, campaign):
        if not campaign or not campaign.pk:
            return "—"
        return format_html(
            '<a href="{}">Open the dashboard</a>',
            reverse("dashboard:campaign", args=[campaign.slug]),
        )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # After the campaign and its inline sources are saved: one fresh snapshot for viewers.
        announce_campaign_edit(form.instance.pk)
        if change and {"hold_for_review", "blocked_words"} & set(form.changed_data):
            campaign = form.instance
            detail = f"in the admin: hold for review {'on' if campaign.hold_for_review else 'off'}"
            record_action(request.user, campaign, ActionKind.REVIEW_SETTINGS, detail=detail)


def _request(request_source, label: str):
    """An admin action that asks the pollers / the stream supervisor, recorded per source."""

    def action(model_admin, request, queryset):
        sources = list(queryset)
        for source in sources:
            request_source(request.user, source)
        model_admin.message_user(request, f"{label} requested for {len(sources)} source(s).")

    return action


@admin.register(Source)
class SourceAdmin(HttpsUrlsMixin, admin.ModelAdmin):
    form = SourceAdminForm
    list_display = (
        "name", "campaign", "kind", "enabled", "key_set", "status", "last_success_at",
        "consecutive_failures", "stream_connected", "rejected_records", "next_poll_at",
    )  # fmt: skip
    list_filter = ("kind", "enabled", "status", "stream_connected", "campaign")
    list_select_related = ("campaign",)
    search_fields = ("name", "campaign__name", "campaign__slug", "base_url")
    date_hierarchy = "created_at"
    readonly_fields = ("api_key_status", *HEALTH_FIELDS, "created_at")
    actions = ["poll_now", "reconnect"]
    fieldsets = (
        (None, {"fields": ("campaign", "kind", "name", "enabled")}),
        ("Connection", {"fields": ("base_url", *KEY_FIELDS, "provider_ids", "options")}),
        ("Polling and display", {"fields": ("poll_interval", "show_on_leaderboard")}),
        ("Health", {"fields": HEALTH_FIELDS, "classes": ["collapse"]}),
    )

    @admin.display(description="API key")
    def api_key_status(self, source):
        return api_key_status(source)

    @admin.display(description="Key", boolean=True)
    def key_set(self, source):
        return source.key_is_usable

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets
        return [
            (
                name,
                {**options, "fields": _without_key_inputs(self, request, obj, options["fields"])},
            )
            for name, options in fieldsets
        ]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "new_api_key" in form.changed_data and form.cleaned_data.get("new_api_key"):
            messages.info(request, "The new API key is stored; it will not be shown again.")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        announce_campaign_edit(form.instance.campaign_id)

    @admin.action(description="Poll now (the pollers pick it up at once)")
    def poll_now(self, request, queryset):

        _request(request_poll, "A poll")(self, request, queryset.exclude(kind=SourceKind.MANUAL))

    @admin.action(description="Reconnect the stream")
    def reconnect(self, request, queryset):

        _request(request_reconnect, "A reconnect")(
            self, request, queryset.filter(kind=SourceKind.IMRAISING)
        )
