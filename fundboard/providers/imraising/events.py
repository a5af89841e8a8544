"""The typed events of ImRaising's `/api/v1/listen` stream.

A stream event becomes one of three frozen dataclasses: a donation added, a donation
deleted, or an event rejected with the reason (malformed data, too large). Events upstream
does not document (`donation.update`, anything new) and events that carry no data
(`retry:`- or `id:`-only) become nothing, as upstream asks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..errors import BadRecord
from ..records import DonationRecord, RemovalRecord
from .documents import decode_event_data, parse_donation, parse_removal
from .sse import Event

__all__ = ["DonationAdded", "DonationDeleted", "EventRejected", "StreamEvent", "parse_event"]

log = logging.getLogger("fundboard.providers.imraising")


@dataclass(frozen=True)
class DonationAdded:
    """`donation.add`: a new donation (or one upstream sends again; ingest stores it once)."""

    record: DonationRecord
    event_id: str = ""  # the stream's `id:` when it changed with this event


@dataclass(frozen=True)
class DonationDeleted:
    """`donation.delete`: the donation is removed upstream."""

    record: RemovalRecord
    event_id: str = ""


@dataclass(frozen=True)
class EventRejected:
    """An event we could not read; the reason goes on the source's health."""

    reason: str
    event_id: str = ""


StreamEvent = DonationAdded | DonationDeleted | EventRejected


def parse_event(event: Event, event_id: str = "") -> StreamEvent | None:
    """One decoded SSE event as a typed event, or None when it carries nothing for us.
    `event_id` is the stream's new cursor, if this event moved it."""
    if event.too_large:
        return EventRejected(
            f"{event.event[:40]}: event data larger than the stream's bound", event_id
        )
    if not event.data.strip():
        return None  # retry-only and id-only events (and httpx-sse's empty ones) carry nothing
    try:
        if event.event == "donation.add":
            return DonationAdded(parse_donation(decode_event_data(event.data)), event_id)
        if event.event == "donation.delete":
            return DonationDeleted(parse_removal(decode_event_data(event.data)), event_id)
    except BadRecord as error:
        return EventRejected(f"{event.event}: {error}", event_id)
    except Exception as error:  # noqa: BLE001 - a bug costs this event, not the stream
        log.exception("could not parse a %s event", event.event)
        return EventRejected(f"{event.event}: {type(error).__name__}", event_id)
    log.debug("ignoring event %r", event.event[:40])
    return None
