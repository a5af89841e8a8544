"""Where a read-path request's time goes: the ASGI application driven in-process, no server.

    .venv/bin/python bench/profile_read_path.py                  # µs per request, 2,000 each
    .venv/bin/python bench/profile_read_path.py --profile json   # and cProfile of 500 of them
    .venv/bin/python bench/profile_read_path.py --no-fast-lane   # Django's handler for all
    .venv/bin/python bench/profile_read_path.py --without whitenoise --no-fast-lane

Calls `fundboard.asgi.application` with a plain HTTP scope, one request after another, for
/healthz, the JSON snapshot and a widget page (a fresh SQLite database with the bench
campaign). No sockets, no HTTP parsing: what is left is Django's handler, the middleware
chain and the view, which is what `serve` adds to the server's own work. `--no-fast-lane`
sends every request to Django's handler (fundboard/widgets/fast_lane.py answers cached ones
in front of it); `--without` drops middleware (by a part of their dotted path) to see what
each costs.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import subprocess
import tempfile
import time
from pathlib import Path

from common import BENCH_CAMPAIGN, PY, REPO, seed_code

PATHS = {
    "healthz": "/healthz",
    "json": "/api/v1/campaigns/bench",
    "widget": "/c/bench/thermometer",
}


def prepare_database(donations: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    os.environ.update(DJANGO_SETTINGS_MODULE="fundboard.settings", FUNDBOARD_DATA_DIR=str(tmp))
    for name in ("REDIS_URL", "DATABASE_URL"):
        os.environ.pop(name, None)
    (tmp / "campaigns.toml").write_text(BENCH_CAMPAIGN)
    for args in (
        ["migrate", "-v0"],
        ["loadcampaigns", str(tmp / "campaigns.toml")],
        ["shell", "-c", seed_code(donations)],
    ):
        subprocess.run([PY, "manage.py", *args], check=True, cwd=REPO, capture_output=True)


def load_application(without: list[str], fast_lane: bool):
    import django
    from django.conf import settings

    django.setup()
    for part in without:
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if part not in m]
    from fundboard.asgi import application, django_asgi_app

    return application if fast_lane else django_asgi_app


async def call(application, path: str) -> int:
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    received, sent = [], []

    async def receive():
        if received:  # the body was read: now wait (the client never disconnects)
            await asyncio.Event().wait()
        received.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    return sent[0]["status"]


async def measure(application, requests: int, profile: str) -> None:
    for name, path in PATHS.items():
        status = await call(application, path)  # the first fills the caches
        assert status == 200, (name, status)
    for name, path in PATHS.items():
        started = time.perf_counter()
        for _ in range(requests):
            await call(application, path)
        print(f"{name}: {(time.perf_counter() - started) / requests * 1e6:,.0f} µs/request")
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(500):
            await call(application, PATHS[profile])
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--donations", type=int, default=200)
    parser.add_argument("--profile", choices=sorted(PATHS), default="")
    parser.add_argument("--without", action="append", default=[], metavar="MIDDLEWARE")
    parser.add_argument("--no-fast-lane", dest="fast_lane", action="store_false")
    args = parser.parse_args()
    prepare_database(args.donations)
    application = load_application(args.without, args.fast_lane)
    print(f"load average: {os.getloadavg()}")
    asyncio.run(measure(application, args.requests, args.profile))


if __name__ == "__main__":
    main()
