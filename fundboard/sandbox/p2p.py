"""Sandbox imitation of the peer-to-peer events REST API (see providers/p2p-methods.md).

The four read-only methods under `/api/v1/p2p/events/{event_id}/`: `totals`, `fundraisers`,
`teams` and `gifts`, each answering with the envelope `{"status": true, "data": ...}` or
`{"status": false, "error": "..."}` on HTTP 200 (a wrong key is `"Invalid API key"`). The
key is the `apiKey` query parameter; lists take `limit` (at most 100), `offset` and `sort`
(`-raised`, `raised`, `name`, `-name`; gifts `-date`, `date`, `-amount`, `amount`),
fundraisers `search`, gifts `since` (ISO 8601). Blocked fundraisers are in the data with
`"status": "blocked"`; clients leave them off. Amounts come as numbers in some places and
strings in others, as the platform allows. Replies carry an ETag (304 on If-None-Match).

A gift raises its fundraiser's, its team's and the event's totals together.

Controls: POST /_sandbox/p2p/gifts {"fundraiser_id", "amount", "donor_name", "anonymous",
"message"}, POST /_sandbox/p2p/events {"event_id", "fundraisers": 2000, "teams": 40,
"goal", "gifts": 0}, POST /_sandbox/p2p/fundraisers {"id", "status"}, POST
/_sandbox/p2p/faults (see actionnetwork.Faults), GET /_sandbox/p2p/state (request log).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .actionnetwork import Faults, RequestLog, conditional_response, malformed_response

__all__ = ["API_KEY", "DEMO_EVENT_ID", "P2PState", "routes"]

API_KEY = "p2p-sandbox-8d41b07a95ce"
DEMO_EVENT_ID = "demo-walk"
MAX_LIMIT = 100
DEFAULT_LIMIT = 25
JSON = "application/json"
FIRST_NAMES = [
    "Ada", "Ben", "Chloé", "Dev", "Emeka", "Fatima", "Gus", "Hana", "Ines", "Jonas", "Kiri",
    "Lena", "Mateo", "Nia", "Oskar", "Priya", "Quinn", "Rosa", "Sven", "Tamar", "Uma", "Vik",
    "Wren", "Xu", "Yusuf", "Zoe",
]  # fmt: skip
LAST_NAMES = ["Okafor", "Lindqvist", "García", "Nguyen", "Smith", "Haddad", "Kowalski", "Ito"]
TEAM_NAMES = ["River Runners", "Heron Walkers", "Bridge Club", "Night Owls", "Team Sunrise"]
SORTS = {
    "-raised": (lambda r: r.raised, True),
    "raised": (lambda r: r.raised, False),
    "name": (lambda r: r.name.lower(), False),
    "-name": (lambda r: r.name.lower(), True),
}
GIFT_SORTS = {
    "-date": (lambda g: g.date, True),
    "date": (lambda g: g.date, False),
    "-amount": (lambda g: g.amount, True),
    "amount": (lambda g: g.amount, False),
}


def _now() -> datetime:
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


class ParameterError(ValueError):
    """A bad parameter: the platform answers status:false with the message."""


@dataclass
class Team:
    id: str
    name: str
    goal: Decimal


@dataclass
class TeamRow:
    id: str
    name: str
    goal: Decimal
    raised: Decimal


@dataclass
class Fundraiser:
    id: str
    name: str
    team_id: str
    goal: Decimal
    raised: Decimal = Decimal("0")
    donation_count: int = 0
    status: str = "active"


@dataclass
class Gift:
    id: str
    donor_name: str
    anonymous: bool
    amount: Decimal
    currency: str
    message: str
    date: datetime
    fundraiser_id: str


@dataclass
class Event:
    id: str
    name: str
    currency: str
    goal: Decimal
    teams: dict[str, Team] = field(default_factory=dict)
    fundraisers: dict[str, Fundraiser] = field(default_factory=dict)
    gifts: list[Gift] = field(default_factory=list)

    @property
    def raised(self) -> Decimal:
        # Blocked fundraisers' money is real money: it counts, they just are not shown.
        return sum((f.raised for f in self.fundraisers.values()), Decimal("0"))

    def team_raised(self) -> dict[str, Decimal]:
        raised = {team_id: Decimal("0") for team_id in self.teams}
        for fundraiser in self.fundraisers.values():
            if fundraiser.team_id in raised:
                raised[fundraiser.team_id] += fundraiser.raised
        return raised

    def add_gift(self, gift: Gift) -> None:
        fundraiser = self.fundraisers[gift.fundraiser_id]
        fundraiser.raised += gift.amount
        fundraiser.donation_count += 1
        self.gifts.append(gift)


class P2PState:
    def __init__(self) -> None:
        self.events: dict[str, Event] = {}
        self.requests = RequestLog()
        self.faults = Faults()
        self._gift_serial = 0
        self._build_demo()

    # --- data -----------------------------------------------------------------------------

    def _build_demo(self) -> None:
        rng = random.Random(20261125)  # the same demo walk every time
        event = self.create_event(
            {"event_id": DEMO_EVENT_ID, "name": "River Walk 2026", "goal": "15000"},
            fundraisers=30,
            teams=5,
            rng=rng,
        )
        # A couple of fundraisers blocked by the organiser: present in the data, never shown.
        for fundraiser_id in ("f-007", "f-019"):
            event.fundraisers[fundraiser_id].status = "blocked"
        start = _now() - timedelta(hours=3)
        for index in range(40):
            fundraiser = event.fundraisers[rng.choice(sorted(event.fundraisers))]
            self.add_gift(
                event,
                fundraiser.id,
                Decimal(rng.choice([10, 20, 25, 40, 50, 75, 100, 150])),
                donor_name=self._donor_name(rng),
                anonymous=index % 6 == 0,
                message=rng.choice(["", "Go team!", "For Grandma", "Keep walking!"]),
                date=start + timedelta(minutes=4 * index),
            )

    @staticmethod
    def _donor_name(rng: random.Random) -> str:
        return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)[0]}."

    def create_event(
        self, body: dict, *, fundraisers: int, teams: int, rng: random.Random
    ) -> Event:
        event = Event(
            id=str(body["event_id"]),
            name=str(body.get("name") or f"Event {body['event_id']}"),
            currency=str(body.get("currency", "USD")),
            goal=Decimal(str(body.get("goal", "10000"))),
        )
        width = max(3, len(str(fundraisers)))
        for t in range(max(1, teams)):
            name = TEAM_NAMES[t] if t < len(TEAM_NAMES) else f"Team {t + 1:03d}"
            event.teams[f"t-{t + 1:03d}"] = Team(f"t-{t + 1:03d}", name, Decimal("2500"))
        team_ids = sorted(event.teams)
        for n in range(fundraisers):
            fundraiser_id = f"f-{n + 1:0{width}d}"
            name = f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[n % len(LAST_NAMES)]}"
            if fundraisers > len(FIRST_NAMES):
                name = f"{name} {n + 1}"
            event.fundraisers[fundraiser_id] = Fundraiser(
                fundraiser_id, name, team_ids[n % len(team_ids)], Decimal("500")
            )
            initial = Decimal(str(body.get("initial_raised", 0)))
            if initial:
                event.fundraisers[fundraiser_id].raised = initial + n % 97
        self.events[event.id] = event
        return event

    def add_gift(
        self,
        event: Event,
        fundraiser_id: str,
        amount: Decimal,
        *,
        donor_name: str = "",
        anonymous: bool = False,
        message: str = "",
        date: datetime | None = None,
    ) -> Gift:
        self._gift_serial += 1
        gift = Gift(
            id=f"g-{self._gift_serial:06d}",
            donor_name=donor_name,
            anonymous=anonymous,
            amount=amount,
            currency=event.currency,
            message=message,
            date=date or _now(),
            fundraiser_id=fundraiser_id,
        )
        event.add_gift(gift)
        return gift

    def event_of(self, fundraiser_id: str, event_id: str | None = None) -> Event | None:
        if event_id:
            event = self.events.get(event_id)
            return event if event and fundraiser_id in event.fundraisers else None
        return next((e for e in self.events.values() if fundraiser_id in e.fundraisers), None)

    def generate(self, rng: random.Random) -> None:
        """One gift to a random active fundraiser of the demo walk."""
        event = self.events.get(DEMO_EVENT_ID)
        if not event:
            return
        active = sorted(f.id for f in event.fundraisers.values() if f.status == "active")
        self.add_gift(
            event,
            rng.choice(active),
            Decimal(rng.choice([5, 10, 20, 25, 50, 100])),
            donor_name=self._donor_name(rng),
            anonymous=rng.random() < 0.15,
            message=rng.choice(["", "", "Proud of you!", "Go go go"]),
        )

    async def close_streams(self) -> None:
        """Nothing streams here; present so every platform module has the same shape."""

    # --- the four methods' data ---------------------------------------------------------------

    def totals(self, event: Event) -> dict:
        return {
            "event_id": event.id,
            "name": event.name,
            "currency": event.currency,
            "goal": float(event.goal),
            "raised": _money(event.raised),
            "donation_count": sum(f.donation_count for f in event.fundraisers.values()),
            "fundraiser_count": len(event.fundraisers),
            "team_count": len(event.teams),
        }

    def fundraisers(self, event: Event, query: dict) -> list[dict]:
        rows = list(event.fundraisers.values())
        search = query.get("search", "").strip().lower()
        if search:
            rows = [f for f in rows if search in f.name.lower()]
        rows = _page(_sorted(rows, query, SORTS), query)
        return [
            {
                "id": f.id,
                "name": f.name,
                "team_id": f.team_id,
                "team_name": event.teams[f.team_id].name,
                "raised": float(f.raised),
                "goal": _money(f.goal),
                "donation_count": f.donation_count,
                "url": f"https://p2p.example.org/{event.id}/fundraiser/{f.id}",
                "status": f.status,
            }
            for f in rows
        ]

    def teams(self, event: Event, query: dict) -> list[dict]:
        raised = event.team_raised()
        members: dict[str, int] = {}
        for fundraiser in event.fundraisers.values():
            members[fundraiser.team_id] = members.get(fundraiser.team_id, 0) + 1
        rows = [TeamRow(t.id, t.name, t.goal, raised[t.id]) for t in event.teams.values()]
        return [
            {
                "id": r.id,
                "name": r.name,
                "raised": _money(r.raised),
                "goal": float(r.goal),
                "member_count": members.get(r.id, 0),
                "url": f"https://p2p.example.org/{event.id}/team/{r.id}",
            }
            for r in _page(_sorted(rows, query, SORTS), query)
        ]

    def gifts(self, event: Event, query: dict) -> list[dict]:
        rows = event.gifts
        if query.get("since"):
            since = _parse_since(query["since"])
            rows = [g for g in rows if g.date >= since]
        rows = _page(_sorted(rows, query, GIFT_SORTS, default="-date"), query)
        return [
            {
                "id": g.id,
                "donor_name": g.donor_name,
                "anonymous": g.anonymous,
                "amount": _money(g.amount),
                "currency": g.currency,
                "message": g.message,
                "date": _iso(g.date),
                "fundraiser_id": g.fundraiser_id,
            }
            for g in rows
        ]


def _parse_since(value: str) -> datetime:
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ParameterError("Invalid parameter: since must be an ISO 8601 date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sorted(rows: list, query: dict, sorts: dict, default: str = "-raised") -> list:
    sort = query.get("sort") or default
    if sort not in sorts:
        raise ParameterError(f"Invalid parameter: sort must be one of {', '.join(sorts)}")
    key, reverse = sorts[sort]
    # Stable tie-break on id/name so paging never shows a record twice or skips one.
    rows = sorted(rows, key=lambda r: r.id)
    return sorted(rows, key=key, reverse=reverse)


def _page(rows: list, query: dict) -> list:
    try:
        limit = int(query.get("limit", DEFAULT_LIMIT))
        offset = int(query.get("offset", 0))
    except ValueError:
        raise ParameterError("Invalid parameter: limit and offset must be integers") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ParameterError(f"Invalid parameter: limit must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise ParameterError("Invalid parameter: offset must not be negative")
    return rows[offset : offset + limit]


# --- endpoints -------------------------------------------------------------------------------


def _failure(error: str) -> JSONResponse:
    # The platform reports exceptions in the envelope, on HTTP 200.
    return JSONResponse({"status": False, "error": error})


def routes(state: P2PState) -> list:
    def method(produce):
        async def endpoint(request: Request) -> Response:
            state.requests.add(request)
            failure = await state.faults.injected_failure()
            if failure is not None:
                return failure
            if request.query_params.get("apiKey") != API_KEY:
                return _failure("Invalid API key")
            if state.faults.take_malformed():
                return malformed_response(JSON)
            error = state.faults.take_status_false()
            if error is not None:
                return _failure(error)
            event = state.events.get(request.path_params["event_id"])
            if event is None:
                return _failure("Event not found")
            try:
                data = produce(event, dict(request.query_params))
            except ParameterError as problem:
                return _failure(str(problem))
            return conditional_response(request, {"status": True, "data": data}, JSON)

        return endpoint

    async def control_gifts(request: Request) -> JSONResponse:
        body = await request.json()
        fundraiser_id = str(body.get("fundraiser_id", ""))
        event = state.event_of(fundraiser_id, body.get("event_id"))
        if event is None:
            return JSONResponse({"error": "no such fundraiser"}, status_code=404)
        gift = state.add_gift(
            event,
            fundraiser_id,
            Decimal(str(body.get("amount", "10"))),
            donor_name=str(body.get("donor_name", "")),
            anonymous=bool(body.get("anonymous", False)),
            message=str(body.get("message", "")),
        )
        return JSONResponse({"id": gift.id, "totals": state.totals(event)})

    async def control_events(request: Request) -> JSONResponse:
        body = await request.json()
        event = state.create_event(
            body,
            fundraisers=int(body.get("fundraisers", 30)),
            teams=int(body.get("teams", max(1, int(body.get("fundraisers", 30)) // 25))),
            rng=random.Random(str(body["event_id"])),
        )
        return JSONResponse(state.totals(event))

    async def control_fundraisers(request: Request) -> JSONResponse:
        body = await request.json()
        event = state.event_of(str(body.get("id", "")), body.get("event_id"))
        if event is None:
            return JSONResponse({"error": "no such fundraiser"}, status_code=404)
        event.fundraisers[str(body["id"])].status = str(body.get("status", "active"))
        return JSONResponse({"ok": True})

    async def control_faults(request: Request) -> JSONResponse:
        state.faults.configure(await request.json())
        return JSONResponse(state.faults.as_dict())

    async def control_state(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "requests": state.requests.entries,
                "events": {event_id: state.totals(e) for event_id, e in state.events.items()},
                "faults": state.faults.as_dict(),
            }
        )

    base = "/api/v1/p2p/events/{event_id}"
    return [
        Route(f"{base}/totals", method(lambda e, q: state.totals(e)), methods=["GET"]),
        Route(f"{base}/fundraisers", method(state.fundraisers), methods=["GET"]),
        Route(f"{base}/teams", method(state.teams), methods=["GET"]),
        Route(f"{base}/gifts", method(state.gifts), methods=["GET"]),
        Route("/_sandbox/p2p/gifts", control_gifts, methods=["POST"]),
        Route("/_sandbox/p2p/events", control_events, methods=["POST"]),
        Route("/_sandbox/p2p/fundraisers", control_fundraisers, methods=["POST"]),
        Route("/_sandbox/p2p/faults", control_faults, methods=["POST"]),
        Route("/_sandbox/p2p/state", control_state, methods=["GET"]),
    ]
