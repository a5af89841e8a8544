"""One Fundboard server for a whole browser test module, with a campaign of its own per test.

Starting `manage.py serve` is the slow part of most browser tests (seconds of CPU each), and a
look or language test only needs *a* campaign in a known state. So a module fixture starts one
server with every campaign its tests need, each on its own slug, and each campaign that takes
donations gets a sandbox of its own (the ImRaising stream sends every donation to whoever
listens): tests stay independent of each other and of their order, and xdist may still spread
them over workers (each worker then starts the module's server once).

Tests about start-up, restarts or a per-server setting keep a server of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from fundboard.sandbox.app import Sandbox
from fundboard.sandbox.imraising import ADVANCED_KEY
from fundboard.sandbox.server import SandboxServer

from ..support import FundboardServer
from .conftest import StreamedCampaign


@dataclass(frozen=True)
class Spec:
    """A campaign of the shared server. `streamed`: fed by a sandbox of its own."""

    slug: str
    goal: str = "1000"
    milestones: str = "[]"
    extra: str = ""
    streamed: bool = True


def campaign_toml(spec: Spec, sandbox_url: str | None) -> str:
    source = (
        f"""
  [[campaign.source]]
  kind = "imraising"
  name = "Stream"
  base_url = "{sandbox_url}"
  api_key = "{ADVANCED_KEY}"
"""
        if sandbox_url
        else ""
    )
    return f"""
[[campaign]]
slug = "{spec.slug}"
name = "Live Drive"
goal = "{spec.goal}"
currency = "USD"
milestones = {spec.milestones}
{spec.extra}
{source}"""


class SharedServer:
    """A started server plus the sandboxes of its streamed campaigns."""

    def __init__(self, server: FundboardServer, sandboxes: dict[str, SandboxServer]):
        self.server, self.sandboxes = server, sandboxes

    def campaign(self, slug: str) -> StreamedCampaign:
        sandbox = self.sandboxes.get(slug)
        return StreamedCampaign(self.server, sandbox.url if sandbox else "", slug)


@contextmanager
def shared_server(
    tmp_path_factory, db_blocker, *specs: Spec, toml: str = ""
) -> Iterator[SharedServer]:
    """A started server with `specs`' campaigns (and any other campaigns in `toml`, loaded
    first: the first campaign and source there get id 1), closed on exit."""
    with ExitStack() as stack:
        sandboxes = {
            spec.slug: stack.enter_context(SandboxServer(Sandbox(rate=0.0, seed=1)))
            for spec in specs
            if spec.streamed
        }
        campaigns = toml + "".join(
            campaign_toml(spec, sandboxes[spec.slug].url if spec.streamed else None)
            for spec in specs
        )
        tmp = tmp_path_factory.mktemp("shared-server")
        server = FundboardServer(tmp, campaigns, db_blocker=db_blocker)
        stack.callback(server.close)
        server.start()
        yield SharedServer(server, sandboxes)
