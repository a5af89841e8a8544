"""The page version: a short hash of the campaign settings a widget page's HTML prints.

A widget page (widgets/views.py, incentives/widget_pages.py) carries no numbers: live.js and
incentives.js draw them from the snapshot. What its HTML and headers take from the campaign
is only `PAGE_FIELDS`: the name (title, thermometer heading), the slug and currency (the
script's config) and the allowed origins (the CSP's frame-ancestors). The goal, milestones,
incentives and runs are drawn by the scripts; theme and language come from the URL, which is
part of the page cache's key. So the page cache (widgets/page_cache.py) keys a page by this
hash, not by the campaign version, which moves on every donation.

Why a hash computed with every snapshot, not a counter the settings' writers bump: the hash
is derived from the row itself, so no writer (the admin, the dashboard, loadcampaigns, one
added later) can forget to move it; a counter would be stale after the first save that
forgot. The one thing to keep in step is this list against the templates:
tests/test_page_version.py renders every page with each campaign field changed and fails if
the HTML changes for a field not listed here.

The hash travels inside the snapshot (its `page_version` key, just before `version`), so
every process's snapshot cache (snapshot_cache.py) learns it from the same broadcast text
the sockets get, with no second message.
"""

from __future__ import annotations

import hashlib
import json
import re

from fundboard.campaigns.models import Campaign

__all__ = ["PAGE_FIELDS", "page_version", "page_version_in"]

PAGE_FIELDS = ("slug", "name", "currency", "allowed_origins")

# The key as json.dumps writes it. Inside a JSON string every `"` is escaped (`\"`), so this
# exact text can only be the key itself; only the snapshot's top level has it.
_KEY = '"page_version":"'
_VALUE = re.compile(r'([0-9a-f]{16})"')


def page_version(campaign: Campaign) -> str:
    """16 hex digits that change exactly when a field in `PAGE_FIELDS` does."""
    # default=str: a field of any type (Decimal, datetime) may join the list without breaking
    # every snapshot build.
    inputs = json.dumps([getattr(campaign, field) for field in PAGE_FIELDS], default=str)
    return hashlib.sha256(inputs.encode()).hexdigest()[:16]


def page_version_in(text: str, version: int) -> str:
    """The page version in an encoded snapshot, found without parsing it (the hub stores every
    broadcast snapshot: a 64 KB json.loads per broadcast per process is not free). A snapshot
    from a process that predates page versions has none: its campaign version stands in, so
    its pages are re-rendered per version, as they used to be."""
    start = text.rfind(_KEY)  # the last one: only `version` and `updated_at` follow it
    found = _VALUE.match(text, start + len(_KEY)) if start >= 0 else None
    return found.group(1) if found else f"v{version}"
