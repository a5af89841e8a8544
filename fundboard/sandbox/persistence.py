"""Keeping the demo's imitation platforms between runs, as real platforms keep their data.

The demo restarts its sandbox with the server. An empty sandbox after a restart looks to
Fundboard exactly like every donation deleted upstream (reconciliation removes them) and
every polled total dropping back, so `manage.py demo` saves the platforms' data and its
port here when it stops (and every few seconds while it runs) and loads them on the next
start. The file is written by this process for this process, in the demo's data folder.
"""

from __future__ import annotations

import logging
import os
import pickle  # noqa: S403  (our own file, written and read by the demo alone)
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .app import Sandbox

__all__ = ["SavedSandbox", "load_sandbox", "restore_into", "save_sandbox"]

log = logging.getLogger("fundboard.sandbox")
FORMAT = 1


@dataclass
class SavedSandbox:
    port: int
    data: dict


def _data_of(sandbox: Sandbox) -> dict:
    # Only the platforms' records: streams, queues and fault settings belong to one run.
    return {
        "imraising.donations": dict(sandbox.imraising.donations),
        "actionnetwork.pages": dict(sandbox.actionnetwork.pages),
        "p2p.events": dict(sandbox.p2p.events),
        "p2p.gift_serial": sandbox.p2p._gift_serial,
    }


def save_sandbox(path: Path, sandbox: Sandbox, port: int) -> None:
    """Write the platforms' data atomically (a crash mid-write leaves the previous file)."""
    payload = pickle.dumps({"format": FORMAT, "port": port, "data": _data_of(sandbox)})
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name)
    with os.fdopen(handle, "wb") as file:
        file.write(payload)
    os.replace(temporary, path)


def load_sandbox(path: Path) -> SavedSandbox | None:
    """The saved platforms, or None when there is no usable file (then the demo starts fresh)."""
    try:
        saved = pickle.loads(path.read_bytes())  # noqa: S301  (written by save_sandbox)
    except FileNotFoundError:
        return None
    except Exception as error:  # an older or damaged file: start afresh rather than fail
        log.warning("demo sandbox state not loaded path=%s error=%s", path, type(error).__name__)
        return None
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        return None
    return SavedSandbox(port=int(saved["port"]), data=saved["data"])


def restore_into(sandbox: Sandbox, saved: SavedSandbox) -> None:
    data = saved.data
    sandbox.imraising.donations.update(data["imraising.donations"])
    sandbox.actionnetwork.pages.update(data["actionnetwork.pages"])
    sandbox.p2p.events.update(data["p2p.events"])
    sandbox.p2p._gift_serial = max(sandbox.p2p._gift_serial, data["p2p.gift_serial"])
