"""Test alerts: our own (not counted), or the platform's test donation through its API."""

from __future__ import annotations

import logging

from django.views.decorators.http import require_POST

from fundboard.campaigns.models import Campaign, Source, SourceKind
from fundboard.ops.logging import redact
from fundboard.providers import imraising
from fundboard.providers.errors import ProviderError

from .. import actions
from ..access import staff_permission_required
from ..forms import TestAlertForm
from ..models import ActionKind
from .replies import campaign_or_404, done, source_or_404

log = logging.getLogger("fundboard.dashboard")


@require_POST
@staff_permission_required("dashboard.send_test_alerts")
def test_alert(request, slug):
    campaign = campaign_or_404(slug)
    form = TestAlertForm(request.POST)
    if not form.is_valid():
        return done(request, slug, "Invalid test alert.", ok=False)
    donation = actions.send_test_alert(request.user, campaign, **form.cleaned_data)
    return done(request, slug, f"Test alert sent ({donation.amount}, not counted).")


def imraising_test_sources(campaign: Campaign) -> list[Source]:
    return list(campaign.sources.filter(kind=SourceKind.IMRAISING, enabled=True))


@require_POST
@staff_permission_required("dashboard.send_test_alerts")
def imraising_test(request, slug, source_id):
    """The platform's own POST /api/v1/donations test donation (Advanced keys only)."""
    campaign = campaign_or_404(slug)
    source = source_or_404(campaign, source_id)
    if source.kind != SourceKind.IMRAISING:
        return done(request, slug, "This source cannot send a platform test.", ok=False)
    form = TestAlertForm(request.POST)
    if not form.is_valid():
        return done(request, slug, "Invalid test alert.", ok=False)
    try:
        source.check_upstream()  # a host off the allow-list, a key entered for another host
        imraising.send_test_donation(
            source.effective_base_url,
            source.api_key,
            form.cleaned_data["amount"],
            form.cleaned_data["message"],
        )
    except ProviderError as error:  # the platform said no (key, permission, outage): tell staff
        reason = redact(str(error), source.api_key)[:200]
        log.warning("imraising test donation failed source=%s error=%s", source.pk, reason)
        return done(request, slug, f"ImRaising refused the test donation: {reason}", ok=False)
    actions.record_action(
        request.user, campaign, ActionKind.TEST_ALERT, source=source, detail="ImRaising test"
    )
    return done(request, slug, "ImRaising test donation sent; it arrives on the stream.")
