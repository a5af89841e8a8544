"""Sandbox imitation of the ImRaising Public API (shared/providers/imraising-public-api.txt).

What upstream documents, imitated as closely as we can read it:

- Auth: `authorization: APIKey apikey="KEY"` or `?apikey=KEY`. A missing or malformed key
  (not 22 characters of [A-Za-z0-9_-]) answers 401 `Unauthorized`; a well-formed unknown key
  401 `Authentication.InvalidAPIKey`; the Limited key on an Advanced endpoint 403
  `Authentication.ModeUnacceptable`; a wrong method 405 `MethodNotAllowed`; `/listen` with an
  Accept header that excludes text/event-stream 406 `NotAcceptable`; bad parameters 400
  `InvalidParameter`. Every error body is JSON `{"name", "message"}`.
- `GET /api/v1/listen`: Server-Sent Events. Starts with a `:` comment and `retry: 10000`,
  sends comment heartbeats, `donation.add` / `donation.delete` with pretty-printed JSON spread
  over several `data:` lines, and now and then an event upstream never documented (clients
  must ignore it). Optional modes: `id:` lines (off by default, as in the doc; a reconnect
  with Last-Event-ID then replays what followed that id) and a leading UTF-8 BOM.
- `GET /api/v1/donations` (Advanced): offset (default 0), limit 1..100 (default 10, the
  default the doc gives for topDonors; the doc gives none here), startDate (inclusive),
  endDate (exclusive), sort in nickname|amount|time with an optional leading `-` (default
  `-time`, newest first). Ties are broken by `_id` so paging is stable.
- `GET /api/v1/donations/total` (Advanced): `[{"total", "currency"}]`, one per currency.
- `GET /api/v1/donations/total/donor` (Advanced): nickname required, at most 27 characters.
- `GET /api/v1/topDonors` (Advanced): offset, limit (default 10), startDate, endDate.
- `POST /api/v1/donations` (any key): `{amount, message<=300}` -> 204; broadcasts a
  `donation.add` in currency XTS to every listener; not stored, never in listings.
- Amounts are "Float" strings mostly; a donation posted (or generated) with a JSON number
  keeps it as a number, since both appear upstream. Deleted donations leave every listing.
- JSON is written as a JavaScript server writes it (well-formed `JSON.stringify`): text kept
  raw, except a lone surrogate (half an emoji, left by a cut elsewhere), which goes out as
  its `\\u` escape (`\\ud83d`), as valid JSON that decodes to invalid text.

Control endpoints (a contract other tests and the demo rely on):

- `POST /_sandbox/imraising/donations` one object or a list: `{"nickname", "amount",
  "currency"="USD", "message"?, "time"?, "_id"?, "broadcast"=true}` stores (unless XTS) and
  broadcasts each; `{"raw": "..."}` sends that text as a donation.add payload, not stored.
  Returns `{"ids": [...]}`.
- `POST /_sandbox/imraising/delete {"_id"}`: deletes and broadcasts donation.delete.
- `POST /_sandbox/imraising/events {"text"}`: raw SSE text, written verbatim to streams.
- `POST /_sandbox/imraising/faults`: `drop_streams`, `hang_streams`, `trickle_seconds` (open
  streams hold their events and send one byte of a never-finished comment line every that
  many seconds; 0 ends it), `fail_next` + `status` + `name`, `malformed_json_next`,
  `deep_json_next` (a reply of 100,000 `[`), `huge_reply_next` (a valid empty list padded
  to 16 MB), `heartbeat_seconds`, `retry_ms`, `send_ids`,
  `bom`, `clear`.
- `GET /_sandbox/imraising/state`: `{"open_streams", "requests" (last 500 /api/v1 calls),
  "donations"}`.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

__all__ = ["ADVANCED_KEY", "LIMITED_KEY", "ImRaisingState", "routes"]

ADVANCED_KEY = "sbxAdvancedKey-0000001"
LIMITED_KEY = "sbxLimitedKey-00000001"
ADVANCED, LIMITED = "advanced", "limited"
TEST_CURRENCY = "XTS"
KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{22}")
HEADER_SHAPE = re.compile(r'\s*APIKey\s+apikey="([^"]*)"\s*', re.IGNORECASE)
SORT_FIELDS = {"nickname", "amount", "time"}
MAX_LIMIT = 100
DEFAULT_LIMIT = 10
NICKNAME_MAX = 27
MESSAGE_MAX = 300
REQUEST_LOG_SIZE = 500
REPLAY_SIZE = 1000
CLOSE = object()  # queued to a stream: end the response now
WAKE = object()  # queued to a stream: look at the faults again (a trickle starts at once)
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
DEEP_JSON = "[" * 100_000
HUGE_JSON = "[" + " " * (16 * 1024 * 1024) + "]"  # valid, empty, 16 MB


class ApiError(Exception):
    """A documented error reply: status and `{"name", "message"}`."""

    def __init__(self, status: int, name: str, message: str = ""):
        super().__init__(message)
        self.status, self.name, self.message = status, name, message

    def response(self) -> JSONResponse:
        return JSONResponse({"name": self.name, "message": self.message}, status_code=self.status)


def _now_iso() -> str:
    return _iso(datetime.now(UTC))


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_date(value: str, name: str) -> datetime:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "InvalidParameter", f"{name} must be an ISO-8601 date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _decimal(value: object) -> Decimal | None:
    """The numeric value of a stored amount, or None when it is not a finite number."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


@dataclass
class Faults:
    hang: bool = False
    fail_next: int = 0
    fail_status: int = 503
    fail_name: str = "ServiceUnavailable"
    malformed_json_next: int = 0
    deep_json_next: int = 0
    huge_reply_next: int = 0
    trickle_seconds: float = 0.0
    heartbeat_seconds: float = 15.0
    retry_ms: int = 10000
    send_ids: bool = False
    bom: bool = False


@dataclass
class ImRaisingState:
    """One imitated ImRaising account: its donations, open streams and injected faults."""

    keys: dict[str, str] = field(
        default_factory=lambda: {ADVANCED_KEY: ADVANCED, LIMITED_KEY: LIMITED}
    )
    donations: dict[str, dict] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    requests: deque = field(default_factory=lambda: deque(maxlen=REQUEST_LOG_SIZE))
    streams: set[asyncio.Queue] = field(default_factory=set)
    replay: deque = field(default_factory=lambda: deque(maxlen=REPLAY_SIZE))
    next_event_id: int = 1
    hang_cleared: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None  # the server's, once a stream opened

    # --- donations ---------------------------------------------------------------------------

    def add_donation(self, spec: dict, *, broadcast: bool = True) -> str:
        """Store a donation (unless it is a test one) and announce it to every listener."""
        donation = {
            "_id": str(spec.get("_id") or secrets.token_hex(12)),
            "nickname": spec.get("nickname", ""),
            "time": spec.get("time") or _now_iso(),
            "amount": {
                "display": {
                    "total": spec.get("amount", "0"),
                    "currency": spec.get("currency", "USD"),
                }
            },
        }
        if spec.get("message") is not None:
            donation["message"] = spec["message"]
        if donation["amount"]["display"]["currency"] != TEST_CURRENCY:
            self.donations[donation["_id"]] = donation
        if broadcast:
            self.broadcast("donation.add", _pretty(donation))
        return donation["_id"]

    def delete_donation(self, donation_id: str, *, broadcast: bool = True) -> bool:
        found = self.donations.pop(donation_id, None) is not None
        if broadcast:
            self.broadcast("donation.delete", _pretty({"_id": donation_id}))
        return found

    def generate(self, rng: random.Random) -> None:
        """A plausible random donation, stored and broadcast (the demo's generator)."""
        cents = rng.randint(100, 10000)
        amount: object = f"{cents / 100:.2f}" if rng.random() < 0.8 else cents / 100
        spec = {"nickname": rng.choice(NICKNAMES), "amount": amount, "currency": "USD"}
        if rng.random() < 0.7:
            spec["message"] = rng.choice(MESSAGES)
        self.add_donation(spec)
        if rng.random() < 0.03:
            # Upstream says to ignore events it does not document; keep clients honest.
            self.broadcast("donation.update", _pretty({"_id": secrets.token_hex(12)}))

    def listed(self, start: datetime | None, end: datetime | None) -> list[dict]:
        """Stored donations within [start, end) by their own time."""
        rows = []
        for donation in self.donations.values():
            try:
                moment = _parse_date(str(donation["time"]), "time")
            except ApiError:
                continue
            if (start and moment < start) or (end and moment >= end):
                continue
            rows.append(donation)
        return rows

    # --- streams -------------------------------------------------------------------------------

    def broadcast(self, event: str, data: str, *, event_id: str | None = None) -> None:
        lines = []
        if self.faults.send_ids:
            event_id = event_id or str(self.next_event_id)
            self.next_event_id += 1
            lines.append(f"id: {event_id}")
        lines.append(f"event: {event}")
        lines.extend(f"data: {line}" for line in data.split("\n"))
        text = "\n".join(lines) + "\n\n"
        if event_id is not None:
            self.replay.append((int(event_id), text))
        self.write_raw(text)

    def write_raw(self, text: str) -> None:
        self._to_streams(text)

    def drop_streams(self) -> None:
        self._to_streams(CLOSE)

    def _to_streams(self, item: object) -> None:
        """Queue an item for every open stream, from the server's loop or any other thread
        (a test may call `add_donation` directly; asyncio queues are not thread-safe)."""
        try:
            on_loop = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            on_loop = False
        for queue in list(self.streams):
            if on_loop or self.loop is None:
                queue.put_nowait(item)
            else:
                self.loop.call_soon_threadsafe(queue.put_nowait, item)

    async def close_streams(self) -> None:
        self.drop_streams()
        await asyncio.sleep(0)

    def events_after(self, last_event_id: str) -> list[str]:
        try:
            after = int(last_event_id)
        except ValueError:
            return []
        return [text for event_id, text in self.replay if event_id > after]

    def set_hang(self, hang: bool) -> None:
        self.faults.hang = hang
        if self.hang_cleared is None:
            self.hang_cleared = asyncio.Event()
        if hang:
            self.hang_cleared.clear()
        else:
            self.hang_cleared.set()

    async def wait_while_hung(self) -> None:
        if self.faults.hang and self.hang_cleared is not None:
            await self.hang_cleared.wait()


def _pretty(document: dict) -> str:
    # Upstream's examples spread the JSON over several lines; ensure_ascii=False keeps
    # emoji, RTL text and U+2028 raw on the wire, as a real server would send them.
    return _well_formed(json.dumps(document, indent=4, ensure_ascii=False))


def _well_formed(text: str) -> str:
    """JSON text with lone surrogates escaped, as `JSON.stringify` writes them (they can only
    be inside strings, and UTF-8 cannot carry them raw)."""
    return LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class _JSON(JSONResponse):
    def render(self, content: object) -> bytes:
        return _well_formed(json.dumps(content, ensure_ascii=False)).encode("utf-8")


# --- request handling ----------------------------------------------------------------------


def _log_request(state: ImRaisingState, request: Request) -> None:
    state.requests.append(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "last_event_id": request.headers.get("last-event-id"),
            "at": time.time(),
        }
    )


def _api_key(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is not None:
        match = HEADER_SHAPE.fullmatch(header)
        return match.group(1) if match else None
    return request.query_params.get("apikey")


def _authenticate(state: ImRaisingState, request: Request, *, advanced: bool) -> None:
    key = _api_key(request)
    if key is None or not KEY_SHAPE.fullmatch(key):
        raise ApiError(401, "Unauthorized", "An API key is required")
    mode = state.keys.get(key)
    if mode is None:
        raise ApiError(401, "Authentication.InvalidAPIKey", "The API key was not found")
    if advanced and mode != ADVANCED:
        raise ApiError(
            403, "Authentication.ModeUnacceptable", "This endpoint requires an Advanced API key"
        )


def _injected_failure(state: ImRaisingState) -> None:
    if state.faults.fail_next > 0:
        state.faults.fail_next -= 1
        raise ApiError(state.faults.fail_status, state.faults.fail_name, "Injected failure")


def _int_param(request: Request, name: str, default: int, *, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "InvalidParameter", f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApiError(400, "InvalidParameter", f"{name} must be {bounds}")
    return value


def _date_params(request: Request) -> tuple[datetime | None, datetime | None]:
    values = []
    for name in ("startDate", "endDate"):
        raw = request.query_params.get(name)
        values.append(_parse_date(raw, name) if raw else None)
    return values[0], values[1]


def _json_reply(state: ImRaisingState, body: object) -> Response:
    if state.faults.malformed_json_next > 0:
        state.faults.malformed_json_next -= 1
        return Response('[{"_id": "broken', media_type="application/json", headers=_CORS)
    if state.faults.deep_json_next > 0:
        state.faults.deep_json_next -= 1
        return Response(DEEP_JSON, media_type="application/json", headers=_CORS)
    if state.faults.huge_reply_next > 0:
        state.faults.huge_reply_next -= 1
        return Response(HUGE_JSON, media_type="application/json", headers=_CORS)
    return _JSON(body, headers=_CORS)


_CORS = {"Access-Control-Allow-Origin": "*"}


def _endpoint(state: ImRaisingState, handlers: dict):
    """One documented URL: request log, injected faults, method check, then the handler."""

    async def endpoint(request: Request) -> Response:
        _log_request(state, request)
        try:
            _injected_failure(state)
            handler = handlers.get(request.method)
            if handler is None:
                raise ApiError(405, "MethodNotAllowed", f"{request.method} is not allowed here")
            return await handler(request)
        except ApiError as error:
            return error.response()

    return endpoint


def _sort_key(field_name: str):
    def key(donation: dict):
        if field_name == "amount":
            return _decimal(donation["amount"]["display"]["total"]) or Decimal(0)
        if field_name == "time":
            return str(donation["time"])
        return str(donation.get("nickname", ""))

    return key


def _page(request: Request, rows: list) -> list:
    offset = _int_param(request, "offset", 0, low=0, high=None)
    limit = _int_param(request, "limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    return rows[offset : offset + limit]


def _sums(rows: list[dict], key) -> dict[tuple, Decimal]:
    sums: dict[tuple, Decimal] = {}
    for donation in rows:
        amount = _decimal(donation["amount"]["display"]["total"])
        if amount is None:
            continue
        group = (*key(donation), donation["amount"]["display"]["currency"])
        sums[group] = sums.get(group, Decimal(0)) + amount
    return sums


def routes(state: ImRaisingState) -> list:
    async def list_donations(request: Request) -> Response:
        _authenticate(state, request, advanced=True)
        sort = request.query_params.get("sort", "-time")
        if sort.lstrip("-") not in SORT_FIELDS:
            raise ApiError(400, "InvalidParameter", "sort must be nickname, amount or time")
        rows = sorted(state.listed(*_date_params(request)), key=lambda d: d["_id"])
        rows.sort(key=_sort_key(sort.lstrip("-")), reverse=sort.startswith("-"))
        return _json_reply(state, _page(request, rows))

    async def send_test_donation(request: Request) -> Response:
        _authenticate(state, request, advanced=False)
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "InvalidParameter", "the body must be JSON") from None
        amount = body.get("amount") if isinstance(body, dict) else None
        if isinstance(amount, bool) or not isinstance(amount, int | float | str):
            raise ApiError(400, "InvalidParameter", "amount must be a number")
        number = _decimal(amount)
        if number is None or number <= 0:
            raise ApiError(400, "InvalidParameter", "amount must be a positive number")
        message = body.get("message")
        if message is not None and (not isinstance(message, str) or len(message) > MESSAGE_MAX):
            raise ApiError(400, "InvalidParameter", "message must be at most 300 characters")
        spec = {"nickname": "Test Donation", "amount": amount, "currency": TEST_CURRENCY}
        if message is not None:
            spec["message"] = message
        state.add_donation(spec)
        return Response(status_code=204, headers={"Content-Type": "application/json", **_CORS})

    async def totals(request: Request) -> Response:
        _authenticate(state, request, advanced=True)
        sums = _sums(state.listed(*_date_params(request)), lambda d: ())
        body = [{"total": _money(t), "currency": c} for (c,), t in sorted(sums.items())]
        return _json_reply(state, body)

    async def donor_totals(request: Request) -> Response:
        _authenticate(state, request, advanced=True)
        nickname = request.query_params.get("nickname")
        if not nickname:
            raise ApiError(400, "InvalidParameter", "nickname is required")
        if len(nickname) > NICKNAME_MAX:
            raise ApiError(400, "InvalidParameter", "nickname must be at most 27 characters")
        rows = [d for d in state.listed(*_date_params(request)) if d["nickname"] == nickname]
        sums = _sums(rows, lambda d: ())
        body = [
            {"nickname": nickname, "amount": {"total": _money(t), "currency": c}}
            for (c,), t in sorted(sums.items())
        ]
        return _json_reply(state, body)

    async def top_donors(request: Request) -> Response:
        _authenticate(state, request, advanced=True)
        rows = sorted(state.listed(*_date_params(request)), key=lambda d: str(d["time"]))
        latest = {d["nickname"]: d.get("message", "") for d in rows}
        sums = _sums(rows, lambda d: (d["nickname"],))
        ranked = sorted(sums.items(), key=lambda item: (-item[1], item[0]))
        body = [
            {
                "nickname": nickname,
                "amount": {"total": _money(total), "currency": currency},
                "latestMessage": latest.get(nickname, ""),
            }
            for (nickname, currency), total in ranked
        ]
        return _json_reply(state, _page(request, body))

    async def listen(request: Request) -> Response:
        _authenticate(state, request, advanced=False)
        accept = request.headers.get("accept", "")
        if accept and not any(kind in accept for kind in ("text/event-stream", "*/*", "text/*")):
            raise ApiError(406, "NotAcceptable", "this endpoint serves text/event-stream")
        replay = []
        if state.faults.send_ids and request.headers.get("last-event-id"):
            replay = state.events_after(request.headers["last-event-id"])
        return StreamingResponse(
            _event_stream(state, replay),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "Connection": "keep-alive", **_CORS},
        )

    return [
        Route("/api/v1/listen", _endpoint(state, {"GET": listen}), methods=_ALL),
        Route(
            "/api/v1/donations",
            _endpoint(state, {"GET": list_donations, "POST": send_test_donation}),
            methods=_ALL,
        ),
        Route("/api/v1/donations/total", _endpoint(state, {"GET": totals}), methods=_ALL),
        Route(
            "/api/v1/donations/total/donor", _endpoint(state, {"GET": donor_totals}), methods=_ALL
        ),
        Route("/api/v1/topDonors", _endpoint(state, {"GET": top_donors}), methods=_ALL),
        *_control_routes(state),
    ]


_ALL = ["GET", "POST", "PUT", "PATCH", "DELETE"]


async def _event_stream(state: ImRaisingState, replay: list[str]):
    queue: asyncio.Queue = asyncio.Queue()
    state.loop = asyncio.get_running_loop()
    state.streams.add(queue)
    try:
        preamble = "\ufeff" if state.faults.bom else ""
        yield f"{preamble}:\nretry: {state.faults.retry_ms}\n\n"
        for text in replay:
            yield text
        trickling = False
        while True:
            if state.faults.hang:
                await state.wait_while_hung()
                _drain(queue)  # a hung connection delivered nothing; those events are lost
                continue
            if state.faults.trickle_seconds > 0:
                # Alive to TCP and to a per-read timeout, yet no line ever completes.
                yield "." if trickling else ":"
                trickling = True
                if await _discard_for(queue, state.faults.trickle_seconds):
                    return
                continue
            if trickling:
                yield "\n\n"  # the trickle ended: finish its comment line
                trickling = False
            try:
                item = await asyncio.wait_for(queue.get(), timeout=state.faults.heartbeat_seconds)
            except TimeoutError:
                if not state.faults.hang:
                    yield ": heartbeat\n\n"
                continue
            if item is CLOSE:
                return
            if item is WAKE:
                continue
            if not state.faults.hang:
                yield item
    finally:
        state.streams.discard(queue)


async def _discard_for(queue: asyncio.Queue, seconds: float) -> bool:
    """Wait `seconds`, losing what is queued meanwhile; True if the stream is to close."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                if await queue.get() is CLOSE:
                    return True
    except TimeoutError:
        return False


def _drain(queue: asyncio.Queue) -> None:
    """Forget queued events, but keep a pending close so a drop still ends the stream."""
    closing = False
    while not queue.empty():
        closing = closing or queue.get_nowait() is CLOSE
    if closing:
        queue.put_nowait(CLOSE)


# --- control endpoints (tests, demo) -----------------------------------------------------


def _control_routes(state: ImRaisingState) -> list:
    async def post_donations(request: Request) -> JSONResponse:
        body = await request.json()
        specs = body if isinstance(body, list) else [body]
        ids = []
        for spec in specs:
            if "raw" in spec:
                state.broadcast("donation.add", str(spec["raw"]))
                continue
            ids.append(state.add_donation(spec, broadcast=spec.get("broadcast", True)))
        return JSONResponse({"ids": ids})

    async def delete(request: Request) -> JSONResponse:
        body = await request.json()
        found = state.delete_donation(str(body["_id"]), broadcast=body.get("broadcast", True))
        return JSONResponse({"deleted": found})

    async def events(request: Request) -> JSONResponse:
        body = await request.json()
        state.write_raw(str(body["text"]))
        return JSONResponse({"streams": len(state.streams)})

    async def faults(request: Request) -> JSONResponse:
        _apply_faults(state, await request.json())
        return JSONResponse(vars(state.faults))

    async def describe(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "open_streams": len(state.streams),
                "requests": list(state.requests),
                "donations": len(state.donations),
            }
        )

    prefix = "/_sandbox/imraising"
    return [
        Route(f"{prefix}/donations", post_donations, methods=["POST"]),
        Route(f"{prefix}/delete", delete, methods=["POST"]),
        Route(f"{prefix}/events", events, methods=["POST"]),
        Route(f"{prefix}/faults", faults, methods=["POST"]),
        Route(f"{prefix}/state", describe, methods=["GET"]),
    ]


def _apply_faults(state: ImRaisingState, body: dict) -> None:
    faults = state.faults
    if body.get("clear"):
        state.set_hang(False)
        state.faults = Faults(
            heartbeat_seconds=faults.heartbeat_seconds,
            retry_ms=faults.retry_ms,
            send_ids=faults.send_ids,
            bom=faults.bom,
        )
        faults = state.faults
    if body.get("drop_streams"):
        state.drop_streams()
    if "hang_streams" in body:
        state.set_hang(bool(body["hang_streams"]))
    if "fail_next" in body:
        faults.fail_next = int(body["fail_next"])
        faults.fail_status = int(body.get("status", 503))
        faults.fail_name = str(body.get("name") or _DEFAULT_NAMES.get(faults.fail_status, "Error"))
    if "malformed_json_next" in body:
        faults.malformed_json_next = int(body["malformed_json_next"])
    if "deep_json_next" in body:
        faults.deep_json_next = int(body["deep_json_next"])
    if "huge_reply_next" in body:
        faults.huge_reply_next = int(body["huge_reply_next"])
    for name, cast in (
        ("trickle_seconds", float),
        ("heartbeat_seconds", float),
        ("retry_ms", int),
        ("send_ids", bool),
        ("bom", bool),
    ):
        if name in body:
            setattr(faults, name, cast(body[name]))
    if faults.trickle_seconds > 0:
        state._to_streams(WAKE)  # events queued after this are held behind the trickle


_DEFAULT_NAMES = {
    401: "Unauthorized",
    403: "Authentication.ModeUnacceptable",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}

NICKNAMES = [
    "Alex",
    "Maya R.",
    "Jörg",
    "Zoë",
    "山田太郎",
    "محمد",
    "שרה",
    "Kofi 🎉",
    "NightOwl_42",
    "pixelpusher",
    "Anonymous Otter",
    "Ingrid",
    "Chen Wei",
    "María José",
    "xX_SpeedRunner_Xx",
    "Дмитрий",
    "Priya",
    "🦊 Fox",
]
MESSAGES = [
    "Good luck everyone!",
    "For the kids ❤️",
    "Keep going!!",
    "Matching my friend's donation",
    "Greetings from Berlin 👋",
    "שלום מתל אביב",
    "Love this cause.",
    "Hype! 🚀🚀🚀",
    "In memory of my grandmother",
    "First time donating, great stream",
    # The demo marathon's tags (fundboard/incentives/demo.py): exact, ambiguous, misspelt.
    "#zelda all the way!",
    "Blindfold run please #blindfold",
    "#link",
    "#bonus games!",
    "#link #zelda",
    "half to zelda, half to navi",
    "#zleda!!",
    "#blindfodl",
]
