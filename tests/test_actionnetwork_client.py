"""The Action Network client over real HTTP against the sandbox."""

from decimal import Decimal

import pytest

from fundboard.providers.actionnetwork import ActionNetworkClient
from fundboard.providers.errors import AuthError, BadData, RateLimited, UpstreamUnavailable
from fundboard.sandbox import actionnetwork

from .support import http


def _add_pages(server, count: int, prefix: str = "Page") -> list[str]:
    ids = []
    for n in range(count):
        reply = http.post(
            f"{server.url}/_sandbox/actionnetwork/pages",
            json={"summary": f"{prefix} {n}", "total_amount": n + 1, "total_donations": 1},
        )
        ids.append(reply.json()["identifiers"][0].removeprefix("action_network:"))
    return ids


def _requests(server) -> list[dict]:
    return http.get(f"{server.url}/_sandbox/actionnetwork/state").json()["requests"]


def _client(server, key: str = actionnetwork.API_KEY, **ids) -> ActionNetworkClient:
    return ActionNetworkClient(server.url, key, ids or {"all_pages": True}, {})


def test_all_pages_collects_every_collection_page_exactly_once(sandbox_server):
    _add_pages(sandbox_server, 57)  # + 3 demo pages = 60 = three collection pages
    result = _client(sandbox_server).poll()
    assert len(result.entries) == 60
    assert len({e.upstream_id for e in result.entries}) == 60
    expected = sum(Decimal(n + 1) for n in range(57)) + Decimal("4705.50")
    assert result.totals.total == expected and result.totals.currency == "USD"
    pages_asked = [r["query"].get("page", "1") for r in _requests(sandbox_server)]
    assert sorted(pages_asked) == ["1", "2", "3"]


def test_named_pages_only_and_a_missing_one_is_rejected_not_fatal(sandbox_server):
    ids = _add_pages(sandbox_server, 3, prefix="Named")
    result = _client(sandbox_server, page_ids=[ids[0], ids[2], "no-such-page"]).poll()
    assert sorted(e.name for e in result.entries) == ["Named 0", "Named 2"]
    assert result.totals.total == Decimal("4.00") and result.totals.count == 2
    assert any("no-such-page" in reason for reason in result.rejected)


def test_title_and_identifier_filters(sandbox_server):
    _add_pages(sandbox_server, 2, prefix="Walk team")
    http.post(
        f"{sandbox_server.url}/_sandbox/actionnetwork/pages",
        json={"summary": "Other", "total_amount": 7, "identifiers": ["crm:42"]},
    )
    walk = _client(sandbox_server, all_pages=True, title_contains="walk TEAM").poll()
    assert sorted(e.name for e in walk.entries) == ["Walk team 0", "Walk team 1"]
    crm = _client(sandbox_server, all_pages=True, identifier="crm:42").poll()
    assert [e.name for e in crm.entries] == ["Other"] and crm.totals.total == Decimal("7.00")


def test_unchanged_collection_is_a_304_and_a_change_is_seen(sandbox_server):
    ids = _add_pages(sandbox_server, 30)
    client = _client(sandbox_server)
    first = client.poll()
    again = client.poll(first.etags)
    assert again.unchanged and again.totals is None
    # A change on the second collection page only: page 1 answers 304, so all is re-read.
    http.post(
        f"{sandbox_server.url}/_sandbox/actionnetwork/pages",
        json={"id": ids[-1], "total_amount": 1000},
    )
    changed = client.poll(first.etags)
    assert not changed.unchanged and len(changed.entries) == 33
    assert changed.totals.total == first.totals.total - Decimal("30") + Decimal("1000")


def test_identity_comes_from_identifiers_not_position(sandbox_server):
    first = _client(sandbox_server).poll()
    by_id = {e.upstream_id: e.name for e in first.entries}
    # The demo pages' ids are stable uuids taken from `identifiers`.
    assert all(len(page_id) == 36 for page_id in by_id)
    assert sorted(by_id.values()) == sorted(p[0] for p in actionnetwork.DEMO_PAGES)


def test_wrong_key_is_an_auth_error(sandbox_server):
    with pytest.raises(AuthError):
        _client(sandbox_server, key="wrong").poll()


def test_429_carries_retry_after_and_5xx_is_unavailable(sandbox_server):
    faults = f"{sandbox_server.url}/_sandbox/actionnetwork/faults"
    http.post(faults, json={"fail_next": 1, "status": 429, "retry_after": 7})
    with pytest.raises(RateLimited) as limited:
        _client(sandbox_server).poll()
    assert limited.value.retry_after == 7
    http.post(faults, json={"fail_next": 1, "status": 503})
    with pytest.raises(UpstreamUnavailable):
        _client(sandbox_server).poll()


def test_malformed_json_is_bad_data_and_the_message_has_no_key(sandbox_server):
    http.post(
        f"{sandbox_server.url}/_sandbox/actionnetwork/faults", json={"malformed_json_next": 1}
    )
    with pytest.raises(BadData) as error:
        _client(sandbox_server).poll()
    assert actionnetwork.API_KEY not in str(error.value)


def test_timeout_is_unavailable(sandbox_server):
    http.post(f"{sandbox_server.url}/_sandbox/actionnetwork/faults", json={"slow_seconds": 1.0})
    client = ActionNetworkClient(
        sandbox_server.url, actionnetwork.API_KEY, {"all_pages": True}, {"timeout": 0.2}
    )
    with pytest.raises(UpstreamUnavailable, match="timed out"):
        client.poll()
