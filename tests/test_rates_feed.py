"""The optional rates feed over real HTTP on loopback: stored as global rates, bounded in
size, only the configured URL asked (no redirects), a bad fetch keeps the stored rates."""

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fundboard.fx.feed import MAX_BYTES, FeedError, fetch_rates
from fundboard.fx.models import ExchangeRate
from fundboard.ingest.models import Donation
from fundboard.ingest.services import ingest_donations

from .factories import make_campaign, make_source, record

pytestmark = pytest.mark.django_db

GOOD = {"base": "EUR", "date": "2026-11-30", "rates": {"USD": "1.0842", "GBP": 0.8531}}


class Feed:
    """A tiny HTTP server: path -> (status, headers, body); it records the paths asked."""

    def __init__(self):
        self.routes: dict[str, tuple[int, dict, bytes]] = {}
        self.asked: list[str] = []
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                feed.asked.append(self.path)
                status, headers, body = feed.routes.get(self.path, (404, {}, b""))
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def feed():
    server = Feed()
    yield server
    server.close()


def stored() -> dict:
    rows = ExchangeRate.objects.filter(campaign__isnull=True)
    return {(r.currency, r.quote): r.rate for r in rows}


def test_the_feed_is_stored_as_global_rates_and_converts_new_donations(feed):
    feed.routes["/rates.json"] = (200, {}, json.dumps(GOOD).encode())
    assert fetch_rates(f"{feed.url}/rates.json") == 2
    assert stored() == {("EUR", "USD"): Decimal("1.0842"), ("EUR", "GBP"): Decimal("0.8531")}
    campaign = make_campaign()  # USD
    ingest_donations(
        make_source(campaign).pk, [record("100", currency="EUR"), record("85.31", currency="GBP")]
    )
    assert dict(Donation.objects.values_list("currency", "converted_amount")) == {
        "EUR": Decimal("108.42"),
        "GBP": Decimal("108.42"),  # GBP -> EUR -> USD
    }


def test_a_bad_fetch_keeps_the_stored_rates(feed):
    feed.routes["/rates.json"] = (200, {}, json.dumps(GOOD).encode())
    fetch_rates(f"{feed.url}/rates.json")
    before = stored()
    big = {"base": "EUR", "rates": {"USD": "1." + "0" * MAX_BYTES}}
    feed.routes["/big.json"] = (200, {}, json.dumps(big).encode())
    feed.routes["/bad.json"] = (200, {}, b'{"base": "EUR", "rates": {"USD": "-1"}}')
    feed.routes["/html"] = (200, {}, b"<html>maintenance</html>")
    feed.routes["/gone"] = (500, {}, b"")
    for path in ("/big.json", "/bad.json", "/html", "/gone"):
        with pytest.raises(FeedError):
            fetch_rates(f"{feed.url}{path}")
    assert stored() == before


def test_only_the_configured_url_is_asked_no_redirect_is_followed(feed):
    feed.routes["/rates.json"] = (302, {"Location": "/elsewhere.json"}, b"")
    feed.routes["/elsewhere.json"] = (200, {}, json.dumps(GOOD).encode())
    with pytest.raises(FeedError):
        fetch_rates(f"{feed.url}/rates.json")
    assert feed.asked == ["/rates.json"]
    assert stored() == {}


def test_no_feed_configured_fetches_nothing(settings):
    settings.FUNDBOARD = {**settings.FUNDBOARD, "RATES_URL": ""}
    assert fetch_rates() == 0
