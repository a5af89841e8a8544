"""The ImRaising sandbox answers as the public API document says, over real HTTP."""

import json
import threading
import time

import httpx
import pytest

from fundboard.sandbox.imraising import ADVANCED_KEY, LIMITED_KEY

from .support import LOOPBACK_TLS, http, wait_for


def auth(key: str = ADVANCED_KEY) -> dict:
    return {"authorization": f'APIKey apikey="{key}"'}


def control(server, path: str, body) -> dict:
    response = http.post(f"{server.url}/_sandbox/imraising/{path}", json=body, timeout=5)
    response.raise_for_status()
    return response.json()


def get(server, path: str, key: str = ADVANCED_KEY, **params) -> httpx.Response:
    return http.get(f"{server.url}/api/v1/{path}", headers=auth(key), params=params, timeout=5)


def test_keys_are_22_characters_of_the_documented_alphabet():
    for key in (ADVANCED_KEY, LIMITED_KEY):
        assert len(key) == 22
        assert all(c.isalnum() or c in "-_" for c in key)


@pytest.mark.parametrize(
    ("headers", "params", "status", "name"),
    [
        ({}, {}, 401, "Unauthorized"),
        ({"authorization": 'APIKey apikey="short"'}, {}, 401, "Unauthorized"),
        ({"authorization": "Bearer " + ADVANCED_KEY}, {}, 401, "Unauthorized"),
        (auth("x" * 22), {}, 401, "Authentication.InvalidAPIKey"),
        ({}, {"apikey": "y" * 22}, 401, "Authentication.InvalidAPIKey"),
        (auth(LIMITED_KEY), {}, 403, "Authentication.ModeUnacceptable"),
        (auth(), {"limit": "0"}, 400, "InvalidParameter"),
        (auth(), {"limit": "101"}, 400, "InvalidParameter"),
        (auth(), {"offset": "-1"}, 400, "InvalidParameter"),
        (auth(), {"sort": "amountx"}, 400, "InvalidParameter"),
        (auth(), {"startDate": "yesterday"}, 400, "InvalidParameter"),
    ],
)
def test_documented_errors_on_the_listing(sandbox_server, headers, params, status, name):
    response = http.get(
        f"{sandbox_server.url}/api/v1/donations", headers=headers, params=params, timeout=5
    )
    assert response.status_code == status
    body = response.json()
    assert body["name"] == name
    assert "message" in body


def test_query_parameter_key_works_and_wrong_method_is_405(sandbox_server):
    url = f"{sandbox_server.url}/api/v1/donations/total"
    assert http.get(url, params={"apikey": ADVANCED_KEY}, timeout=5).status_code == 200
    response = http.delete(url, headers=auth(), timeout=5)
    assert (response.status_code, response.json()["name"]) == (405, "MethodNotAllowed")


def test_listen_refuses_json_only_accept(sandbox_server):
    response = http.get(
        f"{sandbox_server.url}/api/v1/listen",
        headers={**auth(), "accept": "application/json"},
        timeout=5,
    )
    assert (response.status_code, response.json()["name"]) == (406, "NotAcceptable")


def test_listing_pages_sorts_filters_and_forgets_deleted(sandbox_server):
    specs = [
        {"_id": f"{i:024x}", "nickname": f"donor{i}", "amount": f"{i}.00",
         "time": f"2026-01-01T00:00:{i:02d}.000Z"}
        for i in range(1, 26)
    ]  # fmt: skip
    control(sandbox_server, "donations", specs)
    first = get(sandbox_server, "donations", sort="time", limit="10").json()
    assert [d["nickname"] for d in first] == [f"donor{i}" for i in range(1, 11)]
    last = get(sandbox_server, "donations", sort="time", limit="10", offset="20").json()
    assert len(last) == 5
    default = get(sandbox_server, "donations").json()
    assert len(default) == 10 and default[0]["nickname"] == "donor25"  # newest first
    by_amount = get(sandbox_server, "donations", sort="-amount", limit="1").json()
    assert by_amount[0]["amount"]["display"] == {"total": "25.00", "currency": "USD"}
    window = get(
        sandbox_server,
        "donations",
        startDate="2026-01-01T00:00:05Z",
        endDate="2026-01-01T00:00:08Z",
        limit="100",
    ).json()
    assert sorted(d["nickname"] for d in window) == ["donor5", "donor6", "donor7"]
    control(sandbox_server, "delete", {"_id": specs[24]["_id"]})
    total = get(sandbox_server, "donations/total").json()
    assert total == [{"total": f"{sum(range(1, 25))}.00", "currency": "USD"}]


def test_totals_per_donor_and_top_donors(sandbox_server):
    control(
        sandbox_server,
        "donations",
        [
            {"nickname": "Ann", "amount": "5.00", "message": "first"},
            {"nickname": "Bob", "amount": 12.5},
            {"nickname": "Ann", "amount": "10.00", "message": "second"},
            {"nickname": "Eve", "amount": "3.00", "currency": "EUR"},
        ],
    )
    top = get(sandbox_server, "topDonors").json()
    assert top[0] == {
        "nickname": "Ann",
        "amount": {"total": "15.00", "currency": "USD"},
        "latestMessage": "second",
    }
    assert [t["nickname"] for t in top] == ["Ann", "Bob", "Eve"]
    donor = get(sandbox_server, "donations/total/donor", nickname="Bob").json()
    assert donor == [{"nickname": "Bob", "amount": {"total": "12.50", "currency": "USD"}}]
    assert get(sandbox_server, "donations/total/donor").status_code == 400
    assert get(sandbox_server, "donations/total/donor", nickname="x" * 28).status_code == 400
    totals = get(sandbox_server, "donations/total").json()
    assert totals == [
        {"total": "3.00", "currency": "EUR"},
        {"total": "27.50", "currency": "USD"},
    ]


class StreamReader:
    """Reads one /listen stream in a thread and keeps its raw text."""

    def __init__(self, url: str, key: str = ADVANCED_KEY, headers: dict | None = None):
        self.text = ""
        self.status = None
        self.headers = {}
        self.ended = False
        self._client = httpx.Client(verify=LOOPBACK_TLS, timeout=httpx.Timeout(5, read=30))
        self._thread = threading.Thread(
            target=self._read, args=(url, {**auth(key), **(headers or {})}), daemon=True
        )
        self._thread.start()

    def _read(self, url, headers):
        try:
            with self._client.stream("GET", url + "/api/v1/listen", headers=headers) as response:
                self.status, self.headers = response.status_code, response.headers
                for chunk in response.iter_text():
                    self.text += chunk
        except httpx.HTTPError:
            pass
        self.ended = True

    def close(self):
        self._client.close()


def open_stream(server, **kwargs) -> StreamReader:
    reader = StreamReader(server.url, **kwargs)
    wait_for(lambda: "retry:" in reader.text)
    return reader


def test_stream_framing_events_and_test_donation(sandbox_server):
    reader = open_stream(sandbox_server)
    assert reader.headers["content-type"].startswith("text/event-stream")
    assert reader.headers["cache-control"] == "no-cache"
    assert reader.headers["access-control-allow-origin"] == "*"
    assert reader.text.startswith(":\nretry: 10000\n\n")
    ids = control(sandbox_server, "donations", {"nickname": "Zoë 🎉", "amount": "12.50"})["ids"]
    wait_for(lambda: "event: donation.add" in reader.text)
    block = reader.text.split("event: donation.add\n", 1)[1].split("\n\n", 1)[0]
    lines = block.split("\n")
    assert len(lines) > 3 and all(line.startswith("data: ") for line in lines)
    data = json.loads("\n".join(line[6:] for line in lines))
    assert data["_id"] == ids[0] and data["nickname"] == "Zoë 🎉"
    assert data["amount"]["display"] == {"total": "12.50", "currency": "USD"}
    assert data["time"].endswith("Z")

    response = http.post(
        f"{sandbox_server.url}/api/v1/donations",
        headers=auth(LIMITED_KEY),
        json={"amount": 5, "message": "hello"},
        timeout=5,
    )
    assert response.status_code == 204
    wait_for(lambda: '"XTS"' in reader.text)
    assert len(get(sandbox_server, "donations").json()) == 1  # the test one is not stored
    too_long = http.post(
        f"{sandbox_server.url}/api/v1/donations",
        headers=auth(),
        json={"amount": 5, "message": "x" * 301},
        timeout=5,
    )
    assert too_long.status_code == 400

    control(sandbox_server, "delete", {"_id": ids[0]})
    wait_for(lambda: "event: donation.delete" in reader.text)
    reader.close()


def test_stream_modes_heartbeat_ids_bom_drop_and_hang(sandbox_server):
    control(sandbox_server, "faults", {"heartbeat_seconds": 0.2, "retry_ms": 250, "bom": True})
    reader = open_stream(sandbox_server)
    assert reader.text.startswith("\ufeff:\nretry: 250\n\n")
    wait_for(lambda: reader.text.count(": heartbeat") >= 2)

    control(sandbox_server, "faults", {"send_ids": True})
    control(sandbox_server, "donations", [{"nickname": "A", "amount": "1"}] * 2)
    wait_for(lambda: "id: 2\n" in reader.text)
    control(sandbox_server, "events", {"text": "event: donation.update\ndata: {}\n\n"})
    wait_for(lambda: "event: donation.update" in reader.text)

    control(sandbox_server, "faults", {"hang_streams": True})
    time.sleep(0.3)
    size = len(reader.text)
    control(sandbox_server, "donations", {"nickname": "B", "amount": "1"})
    time.sleep(0.8)
    assert len(reader.text) == size  # not even heartbeats
    control(sandbox_server, "faults", {"hang_streams": False})
    wait_for(lambda: ": heartbeat" in reader.text[size:])

    state = http.get(f"{sandbox_server.url}/_sandbox/imraising/state").json()
    assert state["open_streams"] == 1 and state["donations"] == 3
    control(sandbox_server, "faults", {"drop_streams": True})
    wait_for(lambda: reader.ended)
    wait_for(
        lambda: (
            http.get(f"{sandbox_server.url}/_sandbox/imraising/state").json()["open_streams"] == 0
        )
    )

    # A reconnect that names the last id it saw gets what followed it.
    replay = open_stream(sandbox_server, headers={"last-event-id": "1"})
    wait_for(lambda: "id: 2\n" in replay.text)
    assert "id: 1\n" not in replay.text
    replay.close()


def test_injected_failures_and_request_log(sandbox_server):
    control(sandbox_server, "faults", {"fail_next": 2, "status": 503})
    assert get(sandbox_server, "donations").status_code == 503
    assert get(sandbox_server, "donations/total").json()["name"] == "ServiceUnavailable"
    assert get(sandbox_server, "donations").status_code == 200
    control(sandbox_server, "faults", {"malformed_json_next": 1})
    with pytest.raises(json.JSONDecodeError):
        json.loads(get(sandbox_server, "donations").text)
    control(sandbox_server, "faults", {"fail_next": 1, "status": 401, "name": "Unauthorized"})
    assert get(sandbox_server, "topDonors").status_code == 401
    log = http.get(f"{sandbox_server.url}/_sandbox/imraising/state").json()["requests"]
    assert [r["path"] for r in log] == ["/api/v1/donations", "/api/v1/donations/total"] + [
        "/api/v1/donations"
    ] * 2 + ["/api/v1/topDonors"]
    assert all(r["method"] == "GET" and r["at"] > 0 for r in log)


def test_raw_payload_is_sent_as_is(sandbox_server):
    reader = open_stream(sandbox_server)
    control(sandbox_server, "donations", {"raw": '{"_id": "abc", "amount": NaN'})
    wait_for(lambda: 'data: {"_id": "abc", "amount": NaN' in reader.text)
    assert get(sandbox_server, "donations").json() == []
    reader.close()


def test_generator_donations_look_plausible(sandbox_server):
    import random

    rng = random.Random(3)
    state = sandbox_server.sandbox.imraising
    for _ in range(30):
        state.generate(rng)
    donations = get(sandbox_server, "donations", limit="100").json()
    assert len(donations) == 30
    for donation in donations:
        assert 1 <= float(donation["amount"]["display"]["total"]) <= 100
        assert donation["nickname"]


def test_donations_added_from_another_thread_reach_open_streams(sandbox_server):
    reader = open_stream(sandbox_server)
    sandbox_server.sandbox.imraising.add_donation({"nickname": "Direct", "amount": "1.00"})
    wait_for(lambda: '"Direct"' in reader.text, timeout=5)
    reader.close()


def test_lone_surrogates_go_out_escaped_as_a_javascript_server_writes_them(sandbox_server):
    reader = open_stream(sandbox_server)
    body = json.dumps({"nickname": "Batch 10 \ud83d", "amount": "1.00", "message": "🎉"})
    http.post(
        f"{sandbox_server.url}/_sandbox/imraising/donations",
        content=body,  # ASCII JSON: the lone surrogate as its escape
        headers={"content-type": "application/json"},
        timeout=5,
    ).raise_for_status()
    wait_for(lambda: "event: donation.add" in reader.text)
    assert '"Batch 10 \\ud83d"' in reader.text and '"🎉"' in reader.text
    for path in ("donations", "topDonors"):
        text = get(sandbox_server, path).text
        assert "\\ud83d" in text and json.loads(text)[0]["nickname"] == "Batch 10 \ud83d"
    reader.close()


def test_deep_json_and_trickle_faults(sandbox_server):
    control(sandbox_server, "faults", {"deep_json_next": 1})
    assert get(sandbox_server, "donations").text == "[" * 100_000
    assert get(sandbox_server, "donations").json() == []

    reader = open_stream(sandbox_server)
    control(sandbox_server, "faults", {"trickle_seconds": 0.1})  # at once
    control(sandbox_server, "donations", {"nickname": "Held", "amount": "1"})
    wait_for(lambda: reader.text.endswith(":" + "." * 5))  # a byte at a time, no line end
    assert "Held" not in reader.text  # held behind the unfinished line, then lost
    control(sandbox_server, "faults", {"trickle_seconds": 0})
    wait_for(lambda: ": heartbeat" in reader.text or reader.text.endswith("\n\n"))
    control(sandbox_server, "donations", {"nickname": "Free", "amount": "1"})
    wait_for(lambda: "Free" in reader.text)
    assert "Held" not in reader.text
    reader.close()
