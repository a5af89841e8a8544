"""`P2PClient.poll()`: one event read (see fetching.py) and turned into a PollResult."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..conditional import NOT_MODIFIED, ConditionalGetter
from ..errors import BadData, BadRecord
from ..http import make_client
from ..records import DonationRecord, EntryRecord, PollResult
from .config import P2PConfig
from .fetching import GIFTS_SINCE_KEY, EventData, EventReader
from .parsing import is_blocked, parse_fundraiser, parse_gift, parse_team, parse_totals

__all__ = ["P2PClient"]

CURRENCY_KEY = "currency"  # in the cursor: the event's currency, for polls with totals 304

Record = TypeVar("Record", EntryRecord, DonationRecord)


class P2PClient:
    def __init__(
        self, base_url: str, api_key: str, provider_ids: dict[str, Any], options: dict[str, Any]
    ):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.event_id = str(provider_ids.get("event_id", "")).strip()
        if not self.event_id:
            raise BadData("P2P source has no event_id in its ids")
        self.config = P2PConfig.from_options(options or {})

    def poll(self, cursor: dict[str, str] | None = None) -> PollResult:
        """Read the event; parts the platform says are unchanged (304) stay as stored."""
        cursor = dict(cursor or {})
        with make_client(self.config.timeout) as client:
            getter = ConditionalGetter(client, cursor)
            reader = EventReader(self.base_url, self.api_key, self.event_id, self.config, getter)
            data = reader.read()
        if getter.all_not_modified:
            return PollResult(unchanged=True, etags=cursor)
        return self._result(data, cursor, getter.validators)

    def _result(
        self, data: EventData, cursor: dict[str, str], validators: dict[str, str]
    ) -> PollResult:
        fields = self.config.fields
        result = PollResult(etags=dict(validators))
        currency = cursor.get(CURRENCY_KEY, "USD")
        if data.totals is not NOT_MODIFIED:
            result.totals = parse_totals(data.totals, fields["totals"])
            currency = result.totals.currency
        result.etags[CURRENCY_KEY] = currency
        lists = {m: records for m, records in data.lists.items() if isinstance(records, list)}
        if "fundraisers" in lists or "teams" in lists:
            names = fields["fundraisers"]
            shown = [r for r in lists.get("fundraisers", []) if not self._blocked(r, names)]
            entries = _parse_all(parse_fundraiser, shown, names, currency, result.rejected)
            teams = lists.get("teams", [])
            entries += _parse_all(parse_team, teams, fields["teams"], currency, result.rejected)
            # Offset paging over a list that moves can show a record twice: identity decides.
            result.entries = list({(e.kind, e.upstream_id): e for e in entries}.values())
        gifts = lists.get("gifts", [])
        donations = _parse_all(parse_gift, gifts, fields["gifts"], currency, result.rejected)
        result.donations = list({d.upstream_id: d for d in donations}.values())
        result.etags.update(_gift_cursor(result.donations, cursor))
        return result

    def _blocked(self, record: object, names: dict[str, str]) -> bool:
        return is_blocked(record, names, self.config.blocked_status)


def _parse_all(
    parse: Callable[[object, dict[str, str], str], Record],
    raw_records: Iterable[object],
    names: dict[str, str],
    currency: str,
    rejected: list[str],
) -> list[Record]:
    """The records that parse; each one that does not adds its reason to `rejected`."""
    what = "P2P " + parse.__name__.removeprefix("parse_")
    records = []
    for raw in raw_records:
        try:
            records.append(parse(raw, names, currency))
        except BadRecord as error:
            rejected.append(f"{what}: {error}")
    return records


def _gift_cursor(donations: list[DonationRecord], cursor: dict[str, str]) -> dict[str, str]:
    """The next poll reads gifts from the newest one seen so far on."""
    since = cursor.get(GIFTS_SINCE_KEY, "")
    if donations:
        newest = max(d.donated_at for d in donations)
        newest_text = newest.isoformat().replace("+00:00", "Z")
        since = max(since, newest_text) if since else newest_text
    return {GIFTS_SINCE_KEY: since} if since else {}
