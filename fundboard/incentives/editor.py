"""The dashboard's schedule and incentive editor (staff; the Django admin is no longer needed).

Runs: add, edit, remove (only a run that never started: a started one has a total), import
a CSV schedule. Incentives: add, edit (with their options as lines of text, forms.py),
remove (only one no money went to: close it instead). Starting and stopping the current run
are on the overview (views.run_action). Every change is one transaction that bumps the
campaign version, so overlays redraw at once.

Editing runs needs incentives.change_run, incentives needs incentives.change_incentive
(Organisers hold both; apps.py), on top of the dashboard's view permission.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from fundboard.campaigns.models import Campaign
from fundboard.dashboard.access import staff_permission_required
from fundboard.ingest.services import commit_change

from .forms import IncentiveForm, RunForm, ScheduleUploadForm
from .models import Allocation, Incentive, Run
from .schedule_csv import MAX_BYTES, ScheduleCSVError, import_schedule

__all__ = ["edit_run", "remove_run", "import_runs", "edit_incentive", "remove_incentive"]

EDIT_RUNS = "incentives.change_run"
EDIT_INCENTIVES = "incentives.change_incentive"


def _overview(slug: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("incentives:overview", args=[slug]))


def _form_page(request, campaign: Campaign, form, heading: str):
    return render(
        request,
        "incentives/edit.html",
        {"campaign": campaign, "form": form, "heading": heading},
        status=400 if form.is_bound else 200,
    )


@require_http_methods(["GET", "POST"])
@staff_permission_required(EDIT_RUNS)
def edit_run(request, slug: str, run_id: int | None = None):
    campaign = get_object_or_404(Campaign, slug=slug)
    run = get_object_or_404(Run, pk=run_id, campaign=campaign) if run_id else Run()
    form = RunForm(request.POST or None, instance=run, campaign=campaign)
    if request.method != "POST" or not form.is_valid():
        return _form_page(request, campaign, form, f"Run: {run.title}" if run_id else "New run")
    with transaction.atomic():
        run = form.save()
        commit_change(campaign)  # the schedule is in the snapshot
    messages.success(request, f"Run {run.title} saved.")
    return _overview(slug)


@require_POST
@staff_permission_required(EDIT_RUNS)
def remove_run(request, slug: str, run_id: int):
    run = get_object_or_404(Run, pk=run_id, campaign__slug=slug)
    if run.started_at is not None:
        messages.error(request, f"{run.title} has started: its total is history, it stays.")
        return _overview(slug)
    with transaction.atomic():
        run.delete()  # its incentives keep their own times (run is SET_NULL)
        commit_change(run.campaign)
    messages.success(request, f"Run {run.title} removed.")
    return _overview(slug)


@require_POST
@staff_permission_required(EDIT_RUNS)
def import_runs(request, slug: str):
    campaign = get_object_or_404(Campaign, slug=slug)
    form = ScheduleUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a CSV file to import.")
        return _overview(slug)
    try:
        created, updated = import_schedule(campaign, form.cleaned_data["file"].read(MAX_BYTES + 1))
    except ScheduleCSVError as error:
        for reason in error.reasons:
            messages.error(request, f"Schedule not imported: {reason}")
    else:
        messages.success(request, f"Schedule imported: {created} runs added, {updated} updated.")
    return _overview(slug)


@require_http_methods(["GET", "POST"])
@staff_permission_required(EDIT_INCENTIVES)
def edit_incentive(request, slug: str, incentive_id: int | None = None):
    campaign = get_object_or_404(Campaign, slug=slug)
    incentive = (
        get_object_or_404(Incentive, pk=incentive_id, campaign=campaign)
        if incentive_id
        else Incentive()
    )
    form = IncentiveForm(request.POST or None, instance=incentive, campaign=campaign)
    if request.method != "POST" or not form.is_valid():
        heading = f"Incentive: {incentive.title}" if incentive_id else "New incentive"
        return _form_page(request, campaign, form, heading)
    with transaction.atomic():
        incentive = form.save(commit=False)
        incentive.announced_state = incentive.state()  # told with this change (clock.py)
        incentive.save()
        kept_with_money = form.save_options(incentive)
        commit_change(campaign)
    for title in kept_with_money:
        messages.error(request, f"Option {title} has money allocated: it was kept.")
    messages.success(request, f"Incentive {incentive.title} saved.")
    return _overview(slug)


@require_POST
@staff_permission_required(EDIT_INCENTIVES)
def remove_incentive(request, slug: str, incentive_id: int):
    incentive = get_object_or_404(Incentive, pk=incentive_id, campaign__slug=slug)
    if Allocation.objects.filter(incentive=incentive).exists():
        messages.error(request, f"Money went to {incentive.title}: close it instead.")
        return _overview(slug)
    with transaction.atomic():
        incentive.delete()
        commit_change(incentive.campaign)
    messages.success(request, f"Incentive {incentive.title} removed.")
    return _overview(slug)
