"""The staff pages of marathon mode (the public widgets are in widget_pages.py, the editor
of runs and incentives in editor.py).

Staff pages sit under /dashboard/ with the dashboard's login and permissions: viewing needs
dashboard.view_dashboard, acting on the queue and the schedule dashboard.moderate_donations.
They carry no inline script or style (the staff CSP); the queue's keyboard flow is
static/incentives/queue.js.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.db import transaction
from django.db.models import Sum
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from fundboard.campaigns.models import Campaign
from fundboard.dashboard.access import staff_permission_required
from fundboard.ingest.models import Donation
from fundboard.ingest.services import commit_change
from fundboard.live.snapshot import build_snapshot, money

from .models import (
    Allocation,
    AllocationAudit,
    Incentive,
    IncentiveKind,
    IncentiveState,
    Option,
    Review,
    Run,
)
from .schedule import hourly_totals, run_totals, start_run, stop_run
from .services import AllocationError, Part, confirm_allocations, set_allocations

MODERATE = "dashboard.moderate_donations"
QUEUE_PAGE = 30


# --- staff pages ----------------------------------------------------------------------------


def _campaign(slug: str) -> Campaign:
    return get_object_or_404(Campaign, slug=slug)


def _unallocated(campaign: Campaign) -> tuple[Decimal, Decimal]:
    counted = Donation.objects.counted().for_campaign_window(campaign)
    raised = counted.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    allocated = Allocation.objects.filter(
        donation__in=counted, incentive__campaign=campaign
    ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    return raised, raised - allocated


@require_GET
@staff_permission_required()
def overview(request, slug: str):
    """Incentives with their totals, unallocated money, the schedule and per-hour totals."""
    campaign = _campaign(slug)
    snapshot = build_snapshot(campaign)
    runs = list(Run.objects.filter(campaign=campaign))
    totals = run_totals(campaign, runs)
    raised, unallocated = _unallocated(campaign)
    context = {
        "campaign": campaign,
        "snapshot": snapshot,
        "incentives": snapshot["incentives"],
        "runs": [
            {"run": run, "total": money(totals.get(run.pk)) if run.started_at else ""}
            for run in runs
        ],
        "hours": [(hour, money(total), count) for hour, total, count in hourly_totals(campaign)],
        "raised": money(raised),
        "unallocated": money(unallocated),
        "pending": Review.objects.filter(campaign=campaign, state="pending").count(),
        "can_act": request.user.has_perm(MODERATE),
        "audit": AllocationAudit.objects.filter(campaign=campaign).select_related("user")[:30],
    }
    return render(request, "incentives/overview.html", context)


def _targets(campaign: Campaign) -> list[dict]:
    """Every open place money can go, numbered for the keyboard (1-9, then a-z)."""
    keys = "123456789abcdefhijklmnopqrtuvwxyz"  # g (general) and s (skip) left out
    targets = []
    for incentive in Incentive.objects.filter(campaign=campaign).select_related("run"):
        if incentive.state() != "open":
            continue
        if incentive.kind == IncentiveKind.BIDWAR:
            for option in incentive.options.all():
                label = f"{incentive.title}: {option.title}"
                targets.append({"value": f"{incentive.pk}:{option.pk}", "label": label})
        else:
            targets.append({"value": f"{incentive.pk}:", "label": incentive.title})
    for target, key in zip(targets, keys, strict=False):
        target["key"] = key
    return targets


@require_GET
@staff_permission_required()
def queue(request, slug: str):
    campaign = _campaign(slug)
    reviews = (
        Review.objects.filter(campaign=campaign, state="pending")
        .select_related("donation")
        .order_by("id")[:QUEUE_PAGE]
    )
    provisional = (
        Allocation.objects.filter(incentive__campaign=campaign, confirmed=False)
        .select_related("donation", "incentive", "option")
        .order_by("id")[:QUEUE_PAGE]
    )
    write_ins = [
        i
        for i in Incentive.objects.filter(
            campaign=campaign, kind=IncentiveKind.BIDWAR, write_ins=True
        ).select_related("run")
        if i.state() == "open"
    ]
    context = {
        "campaign": campaign,
        "write_ins": write_ins,
        "reviews": list(reviews),
        "provisional": list(provisional),
        "targets": _targets(campaign),
        "can_act": request.user.has_perm(MODERATE),
    }
    return render(request, "incentives/queue.html", context)


def _parse_target(value: str) -> tuple[int, int | None]:
    incentive_id, _, option_id = value.partition(":")
    return int(incentive_id), int(option_id) if option_id else None


def _parts(request, donation: Donation) -> list[Part]:
    """The form's parts: one target for the whole amount, or a split (target_N, amount_N)."""
    if request.POST.get("target"):
        incentive_id, option_id = _parse_target(request.POST["target"])
        return [Part(incentive_id, option_id, donation.amount)]
    parts = []
    for n in range(1, 6):
        target, amount = request.POST.get(f"target_{n}"), request.POST.get(f"amount_{n}")
        if target and amount:
            incentive_id, option_id = _parse_target(target)
            parts.append(Part(incentive_id, option_id, Decimal(amount)))
    return parts


@require_POST
@staff_permission_required(MODERATE)
def allocate(request, slug: str, donation_id: int):
    """One action on one donation: confirm, assign/reassign, split or general."""
    campaign = _campaign(slug)
    donation = get_object_or_404(Donation, pk=donation_id, campaign=campaign)
    action = request.POST.get("action", "reassign")
    try:
        if action == "confirm":
            confirm_allocations(donation.pk, user=request.user)
        elif action == "general":
            set_allocations(donation.pk, [], user=request.user, action="general")
        else:
            parts = _parts(request, donation)
            if not parts:
                raise AllocationError("choose where the money goes")
            set_allocations(donation.pk, parts, user=request.user, action=action)
    except (AllocationError, ValueError, InvalidOperation) as error:
        messages.error(request, f"Donation {donation.pk}: {error}")
    else:
        messages.success(request, f"Donation {donation.pk}: {action} done.")
    return HttpResponseRedirect(reverse("incentives:queue", args=[slug]))


@require_POST
@staff_permission_required(MODERATE)
def run_action(request, slug: str, run_id: int):
    run = get_object_or_404(Run, pk=run_id, campaign__slug=slug)
    if request.POST.get("action") == "stop":
        stop_run(run.pk)
    else:
        start_run(run.pk)
    return HttpResponseRedirect(reverse("incentives:overview", args=[slug]))


@require_POST
@staff_permission_required(MODERATE)
def close_incentive(request, slug: str, incentive_id: int):
    """Close now: allocations lock, a bid war's winners are decided."""
    with transaction.atomic():
        incentive = get_object_or_404(
            Incentive.objects.select_for_update(), pk=incentive_id, campaign__slug=slug
        )
        incentive.closes_at, incentive.run = timezone.now(), None
        incentive.announced_state = IncentiveState.CLOSED  # told now: nothing left for the clock
        incentive.save(update_fields=["closes_at", "run", "announced_state", "updated_at"])
        commit_change(incentive.campaign)  # the state is in the snapshot: a new version
    return HttpResponseRedirect(reverse("incentives:overview", args=[slug]))


@require_POST
@staff_permission_required(MODERATE)
def add_write_in(request, slug: str, incentive_id: int):
    """A donor's suggestion becomes an option of a bid war that takes write-ins (then the
    moderator allocates the donation to it like any other option)."""
    incentive = get_object_or_404(Incentive, pk=incentive_id, campaign__slug=slug)
    title = request.POST.get("title", "").strip()[:200]
    if not (incentive.kind == IncentiveKind.BIDWAR and incentive.write_ins and title):
        messages.error(request, "This bid war takes no write-ins (or the title is empty).")
    elif incentive.state() != "open":
        messages.error(request, f"{incentive.title} is {incentive.state()}: locked.")
    else:
        with transaction.atomic():
            order = incentive.options.count()
            Option.objects.get_or_create(
                incentive=incentive, title=title, defaults={"write_in": True, "order": order}
            )
            commit_change(incentive.campaign)
        messages.success(request, f"{title} added to {incentive.title}.")
    return HttpResponseRedirect(reverse("incentives:queue", args=[slug]))
