"""The sandbox's Action Network and P2P imitations behave as their documents say."""

from decimal import Decimal

import httpx

from fundboard.sandbox import actionnetwork, p2p

from .support import http

AN_HEADERS = {"api-key": actionnetwork.API_KEY}
EVENT = f"/api/v1/p2p/events/{p2p.DEMO_EVENT_ID}"


def _p2p(server, method: str, **params) -> httpx.Response:
    params.setdefault("apiKey", p2p.API_KEY)
    return http.get(f"{server.url}{EVENT}/{method}", params=params)


def test_action_network_collection_is_hal_paged_by_25_with_absolute_next(sandbox_server):
    for n in range(30):
        http.post(
            f"{sandbox_server.url}/_sandbox/actionnetwork/pages",
            json={"summary": f"Page {n}", "total_amount": 10, "total_donations": 1},
        )
    first = http.get(f"{sandbox_server.url}/api/v1/fundraising_pages", headers=AN_HEADERS)
    assert first.headers["content-type"].startswith("application/hal+json")
    body = first.json()
    assert (body["page"], body["per_page"], body["total_pages"]) == (1, 25, 2)
    assert body["total_records"] == 33  # three demo pages + thirty
    assert len(body["_embedded"]["osdi:fundraising_pages"]) == 25
    next_href = body["_links"]["next"]["href"]
    assert next_href == f"{sandbox_server.url}/api/v1/fundraising_pages?page=2"
    second = http.get(next_href, headers=AN_HEADERS).json()
    assert len(second["_embedded"]["osdi:fundraising_pages"]) == 8
    assert "next" not in second["_links"]


def test_action_network_wants_its_key_header(sandbox_server):
    url = f"{sandbox_server.url}/api/v1/fundraising_pages"
    assert http.get(url).status_code == 401
    wrong = http.get(url, headers={"api-key": "nope"})
    assert wrong.status_code == 401 and "error" in wrong.json()


def test_action_network_etag_and_last_modified_give_304_until_a_change(sandbox_server):
    url = f"{sandbox_server.url}/api/v1/fundraising_pages"
    first = http.get(url, headers=AN_HEADERS)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert http.get(url, headers={**AN_HEADERS, "If-None-Match": etag}).status_code == 304
    assert http.get(url, headers={**AN_HEADERS, "If-Modified-Since": modified}).status_code == 304
    page = first.json()["_embedded"]["osdi:fundraising_pages"][0]
    page_id = page["identifiers"][0].removeprefix("action_network:")
    http.post(
        f"{sandbox_server.url}/_sandbox/actionnetwork/pages",
        json={"id": page_id, "total_amount": page["total_amount"] + 5},
    )
    assert http.get(url, headers={**AN_HEADERS, "If-None-Match": etag}).status_code == 200


def test_action_network_single_page_and_missing_page(sandbox_server):
    pages = http.get(f"{sandbox_server.url}/_sandbox/actionnetwork/state").json()["pages"]
    page_id = pages[0]["identifiers"][0].removeprefix("action_network:")
    url = f"{sandbox_server.url}/api/v1/fundraising_pages/{page_id}"
    assert http.get(url, headers=AN_HEADERS).json()["summary"] == pages[0]["summary"]
    assert http.get(url + "x", headers=AN_HEADERS).status_code == 404


def test_p2p_envelope_and_invalid_key_on_http_200(sandbox_server):
    ok = _p2p(sandbox_server, "totals")
    assert ok.status_code == 200 and ok.json()["status"] is True
    assert ok.json()["data"]["event_id"] == p2p.DEMO_EVENT_ID
    wrong = _p2p(sandbox_server, "totals", apiKey="wrong")
    assert wrong.status_code == 200
    assert wrong.json() == {"status": False, "error": "Invalid API key"}
    too_many = _p2p(sandbox_server, "fundraisers", limit=101).json()
    assert too_many["status"] is False and "limit" in too_many["error"]


def test_p2p_demo_event_has_teams_blocked_fundraisers_and_anonymous_gifts(sandbox_server):
    fundraisers = _p2p(sandbox_server, "fundraisers", limit=100).json()["data"]
    assert len(fundraisers) == 30
    assert sum(f["status"] == "blocked" for f in fundraisers) == 2
    assert len({f["team_id"] for f in fundraisers}) == 5
    raised = [Decimal(str(f["raised"])) for f in fundraisers]
    assert raised == sorted(raised, reverse=True)  # default sort -raised
    gifts = _p2p(sandbox_server, "gifts", limit=100).json()["data"]
    assert len(gifts) == 40 and any(g["anonymous"] for g in gifts)
    totals = _p2p(sandbox_server, "totals").json()["data"]
    assert Decimal(totals["raised"]) == sum(raised)


def test_p2p_gift_raises_fundraiser_team_and_event_together(sandbox_server):
    before = _p2p(sandbox_server, "totals").json()["data"]
    teams_before = {
        t["id"]: Decimal(t["raised"]) for t in _p2p(sandbox_server, "teams").json()["data"]
    }
    reply = http.post(
        f"{sandbox_server.url}/_sandbox/p2p/gifts",
        json={"fundraiser_id": "f-002", "amount": "12.50", "donor_name": "Zoe", "message": "hi"},
    )
    assert reply.status_code == 200
    after = _p2p(sandbox_server, "totals").json()["data"]
    assert Decimal(after["raised"]) - Decimal(before["raised"]) == Decimal("12.50")
    assert after["donation_count"] == before["donation_count"] + 1
    teams_after = {
        t["id"]: Decimal(t["raised"]) for t in _p2p(sandbox_server, "teams").json()["data"]
    }
    changed = {
        k: teams_after[k] - teams_before[k]
        for k in teams_after
        if teams_after[k] != teams_before[k]
    }
    assert list(changed.values()) == [Decimal("12.50")]
    newest = _p2p(sandbox_server, "gifts", limit=1).json()["data"][0]
    assert (newest["donor_name"], newest["amount"], newest["fundraiser_id"]) == (
        "Zoe",
        "12.50",
        "f-002",
    )


def test_p2p_paging_with_limit_and_offset_covers_a_big_event_once(sandbox_server):
    http.post(
        f"{sandbox_server.url}/_sandbox/p2p/events", json={"event_id": "big", "fundraisers": 250}
    )
    url = f"{sandbox_server.url}/api/v1/p2p/events/big/fundraisers"
    ids = []
    for offset in (0, 100, 200):
        page = http.get(url, params={"apiKey": p2p.API_KEY, "limit": 100, "offset": offset})
        ids += [f["id"] for f in page.json()["data"]]
    assert len(ids) == 250 and len(set(ids)) == 250


def test_faults_429_retry_after_malformed_status_false_and_the_request_log(sandbox_server):
    base = sandbox_server.url
    http.post(f"{base}/_sandbox/p2p/faults", json={"fail_next": 1, "status": 429, "retry_after": 7})
    limited = _p2p(sandbox_server, "totals")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    http.post(f"{base}/_sandbox/p2p/faults", json={"malformed_json_next": 1})
    broken = _p2p(sandbox_server, "totals")
    assert broken.status_code == 200
    try:
        broken.json()
        raise AssertionError("expected malformed JSON")
    except ValueError:
        pass
    http.post(f"{base}/_sandbox/p2p/faults", json={"status_false_next": 1, "error": "Maintenance"})
    assert _p2p(sandbox_server, "totals").json() == {"status": False, "error": "Maintenance"}
    assert _p2p(sandbox_server, "totals").json()["status"] is True
    http.post(f"{base}/_sandbox/actionnetwork/faults", json={"fail_next": 2, "status": 503})
    url = f"{base}/api/v1/fundraising_pages"
    assert [http.get(url, headers=AN_HEADERS).status_code for _ in range(3)] == [503, 503, 200]
    log = http.get(f"{base}/_sandbox/p2p/state").json()["requests"]
    assert len(log) == 4 and log[0]["path"].endswith("/totals")
    assert log[0]["query"]["apiKey"] == "[redacted]"
