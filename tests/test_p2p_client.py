"""The P2P client over real HTTP against the sandbox: envelope, paging, leaderboards."""

from decimal import Decimal

import pytest

from fundboard.providers.errors import AuthError, BadData
from fundboard.providers.p2p import P2PClient
from fundboard.sandbox import p2p

from .support import http


def _client(server, key: str = p2p.API_KEY, event: str = p2p.DEMO_EVENT_ID, **options):
    return P2PClient(server.url, key, {"event_id": event}, options)


def _requests(server) -> list[dict]:
    return http.get(f"{server.url}/_sandbox/p2p/state").json()["requests"]


def test_status_false_on_http_200_is_an_error_not_zeros(sandbox_server):
    http.post(
        f"{sandbox_server.url}/_sandbox/p2p/faults",
        json={"status_false_next": 1, "error": "Database unavailable"},
    )
    with pytest.raises(BadData, match="Database unavailable"):
        _client(sandbox_server).poll()


def test_invalid_api_key_is_an_auth_error(sandbox_server):
    with pytest.raises(AuthError, match="Invalid API key"):
        _client(sandbox_server, key="not-the-key").poll()


def test_leaderboards_in_order_without_blocked_fundraisers(sandbox_server):
    result = _client(sandbox_server).poll()
    fundraisers = [e for e in result.entries if e.kind == "fundraiser"]
    teams = [e for e in result.entries if e.kind == "team"]
    assert len(fundraisers) == 28  # thirty, two of them blocked
    assert {"f-007", "f-019"}.isdisjoint(e.upstream_id for e in fundraisers)
    assert [e.raised for e in fundraisers] == sorted((e.raised for e in fundraisers), reverse=True)
    assert len(teams) == 5 and all(e.name for e in teams)
    totals = http.get(f"{sandbox_server.url}/_sandbox/p2p/state").json()["events"][
        p2p.DEMO_EVENT_ID
    ]
    assert result.totals.total == Decimal(totals["raised"])
    assert result.totals.goal == Decimal("15000.00")


def test_gifts_become_donations_with_anonymity(sandbox_server):
    result = _client(sandbox_server).poll()
    assert len(result.donations) == 40
    assert any(d.anonymous for d in result.donations)
    assert all(d.fundraiser_id.startswith("f-") for d in result.donations)


def test_paging_to_the_end_of_a_big_event(sandbox_server):
    http.post(
        f"{sandbox_server.url}/_sandbox/p2p/events",
        json={"event_id": "big", "fundraisers": 250, "teams": 10},
    )
    result = _client(sandbox_server, event="big").poll()
    fundraisers = [e for e in result.entries if e.kind == "fundraiser"]
    assert len(fundraisers) == 250 and len({e.upstream_id for e in fundraisers}) == 250
    offsets = [
        r["query"]["offset"]
        for r in _requests(sandbox_server)
        if r["path"].endswith("/fundraisers")
    ]
    assert offsets == ["0", "100", "200"]


def test_unchanged_event_is_all_304_and_only_changed_parts_come_back(sandbox_server):
    client = _client(sandbox_server)
    first = client.poll()
    settled = client.poll(first.etags)  # the gift cursor moved: one more round to settle
    assert client.poll(settled.etags).unchanged
    http.post(
        f"{sandbox_server.url}/_sandbox/p2p/gifts",
        json={"fundraiser_id": "f-003", "amount": "30", "donor_name": "Kim"},
    )
    after = client.poll(settled.etags)
    assert not after.unchanged
    assert after.totals.total == first.totals.total + Decimal("30")
    assert [d.display_name for d in after.donations if d.amount == Decimal("30.00")] == ["Kim"]
    assert after.entries is not None  # the boards moved, so they are replaced whole


def test_key_parameter_paths_and_field_names_are_configuration(sandbox_server):
    with pytest.raises(AuthError):
        _client(sandbox_server, key_param="key").poll()  # the key went under another name
    with pytest.raises(BadData):
        _client(sandbox_server, paths={"totals": "/api/v2/events/{event_id}/totals"}).poll()
    swapped = _client(
        sandbox_server, fields={"fundraisers": {"raised": "goal"}}, methods=["fundraisers"]
    ).poll()
    assert {e.raised for e in swapped.entries} == {Decimal("500.00")}  # every goal is 500


def test_an_upstream_error_message_is_quoted_short_and_on_one_line(sandbox_server):
    hostile = "Evil\n\x1b[2J\u202e<b>" + "x" * 5000
    http.post(
        f"{sandbox_server.url}/_sandbox/p2p/faults",
        json={"status_false_next": 1, "error": hostile},
    )
    with pytest.raises(BadData) as caught:
        _client(sandbox_server).poll()
    message = str(caught.value)
    assert "Evil [2J<b>xxx" in message and len(message) < 300
    assert not any(char in message for char in "\n\x1b\u202e")
