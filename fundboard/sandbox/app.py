"""The sandbox's ASGI app: every platform's routes, the generator and its controls."""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import actionnetwork, imraising, p2p

__all__ = ["Sandbox", "create_app"]


@dataclass
class Sandbox:
    """All platforms' state in one process, plus the donation generator's settings."""

    rate: float = 0.0  # generated donations per second (0: only what tests post)
    seed: int | None = None
    imraising: imraising.ImRaisingState = field(default_factory=imraising.ImRaisingState)
    actionnetwork: actionnetwork.ActionNetworkState = field(
        default_factory=actionnetwork.ActionNetworkState
    )
    p2p: p2p.P2PState = field(default_factory=p2p.P2PState)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def generate_one(self) -> None:
        """One simulated donation on a platform picked at random (mostly the stream)."""
        roll = self.random.random()
        if roll < 0.6:
            self.imraising.generate(self.random)
        elif roll < 0.8:
            self.actionnetwork.generate(self.random)
        else:
            self.p2p.generate(self.random)


async def _run_generator(sandbox: Sandbox) -> None:
    while True:
        if sandbox.rate > 0:
            sandbox.generate_one()
            await asyncio.sleep(sandbox.random.expovariate(sandbox.rate))
        else:
            await asyncio.sleep(0.2)


async def _generator_control(request: Request) -> JSONResponse:
    sandbox: Sandbox = request.app.state.sandbox
    if request.method == "POST":
        body = await request.json()
        sandbox.rate = max(0.0, min(float(body.get("rate", sandbox.rate)), 1000.0))
    return JSONResponse({"rate": sandbox.rate})


def create_app(sandbox: Sandbox | None = None) -> Starlette:
    sandbox = sandbox or Sandbox()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        task = asyncio.create_task(_run_generator(sandbox))
        try:
            yield
        finally:
            task.cancel()
            await sandbox.imraising.close_streams()

    routes = [
        Route("/_sandbox/generator", _generator_control, methods=["GET", "POST"]),
        *imraising.routes(sandbox.imraising),
        *actionnetwork.routes(sandbox.actionnetwork),
        *p2p.routes(sandbox.p2p),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sandbox = sandbox
    return app
