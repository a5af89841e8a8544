"""The rates feed as the runners use it: the request goes out through the providers' one HTTP
layer (its User-Agent), the embedded loop (`manage.py serve`) stores the feed from a worker
thread and stops when told, and the Celery task keeps the stored rates on a bad feed."""

import asyncio
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fundboard.fx.models import ExchangeRate
from fundboard.fx.tasks import fetch_rates_task, run_rates_feed
from fundboard.providers.http import USER_AGENT

from .support import wait_for

pytestmark = pytest.mark.django_db(transaction=True)  # the loop's thread has its own connection

GOOD = {"base": "EUR", "rates": {"USD": "1.0842"}}


class Feed:
    """A loopback server answering every GET with `body` and `status`; it keeps each
    request's headers."""

    def __init__(self, body: bytes, status: int = 200):
        self.headers: list[dict[str, str]] = []
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                feed.headers.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/rates.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def good_feed(settings):
    feed = Feed(json.dumps(GOOD).encode())
    settings.FUNDBOARD = {**settings.FUNDBOARD, "RATES_URL": feed.url, "RATES_EVERY_SECONDS": 60}
    yield feed
    feed.close()


def stored() -> dict:
    return {(r.currency, r.quote): r.rate for r in ExchangeRate.objects.filter(campaign=None)}


def test_the_feed_is_asked_with_the_shared_user_agent(good_feed):
    assert fetch_rates_task() == 1
    [headers] = good_feed.headers
    assert headers["user-agent"] == USER_AGENT  # not httpx's own "python-httpx/..."
    assert headers["user-agent"].startswith("Fundboard/")
    assert headers["accept"] == "application/json"


def test_the_embedded_loop_stores_the_feed_then_stops_when_told(good_feed):
    async def main():
        stop = asyncio.Event()
        loop = asyncio.create_task(run_rates_feed(stop))
        await asyncio.to_thread(wait_for, stored)
        stop.set()  # the next fetch is a minute away: the loop must not wait for it
        await asyncio.wait_for(loop, timeout=2)

    # In a thread of its own with its own event loop, as `serve` runs it.
    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert stored() == {("EUR", "USD"): Decimal("1.0842")}
    assert len(good_feed.headers) == 1  # fetched once, at start


def test_the_celery_task_keeps_the_stored_rates_on_a_failing_feed(settings):
    ExchangeRate.objects.create(currency="EUR", quote="USD", rate=Decimal("1.1"), origin="feed")
    feed = Feed(b'{"error": "maintenance"}', status=503)
    settings.FUNDBOARD = {**settings.FUNDBOARD, "RATES_URL": feed.url}
    try:
        assert fetch_rates_task() == 0
    finally:
        feed.close()
    assert stored() == {("EUR", "USD"): Decimal("1.1")}
