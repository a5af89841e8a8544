"""Redis commands per broadcast as viewers grow: Fundboard's hub against one member per socket.

    .venv/bin/python bench/bench_layers.py --sockets 100 500 1000 --messages 20

Three ways to fan one campaign's messages out to N websockets, all on uvicorn with the same
websocket settings, each against a private `redis-server` started for this run (so nothing
else on the machine adds to its INFO commandstats):

- hub: Fundboard itself (`manage.py serve --no-ingest --server uvicorn`, PostgreSQL, the
  RedisPubSubChannelLayer): one group membership per process, local fan-out;
- pubsub/socket: Channels' usual pattern on RedisPubSubChannelLayer (per_socket_group_app.py);
- core-tuned/socket: the same on RedisChannelLayer, with redis-py's socket timeout raised
  to 30 s (see below); core/socket: RedisChannelLayer as configured by default.

redis-py 8 defaults `socket_timeout` to 5 s, exactly RedisChannelLayer's BZPOPMIN timeout, so
with the default configuration idle consumers die of "Timeout reading from" errors: that is
why the core layer "fails outright" here, at any socket count. Past that, every idle consumer
holds a pooled connection in BZPOPMIN, so the pool's default cap ("Too many connections")
is hit next.
Commands counted exclude connection set-up and tear-down (SUBSCRIBE, UNSUBSCRIBE, HELLO,
CLIENT, and ZREM = group_discard on the core layer), which follow sockets joining and
leaving, not broadcasts. A PUBLISH is one command however many subscribers receive it, so
the bytes Redis sends per broadcast (INFO stats total_net_output_bytes) are printed too:
that is where one-member-per-socket on the pubsub layer grows with the sockets.

The driver `group_send`s M donation-sized messages (0.25 s apart) to the group; viewers in
client processes (fanout_clients.py) time each from its send. Redis commands are the INFO
commandstats delta from the first send until every viewer has every message (or timed out),
divided by M. Target: flat for the hub however many sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import select
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack_clients import PY, REPO, Stack, percentile  # noqa: E402

EVENT_SIZE = 400
BYTES_OUT = "bytes-out"
# Sockets joining and leaving (group_add/group_discard, SUBSCRIBE/UNSUBSCRIBE) is not
# broadcast work; nor are this script's own INFO reads.
CONNECTION_WORK = {
    "subscribe", "unsubscribe", "hello", "client|setinfo", "client", "zrem", BYTES_OUT,
}  # fmt: skip


def start_redis() -> tuple[subprocess.Popen, str]:
    from fundboard.sandbox.server import free_port

    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return process, url


def command_counts(url: str) -> dict[str, int]:
    import redis

    client = redis.Redis.from_url(url)
    stats = client.info("commandstats")
    counts = {name[8:]: row["calls"] for name, row in stats.items() if name != "cmdstat_info"}
    # Bytes Redis sent: a PUBLISH to N subscribers is one command but N deliveries.
    counts[BYTES_OUT] = client.info("stats")["total_net_output_bytes"]
    return counts


def start_clients(url: str, origin: str, sockets: int, messages: int, procs: int, timeout: float):
    per = [sockets // procs + (1 if i < sockets % procs else 0) for i in range(procs)]
    clients = [
        subprocess.Popen(
            [PY, str(REPO / "bench/fanout_clients.py"), url, "--origin", origin,
             "--sockets", str(n), "--messages", str(messages), "--timeout", str(timeout)],
            stdout=subprocess.PIPE, text=True,
        )
        for n in per if n
    ]  # fmt: skip
    for client in clients:
        ready, _, _ = select.select([client.stdout], [], [], 60)
        line = client.stdout.readline().strip() if ready else "(no answer in 60 s)"
        if line != "ready":
            for other in clients:
                other.kill()
                other.wait()
            raise ViewersFailed(f"viewers failed to connect: {line or 'a client crashed'}")
    return clients


class ViewersFailed(RuntimeError):
    pass


def make_layer(kind: str, url: str, prefix: str):
    from channels_redis.core import RedisChannelLayer
    from channels_redis.pubsub import RedisPubSubChannelLayer

    layer_class = RedisChannelLayer if kind == "core" else RedisPubSubChannelLayer
    return layer_class(hosts=[url], prefix=prefix)


async def publish(layer, group: str, messages: int, interval: float) -> None:
    for index in range(messages):
        body = {"type": "donation", "data": {"id": index, "message": f"t0={time.time():.6f}"}}
        text = json.dumps(body, separators=(",", ":"))
        text = text[:-2] + " " * max(0, EVENT_SIZE - len(text)) + "}}"
        await layer.group_send(
            group,
            {"type": "campaign.message", "text": text, "kind": "donation",
             "version": index + 1, "sent_at": time.time()},
        )  # fmt: skip
        await asyncio.sleep(interval)


def run_one(target: dict, sockets: int, args) -> dict:
    clients = start_clients(
        target["ws"], target["origin"], sockets, args.messages, args.client_procs, args.timeout
    )
    time.sleep(1.0)  # let subscriptions settle before counting
    layer = make_layer(target["layer"], target["redis"], target["prefix"])
    before = command_counts(target["redis"])
    asyncio.run(publish(layer, target["group"], args.messages, args.interval))
    latencies, complete = [], 0
    for client in clients:
        out, _ = client.communicate(timeout=args.timeout + 60)
        result = json.loads(out.strip().splitlines()[-1])
        latencies += result["latencies"]
        complete += result["complete"]
    after = command_counts(target["redis"])
    delta = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    # Connection set-up and tear-down (sockets leaving as clients finish) is not broadcast work.
    delta = {n: calls for n, calls in delta.items() if calls > 0 and n not in CONNECTION_WORK}
    bytes_out = after[BYTES_OUT] - before[BYTES_OUT]
    return {
        "commands": sum(delta.values()) / args.messages,
        "kb_out": bytes_out / args.messages / 1024,
        "top": sorted(delta.items(), key=lambda item: -item[1])[:3],
        "received": len(latencies),
        "expected": sockets * args.messages,
        "complete": complete,
        "p50": percentile(latencies, 0.5) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
    }


def hub_target(stack: Stack) -> dict:
    _, port = stack.start_web("uvicorn", "hub-uvicorn")
    campaign_id = stack.sql("SELECT id FROM campaigns_campaign WHERE slug = %s", (stack.slug,))[0][
        0
    ]
    return {
        "name": "hub (Fundboard, pubsub)",
        "ws": f"ws://127.0.0.1:{port}/ws/campaigns/{stack.slug}",
        "origin": f"http://127.0.0.1:{port}",
        "layer": "pubsub",
        "redis": stack.redis_url,
        "prefix": stack.prefix,
        "group": f"campaign.{campaign_id}",
    }


def per_socket_target(stack: Stack, variant: str) -> dict:
    from fundboard.sandbox.server import free_port

    port = free_port()
    prefix = f"{stack.prefix}{variant}"
    layer = variant.removesuffix("-tuned")
    app = [PY, str(REPO / "bench/per_socket_group_app.py"), "--port", str(port)]
    app += ["--redis", stack.redis_url, "--layer", layer, "--prefix", prefix]
    if variant.endswith("-tuned"):
        app += ["--socket-timeout", "30"]
    stack._spawn(app, f"per-socket-{variant}")
    time.sleep(3)
    return {
        "name": f"{variant}/socket",
        "ws": f"ws://127.0.0.1:{port}/ws/campaigns/bench",
        "origin": f"http://127.0.0.1:{port}",
        "layer": layer,
        "redis": stack.redis_url,
        "prefix": prefix,
        "group": "bench",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.25)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--variants", nargs="+", default=["hub", "pubsub", "core-tuned", "core"])
    args = parser.parse_args()
    redis_server, redis_url = start_redis()
    try:
        with Stack(redis_url=redis_url) as stack:
            for variant in args.variants:
                target = (
                    hub_target(stack) if variant == "hub" else per_socket_target(stack, variant)
                )
                for sockets in args.sockets:
                    try:
                        row = run_one(target, sockets, args)
                    except ViewersFailed as failure:
                        print(f"{target['name']:<24} {sockets:>5} sockets: FAILED ({failure}; "
                              "see the server log)", flush=True)  # fmt: skip
                        continue
                    top = ", ".join(f"{name} {calls}" for name, calls in row["top"])
                    print(
                        f"{target['name']:<24} {sockets:>5} sockets: "
                        f"{row['commands']:6.1f} Redis commands and "
                        f"{row['kb_out']:7.1f} KB sent by Redis per broadcast ({top}); "
                        f"received {row['received']}/{row['expected']}; "
                        f"p50 {row['p50']:7.1f} ms  p99 {row['p99']:7.1f} ms",
                        flush=True,
                    )
    finally:
        redis_server.terminate()
        redis_server.wait()


if __name__ == "__main__":
    main()
