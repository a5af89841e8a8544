"""The ImRaising client: parsing upstream documents, and the REST calls against the sandbox."""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from fundboard.providers import imraising
from fundboard.providers.errors import (
    AuthError,
    BadData,
    BadRecord,
    PermissionDenied,
    UpstreamUnavailable,
)
from fundboard.providers.http import HTTPStatusError
from fundboard.sandbox.imraising import ADVANCED_KEY, LIMITED_KEY

from .support import LOOPBACK_TLS, http, wait_for


def document(**overrides) -> dict:
    doc = {
        "_id": "ffffffffffffffffffffffff",
        "nickname": "Ann",
        "message": "Go!",
        "time": "2026-03-01T12:00:00.000Z",
        "amount": {"display": {"total": "12.50", "currency": "USD"}},
    }
    doc.update(overrides)
    return doc


def amount(value, currency="USD") -> dict:
    return {"display": {"total": value, "currency": currency}}


@pytest.mark.parametrize("value", ["12.50", 12.5, "12.5", " 12.50 "])
def test_amount_as_float_string_or_number(value):
    record = imraising.parse_donation(document(amount=amount(value)))
    assert record.amount == Decimal("12.50")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("NaN", "finite"),
        (float("nan"), "finite"),
        ("Infinity", "finite"),
        (float("inf"), "finite"),
        (-1, "positive"),
        ("-0.01", "positive"),
        (0, "positive"),
        (1e12, "maximum"),
        ("12,50", "not a number"),
        (None, "missing"),
        (True, "missing"),
    ],
)
def test_bad_amounts_are_rejected_with_a_reason(value, reason):
    with pytest.raises(BadRecord, match=reason):
        imraising.parse_donation(document(amount=amount(value)))


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"_id": None}, "_id"),
        ({"_id": ""}, "_id"),
        ({"amount": None}, "amount.display"),
        ({"amount": {"total": "5"}}, "amount.display"),
        ({"amount": amount("5", currency="dollars")}, "currency"),
        ({"amount": amount("5", currency=None)}, "currency"),
        ({"time": "last tuesday"}, "time"),
    ],
)
def test_missing_or_malformed_fields_are_rejected(overrides, reason):
    with pytest.raises(BadRecord, match=reason):
        imraising.parse_donation(document(**overrides))


def test_a_full_document_becomes_a_record():
    record = imraising.parse_donation(document())
    assert record.upstream_id == "ffffffffffffffffffffffff"
    assert (record.display_name, record.message, record.currency) == ("Ann", "Go!", "USD")
    assert record.donated_at == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert not record.is_test


def test_test_currency_missing_message_and_time():
    doc = document(amount=amount(5, "XTS"))
    del doc["message"], doc["time"]
    record = imraising.parse_donation(doc)
    assert record.is_test and record.message == ""
    assert abs((datetime.now(UTC) - record.donated_at).total_seconds()) < 5


def test_long_nicknames_are_capped_and_script_is_kept_as_text():
    record = imraising.parse_donation(document(nickname="N" * 40, message="<script>x</script>"))
    assert len(record.display_name) == 27 and record.display_name.endswith("…")
    assert record.message == "<script>x</script>"  # escaping is the page's job


def test_event_data_with_bom_and_several_lines():
    text = '\ufeff{\n    "_id": "abc",\n    "nickname": "Zoë"\n}'
    assert imraising.decode_event_data(text) == {"_id": "abc", "nickname": "Zoë"}
    for bad in ("", "   ", "[1, 2]", '{"_id": "abc"', "NaN?"):
        with pytest.raises(BadRecord):
            imraising.decode_event_data(bad)
    assert imraising.parse_removal({"_id": "abc"}).upstream_id == "abc"
    with pytest.raises(BadRecord):
        imraising.parse_removal({})


# --- against the sandbox over real HTTP ---------------------------------------------------


def control(server, path: str, body) -> dict:
    response = http.post(f"{server.url}/_sandbox/imraising/{path}", json=body, timeout=5)
    response.raise_for_status()
    return response.json()


def run(coro):
    return asyncio.run(coro)


async def collect_pages(url: str, start=None, page_size: int = 100):
    async with imraising.ImRaisingClient(url, ADVANCED_KEY, page_size=page_size) as client:
        return [page async for page in client.backfill_since(start)]


def test_backfill_pages_until_a_short_page_and_keeps_bad_records_apart(sandbox_server):
    specs = [
        {"_id": f"{i:024x}", "nickname": f"d{i}", "amount": "1.00",
         "time": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}.000Z"}
        for i in range(250)
    ]  # fmt: skip
    specs[7]["amount"] = "NaN"
    control(sandbox_server, "donations", specs)
    pages = run(collect_pages(sandbox_server.url))
    assert [page.size for page in pages] == [100, 100, 50]
    ids = [r.upstream_id for page in pages for r in page.records]
    assert len(ids) == len(set(ids)) == 249
    assert ids == sorted(ids)  # oldest first
    assert len(pages[0].rejected) == 1 and "finite" in pages[0].rejected[0]

    since = run(collect_pages(sandbox_server.url, datetime(2026, 1, 1, 0, 4, tzinfo=UTC)))
    assert sum(len(p.records) for p in since) == 10  # 00:04:00 .. 00:04:09

    log = http.get(f"{sandbox_server.url}/_sandbox/imraising/state").json()["requests"]
    assert all("apikey" not in r["query"].lower() for r in log)  # the key stays in the header
    assert "sort=time" in log[0]["query"] and "limit=100" in log[0]["query"]


def test_exact_page_multiple_ends_with_an_empty_page(sandbox_server):
    control(sandbox_server, "donations", [{"nickname": "a", "amount": "2"}] * 4)
    pages = run(collect_pages(sandbox_server.url, page_size=2))
    assert [page.size for page in pages] == [2, 2, 0]


def test_totals_top_donors_and_test_donation(sandbox_server):
    control(
        sandbox_server,
        "donations",
        [
            {"nickname": "Ann", "amount": "10.00"},
            {"nickname": "Ann", "amount": 2.5},
            {"nickname": "Bob", "amount": "1.00", "currency": "EUR"},
        ],
    )

    async def calls():
        async with imraising.ImRaisingClient(sandbox_server.url, ADVANCED_KEY) as client:
            return await client.donations_total(), await client.top_donors()

    totals, top = run(calls())
    assert {(t.currency, t.total) for t in totals} == {
        ("USD", Decimal("12.50")),
        ("EUR", Decimal("1.00")),
    }
    assert top[0] == imraising.TopDonor("Ann", Decimal("12.50"), "USD", "")

    imraising.send_test_donation(sandbox_server.url, LIMITED_KEY, Decimal("3.50"), "hi")
    log = http.get(f"{sandbox_server.url}/_sandbox/imraising/state").json()
    assert log["requests"][-1]["method"] == "POST" and log["donations"] == 3
    with pytest.raises(AuthError):
        imraising.send_test_donation(sandbox_server.url, "z" * 22, 1)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"fail_next": 1, "status": 401, "name": "Authentication.InvalidAPIKey"}, AuthError),
        ({"fail_next": 1, "status": 403}, PermissionDenied),
        ({"fail_next": 1, "status": 500}, UpstreamUnavailable),
        ({"fail_next": 1, "status": 503}, UpstreamUnavailable),
        ({"malformed_json_next": 1}, BadData),
        ({"deep_json_next": 1}, BadData),  # not a RecursionError
        ({"huge_reply_next": 1}, BadData),  # refused past 4 MB, never held whole
    ],
)
def test_http_failures_become_typed_errors(sandbox_server, fault, error):
    control(sandbox_server, "faults", fault)
    with pytest.raises(error) as raised:
        run(collect_pages(sandbox_server.url))
    assert ADVANCED_KEY not in str(raised.value)
    assert len(str(raised.value)) < 300


def test_limited_key_cannot_list_and_429_carries_retry_after(sandbox_server):
    async def listing(key):
        async with imraising.ImRaisingClient(sandbox_server.url, key) as client:
            return [page async for page in client.backfill_since(None)]

    with pytest.raises(PermissionDenied, match="ModeUnacceptable"):
        run(listing(LIMITED_KEY))
    response = httpx.Response(429, headers={"retry-after": "7"}, json={"name": "TooMany"})
    limited = imraising.error_for_response(response)
    assert limited.retry_after == 7
    bad_request = imraising.error_for_response(httpx.Response(400, json={"name": "Invalid"}))
    # The shared HTTP layer's mapping: any other 4xx is the request refused.
    assert isinstance(bad_request, HTTPStatusError) and bad_request.status == 400


def test_unreachable_upstream_is_unavailable():
    from fundboard.sandbox.server import free_port

    with pytest.raises(UpstreamUnavailable):
        run(collect_pages(f"http://127.0.0.1:{free_port()}"))


def test_sandbox_counts_the_test_donation_on_the_stream(sandbox_server):
    # A listener sees the XTS donation the dashboard sends.
    received = []

    def listen():
        with (
            httpx.Client(verify=LOOPBACK_TLS, timeout=httpx.Timeout(5, read=10)) as client,
            client.stream(
                "GET",
                sandbox_server.url + "/api/v1/listen",
                headers=imraising.auth_headers(ADVANCED_KEY),
            ) as response,
        ):
            for chunk in response.iter_text():
                received.append(chunk)
                if "XTS" in "".join(received):
                    return

    import threading

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    wait_for(lambda: "retry" in "".join(received))
    imraising.send_test_donation(sandbox_server.url, ADVANCED_KEY, 4, "test")
    thread.join(timeout=5)
    assert '"XTS"' in "".join(received)


# --- the listen call, over httpx.MockTransport speaking the documented stream ---------------

DONATION_EVENT = (
    "event: donation.add\n"
    'data: {"_id": "a1", "nickname": "Ann",\n'
    'data:  "amount": {"display": {"total": "5.00", "currency": "USD"}}}\n\n'
)


def stream_transport(
    *chunks: bytes, status: int = 200, content_type="text/event-stream", seen=None
):
    """Upstream's `/api/v1/listen`, answering with `chunks` as they would arrive."""

    async def body():
        for chunk in chunks:
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if status != 200:
            return httpx.Response(status, json={"name": "Authentication.InvalidAPIKey"})
        return httpx.Response(200, headers={"content-type": content_type}, content=body())

    return httpx.MockTransport(handler)


async def listened(transport, position=None, read_timeout=2.0) -> list:
    position = position or imraising.StreamPosition()
    events = []
    with pytest.raises(imraising.StreamEnded):
        async with imraising.listen(
            "https://imraising.test", "key-1", position, read_timeout=read_timeout,
            transport=transport,
        ) as stream:  # fmt: skip
            async for event in stream.events():
                events.append(event)
    return events


def test_listen_yields_typed_events_and_keeps_the_position():
    seen: list[httpx.Request] = []
    transport = stream_transport(
        b"\xef\xbb\xbf:\nretry: 10000\n\n",  # a leading BOM, a comment, the retry field
        b"id: 7\n" + DONATION_EVENT.encode(),
        b": heartbeat\n\n",  # after an id: no empty event comes out of it
        b'id: 8\nevent: donation.delete\ndata: {"_id": "a1"}\n\n',
        b'event: donation.update\ndata: {"_id": "a1"}\n\n',  # undocumented: ignored
        b"event: donation.add\ndata: {not json\n\n",
        b"id: 9\n\n",  # an id alone moves the cursor, yields nothing
        seen=seen,
    )
    position = imraising.StreamPosition(last_event_id="6")
    events = asyncio.run(listened(transport, position))
    assert [type(e).__name__ for e in events] == [
        "DonationAdded", "DonationDeleted", "EventRejected",
    ]  # fmt: skip
    added, deleted, rejected = events
    assert (added.record.upstream_id, added.record.amount, added.event_id) == (
        "a1",
        Decimal("5.00"),
        "7",
    )
    assert (deleted.record.upstream_id, deleted.event_id) == ("a1", "8")
    assert rejected.reason.startswith("donation.add: event data rejected")
    assert (position.last_event_id, position.retry_ms) == ("9", 10000)
    request = seen[0]
    assert request.headers["authorization"] == 'APIKey apikey="key-1"'
    assert request.headers["last-event-id"] == "6"
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["user-agent"].startswith("Fundboard/")


def test_listen_checks_the_status_and_the_content_type():
    with pytest.raises(AuthError, match="Authentication.InvalidAPIKey"):
        asyncio.run(listened(stream_transport(status=401)))
    with pytest.raises(BadData, match="text/event-stream"):
        asyncio.run(listened(stream_transport(b"{}", content_type="application/json")))


def test_listen_rejects_a_too_large_event_alone_and_ends_on_a_too_long_line():
    from fundboard.providers.imraising import sse

    huge = b"event: donation.add\n" + b"data: x\n" * (sse.MAX_DATA // 2 + 10) + b"\n"
    events = asyncio.run(listened(stream_transport(huge, DONATION_EVENT.encode())))
    assert [type(e).__name__ for e in events] == ["EventRejected", "DonationAdded"]
    assert "larger than the stream's bound" in events[0].reason
    endless = b"data: " + b"x" * (sse.MAX_LINE + 10)
    with pytest.raises(BadData, match="longer than"):
        asyncio.run(listened(stream_transport(endless)))


def test_listen_ends_a_stream_that_trickles_without_a_whole_line():
    async def trickle():
        yield b":\n\n"
        while True:
            await asyncio.sleep(0.05)
            yield b"."  # bytes, never a line: httpx's own read timeout never fires

    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=trickle()
        )
    )

    async def scenario():
        async with imraising.listen(
            "https://imraising.test", "k", imraising.StreamPosition(), read_timeout=0.3,
            transport=transport,
        ) as stream:  # fmt: skip
            async for _ in stream.events():
                pass

    with pytest.raises(UpstreamUnavailable, match="stalled"):
        asyncio.run(scenario())
