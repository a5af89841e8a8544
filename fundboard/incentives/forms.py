"""The dashboard's editor forms: a run, and an incentive with its options.

An incentive's options are edited as lines of text, one option a line:

    Link | #link #hero
    Tetris 99 | #tetris | 300        (a stretch stage: its cumulative goal)

so a whole bid war is one form. Options are matched by title: a kept line keeps its
option (and the money allocated to it); a removed line deletes an option only if no money
went to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django import forms

from .models import Incentive, IncentiveKind, Option, Run

__all__ = ["RunForm", "IncentiveForm", "ScheduleUploadForm", "OptionLine", "option_lines"]

MAX_OPTIONS = 50
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class RunForm(forms.ModelForm):
    minutes = forms.IntegerField(min_value=1, max_value=48 * 60, label="Estimate (minutes)")

    class Meta:
        model = Run
        fields = ["title", "starts_at", "order"]
        labels = {"starts_at": "Planned start (UTC)"}
        widgets = {"starts_at": DATETIME_INPUT}

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.campaign = campaign
        self.fields["minutes"].initial = int(self.instance.estimate.total_seconds() // 60)

    def clean_title(self) -> str:
        title = " ".join(self.cleaned_data["title"].split())
        taken = Run.objects.filter(campaign=self.instance.campaign, title__iexact=title)
        if title and taken.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another run has this title.")
        return title

    def save(self, commit: bool = True) -> Run:
        self.instance.estimate = timedelta(minutes=self.cleaned_data["minutes"])
        return super().save(commit)


class ScheduleUploadForm(forms.Form):
    file = forms.FileField(label="Schedule CSV (title,start,estimate,incentives)")


@dataclass
class OptionLine:
    title: str
    tags: str
    goal: Decimal | None


def option_lines(text: str) -> list[OptionLine]:
    """`Title | tags | goal` lines -> options; ValidationError naming the line."""
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        title, tags, goal, *extra = [p.strip() for p in line.split("|")] + ["", ""]
        if any(extra) or not title or len(title) > 200 or len(tags) > 500:
            raise forms.ValidationError(f"Line {number}: write 'Title | tags | goal'.")
        try:
            amount = Decimal(goal) if goal else None
        except InvalidOperation:
            raise forms.ValidationError(f"Line {number}: {goal!r} is not an amount.") from None
        if amount is not None and not (0 < amount < Decimal("1e15")):
            raise forms.ValidationError(f"Line {number}: a goal is a positive amount.")
        lines.append(OptionLine(title, tags, amount))
    if len(lines) > MAX_OPTIONS:
        raise forms.ValidationError(f"At most {MAX_OPTIONS} options.")
    if len({o.title.lower() for o in lines}) != len(lines):
        raise forms.ValidationError("Two options have the same title.")
    return lines


def _lines_of(incentive: Incentive) -> str:
    if incentive.pk is None:
        return ""
    return "\n".join(
        " | ".join([o.title, o.tags] + ([f"{o.goal}"] if o.goal is not None else []))
        for o in incentive.options.all()
    )


def _check_options(kind: str | None, options: list[OptionLine], write_ins: bool) -> None:
    if kind == IncentiveKind.BIDWAR and len(options) < 2 and not write_ins:
        raise forms.ValidationError("A bid war needs two options (or write-ins).")
    if kind != IncentiveKind.STRETCH:
        return
    goals = [o.goal for o in options if o.goal is not None]
    if not goals or len(goals) != len(options):
        raise forms.ValidationError("Each stretch stage needs a goal.")
    if any(b <= a for a, b in zip(goals, goals[1:], strict=False)):
        raise forms.ValidationError("Stretch stages need rising goals.")


class IncentiveForm(forms.ModelForm):
    options_text = forms.CharField(
        label="Options (bid war) or stages (stretch chain): one a line, 'Title | tags | goal'",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    class Meta:
        model = Incentive
        fields = [
            "key", "title", "kind", "goal", "tags", "winners", "write_ins", "run", "opens_at",
            "closes_at", "order",
        ]  # fmt: skip
        labels = {"opens_at": "Opens at (UTC)", "closes_at": "Closes at (UTC)"}
        widgets = {"opens_at": DATETIME_INPUT, "closes_at": DATETIME_INPUT}

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.campaign = campaign
        run_field = self.fields["run"]
        assert isinstance(run_field, forms.ModelChoiceField)  # a ForeignKey's form field
        run_field.queryset = Run.objects.filter(campaign=campaign)
        self.fields["options_text"].initial = _lines_of(self.instance)

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        taken = Incentive.objects.filter(campaign=self.instance.campaign, key=key)
        if taken.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another incentive has this key.")
        return key

    def clean(self):
        data = super().clean() or {}
        kind, goal = data.get("kind"), data.get("goal")
        if kind == IncentiveKind.GOAL and goal is None:
            self.add_error("goal", "A goal incentive needs a goal.")
        if goal is not None and goal <= 0:
            self.add_error("goal", "A goal is a positive amount.")
        try:
            self.options = option_lines(data.get("options_text", ""))
            _check_options(kind, self.options, data.get("write_ins", False))
        except forms.ValidationError as error:
            self.add_error("options_text", error)
            self.options = []
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if opens and closes and closes <= opens:
            self.add_error("closes_at", "It must close after it opens.")
        return data

    def save_options(self, incentive: Incentive) -> list[str]:
        """Write the option lines; returns the titles that could not be removed (money)."""
        kept = []
        for order, line in enumerate(self.options):
            option = Option.objects.filter(incentive=incentive, title=line.title).first()
            option = option or Option(incentive=incentive, title=line.title)
            option.tags, option.goal, option.order = line.tags, line.goal, order
            option.save()
            kept.append(option.pk)
        gone = Option.objects.filter(incentive=incentive).exclude(pk__in=kept)
        refused = [o.title for o in gone.filter(allocations__isnull=False).distinct()]
        gone.filter(allocations__isnull=True).delete()
        return refused
