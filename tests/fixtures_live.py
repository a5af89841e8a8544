"""The live layer's process singletons (hub, broadcaster, stall sweep), reset around a test.

A test that binds the broadcaster to its own loop, or makes hubs on one, leaves them behind
for the next test in the same worker; with `live_singletons` each test starts and ends with
them as a fresh process has them. Use: `pytestmark = pytest.mark.usefixtures("live_singletons")`
after `from .fixtures_live import live_singletons`.
"""

from collections.abc import Iterator

import pytest

from fundboard.live.broadcast import LiveBroadcaster, broadcaster
from fundboard.live.hub import reset_hubs
from fundboard.live.stalls import reset_sweeps

__all__ = ["live_singletons", "reset_live_singletons"]


def reset_live_singletons() -> None:
    broadcaster.reset()
    reset_hubs()
    reset_sweeps()


@pytest.fixture
def live_singletons() -> Iterator[LiveBroadcaster]:
    reset_live_singletons()
    yield broadcaster
    reset_live_singletons()
