"""Donations in other currencies: converted at ingest at a stored rate, held when no rate is
known (never dropped), re-rated exactly by staff (issue 15)."""

import csv
import io
from decimal import Decimal

import pytest

from fundboard.campaigns.loader import ConfigError, load_campaigns
from fundboard.dashboard.export import csv_chunks_sync
from fundboard.fx.models import ExchangeRate, RateChange, RateOrigin
from fundboard.fx.services import rerate, set_rate, unconverted_summary
from fundboard.ingest.models import Donation
from fundboard.ingest.services import apply_poll_result, ingest_donations, remove_donations
from fundboard.live.snapshot import build_snapshot
from fundboard.providers.records import PollResult, TotalsRecord
from fundboard.webhooks.payloads import donation_data, removal_data

from .factories import make_campaign, make_source, record

pytestmark = pytest.mark.django_db


def test_a_eur_donation_counts_at_the_stored_rate_and_keeps_its_original():
    campaign = make_campaign()
    set_rate(campaign, "EUR", Decimal("1.084"))
    source = make_source(campaign)
    ingest_donations(source.pk, [record("50.00", "Eva", currency="EUR"), record("10.00")])
    stored = Donation.objects.get(currency="EUR")
    assert (stored.amount, stored.rate, stored.converted_amount) == (
        Decimal("50.00"),
        Decimal("1.084"),
        Decimal("54.20"),
    )
    snapshot = build_snapshot("drive")
    assert snapshot["total"] == "64.20"
    assert snapshot["donation_count"] == 2
    eva = next(d for d in snapshot["recent"] if d["name"] == "Eva")
    assert eva["amount"] == "50.00" and eva["currency"] == "EUR"
    assert eva["converted_amount"] == "54.20" and eva["approximate"] is True
    ann = next(d for d in snapshot["recent"] if d["name"] == "Ann")
    assert "converted_amount" not in ann and "approximate" not in ann
    # Top donors rank by the converted amount.
    assert snapshot["top_donors"][0] == {"name": "Eva", "total": "54.20", "donation_count": 1}


def test_a_later_rate_changes_no_stored_total_until_staff_re_rate():
    campaign = make_campaign()
    set_rate(campaign, "GBP", Decimal("1.27"))
    source = make_source(campaign)
    ingest_donations(source.pk, [record("33.33", currency="GBP"), record("0.01", currency="GBP")])
    assert build_snapshot("drive")["total"] == "42.34"  # 42.3291 -> 42.33, 0.0127 -> 0.01
    set_rate(campaign, "GBP", Decimal("1.3"))
    assert build_snapshot("drive")["total"] == "42.34"
    ingest_donations(source.pk, [record("1.00", currency="GBP")])  # new ones: today's rate
    assert build_snapshot("drive")["total"] == "43.64"
    assert rerate(campaign, "GBP") == 2  # the 1.00 already had 1.3
    amounts = sorted(Donation.objects.values_list("converted_amount", flat=True))
    assert amounts == [Decimal("0.01"), Decimal("1.30"), Decimal("43.33")]  # 43.329 -> 43.33
    assert build_snapshot("drive")["total"] == "44.64"
    audit = RateChange.objects.filter(action="rerate").get()
    assert (audit.currency, audit.rate, audit.donations) == ("GBP", Decimal("1.3"), 2)


def test_an_unknown_currency_is_held_then_counted_after_a_rate_and_a_re_rate():
    campaign = make_campaign()
    source = make_source(campaign)
    outcome = ingest_donations(
        source.pk, [record("2000", "Memo", currency="MXN"), record("5.00", currency="MXN")]
    )
    assert len(outcome.added) == 2  # stored, not dropped
    assert Donation.objects.filter(currency="MXN", converted_amount=None).count() == 2
    snapshot = build_snapshot("drive")
    assert snapshot["total"] == "0.00" and snapshot["recent"] == []
    assert unconverted_summary(campaign) == [
        {"currency": "MXN", "count": 2, "amount": Decimal("2005.00"), "rate_known": False}
    ]
    with pytest.raises(LookupError):
        rerate(campaign, "MXN")
    set_rate(campaign, "MXN", Decimal("0.0588"))
    assert unconverted_summary(campaign)[0]["rate_known"] is True
    assert build_snapshot("drive")["total"] == "0.00"  # held until staff re-rate
    assert rerate(campaign, "MXN") == 2
    assert unconverted_summary(campaign) == []
    snapshot = build_snapshot("drive")
    assert snapshot["total"] == "117.89"  # 117.60 + 0.294 -> 0.29
    assert snapshot["recent"][-1]["amount"] == "2000.00"
    assert snapshot["recent"][-1]["converted_amount"] == "117.60"


def test_test_donations_are_never_converted_nor_counted():
    campaign = make_campaign()
    set_rate(campaign, "EUR", Decimal("1.1"))
    ingest_donations(make_source(campaign).pk, [record("50.00", currency="XTS")])
    assert Donation.objects.get().converted_amount is None
    assert unconverted_summary(campaign) == []
    assert build_snapshot("drive")["total"] == "0.00"


def test_a_global_feed_rate_converts_directly_inverted_or_through_its_base():
    campaign = make_campaign()  # USD
    # An ECB-style feed: 1 EUR = x of each currency.
    for currency, rate in (("USD", "1.0800"), ("GBP", "0.8500")):
        ExchangeRate.objects.create(
            currency="EUR", quote=currency, rate=Decimal(rate), origin=RateOrigin.FEED
        )
    source = make_source(campaign)
    ingest_donations(source.pk, [record("100", currency="EUR"), record("85", currency="GBP")])
    converted = dict(Donation.objects.values_list("currency", "converted_amount"))
    assert converted == {"EUR": Decimal("108.00"), "GBP": Decimal("108.00")}
    # The campaign's own rate wins over the feed.
    set_rate(campaign, "EUR", Decimal("1.5"))
    ingest_donations(source.pk, [record("10", currency="EUR")])
    assert Donation.objects.filter(currency="EUR").order_by("id").last().converted_amount == 15


def test_rates_from_campaigns_toml():
    config = {
        "campaign": [
            {"slug": "drive", "currency": "USD", "rates": {"EUR": "1.08", "GBP": 1.27}},
        ]
    }
    load_campaigns(config)
    rates = dict(ExchangeRate.objects.values_list("currency", "rate"))
    assert rates == {"EUR": Decimal("1.08"), "GBP": Decimal("1.27")}
    config["campaign"][0]["rates"] = {"EUR": "1.09"}
    load_campaigns(config)
    assert dict(ExchangeRate.objects.values_list("currency", "rate")) == {"EUR": Decimal("1.09")}
    for bad in ({"USD": "1"}, {"EUR": "-1"}, {"EUR": "x"}, {"EURO": "1"}):
        config["campaign"][0]["rates"] = bad
        with pytest.raises(ConfigError):
            load_campaigns(config)


def test_csv_export_has_the_original_and_the_converted_amount():
    campaign = make_campaign()
    set_rate(campaign, "EUR", Decimal("1.084"))
    source = make_source(campaign)
    ingest_donations(
        source.pk,
        [
            record("50.00", uid="eur", currency="EUR"),
            record("7.00", uid="usd"),
            record("9.00", uid="nok", currency="NOK"),
        ],
    )
    text = "".join(csv_chunks_sync(campaign))
    rows = {row["upstream_id"]: row for row in csv.DictReader(io.StringIO(text))}
    eur, usd, nok = rows["eur"], rows["usd"], rows["nok"]
    assert (eur["amount"], eur["currency"], eur["converted_amount"], eur["rate"]) == (
        "50.00",
        "EUR",
        "54.20",
        "1.084",
    )
    assert eur["counted"] == "yes"
    assert (usd["converted_amount"], usd["rate"], usd["counted"]) == ("7.00", "1", "yes")
    assert (nok["converted_amount"], nok["rate"], nok["counted"]) == ("", "", "no")


def test_webhook_bodies_carry_the_converted_amount_beside_the_original():
    campaign = make_campaign()
    set_rate(campaign, "EUR", Decimal("1.084"))
    source = make_source(campaign)
    added = ingest_donations(source.pk, [record("50.00", uid="e", currency="EUR")]).added[0]
    body = donation_data(added, campaign)
    assert (body["amount"], body["currency"], body["converted_amount"]) == ("50.00", "EUR", "54.20")
    removed = remove_donations(source.pk, ["e"]).removed[0]
    assert removal_data(removed) == {
        "id": removed.pk,
        "amount": "50.00",
        "currency": "EUR",
        "converted_amount": "54.20",
        "approximate": True,
    }


def test_a_platform_total_in_another_currency_counts_at_the_current_rate():
    campaign = make_campaign()
    source = make_source(campaign, kind="p2p")
    apply_poll_result(source.pk, PollResult(totals=TotalsRecord(Decimal("1000.00"), "EUR")))
    assert build_snapshot("drive")["total"] == "0.00"  # no rate yet: nothing, not 1000
    set_rate(campaign, "EUR", Decimal("1.0842"))
    snapshot = build_snapshot("drive")
    assert snapshot["total"] == "1084.20"
    assert snapshot["sources"][0]["total"] == "1084.20"
