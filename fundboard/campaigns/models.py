"""Campaigns and the upstream sources that feed them.

A campaign is what viewers see (one goal, one currency, one live total). A source is one
upstream account or event feeding a campaign: an ImRaising stream, a set of Action Network
fundraising pages, a peer-to-peer event, or the manual entries staff type in.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import connection, models
from django.db.models import F
from django.utils import timezone

from fundboard.providers.errors import AuthError

from .deletion import DeletedDespiteWriters
from .upstream import UpstreamURLField, host_allowed, origin_of

__all__ = ["Campaign", "Source", "SourceKind", "SourceStatus", "UpstreamRefused"]


class UpstreamRefused(AuthError):
    """A source may not talk to its upstream now; the message says why and what to do."""


class Campaign(DeletedDespiteWriters):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    goal = models.DecimalField(
        max_digits=20, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use an ISO 4217 code such as USD.")],
    )
    starts_at = models.DateTimeField(
        null=True, blank=True, help_text="Only donations from this time on count (optional)."
    )
    ends_at = models.DateTimeField(
        null=True, blank=True, help_text="Only donations before this time count (optional)."
    )
    milestones = models.JSONField(
        default=list,
        blank=True,
        help_text='Amounts marked on the thermometer, e.g. ["500", "1000"].',
    )
    allowed_origins = models.TextField(
        blank=True,
        help_text="Sites allowed to frame the widgets, one origin a line "
        "(https://example.org). Empty: any site.",
    )
    hold_for_review = models.BooleanField(
        default=False, help_text="Hide new donors' names and messages until a moderator approves."
    )
    blocked_words = models.TextField(
        blank=True,
        help_text="One word or phrase a line; names and messages containing one are hidden.",
    )
    count_matches = models.BooleanField(
        default=False,
        help_text="Sponsor-matched money (fundboard.matching) counts toward the total.",
    )
    # Increases with every committed change; clients use it to spot a missed update.
    version = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def bump_version(self) -> None:
        """Mark a change in the current transaction (one atomic UPDATE, no lost increments)."""
        now = timezone.now()
        self.updated_at = now
        if not connection.features.can_return_columns_from_insert:  # SQLite before 3.35
            Campaign.objects.filter(pk=self.pk).update(version=F("version") + 1, updated_at=now)
            self.refresh_from_db(fields=["version"])
            return
        # The new version in the same statement: this runs in every ingest transaction, and
        # the ORM's update-then-select costs a second query there (bench/bench_fanout.py).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE campaigns_campaign SET version = version + 1, updated_at = %s "
                "WHERE id = %s RETURNING version",
                [connection.ops.adapt_datetimefield_value(now), self.pk],
            )
            (self.version,) = cursor.fetchone()

    @property
    def allowed_origin_list(self) -> list[str]:
        return [line.strip() for line in self.allowed_origins.splitlines() if line.strip()]

    @property
    def blocked_word_list(self) -> list[str]:
        return [line.strip().lower() for line in self.blocked_words.splitlines() if line.strip()]


class SourceKind(models.TextChoices):
    IMRAISING = "imraising", "ImRaising (stream)"
    ACTIONNETWORK = "actionnetwork", "Action Network fundraising pages"
    P2P = "p2p", "Peer-to-peer event"
    MANUAL = "manual", "Manual and offline donations"


class SourceStatus(models.TextChoices):
    UNKNOWN = "unknown", "Not contacted yet"
    OK = "ok", "OK"
    DEGRADED = "degraded", "Failing, showing last good numbers"
    AUTH_ERROR = "auth_error", "API key rejected"
    PERMISSION_ERROR = "permission_error", "API key lacks permission"
    RATE_LIMITED = "rate_limited", "Rate limited"
    DISABLED = "disabled", "Disabled"


DEFAULT_BASE_URLS: dict[str, str] = {
    SourceKind.IMRAISING: "https://imraising.tv",
    SourceKind.ACTIONNETWORK: "https://actionnetwork.org",
    SourceKind.P2P: "",  # each organisation's P2P site has its own host
    SourceKind.MANUAL: "",
}

# Default poll intervals (seconds). Streams are not polled; their reconciliation is.
DEFAULT_POLL_INTERVALS: dict[str, float] = {
    SourceKind.IMRAISING: 300.0,
    SourceKind.ACTIONNETWORK: 30.0,
    SourceKind.P2P: 15.0,
    SourceKind.MANUAL: 0.0,
}


class Source(DeletedDespiteWriters):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sources")
    kind = models.CharField(max_length=20, choices=SourceKind.choices)
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    base_url = UpstreamURLField(
        blank=True,
        help_text="Empty: the platform's real address. Any http(s) URL, "
        "internal names such as http://sandbox:8100 included.",
    )
    # Kept server-side only: never rendered, serialised to the public or logged. Read and
    # set it through `api_key`, which binds it to the origin it was entered for.
    stored_api_key = models.CharField(max_length=500, blank=True, db_column="api_key")
    api_key_origin = models.CharField(
        max_length=300,
        blank=True,
        editable=False,
        help_text="The scheme://host:port the API key was entered for; it is sent nowhere else.",
    )
    # Provider ids: {"event_id": "..."} (p2p), {"page_ids": [...]} or {"all_pages": true,
    # "title_contains": "..."} (Action Network). Free-form so a new platform needs no migration.
    provider_ids = models.JSONField(default=dict, blank=True)
    # Per-source overrides of the provider's defaults (P2P paths and field names, timeouts).
    options = models.JSONField(default=dict, blank=True)
    poll_interval = models.FloatField(
        null=True, blank=True, help_text="Seconds between polls; empty for the platform default."
    )
    # Which of this source's leaderboard entries show on the campaign's boards.
    show_on_leaderboard = models.BooleanField(default=True)

    # --- health ---
    status = models.CharField(
        max_length=20, choices=SourceStatus.choices, default=SourceStatus.UNKNOWN
    )
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    stream_connected = models.BooleanField(default=False)
    rejected_records = models.PositiveIntegerField(default=0)
    last_rejection = models.TextField(blank=True)
    drift = models.TextField(blank=True, help_text="Disagreement found by reconciliation, if any.")

    # --- what a polled platform reported last (kept while failing: stale, never zero) ---
    reported_total = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    reported_count = models.PositiveIntegerField(null=True, blank=True)
    reported_currency = models.CharField(max_length=3, blank=True)
    reported_goal = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)

    # --- staff requests, picked up by the scheduler / stream supervisor on their next scan ---
    poll_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    reconnect_requested_at = models.DateTimeField(null=True, blank=True, editable=False)

    # --- sync cursors ---
    etags = models.JSONField(default=dict, blank=True, editable=False)
    last_event_id = models.CharField(max_length=200, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "name"], name="source_name_unique_in_campaign"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def effective_base_url(self) -> str:
        return self.effective_url_for(self.kind, self.base_url)

    @staticmethod
    def effective_url_for(kind: str, base_url: str) -> str:
        return (base_url or DEFAULT_BASE_URLS.get(kind, "")).rstrip("/")

    # --- the API key, bound to where it was entered (issue 12, finding 5) ---
    #
    # Whoever may edit base_url (an Organiser, or anyone writing to the row) must not be able
    # to send the stored key to a host of their choosing. So the key remembers the origin
    # (scheme, host, port) it was entered for, and `api_key` gives it out only while the
    # source still points there and that host is allowed. Setting `api_key` binds the new key
    # to the current base_url: set base_url first.

    @property
    def api_key(self) -> str:
        """The key for requests to `effective_base_url`; "" when it was not entered for it."""
        if not self.key_is_usable:
            return ""
        return self.stored_api_key

    @api_key.setter
    def api_key(self, value: str) -> None:
        self.stored_api_key = value or ""
        self.api_key_origin = origin_of(self.effective_base_url) if value else ""

    @property
    def key_is_usable(self) -> bool:
        url = self.effective_base_url
        return (
            bool(self.stored_api_key)
            and self.api_key_origin == origin_of(url)
            and (not url or host_allowed(url))
        )

    @property
    def key_bound_elsewhere(self) -> bool:
        """A key is stored but for another origin than the one the source now points at."""
        return bool(self.stored_api_key) and self.api_key_origin != origin_of(
            self.effective_base_url
        )

    def check_upstream(self) -> None:
        """Raise UpstreamRefused when no request may go to this source's upstream now.

        For the code that builds a client (one line before it): `api_key` already withholds
        the key, and this stops the request itself (a host off the allow-list, or a key
        entered for another host). An AuthError: the source shows it and waits like one.
        """
        refusal = self.upstream_refusal()
        if refusal:
            raise UpstreamRefused(refusal)

    def upstream_refusal(self) -> str:
        """Why no request may go upstream now ("" when it may): for the pollers and streams."""
        url = self.effective_base_url
        if url and not host_allowed(url):
            return f"{origin_of(url)} is not in FUNDBOARD_UPSTREAM_HOSTS"
        if self.key_bound_elsewhere:
            return (
                f"the API key was entered for {self.api_key_origin}, not {origin_of(url)}: "
                "re-enter the API key for the new host"
            )
        return ""

    def clean(self) -> None:
        super().clean()
        url = self.effective_base_url
        if url and not host_allowed(url):
            where = "This address" if self.base_url else f"The platform's address {url}"
            message = f"{where} is not allowed: its host is not in FUNDBOARD_UPSTREAM_HOSTS."
            raise ValidationError({"base_url": message})

    @property
    def effective_poll_interval(self) -> float:
        from django.conf import settings

        interval = self.poll_interval or DEFAULT_POLL_INTERVALS.get(self.kind, 30.0)
        return max(interval, settings.FUNDBOARD["POLL_FLOOR_SECONDS"])

    @property
    def counts_reported_total(self) -> bool:
        """Polled platforms report their own total; streamed and manual ones sum donations."""
        return self.kind in (SourceKind.ACTIONNETWORK, SourceKind.P2P)

    @property
    def is_stale(self) -> bool:
        return self.consecutive_failures > 0 and self.last_success_at is not None
