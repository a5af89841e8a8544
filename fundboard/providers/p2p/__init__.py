"""Peer-to-peer events (Engaging Networks P2P REST API v1.0), read-only.

The package: `config.py` (a source's options), `fetching.py` (URLs, paging, 304s),
`parsing.py` (the envelope and each record), `client.py` (`P2PClient.poll()`).

Every reply is an envelope: `{"status": true, "data": ...}` or `{"status": false, "error":
"..."}`, and a failure can come with HTTP 200, so the envelope decides: `status:false` is an
error (the source keeps its last good numbers), never zeros. "Invalid API key" is an
AuthError. The key goes in a query parameter and must stay on the server.

The source names its event: `ids = {"event_id": "spring-walk"}`. A poll reads four methods:
event totals (the source's part of the campaign total), fundraisers and teams (leaderboards,
paged with limit/offset to the end, blocked fundraisers left off), and gifts (stored as
donations for top donors and the recent list; they do not add to the total, the event's own
total does). Gifts are read from the newest one seen on (`since`), so a poll stays small.

The platform's method reference is not public, so every name below is configuration,
set per source in `options` (these are the defaults):

    [campaign.source.options]
    key_param = "apiKey"        # name of the query parameter carrying the API key
    page_size = 100             # limit per request (the platform allows at most 100)
    blocked_status = "blocked"  # a fundraiser with this status is left off the boards
    methods = ["totals", "fundraisers", "teams", "gifts"]   # drop one to skip it
    timeout = 10                # seconds per request

    [campaign.source.options.paths]   # {event_id} is replaced by the source's event id
    totals = "/api/v1/p2p/events/{event_id}/totals"
    fundraisers = "/api/v1/p2p/events/{event_id}/fundraisers"
    teams = "/api/v1/p2p/events/{event_id}/teams"
    gifts = "/api/v1/p2p/events/{event_id}/gifts"

    [campaign.source.options.fields.totals]        # our name = the platform's field name
    raised = "raised"         # also: goal, currency, donation_count, name
    [campaign.source.options.fields.fundraisers]
    id = "id"                 # also: name, team_name, raised, goal, donation_count, url, status
    [campaign.source.options.fields.teams]
    id = "id"                 # also: name, raised, goal, member_count, url
    [campaign.source.options.fields.gifts]
    id = "id"                 # also: donor_name, anonymous, amount, currency, message, date,
                              #       fundraiser_id

Only the fields you change need to be given.
"""

from __future__ import annotations

from .client import P2PClient
from .config import DEFAULT_FIELDS, DEFAULT_PATHS, P2PConfig
from .parsing import parse_fundraiser, parse_gift, parse_team, parse_totals, unwrap_envelope

__all__ = [
    "DEFAULT_FIELDS",
    "DEFAULT_PATHS",
    "P2PClient",
    "P2PConfig",
    "parse_fundraiser",
    "parse_gift",
    "parse_team",
    "parse_totals",
    "unwrap_envelope",
]
