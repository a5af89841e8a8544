"""A fast HTTP/1.1 load client: several processes, each with many keep-alive connections.

Each process runs one asyncio loop with `connections` connections; each connection sends one
GET, reads the whole answer (Content-Length or chunked), then sends the next (no pipelining:
a request waits for the one before, as a browser's does). Raw bytes over asyncio streams: a
request costs the client a few tens of microseconds, so the client is rarely what limits a
phase; `bench_read_path.py --ceiling URL` measures its own ceiling against a server that does
nothing (nginx serving a static file).

    from http_load import Phase, run_phase
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        result = run_phase(pool, Phase("/healthz", "http://127.0.0.1:8000", "/healthz"), ...)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from common import percentile

__all__ = ["Phase", "PhaseResult", "run_phase"]

OK_STATUSES = (200, 304)


@dataclass(frozen=True)
class Phase:
    name: str
    base: str  # http://host:port
    # `{n}` in it is replaced by a value no request used before, in this run or an earlier
    # one (a cache miss: a value seen by an earlier run would find that run's expired entry,
    # which nginx answers stale while it revalidates in the background)
    path: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PhaseResult:
    count: int
    rate: float  # answered requests per second
    p50: float  # milliseconds
    p99: float
    errors: int
    # What failed, counted per kind ("HTTP 502", "closed before the answer, reused
    # connection", ...): a bare count cannot tell a server's fault from the client's.
    error_kinds: dict[str, int] = field(default_factory=dict)

    def error_summary(self) -> str:
        return ", ".join(f"{n} {kind}" for kind, n in sorted(self.error_kinds.items()))


def _request_bytes(phase: Phase, host: str, n: str) -> bytes:
    # A Host among the phase's headers replaces the address (a server reached by its
    # container address answers only the names it serves).
    headers = {"Host": host} | phase.headers
    lines = [f"GET {phase.path.replace('{n}', n)} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Reads one whole response; returns its status and whether the connection stays open
    (a server may close a keep-alive connection after N requests: nginx after 1,000)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    keep_alive = headers.get("connection", "").lower() != "close"
    if status in (204, 304) or 100 <= status < 200:
        return status, keep_alive
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)  # the chunk and its CRLF
            if size == 0:
                break
    else:
        raise ValueError("a response without a length (connection close) is not measured")
    return status, keep_alive


def _error_kind(exc: BaseException, reused: bool) -> str:
    """A failed request in words: what went wrong, and whether the connection had already
    carried an answer (a server closing an idle keep-alive connection fails the next request
    on it; a fresh connection failing is something else)."""
    if isinstance(exc, asyncio.IncompleteReadError):
        what = "closed before the answer" if not exc.partial else "short read (closed mid-answer)"
    elif isinstance(exc, TimeoutError):
        what = "no answer within 10 s"
    else:
        what = type(exc).__name__
    return f"{what}, {'reused' if reused else 'new'} connection"


async def _one_connection(phase, host, port, tag, warm_until, until, latencies, errors: Counter):
    reader = writer = None
    sent = 0
    reused = False  # whether the current connection has already carried an answer
    while (started := time.perf_counter()) < until:
        sent += 1
        kind = None
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
                reused = False
            assert reader is not None
            writer.write(_request_bytes(phase, f"{host}:{port}", f"{tag}-{sent}"))
            status, keep_alive = await asyncio.wait_for(_read_response(reader), 10)
            reused = True
            if status not in OK_STATUSES:
                kind = f"HTTP {status}"
            if not keep_alive:
                writer.close()
                reader = writer = None
        except (OSError, EOFError, ValueError, asyncio.IncompleteReadError, TimeoutError) as exc:
            kind = _error_kind(exc, reused)
            if writer is not None:
                writer.close()
            reader = writer = None
        elapsed = time.perf_counter() - started
        if started >= warm_until:
            if kind is None:
                latencies.append(elapsed)
            else:
                errors[kind] += 1
    if writer is not None:
        writer.close()


async def _process_load(phase: Phase, connections: int, seconds: float, warmup: float, tag):
    parts = urlsplit(phase.base)
    start = time.perf_counter()
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    await asyncio.gather(
        *(
            _one_connection(
                phase,
                parts.hostname,
                parts.port or 80,
                f"{tag}.{i}",
                start + warmup,
                start + warmup + seconds,
                latencies,
                errors,
            )
            for i in range(connections)
        )
    )
    return latencies, errors


def _process_main(job) -> tuple[list[float], Counter[str]]:
    return asyncio.run(_process_load(*job))


def run_phase(pool, phase: Phase, connections: int, seconds: float, warmup: float = 1.0):
    """`connections` connections in each of the pool's processes, for `seconds` after
    `warmup`; latencies of answered (200/304) requests only, the others counted as errors."""
    processes = pool._processes  # noqa: SLF001  (multiprocessing.Pool keeps its size here)
    run = uuid.uuid4().hex[:8]
    jobs = [(phase, connections, seconds, warmup, f"{run}.p{i}") for i in range(processes)]
    results = pool.map(_process_main, jobs)
    latencies = sorted(lat for lats, _ in results for lat in lats)
    errors: Counter[str] = sum((errs for _, errs in results), Counter())
    return PhaseResult(
        count=len(latencies),
        rate=len(latencies) / seconds,
        p50=percentile(latencies, 0.50) * 1000,
        p99=percentile(latencies, 0.99) * 1000,
        errors=sum(errors.values()),
        error_kinds=dict(errors),
    )
