"""The live staff dashboard: one page per campaign plus its staff-only JSON and actions.

Every view requires a signed-in staff user with the dashboard permission it names
(`access.staff_permission_required`); anonymous visitors go to the admin login.
State-changing views are POST only (CSRF-protected) and answer JSON to the page's fetch
calls, or redirect back when a plain form was posted.
"""

from __future__ import annotations

import importlib
import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from fundboard.campaigns.models import Campaign, Source, SourceKind
from fundboard.ingest.models import Donation
from fundboard.live.snapshot import build_snapshot
from fundboard.ops.logging import redact
from fundboard.providers.errors import ProviderError
from fundboard.sync.models import PendingRemoval, PendingState
from fundboard.widgets.money import format_money

from . import actions, chart, status
from .access import can, staff_permission_required
from .embeds import embed_options
from .export import csv_chunks, export_filename
from .forms import (
    CampaignSettingsForm,
    ExportForm,
    ManualDonationForm,
    ReviewSettingsForm,
    TestAlertForm,
)
from .models import ActionKind

log = logging.getLogger("fundboard.dashboard")


def _campaign(slug: str) -> Campaign:
    return get_object_or_404(Campaign, slug=slug)


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _done(request, slug: str, message: str, *, ok: bool = True, to: str | None = None):
    """Answer a POST: JSON to fetch(), a redirect with a flash message to a plain form."""
    if _wants_json(request):
        return JsonResponse({"ok": ok, "message": message}, status=200 if ok else 400)
    (messages.success if ok else messages.error)(request, message)
    return HttpResponseRedirect(to or reverse("dashboard:campaign", args=[slug]))


@require_GET
@staff_permission_required()
def index(request):
    return render(request, "dashboard/index.html", {"campaigns": Campaign.objects.all()})


@require_GET
@staff_permission_required()
def campaign_dashboard(request, slug):
    campaign = _campaign(slug)
    allowed = can(request.user)
    context = {
        "campaign": campaign,
        "snapshot": build_snapshot(campaign),
        "can": allowed,
        "review_form": ReviewSettingsForm(
            initial={
                "hold_for_review": campaign.hold_for_review,
                "blocked_words": campaign.blocked_words,
            }
        ),
        "test_form": TestAlertForm(),
        "config": _page_config(campaign, allowed),
        "pending_removals": _waiting_removals(campaign) if allowed["operate_sources"] else [],
        "chart": _chart_context(campaign, "minute"),
        "imraising_sources": _imraising_test_sources(campaign) if allowed["test_alerts"] else [],
        "initial": {
            "feed": status.feed(campaign),
            "actions": status.recent_actions(campaign),
            "waiting": status.waiting_for_review(campaign),
            "health": status.source_health(campaign) if allowed["operate_sources"] else None,
        },
    }
    return render(request, "dashboard/campaign.html", context)


def _page_config(campaign: Campaign, allowed: dict) -> dict:
    """URLs the page's script calls (0 stands for the donation or source id)."""
    slug = campaign.slug
    config = {
        "slug": slug,
        "socket": f"/ws/dashboard/{slug}",
        "feed": reverse("dashboard:feed", args=[slug]),
        "health": reverse("dashboard:health", args=[slug]),
        "moderate": reverse("dashboard:moderate", args=[slug, 0]),
        "poll": reverse("dashboard:poll-now", args=[slug, 0]),
        "reconnect": reverse("dashboard:reconnect", args=[slug, 0]),
        "chart": reverse("dashboard:chart", args=[slug]),
        "currency": campaign.currency,
        "can": allowed,
    }
    if allowed["admin_sources"]:
        config["sourceAdmin"] = reverse("admin:campaigns_source_change", args=[0])
    return config


@require_GET
@staff_permission_required()
def feed_json(request, slug):
    campaign = _campaign(slug)
    waiting_removals = (
        len(_waiting_removals(campaign))
        if request.user.has_perm("dashboard.operate_sources")
        else 0
    )
    return JsonResponse(
        {
            "feed": status.feed(campaign),
            "actions": status.recent_actions(campaign),
            "waiting": status.waiting_for_review(campaign),
            "pending_removals": waiting_removals,
        }
    )


@require_GET
@staff_permission_required("dashboard.operate_sources")
def health_json(request, slug):
    return JsonResponse({"sources": status.source_health(_campaign(slug))})


def _chart_context(campaign: Campaign, scale: str) -> dict:
    data = chart.chart_data(campaign, scale)
    return {
        **data,
        "bars": chart.svg_bars(data),
        "width": chart.WIDTH,
        "height": chart.HEIGHT,
    }


@require_GET
@staff_permission_required()
def chart_json(request, slug):
    """The chart's buckets; dashboard.js redraws the SVG from them after a change."""
    scale = request.GET.get("scale", "minute")
    if scale not in chart.SCALES:
        scale = "minute"
    return JsonResponse(chart.chart_data(_campaign(slug), scale))


# --- campaign settings --------------------------------------------------------------------


@staff_permission_required("campaigns.change_campaign")
def campaign_settings(request, slug):
    """Goal, milestones, window, currency, review and embedding, without the admin."""
    campaign = _campaign(slug)
    initial = CampaignSettingsForm.initial_for(campaign)
    form = CampaignSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        wanted = {name: form.cleaned_data[name] for name in CampaignSettingsForm.FIELDS}
        changed = actions.change_campaign_settings(request.user, campaign, wanted)
        message = f"Saved: {', '.join(changed)}." if changed else "Nothing to change."
        return _done(request, slug, message, to=reverse("dashboard:settings", args=[slug]))
    return render(
        request,
        "dashboard/settings.html",
        {"campaign": campaign, "form": form},
        status=400 if form.errors else 200,
    )


# --- mass removals found by reconciliation ------------------------------------------------


def _waiting_removals(campaign: Campaign) -> list[PendingRemoval]:
    return list(
        PendingRemoval.objects.filter(
            source__campaign=campaign, state=PendingState.WAITING
        ).select_related("source")
    )


@require_POST
@staff_permission_required("dashboard.operate_sources", "ingest.change_donation")
def decide_removal(request, slug, removal_id):
    campaign = _campaign(slug)
    removal = get_object_or_404(
        PendingRemoval.objects.select_related("source"), pk=removal_id, source__campaign=campaign
    )
    confirm = request.POST.get("decision") == "confirm"
    removed = actions.decide_pending_removal(request.user, removal, confirm=confirm)
    if removed is None:
        return _done(request, slug, "Someone decided this one already.", ok=False)
    if confirm:
        return _done(request, slug, f"Removed {removed} donations.")
    return _done(request, slug, "Dismissed: the donations stay counted.")


# --- moderation ---------------------------------------------------------------------------

MODERATION_CHOICES = {
    ActionKind.HIDE_NAME,
    ActionKind.RESTORE_NAME,
    ActionKind.HIDE_MESSAGE,
    ActionKind.RESTORE_MESSAGE,
    ActionKind.APPROVE,
}


@require_POST
@staff_permission_required("dashboard.moderate_donations")
def moderate(request, slug, donation_id):
    campaign = _campaign(slug)
    donation = get_object_or_404(Donation, pk=donation_id, campaign=campaign)
    action = request.POST.get("action", "")
    if action not in MODERATION_CHOICES:
        return _done(request, slug, f"Unknown action {action[:30]!r}.", ok=False)
    changed = actions.moderate_donation(request.user, donation, action)
    label = ActionKind(action).label
    return _done(request, slug, f"{label}." if changed else "Nothing to change.")


@require_POST
@staff_permission_required("dashboard.moderate_donations")
def approve_all(request, slug):
    campaign = _campaign(slug)
    waiting = (
        Donation.objects.filter(campaign=campaign, removed=False)
        .exclude(approved=True)
        .values_list("pk", flat=True)
    )
    count = actions.approve(request.user, campaign, list(waiting))
    return _done(request, slug, f"Approved {count} donations.")


@require_POST
@staff_permission_required("dashboard.moderate_donations")
def review_settings(request, slug):
    campaign = _campaign(slug)
    form = ReviewSettingsForm(request.POST)
    if not form.is_valid():
        return _done(request, slug, "Invalid review settings.", ok=False)
    changed = actions.change_review_settings(
        request.user,
        campaign,
        hold_for_review=form.cleaned_data["hold_for_review"],
        blocked_words=form.cleaned_data["blocked_words"].replace("\r\n", "\n").strip(),
    )
    return _done(request, slug, "Review settings saved." if changed else "Nothing to change.")


# --- sources -------------------------------------------------------------------------------


def _source(campaign: Campaign, source_id: int) -> Source:
    return get_object_or_404(Source, pk=source_id, campaign=campaign)


@require_POST
@staff_permission_required("dashboard.operate_sources")
def poll_now(request, slug, source_id):
    source = _source(_campaign(slug), source_id)
    if source.kind == SourceKind.MANUAL:
        return _done(request, slug, "Manual sources are not polled.", ok=False)
    actions.request_poll(request.user, source)
    return _done(request, slug, f"Poll requested for {source.name}.")


@require_POST
@staff_permission_required("dashboard.operate_sources")
def reconnect(request, slug, source_id):
    source = _source(_campaign(slug), source_id)
    if source.kind != SourceKind.IMRAISING:
        return _done(request, slug, "Only streamed sources reconnect.", ok=False)
    actions.request_reconnect(request.user, source)
    return _done(request, slug, f"Reconnect requested for {source.name}.")


# --- manual donations -------------------------------------------------------------------------


def _manual_donations(campaign: Campaign):
    return (
        Donation.objects.filter(campaign=campaign, source__kind=SourceKind.MANUAL, is_test=False)
        .select_related("source")
        .order_by("-donated_at", "-id")[:200]
    )


@staff_permission_required("dashboard.manage_manual_donations")
def manual_donations(request, slug):
    campaign = _campaign(slug)
    form = ManualDonationForm(request.POST or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        method = dict(ManualDonationForm.METHODS).get(form.cleaned_data["method"], "")
        donation = actions.add_manual(request.user, campaign, form.entry(), method)
        if _wants_json(request):
            return JsonResponse({"ok": True, "id": donation.pk})
        messages.success(request, f"Added {format_money(donation.amount, donation.currency)}.")
        return HttpResponseRedirect(reverse("dashboard:manual", args=[slug]))
    return render(
        request,
        "dashboard/manual.html",
        {
            "campaign": campaign,
            "form": form,
            "donations": _manual_donations(campaign),
            "undo": _undo_offer(request, campaign),
        },
        status=400 if form.errors else 200,
    )


def _manual_donation(campaign: Campaign, donation_id: int) -> Donation:
    donation = get_object_or_404(
        Donation.objects.select_related("source"), pk=donation_id, campaign=campaign
    )
    if donation.source.kind != SourceKind.MANUAL or donation.is_test:
        raise Http404("Not a manual donation")
    return donation


@staff_permission_required("dashboard.manage_manual_donations")
def edit_manual(request, slug, donation_id):
    campaign = _campaign(slug)
    donation = _manual_donation(campaign, donation_id)
    initial = {
        "display_name": donation.display_name,
        "anonymous": donation.anonymous,
        "amount": donation.amount,
        "currency": donation.currency,
        "donated_at": donation.donated_at,
        "message": donation.message,
    }
    form = ManualDonationForm(request.POST or None, initial=initial, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        if donation.removed:
            raise PermissionDenied("A removed donation cannot be edited.")
        changed = actions.edit_manual(request.user, donation, form.entry())
        return _done(
            request,
            slug,
            "Donation updated." if changed else "Nothing to change.",
            to=reverse("dashboard:manual", args=[slug]),
        )
    return render(
        request,
        "dashboard/manual_edit.html",
        {"campaign": campaign, "form": form, "donation": donation},
        status=400 if form.errors else 200,
    )


UNDO_SESSION_KEY = "fundboard_undo_removal"


@staff_permission_required("dashboard.manage_manual_donations")
def remove_manual(request, slug, donation_id):
    """GET (or a POST without confirm=yes): the confirmation page. POST confirm=yes: remove,
    and offer an Undo for UNDO_WINDOW."""
    campaign = _campaign(slug)
    donation = _manual_donation(campaign, donation_id)
    if request.method != "POST" or request.POST.get("confirm") != "yes":
        return render(
            request,
            "dashboard/manual_remove.html",
            {"campaign": campaign, "donation": donation},
            status=200 if request.method == "GET" else 400,
        )
    removed = actions.remove_manual(request.user, donation)
    if removed:
        request.session[UNDO_SESSION_KEY] = donation.pk
    return _done(
        request,
        slug,
        "Donation removed." if removed else "It was already removed.",
        to=reverse("dashboard:manual", args=[slug]),
    )


@require_POST
@staff_permission_required("dashboard.manage_manual_donations")
def restore_manual(request, slug, donation_id):
    """Undo a removal (within UNDO_WINDOW): the donation counts again."""
    donation = _manual_donation(_campaign(slug), donation_id)
    restored = actions.restore_manual(request.user, donation)
    request.session.pop(UNDO_SESSION_KEY, None)
    message = "Removal undone: the donation counts again." if restored else "Too late to undo."
    return _done(request, slug, message, ok=restored, to=reverse("dashboard:manual", args=[slug]))


def _undo_offer(request, campaign: Campaign) -> Donation | None:
    """The donation this user just removed, while it can still be put back."""
    donation_id = request.session.get(UNDO_SESSION_KEY)
    if donation_id is None:
        return None
    donation = Donation.objects.filter(pk=donation_id, campaign=campaign).first()
    return donation if donation is not None and actions.can_undo(donation) else None


# --- test alerts ----------------------------------------------------------------------------


@require_POST
@staff_permission_required("dashboard.send_test_alerts")
def test_alert(request, slug):
    campaign = _campaign(slug)
    form = TestAlertForm(request.POST)
    if not form.is_valid():
        return _done(request, slug, "Invalid test alert.", ok=False)
    donation = actions.send_test_alert(request.user, campaign, **form.cleaned_data)
    return _done(request, slug, f"Test alert sent ({donation.amount}, not counted).")


def _imraising_client():
    """The ImRaising client's test-donation call, when that module provides one."""
    try:
        module = importlib.import_module("fundboard.providers.imraising")
    except ImportError:
        return None
    return getattr(module, "send_test_donation", None)


def _imraising_test_sources(campaign: Campaign) -> list[Source]:
    if _imraising_client() is None:
        return []
    return list(campaign.sources.filter(kind=SourceKind.IMRAISING, enabled=True))


@require_POST
@staff_permission_required("dashboard.send_test_alerts")
def imraising_test(request, slug, source_id):
    """The platform's own POST /api/v1/donations test donation (Advanced keys only)."""
    campaign = _campaign(slug)
    source = _source(campaign, source_id)
    send = _imraising_client()
    if send is None or source.kind != SourceKind.IMRAISING:
        return _done(request, slug, "This source cannot send a platform test.", ok=False)
    form = TestAlertForm(request.POST)
    if not form.is_valid():
        return _done(request, slug, "Invalid test alert.", ok=False)
    try:
        source.check_upstream()  # a host off the allow-list, a key entered for another host
        send(
            source.effective_base_url,
            source.api_key,
            form.cleaned_data["amount"],
            form.cleaned_data["message"],
        )
    except ProviderError as error:  # the platform said no (key, permission, outage): tell staff
        reason = redact(str(error), source.api_key)[:200]
        log.warning("imraising test donation failed source=%s error=%s", source.pk, reason)
        return _done(request, slug, f"ImRaising refused the test donation: {reason}", ok=False)
    actions.record_action(
        request.user, campaign, ActionKind.TEST_ALERT, source=source, detail="ImRaising test"
    )
    return _done(request, slug, "ImRaising test donation sent; it arrives on the stream.")


# --- embeds and export ------------------------------------------------------------------------


@require_GET
@staff_permission_required("dashboard.build_embeds")
def embed_builder(request, slug):
    campaign = _campaign(slug)
    return render(
        request,
        "dashboard/embed.html",
        {
            "campaign": campaign,
            "options": embed_options(),
            "page": {"site": request.build_absolute_uri("/"), "slug": campaign.slug},
        },
    )


@require_GET
@staff_permission_required("dashboard.export_donations")
def export(request, slug):
    campaign = _campaign(slug)
    form = ExportForm(request.GET or None)
    if "download" not in request.GET or not form.is_valid():
        return render(request, "dashboard/export.html", {"campaign": campaign, "form": form})
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    response = StreamingHttpResponse(csv_chunks(campaign, start, end), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{export_filename(campaign)}"'
    response["Cache-Control"] = "no-store"
    return response
