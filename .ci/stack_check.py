"""Checks a running `docker compose --profile demo` stack the way a user meets it: through
the proxy. Run by .ci/compose-check after `up -d`; prints one line per check and a summary,
and exits 1 if any check failed.

    .venv/bin/python .ci/stack_check.py --project P --port 18080 --sandbox-port 18100 \
        --services postgres,redis,migrate,web,worker,beat,stream,proxy,sandbox,demo-campaigns

Checks, in order: every service healthy (one-shot services exited 0); /healthz and /readyz;
the demo campaign's three platform sources ok; a websocket gets the snapshot (one without
Origin too), then the `donation` event of a donation posted to the sandbox; login POSTs are
rate-limited by the proxy; a request loop sees no failed request while one web replica is
killed and while it is started again; and every service is healthy at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import uuid

import httpx
from websockets.asyncio.client import connect

PLATFORM_KINDS = {"imraising", "actionnetwork", "p2p"}


class CheckFailed(Exception):
    """A check's reason for failing, printed in the summary."""


# --- the compose project's containers -----------------------------------------------------


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


def containers(project: str) -> list[dict]:
    """Every container of the project: its service, name and state (healthy, exited(0), ...)."""
    ids = docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}").split()
    if not ids:
        return []
    found = []
    for info in json.loads(docker("inspect", *ids)):
        state = info["State"]
        if state["Status"] == "running":
            status = state.get("Health", {}).get("Status", "running")
        elif state["Status"] == "exited":
            status = f"exited({state['ExitCode']})"
        else:
            status = state["Status"]
        found.append(
            {
                "id": info["Id"][:12],
                "service": info["Config"]["Labels"]["com.docker.compose.service"],
                "name": info["Name"].lstrip("/"),
                "status": status,
                "one_shot": info["HostConfig"]["RestartPolicy"]["Name"] in ("", "no"),
            }
        )
    return sorted(found, key=lambda c: c["name"])


def is_good(container: dict) -> bool:
    wanted = "exited(0)" if container["one_shot"] else "healthy"
    return container["status"] == wanted


def wait_all_healthy(project: str, services: list[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        found = containers(project)
        missing = set(services) - {c["service"] for c in found}
        bad = [c for c in found if not is_good(c)]
        if not missing and not bad:
            return ", ".join(f"{c['name']} {c['status']}" for c in found)
        if time.monotonic() > deadline:
            break
        time.sleep(3)
    for container in bad:
        logs = subprocess.run(
            ["docker", "logs", "--tail", "15", container["id"]], capture_output=True, text=True
        )
        print(f"--- last logs of {container['name']} ({container['status']}):")
        print((logs.stdout + logs.stderr).rstrip())
    states = ", ".join(f"{c['name']} {c['status']}" for c in bad)
    raise CheckFailed(f"after {timeout:.0f} s: missing {sorted(missing)}; not ready: {states}")


# --- checks through the proxy -------------------------------------------------------------


def check_health(base: str) -> str:
    for path in ("/healthz", "/readyz"):
        response = httpx.get(base + path, timeout=10)
        if response.status_code != 200 or response.json().get("status") != "ok":
            raise CheckFailed(f"{path}: {response.status_code} {response.text[:200]}")
    return "/healthz and /readyz answer ok"


def check_sources(base: str, slug: str, timeout: float) -> str:
    """The campaign's three platform sources reach `ok` (the first polls take a few seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{base}/api/v1/campaigns/{slug}", timeout=10)
        snapshot = response.json() if response.status_code == 200 else {}
        statuses = {s["kind"]: s["status"] for s in snapshot.get("sources", [])}
        if all(statuses.get(kind) == "ok" for kind in PLATFORM_KINDS):
            return f"sources {statuses}; total {snapshot['total']} of {snapshot['goal']}"
        if time.monotonic() > deadline:
            raise CheckFailed(f"after {timeout:.0f} s: {response.status_code} sources {statuses}")
        time.sleep(2)


async def check_websocket(base: str, sandbox: str, slug: str, timeout: float) -> str:
    """Snapshot first, then the `donation` event of a donation we post to the sandbox."""
    ws_url = base.replace("http://", "ws://") + f"/ws/campaigns/{slug}"
    nickname = f"CI {uuid.uuid4().hex[:8]}"
    # A client without Origin (a bot, an overlay plugin) is served the public data too.
    async with connect(ws_url, open_timeout=10) as bare:
        first = json.loads(await asyncio.wait_for(bare.recv(), 10))
        if first.get("type") != "snapshot":
            raise CheckFailed(f"without Origin: first message is {first.get('type')!r}")
    # The Origin a browser on the proxy's own pages sends.
    async with connect(ws_url, origin=base, open_timeout=10) as socket:
        first = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if first.get("type") != "snapshot":
            raise CheckFailed(f"first message is {first.get('type')!r}, not a snapshot")
        posted_at = time.monotonic()
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(
                f"{sandbox}/_sandbox/imraising/donations",
                json={"nickname": nickname, "amount": 12.34, "currency": "USD"},
            )
            response.raise_for_status()
        seen = 0
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads(await socket.recv())
                seen += 1
                if message.get("type") == "donation" and message["data"]["name"] == nickname:
                    delay = time.monotonic() - posted_at
                    return (
                        f"snapshot (with and without Origin), then {nickname!r}'s donation "
                        f"event {delay:.2f} s after the sandbox took it ({seen} messages)"
                    )


def check_login_rate_limit(base: str) -> str:
    """The proxy answers 429 to a burst of login POSTs (Django would answer 403: no CSRF)."""
    statuses = [
        httpx.post(f"{base}/admin/login/", data={"username": "x"}, timeout=10).status_code
        for _ in range(12)
    ]
    if statuses.count(429) < 5:
        raise CheckFailed(f"12 login POSTs answered {statuses}")
    return f"12 login POSTs: {statuses.count(429)} answered 429 by the proxy"


async def request_loop(client: httpx.AsyncClient, paths: list[str], stop: asyncio.Event, log):
    """GETs one after another until `stop` is set, recording (latency, failure or None)."""
    index = 0
    while not stop.is_set():
        path = paths[index % len(paths)]
        index += 1
        started = time.monotonic()
        try:
            response = await client.get(path)
            failure = None if response.status_code == 200 else f"{path}: {response.status_code}"
        except httpx.HTTPError as error:
            failure = f"{path}: {type(error).__name__} {error}"
        log.append((time.monotonic() - started, failure))


async def check_replica_kill(base: str, project: str, slug: str) -> str:
    """Four clients loop over GETs while one web replica is SIGKILLed (`docker kill`), stays
    down 12 s, is started again and becomes healthy: not one of their requests may fail."""
    web = [c for c in containers(project) if c["service"] == "web"]
    if len(web) < 2:
        raise CheckFailed(f"need 2 web replicas to kill one, have {len(web)}")
    victim = web[0]
    paths = [f"/api/v1/campaigns/{slug}", f"/c/{slug}/thermometer", "/healthz"]
    log: list[tuple[float, str | None]] = []
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=base, timeout=15) as client:
        loops = [asyncio.create_task(request_loop(client, paths, stop, log)) for _ in range(4)]
        await asyncio.sleep(3)
        await asyncio.to_thread(docker, "kill", victim["id"])
        await asyncio.sleep(12)
        # `docker kill` counts as a manual stop: the restart policy leaves it down.
        await asyncio.to_thread(docker, "start", victim["id"])
        back = await asyncio.to_thread(wait_healthy, victim["id"], 90)
        await asyncio.sleep(3)  # and some requests with it back in the proxy's answer
        stop.set()
        await asyncio.gather(*loops)
    failures = [failure for _, failure in log if failure]
    latencies = sorted(latency for latency, _ in log)
    figures = (
        f"{len(log)} GETs while {victim['name']} was killed, down 12 s, started again and "
        f"healthy {back:.0f} s later: {len(failures)} failed, latency "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )
    if failures:
        raise CheckFailed(f"{figures}; first failures: {failures[:5]}")
    return figures


def wait_healthy(container_id: str, timeout: float) -> float:
    """Seconds until the container's health check passes."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        status = docker("inspect", "-f", "{{.State.Health.Status}}", container_id).strip()
        if status == "healthy":
            return time.monotonic() - started
        time.sleep(1)
    raise CheckFailed(f"{container_id} not healthy {timeout:.0f} s after its start")


# --- running the checks -------------------------------------------------------------------


def run_check(results: list, name: str, check, *args) -> object:
    started = time.monotonic()
    try:
        detail = check(*args)
        ok = True
    except Exception as error:  # any error fails this check; the next ones still run
        detail, ok = f"{type(error).__name__}: {error}", False
    took = time.monotonic() - started
    results.append((name, ok))
    print(f"{'PASS' if ok else 'FAIL'} {name} ({took:.1f} s): {detail}", flush=True)
    return detail if ok else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", required=True, help="the compose project name")
    parser.add_argument("--port", type=int, required=True, help="the proxy's host port")
    parser.add_argument("--sandbox-port", type=int, required=True, help="the sandbox's host port")
    parser.add_argument("--services", required=True, help="comma-separated services expected")
    parser.add_argument("--slug", default="demo")
    parser.add_argument("--wait", type=float, default=300, help="seconds to wait for health")
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    sandbox = f"http://127.0.0.1:{args.sandbox_port}"
    services = args.services.split(",")
    results: list[tuple[str, bool]] = []

    if not run_check(
        results, "services healthy", wait_all_healthy, args.project, services, args.wait
    ):
        return summary(results)
    run_check(results, "health through the proxy", check_health, base)
    run_check(results, "demo sources ok", check_sources, base, args.slug, 90)
    run_check(
        results,
        "websocket snapshot and donation",
        lambda: asyncio.run(check_websocket(base, sandbox, args.slug, 30)),
    )
    run_check(results, "login rate limit", check_login_rate_limit, base)
    run_check(
        results,
        "no failed request while a web replica is killed",
        lambda: asyncio.run(check_replica_kill(base, args.project, args.slug)),
    )
    run_check(results, "all healthy at the end", wait_all_healthy, args.project, services, 60)
    return summary(results)


def summary(results: list[tuple[str, bool]]) -> int:
    failed = [name for name, ok in results if not ok]
    print(f"stack check: {len(results) - len(failed)} of {len(results)} checks passed", end="")
    print(f"; FAILED: {', '.join(failed)}" if failed else "")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
