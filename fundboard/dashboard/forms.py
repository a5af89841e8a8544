"""Forms of the staff dashboard."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.utils import timezone

from fundboard.ingest.manual import ManualDonation

__all__ = [
    "ManualDonationForm",
    "TestAlertForm",
    "ReviewSettingsForm",
    "ExportForm",
    "CampaignSettingsForm",
    "parse_milestones",
]


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


MAX_MILESTONES = 30
MAX_ORIGINS = 50


def parse_milestones(text: str) -> list[str]:
    """ "5000, 10000" or one amount a line (a currency sign or thousands spaces are fine)
    -> ["5000.00", "10000.00"], sorted, without repeats; ValidationError names a bad one."""
    amounts = set()
    for part in text.replace("\n", ",").replace(";", ",").split(","):
        cleaned = part.strip().lstrip("$€£¥").replace("\u00a0", "").replace(" ", "")
        if not cleaned:
            continue
        try:
            amount = Decimal(cleaned.replace("_", ""))
        except InvalidOperation:
            raise ValidationError(f"{part.strip()[:30]!r} is not an amount.") from None
        if not amount.is_finite() or amount <= 0 or amount > _max_amount() * 1000:
            raise ValidationError(f"{part.strip()[:30]!r} is not a positive amount.")
        amounts.add(amount.quantize(Decimal("0.01")))
    if len(amounts) > MAX_MILESTONES:
        raise ValidationError(f"At most {MAX_MILESTONES} milestones.")
    return [str(amount) for amount in sorted(amounts)]


def _origin(line: str) -> str:
    parts = urlsplit(line)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"{line[:60]!r} is not an origin such as https://example.org.")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValidationError(f"{line[:60]!r}: only scheme, host and port (no path).")
    return f"{parts.scheme}://{parts.netloc.lower()}"


class CampaignSettingsForm(forms.Form):
    """What Organisers change during an event; the rest (slug, sources, keys) is the admin's."""

    goal = forms.DecimalField(
        max_digits=20, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = forms.CharField(
        max_length=3,
        validators=[RegexValidator(r"^[A-Za-z]{3}$", "Use an ISO 4217 code such as USD.")],
        help_text="Only donations in this currency count.",
    )
    milestones = forms.CharField(
        label="Milestones and stretch goals",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='Amounts marked on the thermometer: "5000, 10000" or one a line. Those '
        "above the goal are stretch goals, shown once the goal is reached.",
    )
    starts_at = forms.DateTimeField(
        label="Starts at (UTC)", required=False, widget=DateTimeLocalInput()
    )
    ends_at = forms.DateTimeField(
        label="Ends at (UTC)", required=False, widget=DateTimeLocalInput()
    )
    hold_for_review = forms.BooleanField(
        required=False, help_text="Names and messages stay hidden until approved."
    )
    blocked_words = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One word or phrase a line: names and messages containing one are hidden.",
    )
    allowed_origins = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Sites allowed to frame the widgets, one origin a line. Empty: any site.",
    )

    FIELDS = (
        "goal",
        "currency",
        "milestones",
        "starts_at",
        "ends_at",
        "hold_for_review",
        "blocked_words",
        "allowed_origins",
    )

    @classmethod
    def initial_for(cls, campaign) -> dict:
        initial = {name: getattr(campaign, name) for name in cls.FIELDS}
        initial["milestones"] = ", ".join(str(m) for m in campaign.milestones or [])
        return initial

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["goal"].validators.append(MaxValueValidator(_max_amount() * 1000))

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def clean_milestones(self) -> list[str]:
        return parse_milestones(self.cleaned_data["milestones"])

    def clean_blocked_words(self) -> str:
        lines = self.cleaned_data["blocked_words"].replace("\r\n", "\n").splitlines()
        return "\n".join(line.strip() for line in lines if line.strip())

    def clean_allowed_origins(self) -> str:
        lines = [line.strip() for line in self.cleaned_data["allowed_origins"].splitlines()]
        origins = list(dict.fromkeys(_origin(line) for line in lines if line))
        if len(origins) > MAX_ORIGINS:
            raise ValidationError(f"At most {MAX_ORIGINS} origins.")
        return "\n".join(origins)

    def clean(self):
        super().clean()
        data = self.cleaned_data
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "The end must be after the start.")
        return data
