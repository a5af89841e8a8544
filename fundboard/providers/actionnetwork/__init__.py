"""Action Network fundraising pages (OSDI, HAL+JSON), read-only.

The package: `fetching.py` (named pages, the paged collection), `parsing.py` (a page into
an entry), `client.py` (`ActionNetworkClient.poll()`: the entries and their total).

A source either names its pages or tracks every page of its API key:

    ids = {"page_ids": ["d91b4b2e-...", "..."]}          # GET /api/v1/fundraising_pages/{id}
    ids = {"all_pages": true}                           # GET /api/v1/fundraising_pages, paged
    ids = {"all_pages": true, "title_contains": "Walk"} # ... only pages whose title contains it
    ids = {"all_pages": true, "identifier": "free_fundraising:1"}  # ... or carrying this id

The key travels in the `api-key` header. A page's identity is its `action_network:` entry in
`identifiers`, never its position in a list, so pages moving between collection pages are
counted once. The source's total is the sum of its pages' `total_amount` (the platform's own
figure); each page is also a leaderboard entry (kind "fundraiser").

Options (`source.options`): `timeout` (seconds per request, default 10).
"""

from __future__ import annotations

from .client import ActionNetworkClient
from .parsing import parse_fundraising_page

__all__ = ["ActionNetworkClient", "parse_fundraising_page"]
