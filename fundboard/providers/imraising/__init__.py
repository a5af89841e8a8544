"""ImRaising Public API: its stream, its REST endpoints and its documents, behind one API.

- `listen(base_url, api_key, position, ...)` opens `/api/v1/listen`; `stream.events()`
  yields typed events (`DonationAdded`, `DonationDeleted`, `EventRejected`): see `listen.py`.
- `ImRaisingClient` (async) reads the paged listing, totals and top donors; the plain
  function `send_test_donation` is for Django views: see `rest.py`.
- `parse_donation`, `parse_removal`, `decode_event_data`, `auth_headers`: see `documents.py`.

HTTP and parsing only (no ORM); the runners (`fundboard.runners`) store what this yields.
"""

from .documents import (
    DEFAULT_BASE_URL,
    EVENT_MAX_BYTES,
    auth_headers,
    decode_event_data,
    iso_param,
    parse_donation,
    parse_removal,
)
from .events import DonationAdded, DonationDeleted, EventRejected, StreamEvent, parse_event
from .listen import Listener, StreamEnded, StreamPosition, listen
from .rest import (
    PAGE_SIZE,
    DonationPage,
    ImRaisingClient,
    TopDonor,
    error_for_response,
    send_test_donation,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "EVENT_MAX_BYTES",
    "PAGE_SIZE",
    "DonationAdded",
    "DonationDeleted",
    "DonationPage",
    "EventRejected",
    "ImRaisingClient",
    "Listener",
    "StreamEnded",
    "StreamEvent",
    "StreamPosition",
    "TopDonor",
    "auth_headers",
    "decode_event_data",
    "error_for_response",
    "iso_param",
    "listen",
    "parse_donation",
    "parse_event",
    "parse_removal",
    "send_test_donation",
]
