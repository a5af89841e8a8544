"""Webhooks: what they cost ingest, and how fast one worker delivers.

    .venv/bin/python bench/bench_webhooks.py
    .venv/bin/python bench/bench_webhooks.py --ingests 1000 --deliveries 1000

On a throwaway SQLite database (embedded mode's):

1. The webhooks receivers' time per ingest commit for a campaign without endpoints (what
   every campaign pays): `_donations_added` + `_campaign_changed`, called directly, and the
   whole `ingest_donations` of one donation with and without the receivers connected
   (interleaved rounds; the median of each).
2. Delivery throughput to one endpoint: N donations written, then `deliver_due` sends them
   in order to a local http.server answering 200 (signing, a POST each, the row updates).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def setup_django(folder: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="fundboard.settings",
        DATABASE_URL="",
        REDIS_URL="",
        FUNDBOARD_SQLITE_PATH=os.path.join(folder, "bench.sqlite3"),
        LOG_LEVEL="WARNING",
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


class Ok(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def donation(tag: str):
    from decimal import Decimal

    from django.utils import timezone

    from fundboard.providers.records import DonationRecord

    return DonationRecord(tag, "Ann", Decimal("1.00"), "USD", timezone.now())


def receivers_cost(campaign, rounds: int) -> float:
    from fundboard.ingest.models import Donation
    from fundboard.webhooks import receivers

    donations = list(Donation.objects.filter(campaign=campaign)[:1])
    began = time.perf_counter()
    for _ in range(rounds):
        receivers._donations_added(None, campaign=campaign, donations=donations, version=1)
        receivers._campaign_changed(None, campaign=campaign, version=1)
    return (time.perf_counter() - began) / rounds * 1e6


def ingest_cost(source, count: int, tag: str) -> float:
    from fundboard.ingest.services import ingest_donations

    began = time.perf_counter()
    for index in range(count):
        ingest_donations(source.pk, [donation(f"{tag}-{index}")])
    return (time.perf_counter() - began) / count * 1e6


def ingest_with_and_without(source, count: int) -> tuple[float, float]:
    from fundboard.ingest import signals
    from fundboard.webhooks import receivers

    def disconnected(tag: str) -> float:
        signals.donations_added.disconnect(dispatch_uid="webhooks.donations_added")
        signals.donations_removed.disconnect(dispatch_uid="webhooks.donations_removed")
        signals.campaign_changed.disconnect(dispatch_uid="webhooks.campaign_changed")
        try:
            return ingest_cost(source, count // 6, tag)
        finally:
            receivers.connect()

    with_hooks, without = [], []
    for round_ in range(6):  # which goes first alternates: the table grows as we go
        if round_ % 2:
            without.append(disconnected(f"without{round_}"))
        with_hooks.append(ingest_cost(source, count // 6, f"with{round_}"))
        if not round_ % 2:
            without.append(disconnected(f"without{round_}"))
    return statistics.median(with_hooks), statistics.median(without)


def delivery_rate(campaign, source, count: int) -> float:
    from fundboard.ingest.services import ingest_donations
    from fundboard.webhooks.delivery import deliver_due
    from fundboard.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
    from fundboard.webhooks.policy import DeliveryPolicy

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    WebhookEndpoint.objects.create(
        campaign=campaign,
        name="bench",
        url=f"http://127.0.0.1:{server.server_port}/hook",
        secret="bench-secret-0123456789",
        events=["donation"],
    )
    ingest_donations(source.pk, [donation(f"d-{i}") for i in range(count)])
    policy = DeliveryPolicy(batch=count, claim_seconds=3600)
    began = time.perf_counter()
    while deliver_due(policy=policy):
        pass
    elapsed = time.perf_counter() - began
    server.shutdown()
    delivered = WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count()
    assert delivered == count, (delivered, count)
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingests", type=int, default=600)
    parser.add_argument("--deliveries", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fundboard-bench-webhooks-") as folder:
        setup_django(folder)
        from fundboard.campaigns.models import Campaign, Source

        campaign = Campaign.objects.create(slug="bench", name="Bench", goal=1000)
        source = Source.objects.create(campaign=campaign, kind="manual", name="manual")
        ingest_cost(source, 20, "warm-up")
        print(f"receivers per commit, no endpoints: {receivers_cost(campaign, 2000):.1f} us")
        with_hooks, without = ingest_with_and_without(source, args.ingests)
        print(
            f"ingest of one donation (median of 6 rounds): {with_hooks:.0f} us with the "
            f"webhooks receivers, {without:.0f} us without"
        )
        rate = delivery_rate(campaign, source, args.deliveries)
        print(f"delivery to one local endpoint: {rate:.0f} deliveries/s ({args.deliveries})")


if __name__ == "__main__":
    main()
