"""One Fundboard server per pytest worker for the browser modules, a campaign of their own per test.

Starting `manage.py serve` is the slow part of most browser tests (~1.5 s of CPU each), and a
look, language or live-update test only needs *a* campaign in a known state. So the modules'
fixtures load the campaigns their tests need into one server per worker, each on its own slug
(unique across the modules that share it), and each campaign that takes donations gets a
sandbox of its own (the ImRaising stream sends every donation to whoever listens): tests stay
independent of each other and of their order, and xdist may still spread them over workers.
When a module is done its campaigns are removed (their stream runners stop quietly) and its
sandboxes closed.

A module that needs a server of its own gets one (`own_server=True`, or a raw `toml` whose first
campaign and source must get id 1, as the dashboard modules' do); so do tests about start-up,
restarts or a per-server setting.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from fundboard.sandbox.app import Sandbox
from fundboard.sandbox.imraising import ADVANCED_KEY
from fundboard.sandbox.server import SandboxServer

from ..support import FundboardServer, wait_for
from ..test_stream_end_to_end import sandbox_state, streaming
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
    tmp_path_factory, db_blocker, *specs: Spec, toml: str = "", own_server: bool = False
) -> Iterator[SharedServer]:
    """A started server with `specs`' campaigns; on exit they are removed, or the server is
    closed if it was this module's own. With `toml` (campaigns loaded first: the first
    campaign and source there get id 1) or `own_server`, a server of the module's own."""
    with ExitStack() as stack:
        sandboxes = {
            spec.slug: stack.enter_context(SandboxServer(Sandbox(rate=0.0, seed=1)))
            for spec in specs
            if spec.streamed
        }
        campaigns = "".join(
            campaign_toml(spec, sandboxes[spec.slug].url if spec.streamed else None)
            for spec in specs
        )
        if toml or own_server:
            server = FundboardServer(
                tmp_path_factory.mktemp("shared-server"), toml + campaigns, db_blocker=db_blocker
            )
            stack.callback(server.close)
            server.start()
        else:
            server = _worker_server(tmp_path_factory, db_blocker)
            slugs = [spec.slug for spec in specs]
            # Before the sandboxes close (the stack unwinds last-in first-out).
            stack.callback(_remove_campaigns, server, slugs, list(sandboxes.values()))
            # In this process: nobody watches a campaign that did not exist yet, and the
            # server's stream supervisor finds the new sources on its next database scan.
            server.load(campaigns, in_process=True)
            for sandbox in sandboxes.values():
                streaming(sandbox)  # so a donation posted next arrives live, not by backfill
        yield SharedServer(server, sandboxes)


def _remove_campaigns(server: FundboardServer, slugs: list[str], sandboxes: list) -> None:
    """Stop the campaigns' stream runners, then remove the campaigns. Deleting under a running
    runner is safe (fundboard/campaigns/deletion.py; tests/test_deletion_races.py tests that
    race); stopping them first keeps a module's removal out of the next module's way on the
    shared server: no runner of a removed campaign is still writing or reconnecting."""
    from fundboard.campaigns.models import Source

    sources = Source.objects.filter(campaign__slug__in=slugs)
    server.orm(lambda: sources.update(enabled=False))  # the supervisor stops their runners
    for sandbox in sandboxes:
        wait_for(lambda sandbox=sandbox: sandbox_state(sandbox)["open_streams"] == 0, timeout=15)
    # A stopped runner's last write says it no longer streams.
    wait_for(lambda: not server.orm(sources.filter(stream_connected=True).exists), timeout=15)
    server.orm(lambda: _delete_campaigns(slugs))


def _delete_campaigns(slugs: list[str]) -> None:
    from fundboard.campaigns.models import Campaign

    Campaign.objects.filter(slug__in=slugs).delete()


_worker: FundboardServer | None = None


def _worker_server(tmp_path_factory, db_blocker) -> FundboardServer:
    """This pytest process's shared server, started on first use, closed at exit."""
    global _worker
    if _worker is None:
        _worker = FundboardServer(tmp_path_factory.mktemp("worker-server"), db_blocker=db_blocker)
        atexit.register(_worker.close)
        _worker.start()
    return _worker
