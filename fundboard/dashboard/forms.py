"""Forms of the staff dashboard."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.utils import timezone

from fundboard.ingest.manual import ManualDonation

__all__ = ["ManualDonationForm", "TestAlertForm", "ReviewSettingsForm", "ExportForm"]


def _max_amount() -> Decimal:
    return Decimal(settings.FUNDBOARD["MAX_DONATION_AMOUNT"])


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def format_value(self, value):
        if hasattr(value, "strftime"):
            # The form field already made it naive in the current time zone (UTC).
            if timezone.is_aware(value):
                value = timezone.localtime(value)
            return value.strftime("%Y-%m-%dT%H:%M")
        return value


class ManualDonationForm(forms.Form):
    METHODS = [
        ("cheque", "Cheque"),
        ("cash", "Cash"),
        ("matching", "Matching gift"),
        ("transfer", "Bank transfer"),
        ("other", "Other"),
    ]
    display_name = forms.CharField(label="Donor name", max_length=100, required=False)
    anonymous = forms.BooleanField(label="Donor asked not to be named", required=False)
    amount = forms.DecimalField(
        max_digits=20,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    currency = forms.CharField(
        max_length=3,
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use an ISO 4217 code such as USD.")],
    )
    donated_at = forms.DateTimeField(label="Received at", widget=DateTimeLocalInput())
    method = forms.ChoiceField(choices=METHODS, initial="cheque", required=False)
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, campaign=None, **kwargs):
        super().__init__(*args, **kwargs)
        if campaign is not None:
            self.fields["currency"].initial = campaign.currency
        self.fields["donated_at"].initial = timezone.now
        self.fields["amount"].validators.append(MaxValueValidator(_max_amount()))

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def entry(self) -> ManualDonation:
        data = self.cleaned_data
        return ManualDonation(
            display_name=data["display_name"],
            amount=data["amount"],
            currency=data["currency"],
            donated_at=data["donated_at"],
            message=data["message"],
            anonymous=data["anonymous"],
        )


class TestAlertForm(forms.Form):
    display_name = forms.CharField(label="Name", max_length=27, initial="Test donor")
    amount = forms.DecimalField(
        max_digits=10,
        decimal_places=2,
        initial=Decimal("5.00"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100000"))],
    )
    message = forms.CharField(max_length=200, required=False, initial="This is a test alert")


class ReviewSettingsForm(forms.Form):
    hold_for_review = forms.BooleanField(
        required=False, help_text="Names and messages stay hidden until approved."
    )
    blocked_words = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One word or phrase a line: names and messages containing one are hidden.",
    )


class ExportForm(forms.Form):
    start = forms.DateTimeField(required=False, label="From", widget=DateTimeLocalInput())
    end = forms.DateTimeField(required=False, label="Until", widget=DateTimeLocalInput())
