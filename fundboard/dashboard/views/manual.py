"""Manual donations (cash, cheques): add, edit, remove with an Undo, restore."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from fundboard.campaigns.models import Campaign, SourceKind
from fundboard.ingest.models import Donation
from fundboard.widgets.money import format_money

from .. import actions
from ..access import staff_permission_required
from ..forms import ManualDonationForm
from .replies import campaign_or_404, done, wants_json


def _manual_donations(campaign: Campaign):
    return (
        Donation.objects.filter(campaign=campaign, source__kind=SourceKind.MANUAL, is_test=False)
        .select_related("source")
        .order_by("-donated_at", "-id")[:200]
    )


@staff_permission_required("dashboard.manage_manual_donations")
def manual_donations(request, slug):
    campaign = campaign_or_404(slug)
    form = ManualDonationForm(request.POST or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        method = dict(ManualDonationForm.METHODS).get(form.cleaned_data["method"], "")
        donation = actions.add_manual(request.user, campaign, form.entry(), method)
        if wants_json(request):
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
    campaign = campaign_or_404(slug)
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
        return done(
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
    campaign = campaign_or_404(slug)
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
    return done(
        request,
        slug,
        "Donation removed." if removed else "It was already removed.",
        to=reverse("dashboard:manual", args=[slug]),
    )


@require_POST
@staff_permission_required("dashboard.manage_manual_donations")
def restore_manual(request, slug, donation_id):
    """Undo a removal (within UNDO_WINDOW): the donation counts again."""
    donation = _manual_donation(campaign_or_404(slug), donation_id)
    restored = actions.restore_manual(request.user, donation)
    request.session.pop(UNDO_SESSION_KEY, None)
    message = "Removal undone: the donation counts again." if restored else "Too late to undo."
    return done(request, slug, message, ok=restored, to=reverse("dashboard:manual", args=[slug]))


def _undo_offer(request, campaign: Campaign) -> Donation | None:
    """The donation this user just removed, while it can still be put back."""
    donation_id = request.session.get(UNDO_SESSION_KEY)
    if donation_id is None:
        return None
    donation = Donation.objects.filter(pk=donation_id, campaign=campaign).first()
    return donation if donation is not None and actions.can_undo(donation) else None
