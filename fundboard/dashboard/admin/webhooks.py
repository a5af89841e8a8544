"""Admin for webhook endpoints (fundboard.webhooks) and a read-only view of deliveries.

The secret is write-only, like a source's API key: the form has a password-style "new
secret" field that is never filled in; the stored secret is never rendered. Re-enabling an
endpoint that was disabled for failing clears the reason and starts its failure clock anew.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from fundboard.webhooks.addresses import shown_url
from fundboard.webhooks.models import (
    SECRET_MIN_LENGTH,
    SUBSCRIBABLE,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
)

EVENT_CHOICES = [(value, EventType(value).label) for value in SUBSCRIBABLE]


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple, initial=SUBSCRIBABLE
    )
    new_secret = forms.CharField(
        label="New secret",
        required=False,
        strip=True,
        min_length=SECRET_MIN_LENGTH,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=(
            "The key of the HMAC signature the receiver checks, e.g. the output of "
            "`openssl rand -hex 32`. Leave blank to keep the current one; it is never shown."
        ),
    )

    class Meta:
        model = WebhookEndpoint
        # Never "secret": the stored secret must not reach a form.
        fields = ["campaign", "name", "url", "events", "format", "enabled"]
        widgets = {"url": forms.URLInput(attrs={"size": 80})}

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if not self.instance.secret and not cleaned.get("new_secret"):
            self.add_error("new_secret", "Set a secret: every request is signed with it.")
        return cleaned

    def save(self, commit=True):
        endpoint = super().save(commit=False)
        if self.cleaned_data.get("new_secret"):
            endpoint.secret = self.cleaned_data["new_secret"]
        if endpoint.enabled and "enabled" in self.changed_data:
            endpoint.disabled_reason, endpoint.failing_since = "", None
        if commit:
            endpoint.save()
        return endpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("name", "campaign", "address", "format", "enabled", "disabled_reason")
    list_filter = ("enabled", "format", "campaign")
    list_select_related = ("campaign",)
    search_fields = ("name", "campaign__name", "campaign__slug")
    readonly_fields = ("secret_status", "disabled_reason", "failing_since", "created_at")
    fields = (
        "campaign", "name", "url", "events", "format", "enabled", "secret_status", "new_secret",
        "disabled_reason", "failing_since", "created_at",
    )  # fmt: skip

    @admin.display(description="Address")
    def address(self, endpoint):
        return shown_url(endpoint.url)

    @admin.display(description="Secret")
    def secret_status(self, endpoint):
        return "set (hidden)" if endpoint and endpoint.secret else "not set"

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if self.has_change_permission(request, obj):
            return fields
        return [name for name in fields if name != "new_secret"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if form.cleaned_data.get("new_secret"):
            messages.info(request, "The new secret is stored; it will not be shown again.")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """What was sent and how it went; redeliver from the campaign's webhooks page."""

    list_display = (
        "sequence", "endpoint", "event", "status", "attempts", "last_status_code",
        "next_attempt_at", "created_at",
    )  # fmt: skip
    list_filter = ("status", "event", "endpoint__campaign")
    list_select_related = ("endpoint",)
    search_fields = ("event_id",)
    readonly_fields = [
        "endpoint", "sequence", "event", "event_id", "body", "status", "attempts",
        "next_attempt_at", "last_attempt_at", "last_status_code", "last_error", "finished_at",
        "created_at",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
