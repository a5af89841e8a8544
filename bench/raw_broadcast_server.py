"""Benchmark reference: the plainest Python websocket broadcast there is.

Every client that connects to / is a viewer; a connection to /publish sends messages that
are broadcast verbatim to every viewer with `websockets.broadcast`. What Fundboard's fan-out
is compared with: the same machine, the same clients, no framework in between.
"""

import argparse
import asyncio

import websockets

viewers: set = set()


async def handler(ws) -> None:
    if ws.request.path == "/publish":
        async for message in ws:
            websockets.broadcast(viewers, message)
        return
    viewers.add(ws)
    try:
        await ws.wait_closed()
    finally:
        viewers.discard(ws)


async def main(port: int) -> None:
    # No permessage-deflate, like Fundboard's servers: compression per socket would dominate.
    async with websockets.serve(handler, "127.0.0.1", port, max_size=None, compression=None):
        print("listening", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
