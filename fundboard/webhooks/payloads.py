"""What a webhook says: the event document, and its bytes in each format.

The Fundboard JSON body of every event:

    {"id": "<uuid, the idempotency id>", "type": "donation", "campaign": "marathon",
     "version": 42, "created_at": "2026-11-30T15:00:00Z", "data": {...}}

Money is always a decimal string ("25.00"), never a float. A donor's name and message
follow the public contract: hidden or held names are "Anonymous", hidden messages absent.
What a donor typed goes out as plain text; the JSON writes <, > and & as \\u escapes, so
a receiver that pastes the body into a page is not handed markup. The Discord format
turns the same document into `{"content", "embeds"}` with mentions and markdown neutralised.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from fundboard.campaigns.models import Campaign
from fundboard.ingest.models import Donation
from fundboard.live.snapshot import donation_payload, money

from .models import EventType, WebhookFormat

__all__ = [
    "MAX_BODY_BYTES",
    "MESSAGE_MAX_CHARS",
    "donation_data",
    "removal_data",
    "milestone_data",
    "goal_data",
    "test_data",
    "event_document",
    "encode_body",
]

# A body is never larger than this (names are at most 100 characters, messages are cut).
MAX_BODY_BYTES = 16 * 1024
MESSAGE_MAX_CHARS = 1000
_HTML_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def donation_data(donation: Donation, campaign: Campaign) -> dict:
    """The public view of a donation, as the websocket's `donation` event carries it."""
    data = donation_payload(donation, campaign)
    if "message" in data:
        data["message"] = data["message"][:MESSAGE_MAX_CHARS]
    return data


def removal_data(donation: Donation) -> dict:
    data = {"id": donation.pk, "amount": money(donation.amount), "currency": donation.currency}
    if donation.converted_amount is not None and donation.currency != donation.campaign.currency:
        # Converted into the campaign's currency at ingest (issue 15), as `donation` carries it.
        data["converted_amount"] = money(donation.converted_amount)
        data["approximate"] = True
    return data


def milestone_data(campaign: Campaign, milestone: Decimal, total: Decimal) -> dict:
    return {
        "milestone": money(milestone),
        "total": money(total),
        "goal": money(campaign.goal),
        "currency": campaign.currency,
    }


def goal_data(campaign: Campaign, total: Decimal) -> dict:
    return {"goal": money(campaign.goal), "total": money(total), "currency": campaign.currency}


def test_data() -> dict:
    return {"message": "A test event from Fundboard: this endpoint is set up."}


def event_document(
    event_id: str, event: str, campaign: Campaign, version: int, created_at, data: dict
) -> dict:
    return {
        "id": event_id,
        "type": event,
        "campaign": campaign.slug,
        "version": version,
        "created_at": _iso(created_at),
        "data": data,
    }


def _dumps(document: dict) -> str:
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return text.translate(_HTML_ESCAPES)


def encode_body(document: dict, format: str) -> str:
    """The body text sent for `document` in an endpoint's format, within MAX_BODY_BYTES."""
    body = _dumps(discord_body(document) if format == WebhookFormat.DISCORD else document)
    if len(body.encode("utf-8")) > MAX_BODY_BYTES and "message" in document["data"]:
        # Cannot happen with today's bounds; if it ever does, the message goes, not the event.
        data = {key: value for key, value in document["data"].items() if key != "message"}
        return encode_body({**document, "data": data}, format)
    return body


# --- Discord ----------------------------------------------------------------------------------

# Markdown that would change how Discord shows a donor's words (bold, links, quotes, code).
_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()])")
DISCORD_CONTENT_MAX = 2000
DISCORD_DESCRIPTION_MAX = 4000
DISCORD_COLOUR = 0x2E7D32


def discord_text(text: str) -> str:
    """A donor's words as literal Discord text: no markdown, no mentions (@everyone, <@id>)."""
    text = _MARKDOWN.sub(r"\\\1", text)
    # A zero-width space after "@" breaks every mention; allowed_mentions says so as well.
    return text.replace("@", "@\u200b")


def _discord_summary(document: dict) -> tuple[str, str]:
    """(content, embed description) for each event type."""
    data, kind = document["data"], document["type"]
    if kind == EventType.DONATION:
        name = discord_text(data["name"].replace("\n", " "))
        content = f"**{name}** donated **{data['amount']} {data['currency']}**"
        return content, discord_text(data.get("message", ""))
    if kind == EventType.DONATION_REMOVED:
        return f"A donation of {data['amount']} {data['currency']} was removed.", ""
    if kind == EventType.MILESTONE_REACHED:
        return (
            f"Milestone reached: **{data['milestone']} {data['currency']}**",
            f"Total {data['total']} of {data['goal']} {data['currency']}",
        )
    if kind == EventType.GOAL_REACHED:
        return (
            f"Goal reached: **{data['goal']} {data['currency']}**",
            f"Total {data['total']} {data['currency']}",
        )
    return "Test event from Fundboard", data.get("message", "")


def discord_body(document: dict) -> dict:
    content, description = _discord_summary(document)
    embed = {
        "title": f"{document['campaign']} · {document['type'].replace('_', ' ')}",
        "color": DISCORD_COLOUR,
        "timestamp": document["created_at"],
        "footer": {"text": f"Fundboard · {document['id']}"},
    }
    if description:
        embed["description"] = description[:DISCORD_DESCRIPTION_MAX]
    return {
        "content": content[:DISCORD_CONTENT_MAX],
        "embeds": [embed],
        # Nobody is pinged, whatever the text says.
        "allowed_mentions": {"parse": []},
    }
