"""Sandbox imitation of Action Network's fundraising pages API (OSDI, HAL+JSON).

As documented: `GET /api/v1/fundraising_pages` (25 per page, `page`, `per_page`,
`total_pages`, `total_records`, `_links.next` with an absolute href, the pages in
`_embedded["osdi:fundraising_pages"]`) and `GET /api/v1/fundraising_pages/{id}`, the
`api-key` header (wrong or missing: 401 with a JSON error), `application/hal+json`, and
`ETag`/`If-None-Match` and `Last-Modified`/`If-Modified-Since` answered with 304.

Controls (tests, demo): POST /_sandbox/actionnetwork/pages creates or updates a page
({"id"?, "summary", "total_amount", "total_donations"}), POST /_sandbox/actionnetwork/faults
injects failures (see `Faults`), GET /_sandbox/actionnetwork/state returns the request log.

`Faults` and `RequestLog` are shared with the P2P imitation.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = [
    "API_KEY",
    "PER_PAGE",
    "ActionNetworkState",
    "Faults",
    "RequestLog",
    "routes",
    "conditional_response",
]

API_KEY = "an-sandbox-3f9c2e71d4b8"
PER_PAGE = 25
HAL_JSON = "application/hal+json"
DEMO_PAGES = [
    ("Walk for the River: main page", Decimal("1840.00"), 37),
    ("Team Heron fundraiser", Decimal("615.50"), 14),
    ("Year-end matching gift drive", Decimal("2250.00"), 21),
]
SECRET_PARAMS = {"apikey", "api_key", "api-key", "key"}


# --- shared with the P2P imitation: request log, fault injection, conditional replies ----------


@dataclass
class RequestLog:
    entries: list[dict] = field(default_factory=list)

    def add(self, request: Request) -> None:
        query = {
            k: ("[redacted]" if k.lower() in SECRET_PARAMS else v)
            for k, v in request.query_params.items()
        }
        entry = {"method": request.method, "path": request.url.path, "query": query}
        self.entries.append({**entry, "at": time.time()})
        del self.entries[:-5000]  # bounded: the demo runs for days


@dataclass
class Faults:
    """What the next API requests suffer. POST /_sandbox/<platform>/faults with any of:

    {"fail_next": N, "status": 429, "retry_after": 7}  the next N requests fail (429/500/503)
    {"slow_seconds": 1.5}                              every request waits first
    {"malformed_json_next": N}                         the next N replies are broken JSON
    {"status_false_next": N, "error": "..."}           P2P: envelope failure on HTTP 200
    {"clear": true}                                    back to normal
    """

    fail_next: int = 0
    fail_status: int = 500
    retry_after: float | None = None
    slow_seconds: float = 0.0
    malformed_json_next: int = 0
    status_false_next: int = 0
    status_false_error: str = "Internal error"

    def configure(self, body: dict) -> None:
        if body.get("clear"):
            Faults.__init__(self)  # every field back to its default (named on the class: typed)
        if "fail_next" in body:
            self.fail_next = int(body["fail_next"])
            self.fail_status = int(body.get("status", 500))
            self.retry_after = body.get("retry_after")
        if "slow_seconds" in body:
            self.slow_seconds = float(body["slow_seconds"])
        if "malformed_json_next" in body:
            self.malformed_json_next = int(body["malformed_json_next"])
        if "status_false_next" in body:
            self.status_false_next = int(body["status_false_next"])
            self.status_false_error = str(body.get("error", "Internal error"))

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    async def injected_failure(self) -> Response | None:
        """The failure to answer with instead of the real reply, if one is due."""
        if self.slow_seconds:
            await asyncio.sleep(self.slow_seconds)
        if self.fail_next <= 0:
            return None
        self.fail_next -= 1
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        body = {"error": f"Injected failure (HTTP {self.fail_status})"}
        return JSONResponse(body, status_code=self.fail_status, headers=headers)

    def take_malformed(self) -> bool:
        if self.malformed_json_next > 0:
            self.malformed_json_next -= 1
            return True
        return False

    def take_status_false(self) -> str | None:
        if self.status_false_next > 0:
            self.status_false_next -= 1
            return self.status_false_error
        return None


def malformed_response(media_type: str) -> Response:
    return Response('{"status": true, "data": [{"oops": ', media_type=media_type)


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def conditional_response(
    request: Request, body: dict, media_type: str, last_modified: datetime | None = None
) -> Response:
    """The JSON reply with an ETag (and Last-Modified); 304 when the client's copy is current."""
    text = json.dumps(body, separators=(",", ":"))
    etag = '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "max-age=0, private, must-revalidate"}
    if last_modified is not None:
        headers["Last-Modified"] = _http_date(last_modified)
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        if etag in [tag.strip() for tag in if_none_match.split(",")]:
            return Response(status_code=304, headers=headers)
    elif last_modified is not None and request.headers.get("if-modified-since"):
        try:
            since = parsedate_to_datetime(request.headers["if-modified-since"])
        except (TypeError, ValueError):
            since = None
        if since is not None and last_modified.replace(microsecond=0) <= since:
            return Response(status_code=304, headers=headers)
    return Response(text, media_type=media_type, headers=headers)


# --- the Action Network state ----------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FundraisingPage:
    id: str
    summary: str
    total_amount: Decimal = Decimal("0")
    total_donations: int = 0
    extra_identifiers: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=_now)
    modified_at: datetime = field(default_factory=_now)

    def resource(self, host: str) -> dict:
        href = f"{host}/api/v1/fundraising_pages/{self.id}"
        return {
            "identifiers": [f"action_network:{self.id}", *self.extra_identifiers],
            "originating_system": "Action Network",
            "created_at": _iso(self.created_at),
            "modified_at": _iso(self.modified_at),
            "summary": self.summary,
            "url": f"https://actionnetwork.org/fundraising/{self.id[:8]}",
            "total_donations": self.total_donations,
            "total_amount": float(self.total_amount),
            "currency": "USD",
            "_links": {
                "self": {"href": href},
                "osdi:donations": {"href": f"{href}/donations"},
            },
        }


class ActionNetworkState:
    def __init__(self) -> None:
        self.pages: dict[str, FundraisingPage] = {}
        self.requests = RequestLog()
        self.faults = Faults()
        for summary, amount, count in DEMO_PAGES:
            page_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-an-{summary}"))
            self.pages[page_id] = FundraisingPage(page_id, summary, amount, count)

    def upsert_page(self, body: dict) -> FundraisingPage:
        page_id = str(body.get("id") or uuid.uuid4())
        page = self.pages.get(page_id) or FundraisingPage(page_id, "Fundraising page")
        if "summary" in body:
            page.summary = str(body["summary"])
        if "total_amount" in body:
            page.total_amount = Decimal(str(body["total_amount"]))
        if "total_donations" in body:
            page.total_donations = int(body["total_donations"])
        if "identifiers" in body:
            page.extra_identifiers = [str(i) for i in body["identifiers"]]
        page.modified_at = _now()
        self.pages[page_id] = page
        return page

    def generate(self, rng: random.Random) -> None:
        """One donation on a random page: its total and count rise."""
        if not self.pages:
            return
        page = self.pages[rng.choice(sorted(self.pages))]
        page.total_amount += Decimal(rng.choice([5, 10, 15, 20, 25, 50, 100]))
        page.total_donations += 1
        page.modified_at = _now()

    async def close_streams(self) -> None:
        """Nothing streams here; present so every platform module has the same shape."""

    def ordered(self) -> list[FundraisingPage]:
        return sorted(self.pages.values(), key=lambda p: (p.created_at, p.id))

    def last_modified(self) -> datetime | None:
        return max((p.modified_at for p in self.pages.values()), default=None)


# --- endpoints -------------------------------------------------------------------------------


def _unauthorized() -> JSONResponse:
    return JSONResponse({"error": "API Key invalid or not present"}, status_code=401)


async def _guard(state: ActionNetworkState, request: Request) -> Response | None:
    state.requests.add(request)
    failure = await state.faults.injected_failure()
    if failure is not None:
        return failure
    if request.headers.get("api-key") != API_KEY:
        return _unauthorized()
    if state.faults.take_malformed():
        return malformed_response(HAL_JSON)
    return None


def _host(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _collection_body(state: ActionNetworkState, request: Request, page: int) -> dict:
    pages = state.ordered()
    total_pages = max(1, math.ceil(len(pages) / PER_PAGE))
    chunk = pages[(page - 1) * PER_PAGE : page * PER_PAGE]
    host = _host(request)
    collection = f"{host}/api/v1/fundraising_pages"
    links: dict = {
        "self": {"href": f"{collection}?page={page}" if page > 1 else collection},
        "osdi:fundraising_pages": [{"href": f"{collection}/{p.id}"} for p in chunk],
        "curies": [
            {"name": "osdi", "href": "https://actionnetwork.org/docs/v1/{rel}", "templated": True}
        ],
    }
    if page < total_pages:
        links["next"] = {"href": f"{collection}?page={page + 1}"}
    if page > 1:
        links["previous"] = {"href": f"{collection}?page={page - 1}"}
    return {
        "total_pages": total_pages,
        "per_page": PER_PAGE,
        "page": page,
        "total_records": len(pages),
        "_links": links,
        "_embedded": {"osdi:fundraising_pages": [p.resource(host) for p in chunk]},
    }


def routes(state: ActionNetworkState) -> list:
    async def collection(request: Request) -> Response:
        refusal = await _guard(state, request)
        if refusal is not None:
            return refusal
        try:
            page = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            page = 1
        body = _collection_body(state, request, page)
        return conditional_response(request, body, HAL_JSON, state.last_modified())

    async def single(request: Request) -> Response:
        refusal = await _guard(state, request)
        if refusal is not None:
            return refusal
        page = state.pages.get(request.path_params["page_id"])
        if page is None:
            return JSONResponse({"error": "Couldn't find FundraisingPage"}, status_code=404)
        body = page.resource(_host(request))
        return conditional_response(request, body, HAL_JSON, page.modified_at)

    async def control_pages(request: Request) -> JSONResponse:
        page = state.upsert_page(await request.json())
        return JSONResponse(page.resource(_host(request)))

    async def control_faults(request: Request) -> JSONResponse:
        state.faults.configure(await request.json())
        return JSONResponse(state.faults.as_dict())

    async def control_state(request: Request) -> JSONResponse:
        host = _host(request)
        return JSONResponse(
            {
                "requests": state.requests.entries,
                "pages": [p.resource(host) for p in state.ordered()],
                "faults": state.faults.as_dict(),
            }
        )

    return [
        Route("/api/v1/fundraising_pages", collection, methods=["GET"]),
        Route("/api/v1/fundraising_pages/", collection, methods=["GET"]),
        Route("/api/v1/fundraising_pages/{page_id}", single, methods=["GET"]),
        Route("/_sandbox/actionnetwork/pages", control_pages, methods=["POST"]),
        Route("/_sandbox/actionnetwork/faults", control_faults, methods=["POST"]),
        Route("/_sandbox/actionnetwork/state", control_state, methods=["GET"]),
    ]
