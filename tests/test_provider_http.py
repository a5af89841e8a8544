"""The one HTTP layer of the upstream clients (providers/http.py, providers/conditional.py).

Driven over httpx.MockTransport: the real clients, settings and error mapping, with the
upstream replaced by a function that answers as a platform would.
"""

import asyncio
import time
from email.utils import formatdate

import httpx
import pytest

from fundboard.providers import http
from fundboard.providers.actionnetwork.fetching import read_collection
from fundboard.providers.conditional import NOT_MODIFIED, ConditionalGetter
from fundboard.providers.errors import (
    AuthError,
    BadData,
    PermissionDenied,
    RateLimited,
    UpstreamUnavailable,
)

API = "https://api.example.org"


def _recording(reply):
    """A transport answering with `reply(request)` and the list of requests it saw."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return reply(request)

    return httpx.MockTransport(handler), seen


def test_every_client_says_who_calls_with_the_package_version():
    transport, seen = _recording(lambda request: httpx.Response(200, json={}))
    with http.make_client(transport=transport, headers={"api-key": "k"}) as client:
        client.get(f"{API}/a")

    async def async_call():
        async with http.make_async_client(transport=transport) as client:
            await client.get(f"{API}/b")

    asyncio.run(async_call())
    agents = {request.headers["User-Agent"] for request in seen}
    assert len(agents) == 1 and agents.pop().startswith("Fundboard/0.1")
    assert seen[0].headers["api-key"] == "k"  # the caller's headers go along with it


def test_shared_settings_bound_connecting_and_never_follow_redirects():
    options = http.client_options(30.0)
    assert options["follow_redirects"] is False
    assert options["timeout"].read == 30.0 and options["timeout"].connect == http.CONNECT_TIMEOUT
    assert http.client_options(1.0)["timeout"].connect == 1.0  # never longer than the whole
    assert options["limits"] is http.CONNECTION_LIMITS


def test_a_redirect_elsewhere_is_an_error_and_the_key_never_leaves():
    def reply(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.example.org":
            return httpx.Response(302, headers={"Location": "https://elsewhere.example/x"})
        return httpx.Response(200, json={"stolen": True})

    transport, seen = _recording(reply)
    with http.make_client(transport=transport) as client:
        getter = ConditionalGetter(client, {})
        with pytest.raises(http.HTTPStatusError) as refused:
            getter.get_json(f"{API}/pages", key="pages", what="pages", headers={"api-key": "k"})
    assert refused.value.status == 302
    assert [request.url.host for request in seen] == ["api.example.org"]


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (401, AuthError),
        (403, PermissionDenied),
        (429, RateLimited),
        (500, UpstreamUnavailable),
        (503, UpstreamUnavailable),
        (404, http.HTTPStatusError),
        (301, http.HTTPStatusError),
    ],
)
def test_each_status_is_one_typed_error_with_the_callers_words(status, error_type):
    response = httpx.Response(status, headers={"Retry-After": "7"})
    error = http.error_for_status(response, "P2P totals: refused")
    assert type(error) is error_type and str(error) == "P2P totals: refused"
    if status in (429, 500, 503):
        assert error.retry_after == 7.0
    assert http.error_for_status(httpx.Response(204), "fine") is None


def test_raise_for_status_quotes_a_short_error_field_never_the_body():
    body = {"error": "Database\nunavailable " + "x" * 5000, "secret": "do not show"}
    response = httpx.Response(503, json=body, request=httpx.Request("GET", f"{API}/?apiKey=k"))
    with pytest.raises(UpstreamUnavailable) as caught:
        http.raise_for_status(response, "P2P totals")
    message = str(caught.value)
    assert message.startswith("P2P totals: HTTP 503 (Database unavailable")
    assert "\n" not in message and len(message) < 400
    assert "secret" not in message and "apiKey" not in message


def test_retry_after_as_seconds_or_as_an_http_date():
    assert http.parse_retry_after("120") == 120.0
    assert http.parse_retry_after(" 2.5 ") == 2.5
    assert http.parse_retry_after("-3") == 0.0
    in_a_minute = formatdate(time.time() + 60, usegmt=True)
    assert 55 <= http.parse_retry_after(in_a_minute) <= 60
    assert http.parse_retry_after(formatdate(time.time() - 600, usegmt=True)) == 0.0
    assert http.parse_retry_after("soon") is None
    assert http.parse_retry_after("") is None and http.parse_retry_after(None) is None


def test_a_failed_connection_names_its_kind_never_the_url_with_its_key():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    with http.make_client(transport=httpx.MockTransport(refuse)) as client:
        getter = ConditionalGetter(client, {})
        with pytest.raises(UpstreamUnavailable) as caught:
            getter.get_json(f"{API}/gifts", key="gifts", what="P2P gifts", params={"apiKey": "k1"})
    assert str(caught.value) == "P2P gifts: ConnectError"


def test_a_reply_past_the_bound_is_refused_while_it_is_read():
    chunks_sent = []

    def endless(request: httpx.Request) -> httpx.Response:
        def body():
            for _ in range(100):
                chunks_sent.append(1)
                yield b"x" * 1024

        return httpx.Response(200, content=body())

    with (
        http.make_client(transport=httpx.MockTransport(endless)) as client,
        client.stream("GET", f"{API}/big") as response,
        pytest.raises(BadData, match="larger than 4096 bytes"),
    ):
        http.read_body(response, 4096, "big")
    assert len(chunks_sent) < 100


def test_validators_are_sent_back_and_a_304_is_not_modified():
    def reply(request: httpx.Request) -> httpx.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return httpx.Response(304)
        return httpx.Response(200, json={"n": 1}, headers={"ETag": '"v1"'})

    transport, seen = _recording(reply)
    with http.make_client(transport=transport) as client:
        first = ConditionalGetter(client, {})
        assert first.get_json(f"{API}/t", key="t", what="t") == {"n": 1}
        second = ConditionalGetter(client, dict(first.validators))
        assert second.get_json(f"{API}/t", key="t", what="t") is NOT_MODIFIED
        assert second.all_not_modified and second.validators == first.validators
        plain = ConditionalGetter(client, dict(first.validators), conditional=False)
        assert plain.get_json(f"{API}/t", key="t", what="t") == {"n": 1}
    assert [r.headers.get("If-None-Match") for r in seen] == [None, '"v1"', None]


@pytest.mark.parametrize("embedded", [["a page"], "pages", 3])
def test_a_hal_collection_whose_embedded_is_not_an_object_fails_the_poll(embedded):
    # Read as "no pages", it would set the source's total to zero.
    transport, _ = _recording(
        lambda request: httpx.Response(200, json={"total_pages": 1, "_embedded": embedded})
    )
    with (
        http.make_client(transport=transport) as client,
        pytest.raises(BadData, match="_embedded is not an object"),
    ):
        read_collection(ConditionalGetter(client, {}), API, {"api-key": "k"})


def test_a_hal_next_link_of_the_wrong_shape_falls_back_to_page_numbers():
    def reply(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        members = {"osdi:fundraising_pages": [{"page": page}]}
        return httpx.Response(
            200, json={"total_pages": 2, "_embedded": members, "_links": {"next": "page-2"}}
        )

    transport, seen = _recording(reply)
    with http.make_client(transport=transport) as client:
        pages = read_collection(ConditionalGetter(client, {}), API, {"api-key": "k"})
    assert pages == [{"page": 1}, {"page": 2}]
    assert [r.url.params.get("page") for r in seen] == [None, "2"]
