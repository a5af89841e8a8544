"""The one write path for everything the platforms tell us.

Every function here runs in one transaction, is idempotent (the same upstream record twice
is stored once), bumps the campaign's `version` only when something visible changed, and
announces the change through `fundboard.ingest.signals` after the commit.

This module is the write path's public face; the code lives by concern beside it:
`changes` (versions and announcements), `donations` (storing and removing), `polls` (what
one poll found), `health` (a source's status).
"""

from __future__ import annotations

from .changes import IngestOutcome, commit_change, save_changed_fields
from .donations import ingest_donations, remove_donations
from .health import record_drift, record_failure, record_rejection, record_success, status_for_error
from .polls import apply_poll_result

__all__ = [
    "IngestOutcome",
    "commit_change",
    "save_changed_fields",
    "ingest_donations",
    "remove_donations",
    "apply_poll_result",
    "record_success",
    "record_failure",
    "record_rejection",
    "record_drift",
    "status_for_error",
]
