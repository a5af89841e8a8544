"""Operations endpoints: liveness, readiness (database, Redis, channel layer) and metrics."""

from fundboard.sandbox import p2p

from .support import http, wait_for

CAMPAIGN = """
[[campaign]]
slug = "ops"
name = "Ops"
goal = "1000"
  [[campaign.source]]
  kind = "p2p"
  name = "Walk"
  base_url = "{url}"
  api_key = "{key}"
  ids = {{ event_id = "{event}" }}
  poll_interval = 0.5
"""


def _metric(text: str, prefix: str, containing: str = "") -> float:
    """The sum of the samples whose line starts with `prefix` (and contains `containing`)."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(prefix) and containing in line
    )


def test_health_readiness_and_metrics(fundboard_server, sandbox_server):
    server = fundboard_server(
        CAMPAIGN.format(url=sandbox_server.url, key=p2p.API_KEY, event=p2p.DEMO_EVENT_ID),
        extra_env={"FUNDBOARD_POLL_FLOOR_SECONDS": "0.2"},
    )
    assert http.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = http.get(f"{server.url}/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["checks"].values()) == {"ok"}

    wait_for(lambda: server.total("ops") != "0.00", timeout=20)
    with server.live_client("ops") as client:
        client.receive()
        text = http.get(f"{server.url}/metrics").text
        assert _metric(text, "fundboard_open_websockets") == 1.0
    assert _metric(text, "fundboard_polls_total{", 'result="changed"') >= 1
    assert _metric(text, 'fundboard_poll_seconds_count{kind="p2p"}') >= 1
    assert p2p.API_KEY not in text


def test_metrics_can_require_a_token(fundboard_server):
    server = fundboard_server(
        CAMPAIGN.format(url="http://127.0.0.1:9", key="k", event="e"),
        extra_env={"FUNDBOARD_METRICS_TOKEN": "s3cret-token"},
    )
    assert http.get(f"{server.url}/metrics").status_code == 401
    authorised = http.get(f"{server.url}/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert authorised.status_code == 200 and "fundboard_open_websockets" in authorised.text
