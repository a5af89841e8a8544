"""Donations keep their original amount and currency and gain the amount converted into
their campaign's currency, with the rate used (fundboard.fx). Rows already in their
campaign's currency are converted at 1."""

from django.db import migrations, models


def same_currency_at_one(apps, schema_editor):
    Donation = apps.get_model("ingest", "Donation")
    Campaign = apps.get_model("campaigns", "Campaign")
    for campaign_id, currency in Campaign.objects.values_list("id", "currency"):
        Donation.objects.filter(campaign_id=campaign_id, currency=currency).update(
            converted_amount=models.F("amount"), rate=1
        )


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
        ("ingest", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="donation",
            name="converted_amount",
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=20, null=True),
        ),
        migrations.AddField(
            model_name="donation",
            name="rate",
            field=models.DecimalField(blank=True, decimal_places=12, max_digits=28, null=True),
        ),
        migrations.RunPython(same_currency_at_one, migrations.RunPython.noop),
    ]
