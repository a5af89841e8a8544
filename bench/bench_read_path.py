"""The read path under load: JSON snapshot (200 and 304) and a widget page beside /healthz.

    # one `serve --no-ingest` on PostgreSQL (started here, seeded with N donations):
    FUNDBOARD_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/bench_read_path.py
    # a running stack instead (e.g. the compose stack through nginx's micro-cache):
    .venv/bin/python bench/bench_read_path.py --url http://127.0.0.1:8080 --slug demo
    # ... or the proxy container's own address, not through Docker's userland proxy:
    .venv/bin/python bench/bench_read_path.py --url http://172.18.0.5 --host localhost --slug demo

    # the client's own ceiling first (nginx serving its static index: bench/nginx_static.conf),
    # uvicorn as the server:
    .venv/bin/python bench/bench_read_path.py --server uvicorn --ceiling http://127.0.0.1:18090/

A real HTTP load client (http_load.py): `--processes` processes with `--threads` keep-alive
connections each (asyncio, raw HTTP/1.1, no pipelining), each sending the same GET back to
back for `--seconds` (after a 1 s warm-up). Phases run one after another against the same
server process: /healthz (the framework's floor: a view that does nothing), the JSON
snapshot (200), the same with a query string no cache has seen (through nginx: what the
origin does without the micro-cache), the JSON with the current ETag as If-None-Match
(304), a widget page, and /healthz again.
Printed per phase: requests/s, p50/p99 latency, errors (and below the table, what they
were, counted per kind), and throughput relative to /healthz (the mean of its two runs).
The machine's load average is printed before and after: the figures are only comparable
with the load they were measured under.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import statistics
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from common import BENCH_CAMPAIGN, machine_load, print_table, seed_code
from http_load import Phase, PhaseResult, run_phase


def _get(base: str, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    conn.close()
    return response


def bench(base: str, slug: str, opts) -> None:
    json_path = f"/api/v1/campaigns/{slug}"
    widget_path = f"/c/{slug}/thermometer"
    # --host: a server reached by its container address answers only the names it serves
    host = {"Host": opts.host} if opts.host else {}
    first = _get(base, json_path, host)
    etag = first.getheader("ETag")
    print(
        f"JSON: {len(first.body):,} bytes, ETag {etag}, Cache-Control "
        f"{first.getheader('Cache-Control')!r}, X-Cache-Status {first.getheader('X-Cache-Status')}"
    )
    page = _get(base, widget_path, host)
    print(f"widget: {len(page.body):,} bytes, Cache-Control {page.getheader('Cache-Control')!r}")
    phases = [
        Phase("/healthz", base, "/healthz", host),
        Phase("JSON snapshot (200)", base, json_path, host),
        Phase(
            "JSON snapshot, a new URL each time (never cached)",
            base,
            json_path + "?n={n}",
            host,
        ),
        Phase(
            "JSON snapshot, If-None-Match (304)",
            base,
            json_path,
            {"If-None-Match": etag or '"none"'} | host,
        ),
        Phase("widget page (thermometer)", base, widget_path, host),
        Phase("/healthz (again)", base, "/healthz", host),
    ]
    if opts.ceiling:  # the client's own ceiling: a server that does nothing, same client
        parts = urlsplit(opts.ceiling)
        ceiling_base = f"{parts.scheme}://{parts.netloc}"
        phases.insert(0, Phase(f"client ceiling ({opts.ceiling})", ceiling_base, parts.path or "/"))
    print(f"\nload average before: {machine_load()}")
    print(
        f"{opts.processes} processes x {opts.threads} keep-alive connections, "
        f"{opts.seconds:g} s per phase after 1 s warm-up\n"
    )
    with multiprocessing.get_context("fork").Pool(opts.processes) as pool:
        rows = [
            (phase.name, run_phase(pool, phase, opts.threads, opts.seconds)) for phase in phases
        ]
    healthz = [r.rate for name, r in rows if name.startswith("/healthz")]
    floor = statistics.mean(healthz) or 1.0
    print_table(
        ["request", "req/s", "p50 ms", "p99 ms", "errors", "vs /healthz"],
        [_row(name, r, floor) for name, r in rows],
        align="lrrrrr",
    )
    for name, r in rows:
        if r.errors:
            print(f"errors in {name}: {r.error_summary()}")
    print(f"\nload average after: {machine_load()}")


def _row(name: str, r: PhaseResult, floor: float) -> list[str]:
    return [
        name,
        f"{r.rate:,.0f}",
        f"{r.p50:.1f}",
        f"{r.p99:.1f}",
        str(r.errors),
        f"{r.rate / floor:.2f}x",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="bench a running server instead of starting one")
    parser.add_argument("--slug", default="bench")
    parser.add_argument(
        "--host",
        help="the Host header to send with --url (e.g. localhost, when --url is the proxy "
        "container's address: Docker's port publishing on loopback goes through docker-proxy, "
        "which costs about what nginx does per cached answer)",
    )
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--threads",
        "--connections",
        dest="threads",
        type=int,
        default=8,
        help="keep-alive connections per process (asyncio; the name is from the threaded client)",
    )
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--donations", type=int, default=2000)
    parser.add_argument("--server", choices=("daphne", "uvicorn"), default="daphne")
    parser.add_argument(
        "--ceiling",
        metavar="URL",
        help="first measure the client against a server that does nothing: nginx serving "
        "its static index (bench/nginx_static.conf says how to start it)",
    )
    opts = parser.parse_args()
    if opts.url:
        bench(opts.url.rstrip("/"), opts.slug, opts)
        return

    from tests.support import FundboardServer, postgres_url

    if not postgres_url():
        print("note: FUNDBOARD_TEST_POSTGRES_URL unset, the server runs on SQLite")
    server = FundboardServer(
        Path(tempfile.mkdtemp()),
        BENCH_CAMPAIGN,
        ingest=False,
        extra_env={"FUNDBOARD_ASGI_SERVER": opts.server},
    )
    server.shell(seed_code(opts.donations))
    server.start()
    try:
        print(
            f"serve --no-ingest ({opts.server}) on {'PostgreSQL' if postgres_url() else 'SQLite'}, "
            f"{opts.donations} donations, total {server.total('bench')}"
        )
        bench(server.url, "bench", opts)
    finally:
        server.close()


if __name__ == "__main__":
    main()
